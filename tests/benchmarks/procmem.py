"""Peak memory of a child process.

``ru_maxrss`` from ``wait4`` is no good here: Linux carries the parent's high-water mark into a
forked child across ``exec``, so every child of a large benchmark process would report the
parent's peak. ``VmHWM`` in ``/proc/PID/status`` belongs to the child's own address space;
it is polled until the child exits (it only grows, so the last reading is the peak, give or
take the last poll interval).
"""

from __future__ import annotations

import subprocess
import threading
import time

POLL_S = 0.02


class PeakRSS:
    """``with PeakRSS(proc) as peak: proc.wait()`` then ``peak.mib``."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc
        self.kib = 0
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        path = f"/proc/{self.proc.pid}/status"
        while self.proc.poll() is None:
            try:
                with open(path, encoding="ascii") as fh:
                    for line in fh:
                        if line.startswith("VmHWM:"):
                            self.kib = max(self.kib, int(line.split()[1]))
                            break
            except (OSError, ValueError):
                break
            time.sleep(POLL_S)

    def __enter__(self) -> "PeakRSS":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._thread.join(timeout=5)

    @property
    def mib(self) -> float:
        return round(self.kib / 1024, 1)
