"""``--self-test``: drives the real window through its main path and reports what failed.

Steps, each with a bound: the look (shipped font, style sheet); in training mode, the training
platform answering; a catalogue refresh; a search for 身份证; the first guide opened; in training
mode, intake with that guide (开始收件, an applicant typed in, every material received, the review,
the confirmation and its receipt number, the case in the case list); every page visited (a PNG
of each, and of the guide, the intake steps and the case, with ``--screenshots DIR``). The steps run
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
                 intake_page=None, cases_page=None, parent: QObject | None = None):
        super().__init__(parent)
        self.window = window
        self.page = catalogue_page
        self.intake = intake_page
        self.cases = cases_page
        self._collected = None
        self._confirm_failed = ""
        if intake_page is not None:
            intake_page.case_did_collect.connect(lambda case: setattr(self, "_collected", case))
            intake_page.confirm_did_fail.connect(lambda message: setattr(self, "_confirm_failed", message))
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
        if self.intake is not None and self.training:
            steps += [
                Step("打开办件数据", "open the case store", lambda: None, self._intake_ready, 30),
                Step("以该事项开始收件", "start intake with the guide", self._start_intake, self._item_added, 15),
                Step("填写申请人和材料", "fill in the applicant and the materials", self._fill_case,
                     lambda: self._settled_shot("intake-filled"), 15),
                Step("核对", "review", self._review, self._review_ready, 15),
                Step("确认收件", "confirm", self.intake.confirm if self.intake else (lambda: None),
                     self._confirmed, 20),
                Step("在办件中查看", "show the case in the case list", self._show_case, self._case_shown, 15),
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

    # -- intake ----------------------------------------------------------------------------------
    def _intake_ready(self) -> bool | str:
        page = self.intake
        if page.service is not None and page.case is not None:
            return True
        if page.stack.currentWidget() is page.unavailable and page.unavailable.buttons:
            return f"不能收件：{page.unavailable.text.text()} / intake unavailable"
        return False

    def _start_intake(self) -> None:
        self.window.show_page("catalogue")
        self.page.start_intake()

    def _item_added(self) -> bool | str:
        page = self.intake
        if page.case is not None and page.case.items:
            return self.window.current_page == "intake"
        if page.items.refusal.isVisible():
            return f"事项不可收件：{page.items.refusal_text.text()} / item not collectable"
        return False

    def _fill_case(self) -> None:
        page = self.intake
        form = page.applicant
        for edit, text in ((form.name, "张三"), (form.id_number, "11010519491231002X"), (form.phone, "13800138000"),
                           (form.address, "四川省南充市仪陇县马鞍镇人民路1号")):
            edit.setText(text)
            edit.textEdited.emit(text)
        for row in page.materials.rows.values():
            entry = next(m for m in page.case.materials if m.key == row.key)
            if entry.necessity in (1, 3):
                row.form.setCurrentIndex(row.form.findData("原件核验"))
                row.pages.setValue(1)
        page.go_to_step("applicant", focus=False)
        self._settle()

    def _settled_shot(self, name: str) -> bool | str:
        return self._shot(name)

    def _review(self) -> None:
        self.intake.autosaver.flush()
        self.intake.go_to_step("review", focus=False)
        self._settle()

    def _review_ready(self) -> bool | str:
        page = self.intake
        if page.autosaver.pending or page.ops.busy or page.check is None:
            return False
        if page.check.problems:
            return "核对未通过：" + "；".join(p.message for p in page.check.problems) + " / review found problems"
        return self._shot("intake-review")

    def _confirmed(self) -> bool | str:
        if self._confirm_failed:
            return f"确认收件失败：{self._confirm_failed} / confirm failed"
        if self._collected is None or self.intake.stack.currentWidget() is not self.intake.receipt_scroll:
            return False
        if not self.intake.receipt.number.text():
            return "没有收件编号 / no receipt number shown"
        return self._shot("intake-receipt")

    def _show_case(self) -> None:
        self.window.show_page("cases")
        self.cases.show_case(self._collected.id)
        self._settle()

    def _case_shown(self) -> bool | str:
        data = self.cases.detail.data
        if data is None or data.case.id != self._collected.id:
            return False
        return self._shot("cases-detail")

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
