"""Ordered writes of one case, and autosave on top of them.

``SerialOps`` runs ops on the task runner **one after another**: a save, an added item, a page
stored, the confirmation. Order matters for a case: two saves racing on two pool threads could
commit the older state last, and a late draft save must never overwrite the case that a
confirmation has just collected. Each op is *prepared* on the GUI thread only when its turn
comes (``prepare()`` returns the function to run, or None to skip), so it works on the case as
it is then, not as it was when the op was queued.

``Autosaver`` debounces changes (``AUTOSAVE_DELAY_MS``) and queues one save per quiet period;
typing never waits for the disk. ``flush()`` queues the pending save at once; ``cancel()``
drops it (the confirmation saves the case itself).

QtCore only.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from counter_client.background.tasks import Job, TaskRunner
from counter_client.errors import UserError

log = logging.getLogger(__name__)

AUTOSAVE_DELAY_MS = 300

Prepare = Callable[[], Callable[[Job], Any] | None]


class SerialOps(QObject):
    """A FIFO of ops on the runner: the next starts when the previous has delivered its outcome.

    Signals:
        queue_did_drain(): nothing queued and nothing running.
    """

    queue_did_drain = Signal()

    def __init__(self, runner: TaskRunner, parent: QObject | None = None):
        super().__init__(parent)
        self._runner = runner
        self._queue: deque[tuple[Prepare, Callable | None, Callable | None, str | None]] = deque()
        self._busy = False
        self._pumping = False

    @property
    def busy(self) -> bool:
        return self._busy or bool(self._queue)

    def enqueue(self, prepare: Prepare, on_success: Callable[[Any], None] | None = None,
                on_failure: Callable[[BaseException], None] | None = None, progress: str | None = None) -> None:
        """Queue an op; ``prepare`` runs on the GUI thread when its turn comes."""
        self._queue.append((prepare, on_success, on_failure, progress))
        self._pump()

    def clear(self) -> None:
        """Drop what has not started (the running op still delivers)."""
        self._queue.clear()

    def _pump(self) -> None:
        if self._pumping:
            return
        self._pumping = True
        try:
            while self._queue and not self._busy:
                prepare, on_success, on_failure, progress = self._queue.popleft()
                fn = prepare()
                if fn is None:
                    continue
                self._busy = True
                op = self._runner.op(fn).on_finished(self._finished)
                if on_success is not None:
                    op.on_success(on_success)
                if on_failure is not None:
                    op.on_failure(on_failure)
                if progress:
                    op.with_progress(progress, cancellable=False)
                op.run()  # a synchronous runner delivers (and calls _finished) before returning
        finally:
            self._pumping = False
        if not self._busy and not self._queue:
            self.queue_did_drain.emit()

    def _finished(self) -> None:
        self._busy = False
        self._pump()


class Autosaver(QObject):
    """Debounced saves through a ``SerialOps``.

    ``snapshot()`` (GUI thread) returns a private copy of what to save, or None when there is
    nothing to save; ``save(copy)`` runs on the runner and its result is handed to
    ``save_did_finish``.

    Signals:
        save_did_start(): a save was queued.
        save_did_finish(object result): the save is on disk (an acknowledged edit).
        save_did_fail(str message): a message for the clerk; the edits stay on screen and are
            saved again with the next change.
    """

    save_did_start = Signal()
    save_did_finish = Signal(object)
    save_did_fail = Signal(str)

    def __init__(self, ops: SerialOps, snapshot: Callable[[], Any], save: Callable[[Any], Any],
                 delay_ms: int = AUTOSAVE_DELAY_MS, parent: QObject | None = None):
        super().__init__(parent)
        self._ops = ops
        self._snapshot = snapshot
        self._save = save
        self._dirty = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self.flush)

    @property
    def pending(self) -> bool:
        """Edits not yet on disk (waiting for the quiet period or queued)."""
        return self._dirty or self._timer.isActive()

    def schedule(self) -> None:
        """A change: save after the quiet period (each change restarts it)."""
        self._dirty = True
        self._timer.start()

    def flush(self) -> None:
        """Queue the pending save now."""
        self._timer.stop()
        if not self._dirty:
            return
        self._dirty = False
        self.save_did_start.emit()
        self._ops.enqueue(self._prepare, self.save_did_finish.emit, self._failed)

    def cancel(self) -> None:
        """Forget the pending save (the caller saves the case another way)."""
        self._timer.stop()
        self._dirty = False

    def _prepare(self):
        copy = self._snapshot()
        if copy is None:
            return None
        save = self._save
        return lambda job: save(copy)

    def _failed(self, exc: BaseException) -> None:
        self._dirty = True  # try again with the next change
        if isinstance(exc, UserError):
            self.save_did_fail.emit(exc.message)
        else:
            log.error("autosave failed: %s", type(exc).__name__)
            self.save_did_fail.emit(self.tr("自动保存失败，已记录到日志。录入的内容仍在屏幕上，请勿关闭程序，稍后再试。"))
