"""The task runner: every slow call of the GUI (search, guide look-up, refresh, probe, starting
the training platform) runs here, off the GUI thread, and its outcome comes back on the GUI
thread through queued signals.

Modelled on Anki's ``QueryOp``::

    runner.op(fn).with_progress("正在更新目录…").on_success(show).on_failure(oops).run()

``fn(job)`` runs on a pool thread; ``job.progress(done, total, label)`` reports progress and
``job.cancelled()`` is the cooperative cancel flag (nothing is ever killed). Outcomes:

- a result -> ``on_success(result)`` on the GUI thread;
- ``Cancelled`` (or any outcome of a cancelled or superseded op) -> silence;
- ``UserError`` -> ``on_failure(exc)`` if given, else ``user_error_did_occur(message)``; its
  ``.log`` goes to the log;
- anything else is a bug -> logged with its traceback, then ``on_failure(exc)`` if given, else
  ``bug_did_occur(message, details)``.

Progress appears only when an op runs longer than ``PROGRESS_DELAY_MS``, so quick jobs never
flash a bar. ``superseding(key)``: a newer op with the same key makes older ones stale; a stale
op that has not started is skipped, one that finishes is dropped (search-as-you-type).

Ops with progress are long and run on their own pool, so a refresh never delays a search. The
threads never expire: each keeps its own SQLite connection (one per thread), and a thread
recreated every half minute would leave a trail of connections behind.

``SyncTaskRunner`` runs ops inline on the calling thread, for deterministic widget tests.
QtCore only.
"""

from __future__ import annotations

import itertools
import logging
import threading
import traceback
from typing import Any, Callable

from PySide6.QtCore import QDeadlineTimer, QObject, QRunnable, Qt, QThreadPool, QTimer, Signal

from counter_client.errors import Cancelled, UserError

log = logging.getLogger(__name__)

PROGRESS_DELAY_MS = 500
SHUTDOWN_WAIT_MS = 15_000
MAX_THREADS = 4  # short jobs: searches, look-ups, probes
MAX_LONG_THREADS = 2  # jobs with progress (refresh, starting the training platform)

_ids = itertools.count(1)


class Job:
    """What ``fn`` receives: progress reporting and the cancel flag."""

    def __init__(self, handle: "Handle"):
        self._handle = handle

    def progress(self, done: int, total: int, label: str = "") -> None:
        self._handle._report(done, total, label)

    def cancelled(self) -> bool:
        return self._handle.cancelled()

    def check(self) -> None:
        """Raise ``Cancelled`` when the op was cancelled (a convenient checkpoint)."""
        if self.cancelled():
            raise Cancelled()


class Handle:
    """One submitted op: cancel it, ask whether it is done."""

    def __init__(self, runner: "TaskRunner", op: "Op"):
        self.id = next(_ids)
        self.op = op
        self._runner = runner
        self._cancel = threading.Event()
        self.done = False
        self.visible = False  # progress shown (after the delay)
        self.last_progress: tuple[int, int, str] = (0, 0, op.progress_label or "")

    @property
    def label(self) -> str:
        return self.last_progress[2] or self.op.progress_label or ""

    @property
    def cancellable(self) -> bool:
        return self.op.cancellable

    def cancel(self) -> None:
        self._cancel.set()

    def cancelled(self) -> bool:
        return self._cancel.is_set() or self._runner._is_stale(self)

    def _report(self, done: int, total: int, label: str) -> None:
        self._runner._progressed.emit(self, int(done), int(total), label or "")


class Op:
    """Builder of one background operation (see the module docstring)."""

    def __init__(self, runner: "TaskRunner", fn: Callable[[Job], Any]):
        self._runner = runner
        self.fn = fn
        self.progress_label: str | None = None
        self.cancellable = True
        self.success: Callable[[Any], None] | None = None
        self.failure: Callable[[BaseException], None] | None = None
        self.finished: Callable[[], None] | None = None
        self.key: str | None = None

    def with_progress(self, label: str, cancellable: bool = True) -> "Op":
        """Show progress in the status bar (after the delay) with this label."""
        self.progress_label = label
        self.cancellable = cancellable
        return self

    def on_success(self, callback: Callable[[Any], None]) -> "Op":
        self.success = callback
        return self

    def on_failure(self, callback: Callable[[BaseException], None]) -> "Op":
        """Replace the default presentation of errors (bugs are still logged)."""
        self.failure = callback
        return self

    def on_finished(self, callback: Callable[[], None]) -> "Op":
        """Called after any outcome, cancellation included (reset buttons here)."""
        self.finished = callback
        return self

    def superseding(self, key: str) -> "Op":
        """A newer op with the same key makes this one stale (its result is dropped)."""
        self.key = key
        return self

    def run(self) -> Handle:
        return self._runner._submit(self)


class _Runnable(QRunnable):
    def __init__(self, runner: "TaskRunner", handle: Handle):
        super().__init__()
        self._runner = runner
        self._handle = handle

    def run(self) -> None:  # pool thread
        result, error = self._runner._execute(self._handle)
        self._runner._finished.emit(self._handle, result, error)


class TaskRunner(QObject):
    """Runs ops on a thread pool and brings their outcome back to the GUI thread.

    Signals:
        progress_did_show(object handle): an op with progress has run longer than the delay.
        progress_did_change(object handle, int done, int total, str label)
        progress_did_hide(object handle): that op ended.
        user_error_did_occur(str message): a ``UserError`` nobody handled; show it to the clerk.
        bug_did_occur(str message, str details): an unexpected exception (already logged).
    """

    progress_did_show = Signal(object)
    progress_did_change = Signal(object, int, int, str)
    progress_did_hide = Signal(object)
    user_error_did_occur = Signal(str)
    bug_did_occur = Signal(str, str)

    _finished = Signal(object, object, object)  # handle, result, error (queued to the GUI thread)
    _progressed = Signal(object, int, int, str)

    def __init__(self, parent: QObject | None = None, max_threads: int = MAX_THREADS,
                 progress_delay_ms: int = PROGRESS_DELAY_MS):
        super().__init__(parent)
        self.progress_delay_ms = progress_delay_ms
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._long_pool = QThreadPool(self)
        self._long_pool.setMaxThreadCount(MAX_LONG_THREADS)
        for pool in (self._pool, self._long_pool):
            pool.setExpiryTimeout(-1)
        self._latest: dict[str, int] = {}
        self._latest_lock = threading.Lock()
        self._running: dict[int, Handle] = {}
        self._timers: dict[int, QTimer] = {}
        self._runnables: dict[int, _Runnable] = {}
        self._closing = False
        self._finished.connect(self._deliver)
        self._progressed.connect(self._on_progress)

    # -- public ----------------------------------------------------------------------------------
    def op(self, fn: Callable[[Job], Any]) -> Op:
        return Op(self, fn)

    def running(self) -> list[Handle]:
        return list(self._running.values())

    def cancel_all(self) -> None:
        for handle in list(self._running.values()):
            handle.cancel()

    def shutdown(self, wait_ms: int = SHUTDOWN_WAIT_MS) -> bool:
        """Cancel every op, wait for the pool; results arriving later are ignored."""
        self._closing = True
        self.cancel_all()
        for timer in self._timers.values():
            timer.stop()
        deadline = QDeadlineTimer(wait_ms)
        done = all([self._pool.waitForDone(deadline), self._long_pool.waitForDone(deadline)])
        if not done:
            log.warning("task runner: jobs still running after %d ms at shutdown", wait_ms)
        return done

    # -- internals -------------------------------------------------------------------------------
    def _submit(self, op: Op) -> Handle:
        handle = Handle(self, op)
        if self._closing:
            handle.cancel()
        if op.key:
            with self._latest_lock:
                self._latest[op.key] = handle.id
        self._running[handle.id] = handle
        if op.progress_label is not None:
            timer = QTimer(self)
            timer.setTimerType(Qt.TimerType.PreciseTimer)  # a coarse timer may fire 5 % early
            timer.setSingleShot(True)
            timer.timeout.connect(lambda h=handle: self._show_progress(h))
            timer.start(self.progress_delay_ms)
            self._timers[handle.id] = timer
        self._start(handle)
        return handle

    def _start(self, handle: Handle) -> None:
        runnable = _Runnable(self, handle)
        runnable.setAutoDelete(False)  # kept here until delivered: Python owns it
        self._runnables[handle.id] = runnable
        (self._long_pool if handle.op.progress_label is not None else self._pool).start(runnable)

    def _is_stale(self, handle: Handle) -> bool:
        key = handle.op.key
        if not key:
            return False
        with self._latest_lock:
            return self._latest.get(key) != handle.id

    def _execute(self, handle: Handle) -> tuple[Any, BaseException | None]:
        """Run ``fn`` (any thread); never raises."""
        if handle.cancelled():
            return None, Cancelled()
        try:
            return handle.op.fn(Job(handle)), None
        except BaseException as exc:  # noqa: BLE001 - every outcome is delivered
            return None, exc

    def _show_progress(self, handle: Handle) -> None:
        if handle.done or self._closing:
            return
        handle.visible = True
        self.progress_did_show.emit(handle)
        done, total, label = handle.last_progress
        self.progress_did_change.emit(handle, done, total, handle.label)

    def _on_progress(self, handle: Handle, done: int, total: int, label: str) -> None:
        if handle.done:
            return
        handle.last_progress = (done, total, label or handle.last_progress[2])
        if handle.visible:
            self.progress_did_change.emit(handle, done, total, handle.label)

    def _deliver(self, handle: Handle, result: Any, error: BaseException | None) -> None:
        """GUI thread: route the outcome of a finished op."""
        handle.done = True
        self._running.pop(handle.id, None)
        self._runnables.pop(handle.id, None)
        timer = self._timers.pop(handle.id, None)
        if timer is not None:
            timer.stop()
            timer.deleteLater()
        if handle.visible:
            self.progress_did_hide.emit(handle)
        op = handle.op
        stale = False
        if op.key:
            with self._latest_lock:
                stale = self._latest.get(op.key) != handle.id
                if not stale:
                    del self._latest[op.key]
        if self._closing:
            return
        try:
            stale = stale or handle._cancel.is_set()
            if isinstance(error, Cancelled) or stale:
                if error is not None and not isinstance(error, (Cancelled, UserError)):
                    self._log_bug(error)
                return
            if error is None:
                if op.success:
                    op.success(result)
            elif isinstance(error, UserError):
                log.warning("operation failed: %s", error.log)
                if op.failure:
                    op.failure(error)
                else:
                    self.user_error_did_occur.emit(error.message)
            else:
                details = self._log_bug(error)
                if op.failure:
                    op.failure(error)
                else:
                    self.bug_did_occur.emit(self.tr("操作出错，已记录到日志。请重试；如仍出错，请联系技术支持。"),
                                            details)
        except Exception as exc:  # a callback failed: a bug of the GUI, never lose it
            details = self._log_bug(exc)
            self.bug_did_occur.emit(self.tr("界面出错，已记录到日志。"), details)
        finally:
            if op.finished:
                try:
                    op.finished()
                except Exception as exc:
                    self.bug_did_occur.emit(self.tr("界面出错，已记录到日志。"), self._log_bug(exc))

    @staticmethod
    def _log_bug(error: BaseException) -> str:
        details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        log.error("unexpected error in background operation:\n%s", details)
        return details


class SyncTaskRunner(TaskRunner):
    """Runs each op inline when it is submitted (deterministic widget tests).

    The outcome is delivered before ``run()`` returns, through the same routing as the pool.
    """

    def _start(self, handle: Handle) -> None:
        result, error = self._execute(handle)
        self._deliver(handle, result, error)

