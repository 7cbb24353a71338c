"""The sync worker's thread: passes run off the GUI thread on an engine made in that thread,
wake-ups during a pass coalesce into one more pass, a pass is cancelled at shutdown and the
thread ends, the timer does not knock while the connection is down, a lost connection's return
wakes it."""

from __future__ import annotations

import threading
import time

import pytest

from counter_client.background.sync_worker import SyncWorker
from counter_client.services.connection import State, Status
from counter_client.services.sync import SyncReport
from offline_cache.statuses import Event

pytestmark = pytest.mark.gui


class SlowEngine:
    """A stand-in engine whose pass lasts until released (or cancelled)."""

    def __init__(self, needs_clerk=()):
        self.runs: list[threading.Thread] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.cancelled_seen = False
        self.needs_clerk = list(needs_clerk)

    def run_once(self, progress=None, cancelled=None, pull=True):
        self.runs.append(threading.current_thread())
        self.started.set()
        progress(0, 2, "正在上传 1")
        while not self.release.wait(0.01):
            if cancelled():
                self.cancelled_seen = True
                return SyncReport(stopped="cancelled")
        progress(2, 2, "")
        report = SyncReport(delivered=2, statuses=len(self.needs_clerk))
        report.needs_clerk = list(self.needs_clerk)
        return report


@pytest.fixture
def worker(qtbot):
    made: list[SyncWorker] = []

    def make(engine, interval_s: float = 3600, soon_ms: int = 50) -> SyncWorker:
        factory_threads: list[threading.Thread] = []

        def factory():
            factory_threads.append(threading.current_thread())
            return engine

        w = SyncWorker(factory, interval_s=interval_s, soon_ms=soon_ms)
        w.factory_threads = factory_threads
        made.append(w)
        return w

    yield make
    for w in made:
        assert w.shutdown(wait_ms=5000)


def test_a_pass_runs_on_the_worker_thread_and_reports(qtbot, worker):
    engine = SlowEngine()
    engine.release.set()
    w = worker(engine)
    w.start()
    progress, started = [], []
    w.sync_did_progress.connect(lambda done, total, text: progress.append((done, total, text)))
    w.sync_did_start.connect(lambda: started.append(True))
    with qtbot.waitSignal(w.sync_did_finish, timeout=5000) as finished:
        w.set_ready(True)
    report = finished.args[0]
    assert started == [True]
    assert report.delivered == 2 and w.passes == 1 and not w.running
    main = threading.main_thread()
    assert engine.runs and all(t is not main for t in engine.runs)
    assert w.factory_threads == engine.runs[:1]  # the engine was made in the worker thread too
    qtbot.waitUntil(lambda: (2, 2, "") in progress, timeout=2000)
    assert (0, 2, "正在上传 1") in progress


def test_wake_ups_during_a_pass_coalesce_into_one_more(qtbot, worker):
    engine = SlowEngine()
    w = worker(engine)
    w.start()
    w.set_ready(True)
    assert engine.started.wait(5)
    for _ in range(3):
        w.sync_now()
    w.wake_soon()
    qtbot.wait(150)  # the "soon" timer fires during the pass too
    assert w.running and w.pending
    engine.release.set()
    qtbot.waitUntil(lambda: w.passes == 2, timeout=5000)
    qtbot.wait(300)
    assert len(engine.runs) == 2 and w.passes == 2 and not w.pending
    assert len({id(t) for t in engine.runs}) == 1 and engine.runs[0] is not threading.main_thread()


def test_nothing_runs_before_ready_then_one_pass(qtbot, worker):
    engine = SlowEngine()
    engine.release.set()
    w = worker(engine)
    w.start()
    w.sync_now()
    w.connection_changed(Status(State.ONLINE, "培训平台", "http://127.0.0.1:1"))
    qtbot.wait(200)
    assert engine.runs == [] and w.pending
    with qtbot.waitSignal(w.sync_did_finish, timeout=5000):
        w.set_ready(True)
    qtbot.wait(200)
    assert len(engine.runs) == 1


def test_shutdown_cancels_the_pass_and_ends_the_thread(qtbot, worker):
    engine = SlowEngine()
    w = worker(engine)
    w.start()
    w.set_ready(True)
    assert engine.started.wait(5)
    thread = w.thread
    started = time.monotonic()
    assert w.shutdown(wait_ms=5000)
    assert time.monotonic() - started < 2 and engine.cancelled_seen and thread.isFinished()
    w.sync_now()  # after shutdown: ignored
    assert len(engine.runs) == 1


def test_the_timer_waits_while_offline_and_the_return_wakes_it(qtbot, worker):
    engine = SlowEngine()
    engine.release.set()
    w = worker(engine, interval_s=0.05)
    w.connection_changed(Status(State.OFFLINE, "培训平台", None, "网络不通"))
    w.start()
    w._ready = True  # ready without the first pass, so that only the timer or the connection can start one
    qtbot.wait(300)
    assert engine.runs == []
    with qtbot.waitSignal(w.sync_did_finish, timeout=5000):
        w.connection_changed(Status(State.ONLINE, "培训平台", "http://127.0.0.1:1"))
    assert len(engine.runs) >= 1


def test_needs_clerk_events_are_announced_once(qtbot, worker):
    event = Event(7, "511324102042611250001X", "PX0200000001-440300-01", "补正", "2026-11-25T10:00:00Z",
                  "请补正", ("申请人居民身份证",))
    engine = SlowEngine([event])
    engine.release.set()
    w = worker(engine)
    w.start()
    with qtbot.waitSignal(w.statuses_did_change, timeout=5000) as first:
        w.set_ready(True)
    assert first.args[0] == [event]
    qtbot.waitUntil(lambda: not w.running, timeout=5000)
    with qtbot.waitSignal(w.statuses_did_change, timeout=5000) as second:
        w.sync_now()
    assert second.args[0] == []  # statuses changed again, but this 补正 was announced already
