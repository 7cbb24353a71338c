"""The reference platform as a real server process on 127.0.0.1, for integration tests.

``platform_server`` (per test) and ``platform_server_module`` (per test module) are factories:
``server = platform_server(catalogue=path)`` starts
``python -m counter_client.refplatform serve --host 127.0.0.1 --port 0 --data <tmp> --parent-watch``
and returns a ``PlatformServer`` with ``.url``, ``.data_dir`` and ``.process``. Called with no
argument it serves the shipped training data. Every server started is stopped at teardown by
closing its stdin (the parent-watch path) and must exit with status 0 within the timeout.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 15
CLI_TIMEOUT_S = 120
FIRST_LINE = re.compile(r"^listening on (http://127\.0\.0\.1:(\d+))$")
PLATFORM = [sys.executable, "-m", "counter_client.refplatform"]


def run_platform_cli(*args: str | os.PathLike[str], timeout: float = CLI_TIMEOUT_S) -> subprocess.CompletedProcess:
    """Run ``counter-platform ARGS`` (as ``python -m``) to completion, output captured as text."""
    return subprocess.run(
        [*PLATFORM, *map(str, args)], cwd=ROOT, capture_output=True, text=True, encoding="utf-8", timeout=timeout
    )


@dataclass
class PlatformServer:
    url: str
    data_dir: Path
    process: subprocess.Popen
    first_line: str
    log_path: Path

    @property
    def api(self) -> str:
        return self.url + "/api/v1"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def cli(self, *args: str | os.PathLike[str]) -> subprocess.CompletedProcess:
        """A CLI command against this server's data directory, e.g. ``cli("catalogue", "touch", ...)``."""
        return run_platform_cli(*args, "--data", self.data_dir)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """Close stdin (the parent-watch shutdown) and wait; kills and fails if it hangs."""
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                pytest.fail(f"platform server did not exit within {timeout}s after stdin closed:\n{self.log()}")
        for stream in (self.process.stdin, self.process.stdout):
            if stream and not stream.closed:
                stream.close()
        return self.process.returncode


def start_platform(
    data_dir: Path,
    *,
    catalogue: Path | None = None,
    training: Path | None = None,
    extra_args: Sequence[str] = (),
    timeout: float = START_TIMEOUT_S,
) -> PlatformServer:
    args = [*PLATFORM, "serve", "--host", "127.0.0.1", "--port", "0", "--data", str(data_dir), "--parent-watch"]
    if catalogue is not None:
        args += ["--catalogue", str(catalogue)]
    if training is not None:
        args += ["--training", str(training)]
    args += list(extra_args)
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / f"{data_dir.name}.server.log"
    with open(log_path, "ab") as log_file:  # a file, not a pipe: a full pipe would stall the server
        process = subprocess.Popen(
            args, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log_file,
        )
    lines: queue.Queue[bytes] = queue.Queue()
    threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()
    try:
        raw = lines.get(timeout=timeout)
    except queue.Empty:
        process.kill()
        process.wait()
        pytest.fail(f"platform server printed nothing within {timeout}s:\n{log_path.read_text(errors='replace')}")
    first = raw.decode("utf-8").rstrip("\r\n")
    match = FIRST_LINE.match(first)
    if not match:
        process.kill()
        process.wait()
        pytest.fail(f"unexpected first line {first!r}:\n{log_path.read_text(errors='replace')}")
    return PlatformServer(url=match.group(1), data_dir=data_dir, process=process, first_line=first, log_path=log_path)


class _Servers:
    """Starts servers in fresh data directories and stops them all, checking each exited cleanly."""

    def __init__(self, base: Path):
        self._base = base
        self._started: list[PlatformServer] = []

    def __call__(self, *, data_dir: Path | None = None, **options) -> PlatformServer:
        data_dir = data_dir or self._base / f"platform-{len(self._started)}"
        server = start_platform(data_dir, **options)
        self._started.append(server)
        return server

    def stop_all(self) -> None:
        failures = []
        for server in self._started:
            code = server.stop()
            if code != 0:
                failures.append(f"{server.url} exited with {code}:\n{server.log()}")
        if failures:
            pytest.fail("\n".join(failures))


@pytest.fixture
def platform_server(tmp_path: Path) -> Iterator[Callable[..., PlatformServer]]:
    servers = _Servers(tmp_path)
    yield servers
    servers.stop_all()


@pytest.fixture(scope="module")
def platform_server_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., PlatformServer]]:
    servers = _Servers(tmp_path_factory.mktemp("platform"))
    yield servers
    servers.stop_all()


SMALL_CATALOGUE_GUIDES = 60
SMALL_CATALOGUE_SEED = 5


@pytest.fixture(scope="session")
def small_catalogue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated 60-guide catalogue file (generate-catalogue format), made once per session."""
    from counter_client.paths import resources_dir
    from counter_client.refplatform.generator import generate_catalogue

    path = tmp_path_factory.mktemp("catalogue") / "small.json"
    generate_catalogue(path, SMALL_CATALOGUE_GUIDES, SMALL_CATALOGUE_SEED, resources_dir() / "regions")
    return path


@pytest.fixture(scope="session")
def platform_cli() -> Callable[..., subprocess.CompletedProcess]:
    """``platform_cli("generate-catalogue", "--guides", "5", ...)``: the CLI as a subprocess."""
    return run_platform_cli
