"""The case list (办件): filters, a table, and the detail of the selected case.

The list is read on the task runner (the store returns at most ``CaseFilter.limit`` rows,
newest first, decrypting the applicant's name of those rows only), so the page stays fast with
tens of thousands of cases. Look-up by ID number, phone or name is exact: the store keeps keyed
hashes, not the values. The detail (the case and its events) is read on the runner too.

With the delivery desk (``set_delivery``, a ``services.sync_desk.SyncDesk``) the list shows each
case's delivery state and the platform's latest status, and the detail its platform timeline;
a 补正 can be collected from the detail (``SupplementDialog``), and opening a case whose 补正 or
不予受理 the clerk has not seen marks it seen.

With the print launcher (``set_printing``) the detail prints the 收件凭证 (Ctrl+P) and the
一次性告知书 (Ctrl+Shift+P) and lists every document printed for the case.

With the mail desk (``set_mail``, a ``services.mail_desk.MailDesk``) the detail lists the case's
mail legs and mails a result on to the applicant (a number of the pool, then its waybill).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QWidget,
)

from counter_client.background.tasks import TaskRunner
from counter_client.domain.identity import normalize_id
from counter_client.errors import UserError
from counter_client.services.intake import CaseFilter
from counter_client.ui.cases.detail import CaseDetail, CaseDetailData
from counter_client.ui.cases.dialogs import DiscardDraftDialog, VoidDialog
from counter_client.ui.cases.model import CaseListModel, grouped
from counter_client.ui.cases.supplement_dialog import SupplementDialog
from counter_client.ui.widgets import FieldMessage, em, plain_label, store_page_frame

log = logging.getLogger(__name__)

LIST_KEY = "cases-list"
DETAIL_KEY = "cases-detail"
FILTER_DEBOUNCE_MS = 250
LIST_LIMIT = 500
_SEPARATORS = re.compile(r"[\s\-]+")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{9,11}$")


def person_filter(text: str) -> tuple[str, str]:
    """What a typed look-up is: ("applicant_id" | "phone" | "name", value), or ("", "").

    A mobile or landline number is a phone; anything else with digits in it (ID cards, permits,
    passports, credit codes) is a document number; the rest is a name."""
    value = text.strip()
    if not value:
        return "", ""
    digits = _SEPARATORS.sub("", value)
    if digits.startswith("+86"):
        digits = digits[3:]
    if _MOBILE.match(digits) or _LANDLINE.match(digits):
        return "phone", digits
    compact = normalize_id(value)
    if compact.isascii() and compact.isalnum() and any(c.isdigit() for c in compact):
        return "applicant_id", compact
    return "name", value


class CasesPage(QWidget):
    """办件.

    Signals:
        list_did_load(int count)
        detail_did_show(str case_id)
        draft_open_was_requested(str case_id)
        case_did_void(object case)
        draft_did_discard(str case_id)
        supplement_did_queue(object supplement): 补正材料 stored and queued (wake the sync worker).
        case_was_seen(str receipt_no): the clerk opened a case with an unseen 补正 / 不予受理.
        mail_did_change(): a result was mailed on (a number of the pool was taken).
    """

    list_did_load = Signal(int)
    detail_did_show = Signal(str)
    draft_open_was_requested = Signal(str)
    case_did_void = Signal(object)
    draft_did_discard = Signal(str)
    supplement_did_queue = Signal(object)
    case_was_seen = Signal(str)
    mail_did_change = Signal()

    def __init__(self, runner: TaskRunner, catalogue: Any, scan_tools: Any = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("CasesPage")
        self._runner = runner
        self._catalogue = catalogue
        self._scan_tools = scan_tools
        self.service: Any = None
        self.delivery: Any = None
        self.mail: Any = None
        self.printing: Any = None
        self.supplement_dialog: SupplementDialog | None = None
        self._select_after_load = ""
        self._today = dt.date.today

        self.stack, self.unavailable, page, layout = store_page_frame(self, self.tr("正在打开办件数据…"))
        filters = QHBoxLayout()
        filters.setSpacing(8)
        filters.addWidget(plain_label(self.tr("办件"), "PageTitle", page))
        self.today = QCheckBox(self.tr("今天"), page)
        self.today.setChecked(True)
        self.today.toggled.connect(self._filters_changed)
        filters.addWidget(self.today)
        self.state = QComboBox(page)
        for label, value in ((self.tr("全部状态"), None), (self.tr("草稿"), "draft"),
                             (self.tr("已收件"), "collected"), (self.tr("已作废"), "void")):
            self.state.addItem(label, value)
        self.state.currentIndexChanged.connect(self._filters_changed)
        filters.addWidget(self.state)
        self.item_code = QLineEdit(page)
        self.item_code.setPlaceholderText(self.tr("事项编码"))
        self.item_code.setClearButtonEnabled(True)
        self.item_code.setFixedWidth(em(self, 11))
        self.item_code.textChanged.connect(self._filters_changed)
        filters.addWidget(self.item_code)
        self.person = QLineEdit(page)
        self.person.setObjectName("PersonFilter")
        self.person.setPlaceholderText(self.tr("申请人证件号码、手机号或姓名（须完整）"))
        self.person.setClearButtonEnabled(True)
        self.person.textChanged.connect(self._filters_changed)
        filters.addWidget(self.person, 1)
        self.refresh_button = QPushButton(self.tr("刷新"), page)
        self.refresh_button.clicked.connect(self.refresh)
        filters.addWidget(self.refresh_button)
        layout.addLayout(filters)
        self.summary = FieldMessage(page)
        layout.addWidget(self.summary)

        self.mail_result_box: QMessageBox | None = None  # the 寄出办理结果 question while it is open
        self.model = CaseListModel(self)
        self.table = QTableView(page)
        self.table.setObjectName("CaseTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self._fit_columns()
        self.table.selectionModel().currentRowChanged.connect(lambda current, _prev: self._row_chosen(current.row()))
        self.table.activated.connect(lambda index: self._row_activated(index.row()))

        self.detail = CaseDetail(page)
        self.detail.continue_was_requested.connect(self.draft_open_was_requested)
        self.detail.void_was_requested.connect(self._ask_void)
        self.detail.discard_was_requested.connect(self._ask_discard)
        self.detail.supplement_was_requested.connect(self.ask_supplement)
        self.detail.print_was_requested.connect(self.print_document)
        self.detail.mail_result_was_requested.connect(self.mail_result)
        self.detail.waybill_print_was_requested.connect(self.print_waybill)
        for keys, kind in (("Ctrl+P", "receipt"), ("Ctrl+Shift+P", "notice")):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda k=kind: self.detail.request_print(k))
        detail_scroll = QScrollArea(page)
        detail_scroll.setObjectName("DetailScroll")
        detail_scroll.setWidgetResizable(True)
        detail_scroll.setWidget(self.detail)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, page)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(detail_scroll)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self._split_once = False  # the first layout gives the list 3/5 of the width
        layout.addWidget(self.splitter, 1)
        self.page = page

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(FILTER_DEBOUNCE_MS)
        self._debounce.timeout.connect(self.refresh)

    # -- service ----------------------------------------------------------------------------------
    def set_service(self, service: Any) -> None:
        self.service = service
        self.stack.setCurrentWidget(self.page)
        self.refresh()

    def set_delivery(self, desk: Any) -> None:
        """The delivery desk: delivery states, platform statuses and 补正 in the list and detail."""
        self.delivery = desk
        if self.service is not None:
            self.statuses_changed()

    def set_mail(self, desk: Any) -> None:
        """The mail desk: the detail's legs and 寄出办理结果."""
        self.mail = desk
        if self.detail.data is not None and self.service is not None:
            self.open_detail(self.detail.data.case.id)

    def mail_result(self, case_id: str, item_code: str) -> None:
        """寄出办理结果: asked once (it takes a number of the pool for good), then on the runner a result
        leg under that number, then its waybill."""
        data = self.detail.data
        if self.mail is None or data is None or data.case.id != case_id:
            return
        d = data.case.delivery
        box = QMessageBox(QMessageBox.Icon.Question, self.tr("寄出办理结果"),
                          self.tr("将从邮件号池取用一个邮件号，登记把办理结果寄给 %1（%2），然后打印面单。\n"
                                  "邮件号一经取用不能退回。确认寄出？")
                          .replace("%1", d.recipient or data.case.applicant.name).replace("%2", d.address),
                          QMessageBox.StandardButton.NoButton, self)
        confirm = box.addButton(self.tr("确认寄出"), QMessageBox.ButtonRole.AcceptRole)
        box.addButton(self.tr("取消"), QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(confirm)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.buttonClicked.connect(
            lambda button: self._mail_result_confirmed(case_id, item_code) if button is confirm else None)
        self.mail_result_box = box
        box.open()

    def _mail_result_confirmed(self, case_id: str, item_code: str) -> None:
        data, desk = self.detail.data, self.mail
        if desk is None or data is None or data.case.id != case_id:
            return
        receipt = data.case.receipt_no

        def done(leg) -> None:
            self.summary.set_live(self.tr("已登记寄出办理结果：邮件号 %1。请打印面单。").replace("%1", leg.tracking_no), "ok")
            self.mail_did_change.emit()
            self.open_detail(case_id)
            self.print_waybill(leg.tracking_no)

        (self._runner.op(lambda job: desk.mail_result(receipt, item_code))
         .on_success(done)
         .on_failure(lambda exc: self.summary.set_live(
             exc.message if isinstance(exc, UserError) else self.tr("寄出办理结果出错，已记录到日志。"), "error"))
         .run())

    def print_waybill(self, waybill_no: str) -> None:
        if self.printing is None or not self.printing.available or self.mail is None:
            self.summary.set_live(self.tr("打印功能尚未就绪，请稍候再试。"), "warning")
            return
        desk = self.mail
        self.printing.open_request(lambda: desk.waybill_request(waybill_no), self)

    def set_printing(self, launcher: Any) -> None:
        """The print launcher (``ui.printing.launcher.PrintLauncher``)."""
        self.printing = launcher
        launcher.print_did_record.connect(self._printed)
        launcher.print_did_fail.connect(self._printed)

    def print_document(self, case_id: str, kind: str) -> None:
        """打印收件凭证 / 一次性告知书 of the case in the detail (the print dialog)."""
        if self.printing is None or not self.printing.available:
            self.summary.set_live(self.tr("打印功能尚未就绪，请稍候再试。"), "warning")
            return
        self.printing.print_case(kind, case_id, self)

    def _printed(self, *_args) -> None:
        """A print was logged: the open case's print history changed."""
        if self.detail.data is not None and self.service is not None:
            self.open_detail(self.detail.data.case.id)

    def statuses_changed(self, *_args) -> None:
        """A sync pass changed deliveries or statuses: read the list and the open case again."""
        if self.service is None:
            return
        self.refresh()
        if self.detail.data is not None:
            self.open_detail(self.detail.data.case.id)

    def set_unavailable(self, message: str) -> None:
        self.unavailable.show_message(self.tr("现在不能查看办件"), message)
        self.stack.setCurrentWidget(self.unavailable)

    def page_shown(self) -> None:
        if self.service is not None:
            self.refresh()
            self.table.setFocus(Qt.FocusReason.ShortcutFocusReason)

    # -- filters and list -------------------------------------------------------------------------
    def current_filter(self) -> CaseFilter:
        kind, value = person_filter(self.person.text())
        extra = {kind: value} if kind else {}
        return CaseFilter(day=self._today().isoformat() if self.today.isChecked() else None,
                          state=self.state.currentData(), item_code=self.item_code.text().strip() or None,
                          limit=LIST_LIMIT, **extra)

    def _filters_changed(self, *_args) -> None:
        self._debounce.start()

    def refresh(self) -> None:
        """Read the list for the current filters (on the runner)."""
        self._debounce.stop()
        if self.service is None:
            return
        f = self.current_filter()
        service, desk = self.service, self.delivery

        def read(job):
            rows = service.list(f)
            return rows, (desk.deliveries([r.receipt_no for r in rows]) if desk is not None else {})

        (self._runner.op(read)
         .superseding(LIST_KEY)
         .on_success(lambda result: self._show_rows(f, *result))
         .on_failure(lambda exc: self.summary.set_live(
             exc.message if isinstance(exc, UserError) else self.tr("读取办件列表出错，已记录到日志。"), "error"))
         .run())

    def _show_rows(self, f: CaseFilter, rows: list, deliveries: dict | None = None) -> None:
        selected = self._selected_id()
        self.model.set_rows(rows, deliveries)
        what = {"applicant_id": self.tr("证件号码"), "phone": self.tr("电话"), "name": self.tr("姓名")}
        looked = next((what[k] for k in what if getattr(f, k)), "")
        text = self.tr("共 %1 件").replace("%1", str(len(rows)))
        if len(rows) >= f.limit:
            text = self.tr("只显示最近的 %1 件，请用条件缩小范围").replace("%1", str(len(rows)))
        if looked:
            text += self.tr("（按%1查找，须完整）").replace("%1", looked)
        if not rows:
            text = self.tr("没有符合条件的办件。") + (self.tr("可取消“今天”查看以前的办件。") if f.day else "")
        self.summary.set_live(text, "hint")
        target = self._select_after_load or selected
        self._select_after_load = ""
        row = self.model.row_of(target) if target else -1
        if row < 0 and rows:
            row = 0
        if row >= 0:
            self.table.selectionModel().setCurrentIndex(
                self.model.index(row, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
            self._row_chosen(row)
        else:
            self.detail.clear()
        self.list_did_load.emit(len(rows))

    def _selected_id(self) -> str:
        row = self.model.row(self.table.currentIndex().row())
        return row.id if row else ""

    def show_case(self, case_id: str) -> None:
        """Show this case: filters cleared so that it is in the list, then selected."""
        self._select_after_load = case_id
        self._clear_filters()
        self.refresh()
        self.open_detail(case_id)

    def show_drafts(self) -> None:
        self._clear_filters()
        self.state.setCurrentIndex(self.state.findData("draft"))
        self.refresh()

    def _clear_filters(self) -> None:
        for w in (self.today, self.state, self.item_code, self.person):
            w.blockSignals(True)
        self.today.setChecked(False)
        self.state.setCurrentIndex(0)
        self.item_code.clear()
        self.person.clear()
        for w in (self.today, self.state, self.item_code, self.person):
            w.blockSignals(False)

    # -- detail -----------------------------------------------------------------------------------
    def _fit_columns(self) -> None:
        """Each column as wide as its widest usual text in this font (large-font mode included), so
        that the list needs no sideways scrolling at 1366 px; 事项 takes what is left (tooltip: all)."""
        metrics = self.table.fontMetrics()
        header = self.table.horizontalHeader().fontMetrics()
        pad = em(self, 0.8)
        samples = ("511324102-01-261126-0000-0", "已收件", "11-26", "欧阳娜娜", "待上传", "办结")
        for column, sample in enumerate(samples):
            title = self.model.headerData(column, Qt.Orientation.Horizontal)
            self.table.setColumnWidth(column, max(metrics.horizontalAdvance(sample),
                                                  header.horizontalAdvance(title)) + pad)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._split_once and self.splitter.width() > 0:
            self._split_once = True
            total = sum(self.splitter.sizes())
            self.splitter.setSizes([total * 3 // 5, total - total * 3 // 5])

    def _row_chosen(self, row: int) -> None:
        r = self.model.row(row)
        if r is not None and (self.detail.data is None or self.detail.data.case.id != r.id):
            self.open_detail(r.id)

    def _row_activated(self, row: int) -> None:
        r = self.model.row(row)
        if r is not None and r.state == "draft":
            self.draft_open_was_requested.emit(r.id)

    def open_detail(self, case_id: str) -> None:
        service, catalogue, desk, mail = self.service, self._catalogue, self.delivery, self.mail
        printing = self.printing.service if self.printing is not None else None

        def read(job) -> CaseDetailData | None:
            case = service.load(case_id)
            if case is None:
                return None
            names = {i.code: catalogue.region_full_name(i.handling_region) for i in case.items}
            platform = desk.case_platform(case.receipt_no) if desk is not None and case.receipt_no else None
            prints = tuple(printing.history(case_id)) if printing is not None else ()
            legs = None
            if mail is not None and case.state == "collected":
                legs = mail.case_mail(case, platform.item_statuses if platform is not None else {})
            return CaseDetailData(case, service.events(case_id), names, platform, prints, legs)

        (self._runner.op(read).superseding(DETAIL_KEY)
         .on_success(self._show_detail)
         .run())

    def _show_detail(self, data: CaseDetailData | None) -> None:
        if data is None:
            self.detail.clear()
            return
        self.detail.show_detail(data)
        self.detail_did_show.emit(data.case.id)
        if data.platform is not None and data.platform.unseen and self.isVisible():
            self.mark_seen(data.case.receipt_no)

    def mark_seen(self, receipt_no: str) -> None:
        """The clerk has the case in front of them: its 补正 / 不予受理 are seen."""
        desk = self.delivery
        if desk is None:
            return
        (self._runner.op(lambda job: desk.mark_seen(receipt_no))
         .on_success(lambda _r: self.case_was_seen.emit(receipt_no))
         .on_failure(lambda exc: log.warning("could not mark %s seen: %s", receipt_no, type(exc).__name__))
         .run())

    # -- 补正 ---------------------------------------------------------------------------------------
    def ask_supplement(self, case_id: str) -> None:
        """收取补正材料: the dialog with each material the 办理地 asked for."""
        data = self.detail.data
        if data is None or data.case.id != case_id or data.platform is None or self._scan_tools is None:
            return
        needed = data.platform.needed_materials
        if not needed:
            self.summary.set_live(self.tr("办理地没有列出须补正的材料，请电话联系办理地后再收取。"), "warning")
            return
        reasons = "；".join(dict.fromkeys(e.reason for e in data.platform.supplement_needed if e.reason))
        dialog = SupplementDialog(self._runner, self._scan_tools, grouped(data.case.receipt_no),
                                  data.case.applicant.name, reasons, needed, self)
        dialog.supplement_was_confirmed.connect(lambda materials: self.collect_supplement(case_id, materials))
        self.supplement_dialog = dialog
        dialog.open()

    def collect_supplement(self, case_id: str, materials: list) -> None:
        """Store the pages and queue the supplement (on the runner)."""
        service, dialog = self.service, self.supplement_dialog

        def work(job):
            case = service.load(case_id)
            if case is None:
                raise UserError(self.tr("找不到这件办件。"), f"supplement for missing case {case_id}")
            return service.add_supplement(case, materials)

        def done(supplement) -> None:
            if dialog is not None:
                dialog.accept()
            self.summary.set_live(self.tr("已收取补正材料，正在报送办理地。"), "ok")
            self.supplement_did_queue.emit(supplement)
            self.statuses_changed()

        def failed(exc: BaseException) -> None:
            message = exc.message if isinstance(exc, UserError) else self.tr("保存补正材料出错，已记录到日志。")
            if dialog is not None:
                dialog.show_failure(message)

        (self._runner.op(work).with_progress(self.tr("正在保存补正材料…"), cancellable=False)
         .on_success(done).on_failure(failed).run())

    # -- decisions --------------------------------------------------------------------------------
    def _ask_void(self, case_id: str) -> None:
        data = self.detail.data
        if data is None or data.case.id != case_id:
            return
        dialog = VoidDialog(grouped(data.case.receipt_no), data.case.applicant.name, self)
        dialog.void_was_confirmed.connect(lambda reason: self.void(case_id, reason))
        self.void_dialog = dialog
        dialog.open()

    def void(self, case_id: str, reason: str) -> None:
        service = self.service
        (self._runner.op(lambda job: service.void(case_id, reason))
         .on_success(self._voided)
         .on_failure(lambda exc: self.summary.set_live(
             exc.message if isinstance(exc, UserError) else self.tr("作废失败，已记录到日志。"), "error"))
         .run())

    def _voided(self, case) -> None:
        self.summary.set_live(self.tr("已作废：%1").replace("%1", grouped(case.receipt_no)), "ok")
        self._select_after_load = case.id
        self.case_did_void.emit(case)
        self.refresh()
        self.open_detail(case.id)

    def _ask_discard(self, case_id: str) -> None:
        data = self.detail.data
        if data is None or data.case.id != case_id:
            return
        dialog = DiscardDraftDialog(data.case.applicant.name or self.tr("（未填）"), self)
        dialog.discard_was_confirmed.connect(lambda: self.discard(case_id))
        self.discard_dialog = dialog
        dialog.open()

    def discard(self, case_id: str) -> None:
        service = self.service
        (self._runner.op(lambda job: service.discard_draft(case_id))
         .on_success(lambda _r: self._discarded(case_id))
         .run())

    def _discarded(self, case_id: str) -> None:
        self.detail.clear()
        self.draft_did_discard.emit(case_id)
        self.refresh()
