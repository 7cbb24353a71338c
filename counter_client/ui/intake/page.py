"""The intake page (收件): one page, six steps down the left (事项 → 申请人 → 代办人 → 材料 →
送达 → 核对), each a section of one scrolling form, reachable by Tab, by clicking its step and
by Alt+1…6.

The page owns the case being collected. Typing edits it in memory at once; every change
schedules an autosave (``background.autosave``: debounced, on the runner, in order with every
other write of the case), and each save also brings back the problems, the 一次性告知 and the
due dates the confirmation would compute. A problem shows beside its field and as a red mark on
its step once the clerk has left that step (or tried to confirm), never as a dialog. Slow work
(catalogue look-ups, checklist rebuilds, storing and turning pages, imports, camera frames,
confirmation) runs on the task runner; an op that rebuilds the checklist merges its result
into the case as it is when the result arrives, so nothing typed meanwhile is lost.

Printing (``set_printing``): once a case is collected the 收件凭证's print dialog opens at once
(Enter prints it: ``print.offer_after_intake``); Ctrl+P prints the receipt of the case just
collected, Ctrl+Shift+P the 一次性告知书 (from the 核对 step while materials are missing, or after
confirmation).

Keyboard: Ctrl+Enter confirms; Ctrl+P / Ctrl+Shift+P print; Alt+1…6 jump to a step; in the item search ↑/↓ choose and Enter
adds; Delete / Ctrl+Z on a page thumbnail delete it / bring it back.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from counter_client.background.autosave import Autosaver, SerialOps
from counter_client.background.folder_poller import FolderPoller
from counter_client.background.tasks import TaskRunner
from counter_client.domain.case import Case, Party
from counter_client.domain.search import SearchFilters, SearchHit
from counter_client.errors import UserError
from counter_client.services.intake import CaseFilter, CaseRejected, NotCollectable
from counter_client.ui.intake.logic import (
    STEP_TITLES,
    STEPS,
    DraftCheck,
    copy_case,
    is_blank,
    merge_recorded,
    problems_by_step,
    step_of,
)
from counter_client.ui.intake.materials import MaterialsSection
from counter_client.ui.intake.review import ReceiptPanel, ReviewSection
from counter_client.ui.intake.scan_strip import THUMB_EM, ThumbnailCache
from counter_client.ui.intake.sections import (
    AgentSection,
    DeliverySection,
    ItemsSection,
    PartyForm,
    StepSection,
)
from counter_client.ui.intake.tools import ScanTools
from counter_client.ui.widgets import (
    Banner,
    FieldMessage,
    InPlaceMessage,
    em,
    plain_label,
    set_kind,
)

log = logging.getLogger(__name__)

SEARCH_DEBOUNCE_MS = 60
SCROLL_HOLD_MS = 400  # a step jumped to stays at the top while the sections above settle
SEARCH_LIMIT = 20
SEARCH_KEY = "intake-item-search"
DRAFT_OFFER_LIMIT = 50


class CatalogueLookups(Protocol):
    """What the page reads from the catalogue (on the runner)."""

    def search(self, query: str, filters: SearchFilters, limit: int) -> list[SearchHit]: ...
    def region_full_name(self, code: str) -> str: ...


class IntakePage(QWidget):
    """收件.

    Signals:
        draft_did_save(str case_id): the case as it was at the last save is on disk.
        check_did_finish(object check): problems, notice and due dates of the case (``DraftCheck``).
        case_did_collect(object case): a case was confirmed (it has its receipt number).
        case_did_open(str case_id): a case (new or a draft) is now being edited.
        confirm_did_fail(str message): the confirmation was refused (problems are marked in place).
        case_view_was_requested(str case_id): show this case in the case list.
        drafts_view_was_requested(): show the drafts in the case list.
        setup_was_requested(): the clerk wants to enter the hall code and terminal number.
        retry_was_requested(): open the case store again.
    """

    draft_did_save = Signal(str)
    check_did_finish = Signal(object)
    case_did_collect = Signal(object)
    case_did_open = Signal(str)
    confirm_did_fail = Signal(str)
    case_view_was_requested = Signal(str)
    drafts_view_was_requested = Signal()
    setup_was_requested = Signal()
    retry_was_requested = Signal()

    def __init__(self, runner: TaskRunner, catalogue: CatalogueLookups, tools: ScanTools, hall: dict[str, str],
                 watch_folder: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("IntakePage")
        self._runner = runner
        self._catalogue = catalogue
        self._tools = tools
        self.hall = dict(hall)
        self._watch_folder = watch_folder
        self.service: Any = None
        self.printing: Any = None
        self.offer_print = False
        self.case: Case | None = None
        self.check: DraftCheck | None = None
        self._region_names: dict[str, str] = {}
        self._revealed: set[str] = set()
        self._reveal_all = False
        self._confirming = False
        self._deleted: dict[str, tuple[int, str]] = {}
        self._pending_items: list[str] = []
        self._current_step = ""
        self.last_saved_at = ""
        self._sticky_status = False
        self._edits = 0  # changes made to the case on screen
        self._saved_edits = 0  # of which on disk

        self.ops = SerialOps(runner, self)
        self.autosaver = Autosaver(self.ops, self._snapshot, self._save_and_check, parent=self)
        self.autosaver.save_did_finish.connect(self._saved)
        self.autosaver.save_did_fail.connect(self._save_failed)
        self.autosaver.save_did_start.connect(
            lambda: self._sticky_status or self._set_status(self.tr("正在保存…"), "hint"))
        thumb = QSize(em(self, THUMB_EM[0]), em(self, THUMB_EM[1]))
        self.thumbnails = ThumbnailCache(runner, self._read_scan, thumb, self)
        self.poller = FolderPoller(runner, tools.make_watch, parent=self)
        self.poller.files_did_arrive.connect(self._watched_files)
        self.poller.watch_did_fail.connect(lambda text: self.materials.set_watch_status(text, "error"))
        self.poller.watch_did_start.connect(lambda _f: self._update_watch_status())

        # -- frame ---------------------------------------------------------------------------------
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.drafts_banner = Banner(kind="info", parent=self)
        self.drafts_banner.hide()
        outer.addWidget(self.drafts_banner)
        self.stack = QStackedWidget(self)
        outer.addWidget(self.stack, 1)
        self.unavailable = InPlaceMessage(self)
        self.unavailable.action_was_clicked.connect(self._unavailable_action)
        self.unavailable.show_message(self.tr("正在打开办件数据…"), "")
        self.stack.addWidget(self.unavailable)

        self.form = QWidget(self)
        form_layout = QVBoxLayout(self.form)
        form_layout.setContentsMargins(14, 10, 14, 8)
        form_layout.setSpacing(8)
        header = QHBoxLayout()
        header.setSpacing(10)
        header.addWidget(plain_label(self.tr("收件"), "PageTitle", self.form))
        self.status = FieldMessage(self.form)
        header.addWidget(self.status, 1)
        self.new_button = QPushButton(self.tr("新收件"), self.form)
        self.new_button.setToolTip(self.tr("为下一位申请人开始新的收件（当前草稿已自动保存）"))
        self.new_button.clicked.connect(self.start_new)
        header.addWidget(self.new_button)
        self.confirm_button = QPushButton(self.tr("确认收件"), self.form)
        self.confirm_button.setObjectName("Primary")
        self.confirm_button.setToolTip(self.tr("检查并确认收件，生成收件编号（Ctrl+Enter）"))
        self.confirm_button.clicked.connect(self.confirm)
        header.addWidget(self.confirm_button)
        form_layout.addLayout(header)

        body = QHBoxLayout()
        body.setSpacing(12)
        self.step_nav = QFrame(self.form)
        self.step_nav.setObjectName("StepNav")
        nav = QVBoxLayout(self.step_nav)
        nav.setContentsMargins(6, 6, 6, 6)
        nav.setSpacing(4)
        self.step_buttons: dict[str, QPushButton] = {}
        for number, key in enumerate(STEPS, start=1):
            button = QPushButton(f"{number}  {self.tr(STEP_TITLES[key])}", self.step_nav)
            button.setObjectName("StepButton")
            button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setToolTip(self.tr("跳到“%1”（Alt+%2）").replace("%1", self.tr(STEP_TITLES[key]))
                              .replace("%2", str(number)))
            button.clicked.connect(lambda _=False, k=key: self.go_to_step(k))
            nav.addWidget(button)
            self.step_buttons[key] = button
        nav.addStretch(1)
        self.step_nav.setFixedWidth(em(self, 7.5))
        body.addWidget(self.step_nav)

        self.scroll = QScrollArea(self.form)
        self.scroll.setObjectName("IntakeScroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        content = QWidget(self.scroll)
        content.setObjectName("IntakeContent")
        self.content = content
        sections = QVBoxLayout(content)
        sections.setContentsMargins(0, 0, 8, 0)
        sections.setSpacing(12)
        self.sections: dict[str, StepSection] = {}
        for number, key in enumerate(STEPS, start=1):
            section = StepSection(key, number, self.tr(STEP_TITLES[key]), content)
            self.sections[key] = section
            sections.addWidget(section)
        sections.addStretch(1)
        self.scroll.setWidget(content)
        self._scroll_target: QWidget | None = None
        self._scroll_hold = QTimer(self)
        self._scroll_hold.setSingleShot(True)
        self._scroll_hold.setInterval(SCROLL_HOLD_MS)
        self._scroll_hold.timeout.connect(lambda: setattr(self, "_scroll_target", None))
        for section in self.sections.values():
            section.installEventFilter(self)
        self.scroll.verticalScrollBar().valueChanged.connect(self._scrolled)
        body.addWidget(self.scroll, 1)
        form_layout.addLayout(body, 1)
        self.stack.addWidget(self.form)

        self.items = ItemsSection(self.sections["items"])
        self.sections["items"].body.addWidget(self.items)
        self.applicant = PartyForm("applicant", self.sections["applicant"])
        self.sections["applicant"].body.addWidget(self.applicant)
        self.identity_checked = QPushButton(self.tr("已核验身份（读卡或核对原件）"), self.sections["applicant"])
        self.identity_checked.setCheckable(True)
        self.identity_checked.setObjectName("CheckButton")
        self.identity_checked.toggled.connect(lambda on: self._set_value("identity_checked", on))
        self.sections["applicant"].body.addWidget(self.identity_checked, 0, Qt.AlignmentFlag.AlignLeft)
        self.agent = AgentSection(self.sections["agent"])
        self.sections["agent"].body.addWidget(self.agent)
        self.materials = MaterialsSection(self.thumbnails, tools.suffixes, self.sections["materials"])
        self.sections["materials"].body.addWidget(self.materials)
        self.delivery = DeliverySection(self.sections["delivery"])
        self.sections["delivery"].body.addWidget(self.delivery)
        self.review = ReviewSection(self.sections["review"])
        self.sections["review"].body.addWidget(self.review)

        self.receipt_scroll = QScrollArea(self)
        self.receipt_scroll.setWidgetResizable(True)
        self.receipt_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.receipt = ReceiptPanel(self.receipt_scroll)
        self.receipt_scroll.setWidget(self.receipt)
        self.stack.addWidget(self.receipt_scroll)

        # -- wiring --------------------------------------------------------------------------------
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DEBOUNCE_MS)
        self._search_timer.timeout.connect(self._search_now)
        self.items.search_was_requested.connect(lambda _q: self._search_timer.start())
        self.items.item_was_chosen.connect(self.add_item)
        self.items.item_removal_was_requested.connect(self.remove_item)
        self.items.mode_did_change.connect(lambda mode: self._set_value("mode", mode))
        self.items.app_no_did_change.connect(lambda text: self._set_value("helper.platform_app_no", text))
        self.items.consultation_was_requested.connect(self.record_consultation)
        self.applicant.value_did_change.connect(lambda name, value: self._set_value(f"applicant.{name}", value))
        self.agent.agent_was_toggled.connect(self.set_agent_enabled)
        self.agent.agent_value_did_change.connect(lambda name, value: self._set_value(f"agent.{name}", value))
        self.agent.helper_value_did_change.connect(lambda name, value: self._set_value(f"helper.{name}", value))
        self.materials.material_did_change.connect(self.set_material)
        self.materials.files_were_dropped.connect(self.import_files)
        self.materials.camera_was_requested.connect(self.open_camera)
        self.materials.page_action_was_requested.connect(self.page_action)
        self.materials.undo_was_requested.connect(self.undo_delete)
        self.materials.row_was_selected.connect(lambda _k: self._update_watch_status())
        self.delivery.value_did_change.connect(lambda name, value: self._set_value(f"delivery.{name}", value))
        self.delivery.copy_was_requested.connect(self._copy_applicant_to_delivery)
        self.review.confirm_was_requested.connect(self.confirm)
        self.review.step_was_requested.connect(self.go_to_step)
        self.receipt.next_was_requested.connect(self.start_new)
        self.receipt.case_view_was_requested.connect(self.case_view_was_requested)
        self.receipt.print_was_requested.connect(self.print_document)
        self.review.notice_print_was_requested.connect(lambda: self.print_document("notice"))
        for keys, kind in (("Ctrl+P", "receipt"), ("Ctrl+Shift+P", "notice")):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda k=kind: self.print_document(k))

        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self.confirm)
        for number, key in enumerate(STEPS, start=1):
            shortcut = QShortcut(QKeySequence(f"Alt+{number}"), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda k=key: self.go_to_step(k))
        app = QApplication.instance()
        if app is not None:
            app.focusChanged.connect(self._focus_changed)
        self._set_step_current("items")

    # -- the service ------------------------------------------------------------------------------
    def set_service(self, service: Any) -> None:
        """The intake service is open: offer unfinished drafts, start a case, watch the folder."""
        self.service = service
        self.stack.setCurrentWidget(self.form)
        self.ops.enqueue(self._prepare_drafts, self._drafts_listed, self._quiet_failure)
        if self.case is None:
            self._enqueue_new_case()
        for code in self._pending_items:
            self.add_item(code)
        self._pending_items = []
        if self._watch_folder:
            self.poller.start(self._watch_folder)

    def set_printing(self, launcher: Any, offer_after_intake: bool = True) -> None:
        """The print launcher; ``offer_after_intake``: open the receipt's print dialog on confirmation."""
        self.printing = launcher
        self.offer_print = offer_after_intake

    def print_document(self, kind: str) -> None:
        """收件凭证 of the case just collected, or 一次性告知书 of the case on screen (draft or collected)."""
        case = self.case
        if case is None or self.printing is None or not self.printing.available or self._confirming:
            return
        if kind == "receipt" and case.state != "collected":
            return
        if kind == "notice" and not (self.service.notice(case) if case.state == "collected"
                                     else (self.check.notice if self.check else [])):
            return
        self.printing.print_case(kind, copy_case(case) if case.state == "draft" else case, self)

    def set_unavailable(self, message: str, can_set_up: bool = False) -> None:
        """The case store cannot be opened: say why and what to do, instead of the form."""
        actions = [("setup", self.tr("填写大厅编码和终端号"))] if can_set_up else []
        actions.append(("retry", self.tr("重试")))
        self.unavailable.show_message(self.tr("现在不能收件"), message, actions)
        self.stack.setCurrentWidget(self.unavailable)

    def set_hall(self, hall: dict[str, str]) -> None:
        self.hall = dict(hall)
        self._refresh_review()

    def set_watch_folder(self, folder: str) -> None:
        self._watch_folder = folder
        if self.service is not None:
            self.poller.start(folder)
        self._update_watch_status()

    def _unavailable_action(self, key: str) -> None:
        if key == "setup":
            self.setup_was_requested.emit()
        else:
            self.retry_was_requested.emit()

    def _read_scan(self, sha: str) -> bytes:
        if self.service is None:
            raise UserError(self.tr("办件数据尚未打开。"), "scan read before the service is open")
        return self.service.scan(sha)

    # -- page shown -------------------------------------------------------------------------------
    def page_shown(self) -> None:
        if self.stack.currentWidget() is self.form and self.case is not None and not self.case.items:
            self.items.search.setFocus(Qt.FocusReason.ShortcutFocusReason)

    # -- cases ------------------------------------------------------------------------------------
    def _enqueue_new_case(self) -> None:
        def prepare():
            if self.service is None:
                return None
            service = self.service
            return lambda job: service.new_case()

        self.ops.enqueue(prepare, self._open_case, self._quiet_failure)

    def start_new(self) -> None:
        """The next applicant: a fresh case (an untouched one is reused)."""
        if self.service is None or self._confirming:
            return
        if self.case is not None and self.case.state == "draft" and is_blank(self.case):
            self._open_case(self.case)
            return
        self.autosaver.flush()
        self._enqueue_new_case()

    def open_draft(self, case_id: str) -> None:
        """Continue a saved draft (from the case list or the offer at start)."""
        if self.service is None or self._confirming:
            return
        if self.case is not None and self.case.id == case_id and self.case.state == "draft":
            self.stack.setCurrentWidget(self.form)
            return
        self.autosaver.flush()
        blank = self.case.id if self.case is not None and self.case.state == "draft" and is_blank(self.case) else ""
        service = self.service

        def load(job):
            if blank:
                service.discard_draft(blank)
            return service.load(case_id)

        self.ops.enqueue(lambda: load, self._draft_loaded, self._quiet_failure)

    def _draft_loaded(self, case: Case | None) -> None:
        if case is None:
            self._set_status(self.tr("找不到该草稿，可能已被删除。"), "error")
            return
        if case.state != "draft":
            self._set_status(self.tr("该办件已收件或已作废，不能继续编辑。"), "error")
            self.case_view_was_requested.emit(case.id)
            return
        self.drafts_banner.hide()
        self._open_case(case)
        self._set_status(self.tr("已打开草稿，继续收件。"), "ok")
        self._run_check()

    def _open_case(self, case: Case) -> None:
        if self.case is None or self.case.id != case.id:
            self.thumbnails.clear()  # the last applicant's pages leave memory
        self.case = case
        self._edits = self._saved_edits = 0
        self.check = None
        self._revealed = set()
        self._reveal_all = False
        self._confirming = False
        self._deleted = {}
        self.content.setEnabled(True)
        self.items.clear_search()
        self.items.hide_refusal()
        self.stack.setCurrentWidget(self.form)
        self._load_all()
        self._set_status(self.tr("新收件：先选择事项") if not case.items else "", "hint")
        self.scroll.verticalScrollBar().setValue(0)
        self.case_did_open.emit(case.id)
        if self.isVisible():
            self.items.search.setFocus(Qt.FocusReason.OtherFocusReason)

    def draft_was_discarded(self, case_id: str) -> None:
        """The case list dropped a draft: if it is the one on screen, start afresh."""
        if self.case is not None and self.case.id == case_id:
            self.autosaver.cancel()
            self.case = None
            self._enqueue_new_case()

    def start_with_item(self, code: str) -> None:
        """开始收件 from the catalogue: add the item to the case being collected (a new one when
        the last was just confirmed)."""
        if self.service is None:
            self._pending_items.append(code)
            return
        if self.case is None or self.case.state != "draft":
            self._enqueue_new_case()
        self.add_item(code)

    # -- drafts offered at start ------------------------------------------------------------------
    def _prepare_drafts(self):
        service = self.service
        current = self.case.id if self.case else ""

        def work(job):
            rows = service.list(CaseFilter(state="draft", limit=DRAFT_OFFER_LIMIT))
            kept = []
            for row in rows:
                if row.id == current:
                    continue
                if not row.items and not row.applicant:
                    case = service.load(row.id)
                    if case is not None and case.state == "draft" and is_blank(case):
                        service.discard_draft(row.id)  # an untouched form: nothing to continue
                        continue
                kept.append(row)
            return kept

        return work

    def _drafts_listed(self, rows: list) -> None:
        if not rows:
            self.drafts_banner.hide()
            return
        latest = rows[0]
        who = latest.applicant or self.tr("未填申请人")
        what = "、".join(latest.items) or self.tr("未选事项")
        text = self.tr("有 %1 件未完成的收件。最近一件：%2 · %3（%4 开始）").replace("%1", str(len(rows))) \
            .replace("%2", who).replace("%3", what).replace("%4", latest.created_at[11:16] or latest.day)
        banner = Banner(text, kind="info", parent=self)
        banner.add_action(self.tr("继续上次未完成的收件"), lambda: self.open_draft(latest.id), primary=True)
        if len(rows) > 1:
            banner.add_action(self.tr("查看全部草稿"), self.drafts_view_was_requested.emit)
        layout = self.layout()
        layout.replaceWidget(self.drafts_banner, banner)
        self.drafts_banner.deleteLater()
        self.drafts_banner = banner
        banner.show()

    # -- editing ----------------------------------------------------------------------------------
    @property
    def editable(self) -> bool:
        return self.case is not None and self.case.state == "draft" and not self._confirming

    def _set_value(self, path: str, value: Any) -> None:
        """Set ``applicant.name`` and the like on the case in memory, then autosave."""
        if not self.editable:
            return
        target: Any = self.case
        parts = path.split(".")
        for part in parts[:-1]:
            target = getattr(target, part)
            if target is None:
                return
        if getattr(target, parts[-1]) == value:
            return
        setattr(target, parts[-1], value)
        if path == "delivery.method":
            self._revealed.discard("delivery")
        self._changed(reload=path in ("mode", "helper.mode", "applicant.kind"))

    def _changed(self, reload: bool = False) -> None:
        self._edits += 1
        self._sticky_status = False
        if reload:
            self._load_all()
        else:
            self._refresh_review()
        self.autosaver.schedule()

    def set_material(self, key: str, changes: dict) -> None:
        if not self.editable:
            return
        try:
            self.case = self.service.set_material(self.case, key, **changes)
        except UserError as exc:
            self._set_status(exc.message, "error")
            return
        self._load_materials()
        self._changed()

    def _merge_structure(self, result: Case) -> None:
        """Take items, mode and the rebuilt checklist from ``result`` (computed on the runner)
        into the case as it is now."""
        self.case.items = result.items
        self.case.mode = result.mode
        self.case.materials = merge_recorded(result.materials, self.case.materials)

    def add_item(self, code: str) -> None:
        service, catalogue = self.service, self._catalogue

        def prepare():
            if not self.editable:
                return None
            copy = copy_case(self.case)

            def work(job):
                updated = service.add_item(copy, code)
                return updated, {i.code: catalogue.region_full_name(i.handling_region) for i in updated.items}

            return work

        self.ops.enqueue(prepare, self._item_added, lambda exc: self._item_refused(code, exc))

    def _item_added(self, result: tuple[Case, dict[str, str]]) -> None:
        if not self.editable:
            return
        updated, names = result
        self._region_names.update(names)
        self._merge_structure(updated)
        self.items.clear_search()
        self.items.hide_refusal()
        self._load_all()
        self._changed()
        self._set_status(self.tr("已加入事项：%1").replace("%1", updated.items[-1].name if updated.items else ""), "ok")

    def _item_refused(self, code: str, exc: BaseException) -> None:
        if isinstance(exc, NotCollectable):
            self.items.show_refusal(code, exc.message)
        elif isinstance(exc, UserError):
            self.items.search_message.set_live(exc.message, "error")
        else:
            self.items.search_message.set_live(self.tr("加入事项时出错，已记录到日志。"), "error")

    def remove_item(self, code: str) -> None:
        service = self.service

        def prepare():
            if not self.editable:
                return None
            copy = copy_case(self.case)
            return lambda job: service.remove_item(copy, code)

        self.ops.enqueue(prepare, self._structure_changed, self._failure_in_status)

    def _structure_changed(self, updated: Case) -> None:
        if not self.editable:
            return
        self._merge_structure(updated)
        self._load_all()
        self._changed()

    def set_agent_enabled(self, on: bool) -> None:
        """有代办人: the agent's fields, and the 授权委托书 in the checklist."""
        if not self.editable:
            return
        if on and self.case.agent is None:
            self.case.agent = Party()
        elif not on:
            self.case.agent = None
        service = self.service

        def prepare():
            if not self.editable:
                return None
            copy = copy_case(self.case)
            return lambda job: service.set_agent(copy, copy.agent)

        self.ops.enqueue(prepare, self._structure_changed, self._failure_in_status)
        self._changed()

    def record_consultation(self, code: str, note: str) -> None:
        service = self.service
        (self._runner.op(lambda job: service.record_consultation(code, note))
         .on_success(self.items.consultation_recorded)
         .on_failure(lambda exc: self.items.consult_result.set_live(
             exc.message if isinstance(exc, UserError) else self.tr("登记失败，已记录到日志。"), "error"))
         .run())

    def _copy_applicant_to_delivery(self) -> None:
        if not self.editable:
            return
        a, d = self.case.applicant, self.case.delivery
        d.recipient, d.phone, d.address = a.name, a.phone, a.address
        self.delivery.load(self.case)
        self._changed()

    # -- scans ------------------------------------------------------------------------------------
    def import_files(self, key: str, paths: list) -> None:
        """Import files (dialog, drop or watched folder) as pages of material ``key``."""
        if not self.editable:
            return
        row = self.materials.rows.get(key)
        if row is not None:
            row.strip.set_busy(self.tr("正在导入 %1 个文件…").replace("%1", str(len(paths))))
        import_many = self._tools.import_many
        case_id = self.case.id
        (self._runner.op(lambda job: import_many(paths, progress=lambda d, t: job.progress(d, t),
                                                 cancelled=job.cancelled))
         .with_progress(self.tr("正在导入材料文件…"))
         .on_success(lambda report: self._imported(case_id, key, report))
         .on_failure(lambda exc: self._scan_failed(key, exc))
         .run())

    def _imported(self, case_id: str, key: str, report) -> None:
        row = self.materials.rows.get(key)
        if row is not None:
            row.strip.set_busy("")
            if report.failures:
                lines = [self.tr("未导入“%1”：%2").replace("%1", f.path.name).replace("%2", f.message)
                         for f in report.failures]
                row.strip.message.set_live("\n".join(lines), "error")
            else:
                row.strip.message.set_live("")
        datas = [page.data for page in report.pages]
        if datas:
            self.store_pages(key, datas, case_id)

    def _scan_failed(self, key: str, exc: BaseException) -> None:
        row = self.materials.rows.get(key)
        if row is not None:
            row.strip.set_busy("")
            row.strip.message.set_live(exc.message if isinstance(exc, UserError)
                                       else self.tr("扫描件处理出错，已记录到日志。"), "error")

    def store_pages(self, key: str, datas: list[bytes], case_id: str = "") -> None:
        """Store pages (encrypted, once) and attach them to material ``key`` of the case on
        screen (only if it is still ``case_id``: pages of the last applicant never join the next)."""
        service = self.service
        case_id = case_id or (self.case.id if self.case else "")

        def prepare():
            if not self.editable or self.case.id != case_id:
                return None
            copy = copy_case(self.case)

            def work(job):
                before = _scans_of(copy, key)
                updated = copy
                for data in datas:
                    updated = service.add_scan(updated, key, data)
                return _scans_of(updated, key)[len(before):]

            return work

        self.ops.enqueue(prepare, lambda shas: self._pages_stored(case_id, key, shas),
                         lambda exc: self._scan_failed(key, exc), progress=self.tr("正在保存扫描件…"))

    def _pages_stored(self, case_id: str, key: str, shas: list[str]) -> None:
        if not self.editable or not shas or self.case.id != case_id:
            return
        m = _material(self.case, key)
        if m is None:
            return
        scans = [*m.scans, *shas]
        self.case = self.service.set_material(self.case, key, scans=scans, pages=max(m.pages, len(scans)))
        self._load_materials()
        row = self.materials.rows.get(key)
        if row is not None:
            row.strip.pages.setCurrentRow(len(scans) - 1)
        self._changed()

    def page_action(self, key: str, action: str, index: int) -> None:
        if not self.editable:
            return
        m = _material(self.case, key)
        if m is None or not 0 <= index < len(m.scans):
            return
        scans = list(m.scans)
        if action in ("rotate_left", "rotate_right"):
            self._rotate(key, index, -90 if action == "rotate_left" else 90)
            return
        if action in ("move_left", "move_right"):
            target = index - 1 if action == "move_left" else index + 1
            if not 0 <= target < len(scans):
                return
            scans[index], scans[target] = scans[target], scans[index]
            self.case = self.service.set_material(self.case, key, scans=scans)
            self._load_materials()
            self.materials.rows[key].strip.pages.setCurrentRow(target)
        elif action == "delete":
            sha = scans.pop(index)
            self._deleted[key] = (index, sha)
            pages = len(scans) if m.pages == len(m.scans) else m.pages
            self.case = self.service.set_material(self.case, key, scans=scans, pages=pages)
            self._load_materials()
            strip = self.materials.rows[key].strip
            strip.set_can_undo(True)
            if scans:
                strip.pages.setCurrentRow(min(index, len(scans) - 1))
        self._changed()

    def undo_delete(self, key: str) -> None:
        if not self.editable or key not in self._deleted:
            return
        m = _material(self.case, key)
        if m is None:
            return
        index, sha = self._deleted.pop(key)
        scans = list(m.scans)
        index = min(index, len(scans))
        scans.insert(index, sha)
        self.case = self.service.set_material(self.case, key, scans=scans, pages=max(m.pages, len(scans)))
        self._load_materials()
        strip = self.materials.rows[key].strip
        strip.set_can_undo(False)
        strip.pages.setCurrentRow(index)
        self._changed()

    def _rotate(self, key: str, index: int, degrees: int) -> None:
        service = self.service

        def prepare():
            if not self.editable:
                return None
            copy = copy_case(self.case)
            old = _scans_of(copy, key)[index]
            return lambda job: (old, _scans_of(service.rotate_scan(copy, key, index, degrees), key)[index])

        self.ops.enqueue(prepare, lambda result: self._rotated(key, index, result),
                         lambda exc: self._scan_failed(key, exc))

    def _rotated(self, key: str, index: int, result: tuple[str, str]) -> None:
        old, new = result
        m = _material(self.case, key) if self.editable else None
        if m is None or index >= len(m.scans) or m.scans[index] != old:
            return
        scans = list(m.scans)
        scans[index] = new
        self.case = self.service.set_material(self.case, key, scans=scans)
        self._load_materials()
        self.materials.rows[key].strip.pages.setCurrentRow(index)
        self._changed()

    def open_camera(self, key: str) -> None:
        """拍照: the camera dialog, or the Chinese message when there is no camera."""
        row = self.materials.rows.get(key)
        if row is None or not self.editable:
            return
        if not self._tools.cameras():
            row.strip.message.set_live(self._tools.no_camera_message, "error")
            return
        from counter_client.ui.intake.camera_dialog import CameraDialog

        m = _material(self.case, key)
        dialog = CameraDialog(self._tools, m.name if m else "", self)
        dialog.frame_was_captured.connect(lambda frame: self._frame_captured(key, frame))
        dialog.open()
        self.camera_dialog = dialog

    def _frame_captured(self, key: str, frame) -> None:
        normalise = self._tools.normalise_frame
        case_id = self.case.id if self.case else ""
        (self._runner.op(lambda job: normalise(frame).data)
         .on_success(lambda data: self.store_pages(key, [data], case_id))
         .on_failure(lambda exc: self._scan_failed(key, exc))
         .run())

    def _watched_files(self, paths: list) -> None:
        key = self.materials.selected
        if not self.editable or not key:
            self.materials.set_watch_status(
                self.tr("扫描文件夹收到 %1 个文件，但没有选中的材料：请先点选一份材料。").replace("%1", str(len(paths))),
                "warning")
            return
        self.import_files(key, [str(p) for p in paths])

    def _update_watch_status(self) -> None:
        if not self._watch_folder or not self.poller.active:
            if not self._watch_folder:
                self.materials.set_watch_status("")
            return
        m = _material(self.case, self.materials.selected) if self.case else None
        target = m.name if m else self.tr("（请点选一份材料）")
        self.materials.set_watch_status(self.tr("扫描文件夹 %1 中的新文件将加入：%2")
                                        .replace("%1", self._watch_folder).replace("%2", target))

    # -- saving and checking ----------------------------------------------------------------------
    def _snapshot(self) -> tuple[Case, int] | None:
        if self.case is None or self.case.state != "draft" or self.service is None or self._confirming:
            return None
        return copy_case(self.case), self._edits

    def _save_and_check(self, snapshot: tuple[Case, int]) -> tuple[DraftCheck, int]:
        """Runner: save the draft, then check it."""
        copy, edits = snapshot
        self.service.save_draft(copy)
        return self._check_now(copy), edits

    @property
    def unsaved(self) -> bool:
        """Edits on screen that are not on disk yet."""
        return self.case is not None and self.case.state == "draft" and self._edits != self._saved_edits

    def final_save(self) -> None:
        """At shutdown, after the runner has stopped: write what the last autosave did not.
        (Blocking, once, while the window closes; never while a confirmation was running.)"""
        self.autosaver.cancel()
        if self.service is None or not self.unsaved or self._confirming:
            return
        try:
            self.service.save_draft(copy_case(self.case))
            self._saved_edits = self._edits
        except UserError as exc:
            log.warning("final save failed: %s", exc.log)

    def _check_now(self, copy: Case) -> DraftCheck:
        service, catalogue = self.service, self._catalogue
        names = {i.code: self._region_names.get(i.code) or catalogue.region_full_name(i.handling_region)
                 for i in copy.items}
        return DraftCheck(copy.id, service.problems(copy), service.notice(copy), service.due_dates(copy), names)

    def _run_check(self) -> None:
        def prepare():
            copy = self._snapshot()
            return None if copy is None else (lambda job: self._check_now(copy))

        self.ops.enqueue(prepare, self._checked, self._quiet_failure)

    def _saved(self, result: tuple[DraftCheck, int]) -> None:
        check, edits = result
        if self.case is not None and check.case_id == self.case.id:
            self._saved_edits = max(self._saved_edits, edits)
        self.last_saved_at = time.strftime("%H:%M:%S")
        self.draft_did_save.emit(check.case_id)
        if (self.case is not None and check.case_id == self.case.id and self.case.state == "draft"
                and not self._sticky_status):
            self._set_status(self.tr("草稿已自动保存 %1").replace("%1", self.last_saved_at), "ok")
        self._checked(check)

    def _checked(self, check: DraftCheck) -> None:
        if self.case is None or check.case_id != self.case.id or self.case.state != "draft":
            return
        self.check = check
        self._region_names.update(check.region_names)
        self.items.load(self.case, self._region_names)
        self._show_problems()
        self.check_did_finish.emit(check)

    def _save_failed(self, message: str) -> None:
        self._set_status(self.tr("未能保存：%1").replace("%1", message), "error")

    # -- confirmation -----------------------------------------------------------------------------
    def confirm(self) -> None:
        """Ctrl+Enter: check and collect the case on the runner."""
        if not self.editable or self.service is None:
            return
        self.autosaver.cancel()  # confirm saves the case itself
        self._confirming = True
        self.content.setEnabled(False)
        self.confirm_button.setEnabled(False)
        self._set_status(self.tr("正在确认收件…"), "hint")
        service = self.service

        def prepare():
            copy = copy_case(self.case)
            return lambda job: service.confirm(copy)

        self.ops.enqueue(prepare, self._collected, self._confirm_failed, progress=self.tr("正在确认收件…"))

    def _collected(self, case: Case) -> None:
        self._confirming = False
        self.content.setEnabled(True)
        self.confirm_button.setEnabled(True)
        self.case = case
        notice = self.service.notice(case)
        self.receipt.show_case(case, self.hall, self.check, notice)
        self.stack.setCurrentWidget(self.receipt_scroll)
        self.receipt.next_button.setFocus(Qt.FocusReason.OtherFocusReason)
        self.receipt.set_printing_available(self.printing is not None and self.printing.available)
        self.case_did_collect.emit(case)
        if self.offer_print:
            self.print_document("receipt")  # Enter prints: the dialog's default button

    def _confirm_failed(self, exc: BaseException) -> None:
        self._confirming = False
        self.content.setEnabled(True)
        self.confirm_button.setEnabled(True)
        if isinstance(exc, CaseRejected):
            previous = self.check or DraftCheck(self.case.id)
            self.check = DraftCheck(self.case.id, list(exc.problems), list(exc.missing), previous.due,
                                    previous.region_names)
            self._reveal_all = True
            self._show_problems()
            self.autosaver.schedule()  # the rejected state was not saved by confirm
            count = len(exc.problems)
            message = self.tr("还不能收件：%1 处须处理，已在各步骤标出").replace("%1", str(count))
            self._set_status(message, "error", sticky=True)
            first = exc.problems[0].field if exc.problems else "review"
            self.go_to_step(step_of(first), focus=False)
            self.confirm_did_fail.emit(message)
        else:
            message = exc.message if isinstance(exc, UserError) else self.tr("确认收件时出错，已记录到日志。办件仍是草稿，请重试。")
            self._set_status(message, "error", sticky=True)
            self.autosaver.schedule()
            self.confirm_did_fail.emit(message)

    # -- showing ----------------------------------------------------------------------------------
    def _load_all(self) -> None:
        case = self.case
        if case is None:
            return
        cards_before = list(self.items.cards.values())
        self.items.load(case, self._region_names)
        if list(self.items.cards.values()) != cards_before:
            self._fix_tab_order()
        self.applicant.load(case.applicant)
        self.identity_checked.blockSignals(True)
        self.identity_checked.setChecked(case.identity_checked)
        self.identity_checked.setText(self.tr("✓ 已核验身份") if case.identity_checked
                                      else self.tr("已核验身份（读卡或核对原件）"))
        self.identity_checked.blockSignals(False)
        self.agent.load(case)
        self._load_materials()
        self.delivery.load(case)
        self._show_problems()

    def _load_materials(self) -> None:
        names = {i.code: i.name for i in self.case.items}
        rows_before = list(self.materials.rows.values())
        self.materials.show_materials(self.case.materials, names)
        if list(self.materials.rows.values()) != rows_before:
            self._fix_tab_order()
        for key, row in self.materials.rows.items():
            row.strip.set_can_undo(key in self._deleted)
        self._update_watch_status()
        self._refresh_review()

    def _refresh_review(self) -> None:
        if self.case is not None and self.case.state == "draft":
            self.review.show_case(self.case, self.hall, self.check, self._reveal_all or "review" in self._revealed)
            self.identity_checked.setText(self.tr("✓ 已核验身份") if self.case.identity_checked
                                          else self.tr("已核验身份（读卡或核对原件）"))

    def _show_problems(self) -> None:
        problems = self.check.problems if self.check else []
        by_step = problems_by_step(problems)
        shown: dict[str, str] = {}
        for step, items in by_step.items():
            if self._reveal_all or step in self._revealed:
                for p in items:
                    shown.setdefault(p.field, p.message)
        self.items.set_problems(shown)
        self.sections["items"].message.set_problem(shown.get("items", ""))
        self.applicant.set_problems(shown)
        self.agent.set_problems(shown)
        self.sections["agent"].message.set_problem(shown.get("agent", ""))
        for index, key in enumerate(self.materials.rows):
            self.materials.rows[key].set_problem(
                "\n".join(p.message for p in problems if p.field == f"materials.{index}")
                if (self._reveal_all or "materials" in self._revealed) else "")
        self.delivery.set_problems(shown)
        for step in STEPS:
            revealed = self._reveal_all or step in self._revealed
            bad = revealed and bool(by_step.get(step))
            self.sections[step].set_problem_mark(bad)
            button = self.step_buttons[step]
            number = STEPS.index(step) + 1
            mark = "  ●" if bad else ("  ✓" if revealed and step != "review" and self.check is not None else "")
            button.setText(f"{number}  {self.tr(STEP_TITLES[step])}{mark}")
            set_kind(button, "error" if bad else ("ok" if mark else ""), "state")
            button.setToolTip("\n".join(p.message for p in by_step.get(step, [])) if bad else
                              self.tr("跳到“%1”（Alt+%2）").replace("%1", self.tr(STEP_TITLES[step]))
                              .replace("%2", str(number)))
        self._refresh_review()

    def _set_status(self, text: str, kind: str, sticky: bool = False) -> None:
        """The line beside the title; a sticky message (why confirming failed) stays until the
        clerk changes something, so an autosave does not replace it."""
        self._sticky_status = sticky
        self.status.set_live(text, kind)

    def _failure_in_status(self, exc: BaseException) -> None:
        self._set_status(exc.message if isinstance(exc, UserError) else self.tr("操作出错，已记录到日志。"), "error")

    def _quiet_failure(self, exc: BaseException) -> None:
        self._failure_in_status(exc)

    # -- steps ------------------------------------------------------------------------------------
    def go_to_step(self, step: str, focus: bool = True) -> None:
        section = self.sections.get(step)
        if section is None:
            return
        # sections above may have just grown or shrunk, and their layouts settle over the next
        # event-loop turns: keep the step at the top while the content moves, for a moment
        self._scroll_target = section
        self._scroll_hold.start()
        self.scroll.verticalScrollBar().setValue(section.y())
        self._set_step_current(step)
        if focus:
            target = self._first_field(step)
            if target is not None:
                target.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if (self._scroll_target is not None and event.type() in (QEvent.Type.Move, QEvent.Type.Resize)
                and isinstance(watched, StepSection)):
            self.scroll.verticalScrollBar().setValue(self._scroll_target.y())
        return super().eventFilter(watched, event)

    def _fix_tab_order(self) -> None:
        """Tab goes down the page step by step: rows and cards made later would otherwise come
        last in the focus chain. Hidden widgets are skipped by Qt itself."""
        items, applicant, agent, delivery = self.items, self.applicant, self.agent, self.delivery
        chain: list[QWidget] = [items.search]
        chain += [card.remove_button for card in items.cards.values()]
        chain += [items.consult_note, items.consult_button, items.refusal_close, items.mode, items.app_no]
        chain += [applicant.kind_person, applicant.kind_enterprise, applicant.name, applicant.id_type,
                  applicant.id_number, applicant.contact, applicant.phone, applicant.address, self.identity_checked]
        form = agent.form
        chain += [agent.has_agent, form.name, form.id_type, form.id_number, form.phone, form.address, form.relation,
                  agent.helper_mode, agent.helper_name, agent.helper_staff]
        for row in self.materials.rows.values():
            strip = row.strip
            chain += [row.form, row.licence, row.pages, row.review, row.reasons, strip.pages,
                      *strip.action_buttons.values(), strip.undo_button, strip.camera_button, strip.import_button]
        chain += [*delivery.buttons.values(), delivery.edits["recipient"], delivery.edits["phone"],
                  delivery.edits["address"], delivery.copy_button, self.review.confirm_button]
        for first, second in zip(chain, chain[1:]):
            QWidget.setTabOrder(first, second)

    def _first_field(self, step: str) -> QWidget | None:
        return {"items": self.items.search, "applicant": self.applicant.name, "agent": self.agent.has_agent,
                "materials": self.materials.first_focus(), "delivery": self.delivery.buttons["窗口领取"],
                "review": self.review.confirm_button}.get(step)

    def _set_step_current(self, step: str) -> None:
        self._current_step = step
        for key, button in self.step_buttons.items():
            button.setChecked(key == step)

    def _step_of_widget(self, widget: QWidget | None) -> str:
        while widget is not None:
            if isinstance(widget, StepSection):
                return widget.key
            widget = widget.parentWidget()
        return ""

    def _focus_changed(self, old: QWidget | None, new: QWidget | None) -> None:
        before, after = self._step_of_widget(old), self._step_of_widget(new)
        if after:
            self._set_step_current(after)
        if before and before != after and before not in self._revealed and self.case is not None:
            self._revealed.add(before)
            self._show_problems()

    def _scrolled(self, value: int) -> None:
        focused = self._step_of_widget(QApplication.focusWidget())
        if focused:
            return
        current = STEPS[0]
        for step in STEPS:
            if self.sections[step].y() <= value + 40:
                current = step
        self._set_step_current(current)

    def _search_now(self) -> None:
        query = self.items.search.text()
        if not query.strip():
            return
        catalogue = self._catalogue
        (self._runner.op(lambda job: catalogue.search(query, SearchFilters(), SEARCH_LIMIT))
         .superseding(SEARCH_KEY)
         .on_success(lambda hits: self.items.show_hits(query, hits))
         .run())


def _material(case: Case | None, key: str):
    if case is None:
        return None
    return next((m for m in case.materials if m.key == key), None)


def _scans_of(case: Case, key: str) -> list[str]:
    m = _material(case, key)
    return list(m.scans) if m is not None else []

