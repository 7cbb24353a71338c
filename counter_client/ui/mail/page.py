"""寄递: the paper that leaves the hall.

- **待寄**: departments with cases whose paper (原件核验 / 复印件) is in no parcel yet, and the cases
  of the chosen department, all ticked; 新建邮包 (Ctrl+Enter) makes the parcel on the runner under
  the next number of the pool, then the waybill's print dialog opens (the label printer), and
  after it the 材料交接单 (A4). A material shared with another department is said clearly: a copy
  goes in each parcel. An empty pool makes nothing and says what to do (领取邮件号, 同步).
- **邮包**: the parcels with their delivery to the platform, and the selected one's cases and
  materials; 打印面单 / 打印交接单 go through the print dialog (a reprint asks for its reason).
- **the pool**: free numbers, amber when low or empty; 领取邮件号 asks the platform on the runner
  (``MailDesk.refill``; the sync pass also refills by itself when the pool runs low).

Everything is read and done on the task runner through the mail desk
(``services.mail_desk.MailDesk``) handed in by ``app.py``; printing through the print launcher.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from counter_client.background.tasks import TaskRunner
from counter_client.errors import UserError
from counter_client.ui.cases.model import grouped
from counter_client.ui.mail.model import (
    DepartmentModel,
    ParcelModel,
    PendingModel,
    sent_label,
    short_time,
)
from counter_client.ui.widgets import (
    FieldMessage,
    em,
    plain_label,
    set_kind,
    store_page_frame,
)

log = logging.getLogger(__name__)

VIEW_KEY = "mail-view"
POOL_KEY = "mail-pool"
PARCEL_KEY = "mail-parcel"
GREY, AMBER = "#5b6675", "#9a5b00"


def _e(text: str) -> str:
    return html.escape(text or "", quote=True)


class TickTable(QTableView):
    """A table whose rows are ticked with Space (or Enter) as well as the mouse.

    Signals:
        row_was_toggled(int row)
    """

    row_was_toggled = Signal(int)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter) and \
                event.modifiers() == Qt.KeyboardModifier.NoModifier and self.currentIndex().isValid():
            self.row_was_toggled.emit(self.currentIndex().row())
            return
        super().keyPressEvent(event)


def _table(view: QTableView) -> QTableView:
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.verticalHeader().hide()
    view.setWordWrap(False)
    header = view.horizontalHeader()
    header.setStretchLastSection(True)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setMinimumSectionSize(em(view, 3))  # the stretched last column may be as narrow as a count
    return view


def select_row(view: QTableView, row: int) -> int:
    """Make ``row`` (else the first row, if any) current and selected; returns it, or -1."""
    model = view.model()
    if row < 0 and model.rowCount():
        row = 0
    if row >= 0:
        view.selectionModel().setCurrentIndex(
            model.index(row, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
    return row


def parcel_html(row) -> str:
    """The selected parcel: where it goes, its number, state, and each case with its materials."""
    p = row.parcel
    colour = "#2e7d32" if row.sent else ("#c62828" if row.state == "rejected" else AMBER)
    state = sent_label(row.state) + (f"（{row.last_error}）" if row.last_error and not row.sent else "")
    out = [f"<p><b>{_e(p.department_name)}</b>　<span style=\"color:{GREY};\">{_e(p.department_code)}</span><br>"
           f"邮件号 <b>{_e(p.waybill_no)}</b><br>邮包 {_e(p.id)}<br>"
           f"<span style=\"color:{GREY};\">{_e(short_time(p.created_at))}　{_e(p.clerk)}</span>　"
           f"<span style=\"color:{colour};\">{_e(state)}</span></p>"]
    for c in p.cases:
        mats = "<br>".join(
            f"· {_e(m.name)} — {_e(m.form)}" + (f"，{m.pages} 页" if m.pages else "")
            + (f"，{m.copies} 份" if m.copies > 1 else "")
            + (f'<span style="color:{AMBER};">（另备一份：也寄往其他办理地）</span>' if m.shared else "")
            for m in c.materials)
        out.append(f"<p><b>{_e(grouped(c.receipt_no))}</b><br>{mats}</p>")
    return "".join(out)


class MailPage(QWidget):
    """寄递.

    Signals:
        view_did_load(object view): ``MailView`` shown.
        pool_did_change(object status): ``PoolStatus`` read (after loads, parcels, refills).
        parcel_did_create(object new_parcel): ``NewParcel`` made and queued (wake the sync worker).
        sync_was_requested(): the clerk asked for a sync (the way out of an empty pool, a login).
        case_view_was_requested(str case_id): open a waiting case in 办件.
    """

    view_did_load = Signal(object)
    pool_did_change = Signal(object)
    parcel_did_create = Signal(object)
    sync_was_requested = Signal()
    case_view_was_requested = Signal(str)

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("MailPage")
        self._runner = runner
        self.desk: Any = None
        self.printing: Any = None
        self.view: Any = None
        self.last_parcel: Any = None
        self._group_code = ""
        self._select_parcel = ""

        self.stack, self.unavailable, page, layout = store_page_frame(self, self.tr("正在打开办件数据…"))
        head = QHBoxLayout()
        head.setSpacing(10)
        head.addWidget(plain_label(self.tr("寄递"), "PageTitle", page))
        head.addStretch(1)
        self.pool_box = QFrame(page)
        self.pool_box.setObjectName("PoolBox")
        pool = QHBoxLayout(self.pool_box)
        pool.setContentsMargins(10, 4, 6, 4)
        pool.setSpacing(10)
        self.pool_label = plain_label(self.tr("邮件号：读取中…"), "PoolLabel", self.pool_box)
        pool.addWidget(self.pool_label)
        self.refill_button = QPushButton(self.tr("领取邮件号"), self.pool_box)
        self.refill_button.setToolTip(self.tr("立即向平台领取一批邮件号（须联网并已登录平台）；"
                                              "邮件号不多时，每次同步也会自动领取"))
        self.refill_button.clicked.connect(self.refill)
        pool.addWidget(self.refill_button)
        self.sync_button = QPushButton(self.tr("同步"), self.pool_box)
        self.sync_button.setToolTip(self.tr("打开同步页并立即同步（需要时在那里登录平台）"))
        self.sync_button.clicked.connect(self.sync_was_requested)
        pool.addWidget(self.sync_button)
        head.addWidget(self.pool_box)
        self.refresh_button = QPushButton(self.tr("刷新"), page)
        self.refresh_button.clicked.connect(self.reload)
        head.addWidget(self.refresh_button)
        layout.addLayout(head)
        self.pool_warning = FieldMessage(page)
        layout.addWidget(self.pool_warning)
        self.summary = FieldMessage(page)
        layout.addWidget(self.summary)
        self.warnings = FieldMessage(page)
        layout.addWidget(self.warnings)

        self.tabs = QTabWidget(page)
        self.tabs.setObjectName("MailTabs")
        self.tabs.addTab(self._pending_tab(), self.tr("待寄"))
        self.tabs.addTab(self._parcels_tab(), self.tr("邮包"))
        layout.addWidget(self.tabs, 1)
        self.page = page

        create = QShortcut(QKeySequence("Ctrl+Return"), self)
        create.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        create.activated.connect(self.request_create)

    # -- building ---------------------------------------------------------------------------------
    def _split_tab(self) -> tuple[QWidget, QSplitter]:
        tab = QWidget(self)
        row = QHBoxLayout(tab)
        row.setContentsMargins(0, 8, 0, 0)
        splitter = QSplitter(Qt.Orientation.Horizontal, tab)
        splitter.setChildrenCollapsible(False)
        row.addWidget(splitter)
        return tab, splitter

    def _pending_tab(self) -> QWidget:
        tab, splitter = self._split_tab()
        self.departments = DepartmentModel(self)
        self.department_table = _table(QTableView(splitter))
        self.department_table.setObjectName("DepartmentTable")
        self.department_table.setModel(self.departments)
        self.department_table.setColumnHidden(1, True)  # the code: in the tooltip and the group title
        header = self.department_table.horizontalHeader()
        header.setStretchLastSection(False)  # the name takes the width, the count only what it needs
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.department_table.selectionModel().currentRowChanged.connect(
            lambda current, _prev: self._department_chosen(current.row()))

        right = QWidget(splitter)
        side = QVBoxLayout(right)
        side.setContentsMargins(8, 0, 0, 0)
        side.setSpacing(6)
        self.group_title = plain_label("", "SectionTitle", right, wrap=True)
        side.addWidget(self.group_title)
        self.pending = PendingModel(self)
        self.pending.ticks_did_change.connect(self._ticks_changed)
        self.pending_table = _table(TickTable(right))
        self.pending_table.setObjectName("PendingTable")
        self.pending_table.setModel(self.pending)
        self.pending_table.row_was_toggled.connect(self.pending.toggle)
        self.pending_table.doubleClicked.connect(self._pending_opened)
        for column, width in enumerate((16, 4.5, 8.5, 6)):
            self.pending_table.setColumnWidth(column, em(self, width))
        side.addWidget(self.pending_table, 1)
        actions = QHBoxLayout()
        self.tick_all_button = QPushButton(self.tr("全选"), right)
        self.tick_all_button.clicked.connect(lambda: self.pending.tick_all(True))
        actions.addWidget(self.tick_all_button)
        self.tick_none_button = QPushButton(self.tr("全不选"), right)
        self.tick_none_button.clicked.connect(lambda: self.pending.tick_all(False))
        actions.addWidget(self.tick_none_button)
        self.tick_hint = plain_label(self.tr("空格键勾选或取消；双击打开办件"), "Hint", right)
        actions.addWidget(self.tick_hint)
        actions.addStretch(1)
        self.create_button = QPushButton(self.tr("新建邮包"), right)
        self.create_button.setObjectName("Primary")
        self.create_button.setToolTip(self.tr("把勾选的办件装入一个邮包，占用一个邮件号，然后打印面单和材料交接单（Ctrl+Enter）"))
        self.create_button.clicked.connect(self.request_create)
        actions.addWidget(self.create_button)
        side.addLayout(actions)
        self.pending_empty = plain_label(self.tr("没有待寄的纸质材料。收件时选“原件核验”或“复印件”的材料会出现在这里。"),
                                         "EmptyState", right, wrap=True)
        side.addWidget(self.pending_empty)
        splitter.addWidget(self.department_table)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([em(self, 18), em(self, 60)])  # a long department name and its count fit
        return tab

    def _parcels_tab(self) -> QWidget:
        tab, splitter = self._split_tab()
        self.parcels = ParcelModel(self)
        self.parcel_table = _table(QTableView(splitter))
        self.parcel_table.setObjectName("ParcelTable")
        self.parcel_table.setModel(self.parcels)
        for column, width in enumerate((11.5, 9.5, 9, 3, 6.5)):
            self.parcel_table.setColumnWidth(column, em(self, width))
        self.parcel_table.selectionModel().currentRowChanged.connect(
            lambda current, _prev: self._parcel_chosen(current.row()))

        right = QWidget(splitter)
        side = QVBoxLayout(right)
        side.setContentsMargins(12, 0, 0, 0)
        side.setSpacing(8)
        self.parcel_detail = QLabel(right)
        self.parcel_detail.setObjectName("DetailText")
        self.parcel_detail.setTextFormat(Qt.TextFormat.RichText)
        self.parcel_detail.setWordWrap(True)
        self.parcel_detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.parcel_detail.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        side.addWidget(self.parcel_detail, 1)
        prints = QHBoxLayout()
        self.print_waybill_button = QPushButton(self.tr("打印面单…"), right)
        self.print_waybill_button.setToolTip(self.tr("预览并打印这个邮包的面单（标签打印机）；再次打印须选择补打原因"))
        self.print_waybill_button.clicked.connect(lambda: self.print_waybill(self._current_parcel_id()))
        prints.addWidget(self.print_waybill_button)
        self.print_manifest_button = QPushButton(self.tr("打印交接单…"), right)
        self.print_manifest_button.setToolTip(self.tr("预览并打印材料交接单（A4）；再次打印须选择补打原因"))
        self.print_manifest_button.clicked.connect(lambda: self.print_manifest(self._current_parcel_id()))
        prints.addWidget(self.print_manifest_button)
        prints.addStretch(1)
        side.addLayout(prints)
        splitter.addWidget(self.parcel_table)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([em(self, 52), em(self, 26)])  # the parcels' six columns fit
        self._show_parcel(None)
        return tab

    # -- services ---------------------------------------------------------------------------------
    def set_desk(self, desk: Any) -> None:
        self.desk = desk
        self.stack.setCurrentWidget(self.page)
        self.reload()

    def set_printing(self, launcher: Any) -> None:
        self.printing = launcher

    def set_unavailable(self, message: str) -> None:
        self.unavailable.show_message(self.tr("现在不能寄递"), message)
        self.stack.setCurrentWidget(self.unavailable)

    def page_shown(self) -> None:
        if self.desk is not None:
            self.reload()

    # -- reading ----------------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the pool, the waiting cases and the parcels (on the runner)."""
        desk = self.desk
        if desk is None:
            return
        (self._runner.op(lambda job: desk.view()).superseding(VIEW_KEY)
         .on_success(self._show_view)
         .on_failure(lambda exc: self.summary.set_live(
             exc.message if isinstance(exc, UserError) else self.tr("读取寄递数据出错，已记录到日志。"), "error"))
         .run())

    def refresh_pool(self) -> None:
        """Only the pool (after a sync pass while the page is hidden: cheap)."""
        desk = self.desk
        if desk is None:
            return
        (self._runner.op(lambda job: desk.pool_status()).superseding(POOL_KEY)
         .on_success(self.show_pool)
         .on_failure(lambda exc: log.warning("pool status not read: %s", type(exc).__name__))
         .run())

    def sync_finished(self, report: Any) -> None:
        """A sync pass ended: parcels may be delivered, numbers added."""
        if self.desk is None:
            return
        if self.isVisible():
            self.reload()
        else:
            self.refresh_pool()

    def _show_view(self, view) -> None:
        self.view = view
        self.show_pool(view.pool)
        waiting = sum(len(g.cases) for g in view.groups)
        self.tabs.setTabText(0, self.tr("待寄（%1）").replace("%1", str(waiting)))
        self.tabs.setTabText(1, self.tr("邮包（%1）").replace("%1", str(len(view.parcels))))
        code = self._group_code
        self.departments.set_rows(view.groups)
        row = select_row(self.department_table, self.departments.row_of(code) if code else -1)
        if row >= 0:
            self._department_chosen(row)
        else:
            self._group_code = ""
            self.pending.set_rows([])
            self.group_title.setText("")
        has = bool(view.groups)
        for w in (self.pending_table, self.tick_all_button, self.tick_none_button, self.tick_hint,
                  self.create_button, self.group_title):
            w.setVisible(has)
        self.pending_empty.setVisible(not has)

        selected = self._select_parcel or self._current_parcel_id()
        self._select_parcel = ""
        self.parcels.set_rows(view.parcels)
        row = select_row(self.parcel_table, self.parcels.row_of(selected) if selected else -1)
        if row >= 0:
            self._parcel_chosen(row)
        else:
            self._show_parcel(None)
        self.view_did_load.emit(view)

    def show_pool(self, status) -> None:
        self.pool_label.setText(self.tr("可用邮件号 %1 个").replace("%1", str(status.free)))
        kind = "warning" if status.low else ""
        set_kind(self.pool_box, kind)
        set_kind(self.pool_label, kind)
        if status.warning:
            self.pool_warning.set_live(status.warning, "warning")
        else:
            self.pool_warning.clear_all()
        self.sync_button.setVisible(status.low)
        self.pool_did_change.emit(status)

    def _department_chosen(self, row: int) -> None:
        group = self.departments.row(row)
        if group is None:
            return
        self._group_code = group.department_code
        self.group_title.setText(self.tr("寄往 %1（%2）：%3 件").replace("%1", group.department_name)
                                 .replace("%2", group.department_code).replace("%3", str(len(group.cases))))
        self.pending.set_rows(list(group.cases))
        if self.pending.rowCount():
            self.pending_table.setCurrentIndex(self.pending.index(0, 0))

    def _ticks_changed(self, ticked: int) -> None:
        self.create_button.setEnabled(ticked > 0 and self.desk is not None)
        self.create_button.setText(self.tr("新建邮包（%1 件）").replace("%1", str(ticked)) if ticked
                                   else self.tr("新建邮包"))

    def _pending_opened(self, index) -> None:
        case = self.pending.row(index.row())
        if case is not None:
            self.case_view_was_requested.emit(case.case_id)

    def _current_parcel_id(self) -> str:
        row = self.parcels.row(self.parcel_table.currentIndex().row())
        return row.parcel.id if row else ""

    def _parcel_chosen(self, row: int) -> None:
        self._show_parcel(self.parcels.row(row))

    def _show_parcel(self, row) -> None:
        if row is None:
            self.parcel_detail.setText(f'<span style="color:{GREY};">{_e(self.tr("还没有邮包。在“待寄”中勾选办件后新建邮包。"))}</span>')
        else:
            self.parcel_detail.setText(parcel_html(row))
        self.print_waybill_button.setEnabled(row is not None)
        self.print_manifest_button.setEnabled(row is not None)

    # -- making a parcel --------------------------------------------------------------------------
    def request_create(self) -> None:
        """新建邮包 of the ticked cases of the shown department."""
        if self.tabs.currentIndex() != 0 or self.create_button.isHidden() or not self.create_button.isEnabled():
            return
        self.create_parcel(self._group_code, self.pending.ticked())

    def create_parcel(self, department_code: str, receipts: list[str]) -> None:
        desk = self.desk
        if desk is None or not department_code or not receipts:
            return
        self.create_button.setEnabled(False)
        self.warnings.clear_all()

        def work(job):
            made = desk.create_parcel(department_code, receipts)
            return made, desk.pool_status()

        (self._runner.op(work).with_progress(self.tr("正在新建邮包…"), cancellable=False)
         .on_success(lambda result: self._created(*result))
         .on_failure(self._create_failed)
         .run())

    def _created(self, made, pool) -> None:
        parcel = made.parcel
        self.last_parcel = parcel
        self.summary.set_live(self.tr("已新建邮包 %1：寄往 %2，邮件号 %3，共 %4 件。请贴好面单，把交接单放入包裹。")
                              .replace("%1", parcel.id).replace("%2", parcel.department_name)
                              .replace("%3", parcel.waybill_no).replace("%4", str(len(parcel.cases))), "ok")
        if made.warnings:
            self.warnings.set_live("\n".join(made.warnings), "warning")
        self.show_pool(pool)
        self._select_parcel = parcel.id
        self.parcel_did_create.emit(made)
        self.reload()
        self.print_new_parcel(parcel)

    def _create_failed(self, exc: BaseException) -> None:
        self._ticks_changed(len(self.pending.ticked()))
        if isinstance(exc, UserError):
            self.summary.set_live(exc.message, "error")
        else:
            self.summary.set_live(self.tr("新建邮包出错，已记录到日志。没有占用邮件号。"), "error")
        if self.desk is not None:
            self.reload()  # the pool, and the list if another terminal … changed it
        if isinstance(exc, UserError) and "邮件号已用完" in exc.message:
            self.refill_button.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- printing ---------------------------------------------------------------------------------
    def _can_print(self) -> bool:
        if self.printing is None or not self.printing.available or self.desk is None:
            self.summary.set_live(self.tr("打印功能尚未就绪，请稍候再试。"), "warning")
            return False
        return True

    def print_new_parcel(self, parcel) -> None:
        """The waybill (label printer), then, once its dialog closes, the 材料交接单 (A4)."""
        dialog = self.print_waybill(parcel.waybill_no, by_number=True)
        if dialog is not None:
            dialog.finished.connect(lambda _result, pid=parcel.id: QTimer.singleShot(0, lambda: self.print_manifest(pid)))

    def print_waybill(self, key: str, by_number: bool = False):
        """The waybill of a parcel (its id, or its number with ``by_number``)."""
        if not key or not self._can_print():
            return None
        desk = self.desk
        number = key if by_number else next((r.parcel.waybill_no for r in self.parcels.rows if r.parcel.id == key), "")
        if not number:
            return None
        return self.printing.open_request(lambda: desk.waybill_request(number), self)

    def print_manifest(self, parcel_id: str):
        if not parcel_id or not self._can_print():
            return None
        desk = self.desk
        return self.printing.open_request(lambda: desk.manifest_request(parcel_id), self)

    # -- the pool ---------------------------------------------------------------------------------
    def refill(self) -> None:
        """领取邮件号 (on the runner)."""
        desk = self.desk
        if desk is None:
            return
        self.refill_button.setEnabled(False)

        def work(job):
            added = desk.refill()
            return added, desk.pool_status()

        def done(result) -> None:
            added, pool = result
            self.refill_button.setEnabled(True)
            self.summary.set_live(self.tr("已领取 %1 个邮件号。").replace("%1", str(added)), "ok")
            self.show_pool(pool)

        def failed(exc: BaseException) -> None:
            self.refill_button.setEnabled(True)
            text = exc.message if isinstance(exc, UserError) else self.tr("领取邮件号出错，已记录到日志。")
            self.summary.set_live(text + self.tr("　稍后可再试，或点击“同步”。"), "error")
            self.sync_button.show()

        (self._runner.op(work).with_progress(self.tr("正在领取邮件号…"), cancellable=False)
         .on_success(done).on_failure(failed).run())
