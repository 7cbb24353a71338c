"""The task runner: outcomes routed to the right place, progress only after the delay, cancel,
superseded results dropped; on the synchronous runner and on the real thread pool."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from counter_client.background.tasks import PROGRESS_DELAY_MS, SyncTaskRunner, TaskRunner
from counter_client.errors import Cancelled, UserError

pytestmark = pytest.mark.gui


class Recorder:
    def __init__(self, runner: TaskRunner):
        self.user_errors: list[str] = []
        self.bugs: list[tuple[str, str]] = []
        self.shown: list[float] = []
        self.hidden: list[float] = []
        self.progress: list[tuple[int, int, str]] = []
        runner.user_error_did_occur.connect(self.user_errors.append)
        runner.bug_did_occur.connect(lambda m, d: self.bugs.append((m, d)))
        runner.progress_did_show.connect(lambda h: self.shown.append(time.monotonic()))
        runner.progress_did_hide.connect(lambda h: self.hidden.append(time.monotonic()))
        runner.progress_did_change.connect(lambda h, d, t, label: self.progress.append((d, t, label)))


def test_success_calls_back_with_the_result(sync_runner):
    got, finished = [], []
    sync_runner.op(lambda job: 6 * 7).on_success(got.append).on_finished(lambda: finished.append(1)).run()
    assert got == [42] and finished == [1]


def test_user_error_is_shown_with_its_message_and_logged(sync_runner, caplog):
    rec = Recorder(sync_runner)

    def fail(job):
        raise UserError("网络不通，请稍后再试。", "connect refused to 10.0.0.1")

    with caplog.at_level(logging.WARNING):
        sync_runner.op(fail).on_success(lambda r: pytest.fail("no success")).run()
    assert rec.user_errors == ["网络不通，请稍后再试。"]
    assert rec.bugs == []
    assert "connect refused to 10.0.0.1" in caplog.text


def test_on_failure_replaces_the_default_presentation(sync_runner):
    rec = Recorder(sync_runner)
    seen = []

    def fail(job):
        raise UserError("目录有误")

    sync_runner.op(fail).on_failure(seen.append).run()
    assert [e.message for e in seen] == ["目录有误"]
    assert rec.user_errors == [] and rec.bugs == []


def test_cancelled_is_silent(sync_runner):
    rec = Recorder(sync_runner)
    calls, finished = [], []

    def stop(job):
        raise Cancelled()

    sync_runner.op(stop).on_success(calls.append).on_failure(calls.append).on_finished(
        lambda: finished.append(1)).run()
    assert calls == [] and rec.user_errors == [] and rec.bugs == []
    assert finished == [1]


def test_other_exceptions_are_logged_with_traceback_and_reported_as_bugs(sync_runner, caplog):
    rec = Recorder(sync_runner)

    def broken(job):
        return {}["missing"]

    with caplog.at_level(logging.ERROR):
        sync_runner.op(broken).on_success(lambda r: pytest.fail("no success")).run()
    assert len(rec.bugs) == 1
    message, details = rec.bugs[0]
    assert "日志" in message
    assert "KeyError" in details and "Traceback" in details
    assert "Traceback" in caplog.text and "KeyError" in caplog.text
    assert rec.user_errors == []


def test_a_failing_callback_is_reported_not_lost(sync_runner):
    rec = Recorder(sync_runner)
    sync_runner.op(lambda job: 1).on_success(lambda r: 1 / 0).run()
    assert len(rec.bugs) == 1 and "ZeroDivisionError" in rec.bugs[0][1]


def test_pool_runs_off_the_gui_thread_and_delivers_on_it(qtbot, pool_runner):
    ran_on, delivered_on = [], []

    def work(job):
        ran_on.append(threading.current_thread())
        return "ok"

    with qtbot.waitCallback() as cb:
        pool_runner.op(work).on_success(lambda r: (delivered_on.append(threading.current_thread()), cb(r))).run()
    assert cb.args == ["ok"]
    assert ran_on[0] is not threading.main_thread()
    assert delivered_on[0] is threading.main_thread()


def test_progress_is_not_shown_for_quick_jobs(qtbot, pool_runner):
    rec = Recorder(pool_runner)
    finished = []
    pool_runner.op(lambda job: time.sleep(0.1)).with_progress("正在处理…").on_finished(
        lambda: finished.append(1)).run()
    qtbot.waitUntil(lambda: finished == [1], timeout=3000)
    qtbot.wait(PROGRESS_DELAY_MS + 100)  # the delay passes after the job: still nothing
    assert rec.shown == [] and rec.hidden == []


def test_progress_appears_after_the_delay_then_hides(qtbot, pool_runner):
    rec = Recorder(pool_runner)
    finished = []

    def slow(job):
        for i in range(9):
            job.progress(i, 8, f"第 {i} 批")
            time.sleep(0.1)
        return None

    started = time.monotonic()
    pool_runner.op(slow).with_progress("正在更新目录…").on_finished(lambda: finished.append(1)).run()
    qtbot.waitUntil(lambda: finished == [1], timeout=5000)
    assert len(rec.shown) == 1 and len(rec.hidden) == 1
    assert rec.shown[0] - started >= (PROGRESS_DELAY_MS - 20) / 1000
    assert rec.progress and rec.progress[-1][1] == 8
    assert rec.progress[-1][2].startswith("第")


def test_cancel_is_a_flag_the_job_checks(qtbot, pool_runner):
    rec = Recorder(pool_runner)
    calls, finished, started = [], [], threading.Event()

    def long(job):
        started.set()
        while True:
            job.check()
            time.sleep(0.01)

    handle = pool_runner.op(long).on_success(calls.append).on_failure(calls.append).on_finished(
        lambda: finished.append(1)).run()
    assert started.wait(3)
    handle.cancel()
    qtbot.waitUntil(lambda: finished == [1], timeout=3000)
    assert calls == [] and rec.user_errors == [] and rec.bugs == []


def test_superseded_results_are_dropped(qtbot, pool_runner):
    got, finished = [], []

    def slow(job):
        time.sleep(0.3)
        return "old"

    pool_runner.op(slow).superseding("search").on_success(got.append).on_finished(lambda: finished.append(1)).run()
    pool_runner.op(lambda job: "new").superseding("search").on_success(got.append).on_finished(
        lambda: finished.append(1)).run()
    qtbot.waitUntil(lambda: len(finished) == 2, timeout=3000)
    assert got == ["new"]


def test_shutdown_cancels_and_waits(qtbot):
    runner = TaskRunner()
    seen = threading.Event()

    def long(job):
        while not job.cancelled():
            time.sleep(0.01)
        seen.set()

    runner.op(long).run()
    time.sleep(0.05)
    assert runner.shutdown(wait_ms=3000)
    assert seen.is_set()


def test_sync_runner_reports_progress_without_showing_it():
    runner = SyncTaskRunner()
    rec = Recorder(runner)
    runner.op(lambda job: job.progress(1, 2, "x")).with_progress("y").run()
    assert rec.shown == []
    runner.shutdown()
