"""The long-lived sync worker: one ``QThread`` that runs the sync engine's passes, off the GUI
thread and one at a time.

The thread holds a ``_PassRunner`` (a QObject living in it) that makes its own ``SyncEngine`` with
the factory handed in by ``app.py`` — made in that thread, so the engine's SQLite connection and
``requests`` session are the thread's own — and runs ``engine.run_once`` when asked.

``SyncWorker`` (GUI thread) decides when. It wakes:

- on its timer (``sync.interval_s``) — skipped while the connection is known to be down;
- when the connection comes back (``connection_changed`` with a state turning online);
- on ``sync_now()`` (the clerk's button, a retry, a resend);
- ``wake_soon()`` after a case or a supplement is collected (a short delay lets a burst settle).

Wake-ups while a pass runs are coalesced into one more pass after it. Until ``set_ready(True)``
(the case store is open and, in training, the training platform has started) wake-ups are only
remembered. ``shutdown()`` sets the cancel flag the engine checks between items, ends the
thread's event loop and waits for it, so closing the window never leaves a thread behind.

Signals (GUI thread):
    sync_did_start(): a pass began.
    sync_did_progress(int done, int total, str text): progress of the running pass (total 0: busy).
    sync_did_finish(SyncReport): a pass ended (``stopped``/``login_required`` say why it ended early).
    sync_did_fail(str message): the pass could not run at all (a message for the clerk; logged).
    statuses_did_change(list events): the status pull changed something; the list holds the 补正 and
        不予受理 events not announced before in this run (possibly empty).

QtCore only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QDeadlineTimer, QObject, QThread, QTimer, Signal, Slot

from counter_client.errors import UserError
from counter_client.services.connection import State, Status

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 60.0
SOON_MS = 1500  # after a collection: let the clerk's next click land first
SHUTDOWN_WAIT_MS = 20_000  # a request in flight ends within the read timeout
FAILED = "同步出错，已记录到日志。稍后会自动重试。"

_stragglers: list[QThread] = []  # a thread that would not stop in time: never destroyed while running


class _PassRunner(QObject):
    """Lives in the worker thread; runs one pass per ``run_pass``."""

    did_start = Signal()
    did_progress = Signal(int, int, str)
    did_finish = Signal(object)
    did_fail = Signal(str)

    def __init__(self, make_engine: Callable[[], Any], cancel: threading.Event):
        super().__init__()
        self._make_engine = make_engine
        self._cancel = cancel
        self._engine: Any = None
        self.reset = False

    @Slot(bool)
    def run_pass(self, pull: bool) -> None:
        if self._cancel.is_set():
            self.did_fail.emit("")
            return
        self.did_start.emit()
        try:
            if self._engine is None or self.reset:
                self.reset = False
                self._engine = self._make_engine()
            report = self._engine.run_once(progress=self._progress, cancelled=self._cancel.is_set, pull=pull)
        except UserError as exc:
            log.warning("sync pass could not run: %s", exc.log)
            self._engine = None  # made again next time (the platform address may have been missing)
            self.did_fail.emit(exc.message)
            return
        except Exception:
            log.exception("sync pass failed")
            self._engine = None
            self.did_fail.emit(FAILED)
            return
        self.did_finish.emit(report)

    def _progress(self, done: int, total: int, text: str) -> None:
        self.did_progress.emit(int(done), int(total), text or "")


class SyncWorker(QObject):
    """Runs sync passes on its own thread (see the module docstring for when and the signals)."""

    sync_did_start = Signal()
    sync_did_progress = Signal(int, int, str)
    sync_did_finish = Signal(object)
    sync_did_fail = Signal(str)
    statuses_did_change = Signal(list)
    _pass_requested = Signal(bool)

    def __init__(self, make_engine: Callable[[], Any], interval_s: float = DEFAULT_INTERVAL_S,
                 soon_ms: int = SOON_MS, parent: QObject | None = None):
        super().__init__(parent)
        self._make_engine = make_engine
        self._cancel = threading.Event()
        self._thread: QThread | None = None
        self._runner: _PassRunner | None = None
        self._ready = False
        self._running = False
        self._pending = False
        self._closed = False
        self._online: bool | None = None  # None: not known yet
        self._announced: set[int] = set()  # seq of 补正 / 不予受理 events already announced
        self.passes = 0  # passes finished (for the page and the tests)
        self.last_report: Any = None
        self._timer = QTimer(self)
        self._timer.setInterval(max(1000, int(interval_s * 1000)))
        self._timer.timeout.connect(self._tick)
        self._soon = QTimer(self)
        self._soon.setSingleShot(True)
        self._soon.setInterval(soon_ms)
        self._soon.timeout.connect(self.sync_now)

    # -- state ------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """A pass has been asked for and has not ended yet."""
        return self._running

    @property
    def pending(self) -> bool:
        """Another pass will follow the running one (coalesced wake-ups)."""
        return self._pending

    @property
    def ready(self) -> bool:
        return self._ready

    @property
    def thread(self) -> QThread | None:
        return self._thread

    # -- life -------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the thread and the timer (passes wait for ``set_ready``)."""
        if self._thread is not None or self._closed:
            return
        thread = QThread()
        thread.setObjectName("sync-worker")
        runner = _PassRunner(self._make_engine, self._cancel)
        runner.moveToThread(thread)
        self._pass_requested.connect(runner.run_pass)
        runner.did_start.connect(self._started)
        runner.did_progress.connect(self._progressed)
        runner.did_finish.connect(self._finished)
        runner.did_fail.connect(self._failed)
        thread.finished.connect(runner.deleteLater)
        self._thread, self._runner = thread, runner
        thread.start()
        self._timer.start()
        log.info("sync worker started (every %.0f s)", self._timer.interval() / 1000)

    def set_ready(self, ready: bool = True) -> None:
        """The store is open (and in training the platform runs): wake-ups may now run passes.
        Becoming ready runs a first pass at once."""
        if ready == self._ready:
            return
        self._ready = ready
        if ready:
            self._pending = False
            self.sync_now()

    def reset_engine(self) -> None:
        """Make a new engine before the next pass (the platform's address changed)."""
        if self._runner is not None:
            self._runner.reset = True

    def shutdown(self, wait_ms: int = SHUTDOWN_WAIT_MS) -> bool:
        """Cancel the running pass and end the thread; True when it ended in time. Idempotent."""
        if self._closed:
            return True
        self._closed = True
        self._timer.stop()
        self._soon.stop()
        self._cancel.set()
        thread = self._thread
        if thread is None:
            return True
        thread.quit()
        if thread.wait(QDeadlineTimer(wait_ms)):
            log.info("sync worker stopped")
            return True
        log.warning("sync worker still busy %d ms after shutdown was asked; left to finish", wait_ms)
        _stragglers.append(thread)
        return False

    # -- wake-ups ---------------------------------------------------------------------------------
    def sync_now(self) -> None:
        """Run a pass now, or right after the running one."""
        self._soon.stop()
        if self._closed:
            return
        if self._thread is None or not self._ready or self._running:
            self._pending = True
            return
        self._running = True
        self._pending = False
        self._pass_requested.emit(True)

    def wake_soon(self, *_args) -> None:
        """A pass shortly (after a collection); repeated calls within the delay make one pass."""
        if not self._closed and not self._soon.isActive():
            self._soon.start()

    def connection_changed(self, status: Status) -> None:
        """The monitor's news: a connection that comes back wakes the worker."""
        was = self._online
        if status.state == State.ONLINE:
            self._online = True
            if was is not True:
                log.info("platform reachable: syncing")
                self.sync_now()
        elif status.state in (State.OFFLINE, State.LIMITED):
            self._online = False
        else:
            self._online = None

    def _tick(self) -> None:
        if self._online is False:
            return  # nothing would get through; the connection's return wakes us
        self.sync_now()

    # -- from the thread --------------------------------------------------------------------------
    @Slot()
    def _started(self) -> None:
        if not self._closed:
            self.sync_did_start.emit()

    @Slot(int, int, str)
    def _progressed(self, done: int, total: int, text: str) -> None:
        if not self._closed:
            self.sync_did_progress.emit(done, total, text)

    @Slot(object)
    def _finished(self, report: Any) -> None:
        self._running = False
        self.passes += 1
        self.last_report = report
        if self._closed:
            return
        fresh = [e for e in getattr(report, "needs_clerk", []) if e.seq not in self._announced]
        self._announced.update(e.seq for e in fresh)
        if getattr(report, "statuses", 0) or fresh:
            self.statuses_did_change.emit(fresh)
        self.sync_did_finish.emit(report)
        self._follow_up()

    @Slot(str)
    def _failed(self, message: str) -> None:
        self._running = False
        if self._closed:
            return
        if message:
            self.sync_did_fail.emit(message)
        self._follow_up()

    def _follow_up(self) -> None:
        if self._pending and not self._closed:
            self.sync_now()
