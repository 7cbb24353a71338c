"""Logging set-up: English lines to a rotating file in the user's log directory.

Log lines never carry secrets or personal data: callers log codes, counts and error classes,
never names, ID numbers, phone numbers, tokens or passwords.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

LOG_FILE = "counter-client.log"
MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"


def configure(log_dir: Path, level: int = logging.INFO, stderr_level: int | None = None) -> Path:
    """Send log records to ``log_dir/counter-client.log`` (rotated); optionally also to stderr."""
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / LOG_FILE
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_counter_client", False):
            root.removeHandler(handler)
            handler.close()
    file_handler = logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS,
                                                        encoding="utf-8")
    file_handler.setFormatter(logging.Formatter(FORMAT))
    file_handler._counter_client = True  # type: ignore[attr-defined]
    root.addHandler(file_handler)
    if stderr_level is not None:
        stream = logging.StreamHandler()
        stream.setLevel(stderr_level)
        stream.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        stream._counter_client = True  # type: ignore[attr-defined]
        root.addHandler(stream)
    root.setLevel(level)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    return path
