"""``--self-test``: drives the real window through its main path and reports what failed.

Steps, each with a bound: the look (shipped font, style sheet); in training mode, the training
platform answering; a catalogue refresh; a search for 身份证; the first guide opened; every page
visited (a PNG of each, and one with the guide open, with ``--screenshots DIR``). The steps run
from the event loop (a polling timer, no nested loops); the whole test fails after
``timeout_s``. Should the event loop itself hang (a blocked GUI thread: exactly what the test
must catch), a watchdog thread ends the process with exit code 1 ``WATCHDOG_GRACE_S`` later.
Failures are printed in Chinese and English; the exit code is 0 or 1.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QCoreApplication, QObject, QTimer
from PySide6.QtGui import QFontInfo
from PySide6.QtWidgets import QApplication, QWidget

from counter_client.services.connection import State

log = logging.getLogger(__name__)

POLL_MS = 50
SETTLE_MS = 300  # let layouts and repaints finish before a screenshot
SEARCH_QUERY = "身份证"
STEP_TIMEOUT_S = 90.0
WATCHDOG_GRACE_S = 30.0


@dataclass
class Step:
    zh: str
    en: str
    act: Callable[[], None]
    done: Callable[[], bool | str]  # True: passed; a string: failed with that reason (zh / en)
    timeout_s: float = 30.0


class SelfTest(QObject):
    """Runs the steps; ``exit_code`` is set when the event loop is asked to end."""

    def __init__(self, window, catalogue_page, refresher, monitor, errors, *, training: bool, look,
                 expected_family: str, screenshots: Path | None = None, timeout_s: float = 120.0,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.window = window
        self.page = catalogue_page
        self.refresher = refresher
        self.monitor = monitor
        self.training = training
        self.look = look
        self.expected_family = expected_family
        self.screenshots = screenshots
        self.timeout_s = timeout_s
        self.exit_code = 1
        self.saved: list[Path] = []
        self.failures: list[str] = []
        self._errors: list[tuple[str, str]] = []
        errors.error_was_shown.connect(lambda kind, message: self._errors.append((kind, message)))
        self._refresh_failed = ""
        refresher.refresh_did_fail.connect(self._on_refresh_failed)
        self._searched: tuple[str, int] | None = None
        catalogue_page.search_did_finish.connect(lambda q, n: setattr(self, "_searched", (q, n)))
        self._opened = ""
        catalogue_page.guide_did_open.connect(lambda code: setattr(self, "_opened", code))
        self._refreshed = False
        refresher.catalogue_did_refresh.connect(lambda _r: setattr(self, "_refreshed", True))
        self._steps = self._plan()
        self._index = -1
        self._step_started = 0.0
        self._started = 0.0
        self._settle_until = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)

    # -- plan ------------------------------------------------------------------------------------
    def _plan(self) -> list[Step]:
        steps = [Step("检查界面字体与样式表", "check the UI font and style sheet", lambda: None, self._check_look, 5)]
        if self.training:
            steps.append(Step("启动培训平台", "start the training platform", lambda: None,
                              self._platform_ready, STEP_TIMEOUT_S))
        else:
            steps.append(Step("连接平台", "reach the platform", self.monitor.probe_now,
                              self._platform_ready, 40))
        steps += [
            Step("等待自动更新结束", "wait for an automatic refresh to end", lambda: None,
                 lambda: not self.refresher.running, STEP_TIMEOUT_S),
            Step("更新事项目录", "refresh the catalogue", self._start_refresh, self._refresh_done, STEP_TIMEOUT_S),
            Step(f"检索“{SEARCH_QUERY}”", f"search for {SEARCH_QUERY}", self._search, self._search_done, 15),
            Step("打开第一个事项指南", "open the first guide", self._open_first, self._guide_open, 15),
            Step("保存指南截图", "save the guide screenshot", lambda: self._settle(),
                 lambda: self._shot("catalogue-guide"), 10),
        ]
        for number, key in enumerate(self.window.page_keys(), start=1):
            steps.append(Step(f"打开页面 {key}", f"visit page {key}",
                              lambda k=key: (self.window.show_page(k), self._settle()),
                              lambda n=number, k=key: self._page_visible(n, k), 10))
        return steps

    # -- running ---------------------------------------------------------------------------------
    def start(self) -> None:
        self._started = time.monotonic()
        self._watchdog = threading.Timer(self.timeout_s + WATCHDOG_GRACE_S, self._hung)
        self._watchdog.daemon = True
        self._watchdog.start()
        self._timer.start()
        self._next()

    def _hung(self) -> None:  # watchdog thread: the event loop no longer runs
        print(f"自检失败：界面无响应（超过 {self.timeout_s + WATCHDOG_GRACE_S:.0f} 秒）\n"
              "self-test failed: the GUI thread stopped responding", file=sys.stderr, flush=True)
        log.error("self-test watchdog: GUI thread hung")
        os._exit(1)

    def _next(self) -> None:
        self._index += 1
        if self._index >= len(self._steps):
            self._finish()
            return
        step = self._steps[self._index]
        log.info("self-test: %s", step.en)
        self._step_started = time.monotonic()
        try:
            step.act()
        except Exception as exc:  # noqa: BLE001 - reported as a failure
            self._fail(step, f"出错 / error: {exc!r}")

    def _poll(self) -> None:
        if self._index >= len(self._steps) or self._index < 0:
            return
        step = self._steps[self._index]
        now = time.monotonic()
        bugs = [m for kind, m in self._errors if kind == "bug"]
        if bugs:
            self._fail(step, f"程序错误 / unexpected error: {bugs[0]}")
            return
        if now - self._started > self.timeout_s:
            self._fail(step, f"自检超时（{self.timeout_s:.0f} 秒） / self-test timed out after {self.timeout_s:.0f} s")
            return
        if now < self._settle_until:
            return
        try:
            outcome = step.done()
        except Exception as exc:  # noqa: BLE001
            self._fail(step, f"出错 / error: {exc!r}")
            return
        if outcome is True:
            self._next()
        elif isinstance(outcome, str):
            self._fail(step, outcome)
        elif now - self._step_started > step.timeout_s:
            self._fail(step, f"超时（{step.timeout_s:.0f} 秒） / timed out after {step.timeout_s:.0f} s")

    def _fail(self, step: Step, reason: str) -> None:
        message = f"自检失败：{step.zh} — {reason}\nself-test failed: {step.en}"
        user_errors = [m for kind, m in self._errors if kind == "user"]
        if user_errors:
            message += "\n提示 / messages shown: " + "；".join(user_errors)
        self.failures.append(message)
        print(message, file=sys.stderr)
        log.error("%s", message.replace("\n", " | "))
        self._end(1)

    def _finish(self) -> None:
        print(f"自检通过 / self-test passed ({time.monotonic() - self._started:.1f} s)")
        for path in self.saved:
            print(f"  {path}")
        self._end(0)

    def _end(self, code: int) -> None:
        self.exit_code = code
        self._timer.stop()
        if getattr(self, "_watchdog", None) is not None:
            self._watchdog.cancel()
        self._index = len(self._steps)
        QCoreApplication.exit(code)

    def _settle(self) -> None:
        self._settle_until = time.monotonic() + SETTLE_MS / 1000

    # -- checks ----------------------------------------------------------------------------------
    def _check_look(self) -> bool | str:
        app = QApplication.instance()
        family = QFontInfo(app.font()).family()
        if not self.look.font_loaded:
            return "未能加载随附字体 / the shipped font file could not be loaded"
        if family != self.expected_family:
            return f"界面字体为 {family}，应为 {self.expected_family} / app font resolved to {family!r}"
        if not self.look.style_sheet_loaded or not app.styleSheet():
            return "样式表未加载 / style sheet not loaded"
        return True

    def _platform_ready(self) -> bool | str:
        status = self.monitor.status
        if status.state == State.ONLINE:
            return True
        if status.state in (State.OFFLINE, State.LIMITED) and status.checked_at:
            return f"平台不可用：{status.message or status.state.value} / platform unreachable ({status.state.value})"
        return False

    def _on_refresh_failed(self, message: str) -> None:
        self._refresh_failed = message

    def _start_refresh(self) -> None:
        self._refreshed = False
        self._refresh_failed = ""
        if not self.refresher.refresh():
            raise RuntimeError("a refresh is already running")

    def _refresh_done(self) -> bool | str:
        if self._refresh_failed:
            return f"更新失败：{self._refresh_failed} / refresh failed"
        if self._refreshed and not self.refresher.running:
            info = self.refresher.info
            if info is not None and info.guide_count == 0:
                return "目录为空 / the catalogue is empty after refresh"
            return info is not None
        if not self.refresher.running and not self._refreshed:
            return "更新被取消 / refresh ended without a result"
        return False

    def _search(self) -> None:
        self._searched = None
        self.window.show_page("catalogue")
        self.page.search_field.setText(SEARCH_QUERY)

    def _search_done(self) -> bool | str:
        if self._searched is None or self._searched[0] != SEARCH_QUERY:
            return False
        return True if self._searched[1] > 0 else f"没有找到“{SEARCH_QUERY}” / no hits for {SEARCH_QUERY}"

    def _open_first(self) -> None:
        self._opened = ""
        self.page.open_guide_at(0)

    def _guide_open(self) -> bool:
        return bool(self._opened) and self.page.guide_view.code == self._opened

    def _page_visible(self, number: int, key: str) -> bool | str:
        if self.window.current_page != key:
            return f"页面未显示 / page {key} not shown"
        page: QWidget = self.window.pages[key]
        if not page.isVisible():
            return f"页面不可见 / page {key} not visible"
        return self._shot(f"page-{number:02d}-{key}")

    def _shot(self, name: str) -> bool | str:
        if self.screenshots is None:
            return True
        self.screenshots.mkdir(parents=True, exist_ok=True)
        path = self.screenshots / f"{name}.png"
        if not self.window.grab().save(str(path)):
            return f"截图保存失败 / could not save {path}"
        self.saved.append(path)
        return True
