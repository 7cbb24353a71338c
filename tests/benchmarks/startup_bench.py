"""Cold start to the first shown main window, against a bare PySide6 window in the same run."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks.procmem import PeakRSS

RUNS = 5
BARE = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv[:1])
w = QMainWindow()
w.resize(1366, 768)
w.show()
QTimer.singleShot(0, lambda: (print("first-window-shown", flush=True), app.quit()))
app.exec()
"""


def _time_to_line(cmd: list[str], env: dict) -> tuple[float, float]:
    """Seconds from spawn to the ``first-window-shown`` line, and the process's peak RSS (MiB)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    seconds = None
    with PeakRSS(proc) as peak:
        for line in proc.stdout:
            if line.startswith(b"first-window-shown"):
                seconds = time.perf_counter() - started
        proc.wait()
    if seconds is None or proc.returncode != 0:
        raise RuntimeError(f"{cmd} did not show a window (status {proc.returncode})")
    return seconds, peak.mib


def run() -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        app_cmd = [sys.executable, "-m", "counter_client", "--data-dir", str(data), "--exit-when-shown"]
        _time_to_line(app_cmd, env)  # first run creates the data directory and databases
        bare = [_time_to_line([sys.executable, "-c", BARE], env) for _ in range(RUNS)]
        app = [_time_to_line(app_cmd, env) for _ in range(RUNS)]
    bare_s = statistics.median(b[0] for b in bare)
    app_s = statistics.median(a[0] for a in app)
    return {
        "platform": env["QT_QPA_PLATFORM"],
        "first_window_s": round(app_s, 3),
        "bare_pyside6_window_s": round(bare_s, 3),
        "ratio": round(app_s / bare_s, 2),
        "app_peak_rss_mib": round(max(a[1] for a in app), 1),
        "bare_peak_rss_mib": round(max(b[1] for b in bare), 1),
    }
