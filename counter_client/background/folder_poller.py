"""The watched folder's timer: polls a folder watch on the task runner and hands new files to
the GUI thread.

The watch itself (``scanning.watch.FolderWatch``, or anything with ``poll() -> list[Path]``) is
made by a factory from ``app.py``: the first listing of a network share can take seconds, so it
is made on the runner too. A poll never overlaps the previous one. A folder that disappears (a
share that dropped) is reported once, then polled again until it is back.

QtCore only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from counter_client.background.tasks import TaskRunner
from counter_client.errors import UserError

log = logging.getLogger(__name__)

POLL_INTERVAL_MS = 1500


class Watch(Protocol):
    def poll(self) -> list[Path]: ...


class FolderPoller(QObject):
    """Polls one folder while started.

    Signals:
        watch_did_start(str folder): the folder is being watched.
        files_did_arrive(list paths): new, completely written files, oldest first.
        watch_did_fail(str message): the folder cannot be read (reported once per outage).
    """

    watch_did_start = Signal(str)
    files_did_arrive = Signal(list)
    watch_did_fail = Signal(str)

    def __init__(self, runner: TaskRunner, make_watch: Callable[[str], Watch],
                 interval_ms: int = POLL_INTERVAL_MS, parent: QObject | None = None):
        super().__init__(parent)
        self._runner = runner
        self._make_watch = make_watch
        self._watch: Watch | None = None
        self._folder = ""
        self._in_flight = False
        self._failed = ""
        self._generation = 0
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.poll_now)

    @property
    def folder(self) -> str:
        return self._folder

    @property
    def active(self) -> bool:
        return self._watch is not None

    def start(self, folder: str) -> None:
        """Watch ``folder`` (files already there are left alone); '' stops watching."""
        self.stop()
        if not folder:
            return
        self._folder = folder
        generation = self._generation
        make = self._make_watch
        (self._runner.op(lambda job: make(folder))
         .on_success(lambda watch: self._started(generation, watch))
         .on_failure(lambda exc: self._report(generation, exc))
         .run())
        self._timer.start()

    def stop(self) -> None:
        self._generation += 1
        self._timer.stop()
        self._watch = None
        self._folder = ""
        self._failed = ""
        self._in_flight = False

    def poll_now(self) -> None:
        if self._in_flight or not self._folder:
            return
        generation = self._generation
        if self._watch is None:  # not made yet, or the folder was missing: try to make it again
            self._in_flight = True
            make, folder = self._make_watch, self._folder
            (self._runner.op(lambda job: make(folder))
             .on_success(lambda watch: self._started(generation, watch))
             .on_failure(lambda exc: self._report(generation, exc))
             .on_finished(self._done)
             .run())
            return
        watch = self._watch
        self._in_flight = True
        (self._runner.op(lambda job: watch.poll())
         .on_success(lambda paths: self._arrived(generation, paths))
         .on_failure(lambda exc: self._report(generation, exc))
         .on_finished(self._done)
         .run())

    def _done(self) -> None:
        self._in_flight = False

    def _started(self, generation: int, watch: Watch) -> None:
        if generation != self._generation:
            return
        self._watch = watch
        self._failed = ""
        log.info("watching a scan folder")
        self.watch_did_start.emit(self._folder)

    def _arrived(self, generation: int, paths: list[Path]) -> None:
        if generation != self._generation:
            return
        self._failed = ""
        if paths:
            self.files_did_arrive.emit(list(paths))

    def _report(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        message = exc.message if isinstance(exc, UserError) else self.tr("无法读取监视的文件夹。")
        if not isinstance(exc, UserError):
            log.error("folder watch failed: %s", type(exc).__name__)
        self._watch = None  # made again on the next poll
        if message != self._failed:
            self._failed = message
            self.watch_did_fail.emit(message)
