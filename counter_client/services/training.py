"""Training mode: run the bundled reference platform on 127.0.0.1 beside the window.

The platform runs as a child process (``counter-platform serve --port 0 --parent-watch``), so it
shares nothing with the client but the wire. Its first stdout line gives its address. The child
reads its stdin and exits when the pipe closes, so it never outlives the client, even when the
client is killed. From a PyInstaller bundle the same executable is started with the hidden
``_platform`` command.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from counter_client.errors import UserError
from counter_client.paths import frozen

log = logging.getLogger(__name__)

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
_LISTENING = re.compile(r"^listening on (http://[0-9.]+:\d+)\s*$")


def platform_command(*args: str) -> list[str]:
    """The command line that runs ``counter-platform ARGS`` from source or from the bundle."""
    if frozen():
        return [sys.executable, "_platform", *args]
    return [sys.executable, "-m", "counter_client.refplatform", *args]


class TrainingPlatform:
    """The reference platform as a child process with its data under ``data_dir``."""

    def __init__(self, data_dir: Path, log_file: Path | None = None, catalogue: Path | None = None):
        self.data_dir = Path(data_dir)
        self.log_file = log_file
        self.catalogue = catalogue
        self.url: str | None = None
        self._proc: subprocess.Popen | None = None

    def start(self, timeout: float = START_TIMEOUT_S) -> str:
        """Start the platform and return its URL once it listens (blocking: call off the GUI thread)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = ["serve", "--host", "127.0.0.1", "--port", "0", "--data", str(self.data_dir), "--parent-watch"]
        if self.catalogue:
            args += ["--catalogue", str(self.catalogue)]
        stderr = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)
        try:
            self._proc = subprocess.Popen(platform_command(*args), stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=stderr, creationflags=flags)
        except OSError as exc:
            raise UserError("无法启动培训平台，请重新安装本程序。", f"cannot start training platform: {exc}") from exc
        finally:
            if stderr is not subprocess.DEVNULL:
                stderr.close()
        assert self._proc.stdout is not None
        line_holder: list[bytes] = []
        reader = threading.Thread(target=lambda: line_holder.append(self._proc.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(timeout)
        line = line_holder[0].decode("utf-8", "replace") if line_holder else ""
        match = _LISTENING.match(line)
        if not match:
            self.stop()
            raise UserError("培训平台启动失败，请查看日志或重新启动本程序。",
                            f"training platform did not report its address (got {line!r})")
        self.url = match.group(1)
        threading.Thread(target=self._drain, daemon=True, name="training-platform-stdout").start()
        log.info("training platform listening on %s", self.url)
        return self.url

    def _drain(self) -> None:
        proc = self._proc
        if proc and proc.stdout:
            for _ in proc.stdout:
                pass

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        started = time.monotonic()
        try:
            if proc.stdin:
                proc.stdin.close()  # --parent-watch: the platform shuts down cleanly
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.info("training platform stopped after %.1f s (exit %s)", time.monotonic() - started, proc.returncode)
