#!/usr/bin/env python3
"""One-command set-up for developers and CI: ``python3 dev.py start|test|bench|bundle``.

Creates ``.venv`` beside this file on first use, installs the project into it (editable, with
the test extra), reinstalls when ``pyproject.toml`` changes, then runs the command inside it.
Uses only the standard library, so it works on a machine with nothing but Python 3.11+.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")


def ensure_env() -> None:
    stamp_value = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    stamp = VENV / f".installed-{stamp_value}"
    if stamp.exists():
        return
    if not PY.exists():
        print("creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing the project and its dependencies into .venv …", flush=True)
    subprocess.run([str(PY), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([str(PY), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[test]"], check=True)
    for old in VENV.glob(".installed-*"):
        old.unlink()
    stamp.touch()


def run(args: list[str]) -> int:
    return subprocess.call(args, cwd=ROOT)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("start", "test", "bench", "bundle", "setup"):
        print(__doc__)
        print("commands:\n  start [ARGS]   set up and start the window (training mode unless a platform is set)\n"
              "  test [ARGS]    set up and run the test suite (ARGS go to pytest)\n"
              "  bench [ARGS]   run the benchmarks and print their figures as JSON\n"
              "  bundle         build the PyInstaller bundle into dist/counter-client\n"
              "  setup          only create/refresh .venv")
        return 2
    command, rest = argv[0], argv[1:]
    ensure_env()
    if command == "setup":
        return 0
    if command == "start":
        return run([str(PY), "-m", "counter_client", *rest])
    if command == "test":
        return run([str(PY), "-m", "pytest", *rest])
    if command == "bench":
        return run([str(PY), "-m", "tests.benchmarks", *rest])
    return run([str(PY), "-m", "PyInstaller", "--noconfirm", "--clean", "build.spec"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
