"""Build the PyInstaller bundle from build.spec and let it check itself.

A resource that only works from the source tree (the font, the style sheet, the training data,
the reference platform started through ``_platform``) fails here, not on a clerk's PC.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bundle

ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT_S = 900
SELF_TEST_TIMEOUT_S = 240


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    if shutil.which("objdump") is None and sys.platform.startswith("linux"):
        pytest.fail("PyInstaller needs objdump (Debian package binutils); .ci/run installs it")
    out = tmp_path_factory.mktemp("bundle")
    result = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--distpath", str(out / "dist"), "--workpath", str(out / "build"), str(ROOT / "build.spec")],
        cwd=ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    exe = out / "dist" / "counter-client" / ("counter-client.exe" if os.name == "nt" else "counter-client")
    assert exe.exists()
    return exe


def run(exe: Path, *args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("PYTHONPATH", None)
    return subprocess.run([str(exe), "--data-dir", str(data_dir), *args], cwd=data_dir.parent, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=SELF_TEST_TIMEOUT_S)


def test_bundle_version(bundle, tmp_path):
    out = run(bundle, "--version", data_dir=tmp_path / "data")
    assert out.returncode == 0 and out.stdout.startswith("counter-client ")


def test_bundle_self_test(bundle, tmp_path):
    """Training mode from the bundle: the bundled platform starts, the training catalogue loads,
    the window opens every page with the shipped font; screenshots are written."""
    shots = tmp_path / "shots"
    out = run(bundle, "--self-test", "--screenshots", str(shots), data_dir=tmp_path / "data")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert list(shots.glob("*.png"))
    search = run(bundle, "catalogue", "search", "sfz", "--json", data_dir=tmp_path / "data")
    assert search.returncode == 0 and "身份证" in search.stdout
