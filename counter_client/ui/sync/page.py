"""同步: the delivery queue and what to do about each item, today's deliveries, the end-of-day
reconciliation (对账) and the clerk's platform login.

The page reads through a ``services.sync_desk.SyncDesk`` handed in by ``app.py`` (every read and
change on the task runner) and never sends anything itself: "立即同步", a retry or a resend ask
the sync worker through ``sync_now_was_requested``. The worker's signals are wired to
``sync_started`` / ``sync_progressed`` / ``sync_finished`` / ``sync_failed`` by ``app.py``.

Hold and resume (暂停/恢复) are a supervisor's decision: the button shows only to a supervisor, and
in training (where the training account is not one) it shows disabled, with the reason.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from PySide6.QtCore import QCoreApplication, QDate, QItemSelectionModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDateEdit,
    QFrame,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from counter_client.background.tasks import TaskRunner
from counter_client.errors import UserError
from counter_client.ui.cases.model import grouped
from counter_client.ui.sync.login_dialog import LoginDialog
from counter_client.ui.sync.model import (
    HOLDABLE,
    RETRYABLE,
    DeliveredModel,
    QueueModel,
    clock_text,
    duration_text,
    explanation,
    kind_label,
    state_label,
)
from counter_client.ui.widgets import Banner, FieldMessage, em, plain_label, set_kind

log = logging.getLogger(__name__)

QUEUE_KEY = "sync-queue"
STATE_ORDER = ("queued", "sending", "in_doubt", "retry_wait", "held", "rejected")


def report_text(report: Any) -> str:
    """One line about a finished pass (counts that are not zero)."""

    def tr(text: str) -> str:
        return QCoreApplication.translate("SyncPage", text)

    parts = []
    for value, text in ((report.delivered, tr("送达 %1 件")), (report.confirmed, tr("其中核实 %1 件")),
                        (report.in_doubt, tr("待确认 %1 件")), (report.waiting, tr("等待重试 %1 件")),
                        (report.rejected, tr("被退回 %1 件")), (report.statuses, tr("办理状态更新 %1 条")),
                        (report.remaining, tr("尚未送达 %1 件"))):
        if value:
            parts.append(text.replace("%1", str(value)))
    return "，".join(parts) or tr("没有需要上传的办件，办理状态已是最新")


def gap_text(gaps: list) -> str:
    """The gaps grouped by kind: what it means once, then the receipt numbers it concerns."""
    by_kind: dict[str, list] = {}
    for g in gaps:
        by_kind.setdefault(g.kind, []).append(g)
    blocks = []
    for found in by_kind.values():
        numbers = "、".join(grouped(g.receipt_no) for g in found)
        blocks.append(f"{found[0].message}\n{numbers}")
    return "\n\n".join(blocks)


class SyncPage(QWidget):
    """同步.

    Signals:
        sync_now_was_requested(): run a pass now (the worker coalesces).
        queue_did_load(object view): a ``QueueView`` was read (the status bar shows its summary).
        login_did_change(object profile): logged in (a Profile) or out (None).
        case_view_was_requested(str case_id): the clerk double-clicked a line.
        reconciliation_did_finish(object report)
    """

    sync_now_was_requested = Signal()
    queue_did_load = Signal(object)
    login_did_change = Signal(object)
    case_view_was_requested = Signal(str)
    reconciliation_did_finish = Signal(object)

    def __init__(self, runner: TaskRunner, training: bool, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("SyncPage")
        self._runner = runner
        self.training = training
        self.desk: Any = None
        self.view: Any = None
        self.reconciliation: Any = None
        self.platform = ""
        self.login_dialog: LoginDialog | None = None
        self._today = dt.date.today

        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 8)
        layout.setSpacing(8)

        head = QHBoxLayout()
        head.setSpacing(10)
        head.addWidget(plain_label(self.tr("同步"), "PageTitle", self))
        self.summary = plain_label(self.tr("正在读取队列…"), "SyncSummary", self)
        self.summary.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        head.addWidget(self.summary, 1)
        self.account = plain_label("", "Hint", self)
        head.addWidget(self.account)
        self.login_button = QPushButton(self.tr("登录…"), self)
        self.login_button.clicked.connect(lambda: self.ask_login())
        head.addWidget(self.login_button)
        self.logout_button = QPushButton(self.tr("退出登录"), self)
        self.logout_button.clicked.connect(self.logout)
        head.addWidget(self.logout_button)
        self.sync_button = QPushButton(self.tr("立即同步"), self)
        self.sync_button.setObjectName("Primary")
        self.sync_button.setToolTip(self.tr("马上上传待发送的办件并获取办理状态"))
        self.sync_button.clicked.connect(self.sync_now_was_requested)
        head.addWidget(self.sync_button)
        layout.addLayout(head)

        self.login_banner = Banner(self.tr("尚未登录平台：待上传的办件暂不会报送。请登录。"), kind="error", closable=False,
                                   parent=self)
        self.login_banner.add_action(self.tr("登录…"), lambda: self.ask_login(), primary=True)
        self.login_banner.hide()
        layout.addWidget(self.login_banner)
        self.status = FieldMessage(self)
        layout.addWidget(self.status)

        self.model = QueueModel(self)
        self.table = QTableView(self)
        self.table.setObjectName("QueueTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        for column, width in enumerate((15, 5, 5.5, 4, 6.5)):
            self.table.setColumnWidth(column, em(self, width))
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._update_actions())
        self.table.doubleClicked.connect(self._row_activated)
        self.empty = plain_label(self.tr("没有待上传的办件。"), "EmptyState", self)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # the queue above, today's deliveries and reconciliation below: a splitter, so that the
        # queue keeps its room in large-font mode and the clerk can give either part more
        upper = QWidget(self)
        upper_box = QVBoxLayout(upper)
        upper_box.setContentsMargins(0, 0, 0, 0)
        upper_box.setSpacing(6)
        upper_box.addWidget(self.table, 1)
        upper_box.addWidget(self.empty, 1)

        actions = QHBoxLayout()
        actions.setSpacing(8)
        self.selected = plain_label("", "SelectedHint", self, wrap=True)
        self.selected.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        actions.addWidget(self.selected, 1)
        self.hold_button = QPushButton(self.tr("暂停"), self)
        self.hold_button.clicked.connect(self.toggle_hold)
        actions.addWidget(self.hold_button)
        self.retry_button = QPushButton(self.tr("立即重试"), self)
        self.retry_button.setToolTip(self.tr("不再等待，马上重新发送选中的这一件"))
        self.retry_button.clicked.connect(self.retry_selected)
        actions.addWidget(self.retry_button)
        upper_box.addLayout(actions)

        lower = QWidget(self)
        bottom = QHBoxLayout(lower)
        bottom.setContentsMargins(0, 0, 0, 0)
        bottom.setSpacing(10)
        delivered = QFrame(self)
        delivered.setObjectName("SyncSection")
        box = QVBoxLayout(delivered)
        box.setContentsMargins(10, 8, 10, 8)
        box.setSpacing(6)
        self.delivered_title = plain_label(self.tr("今天已送达"), "SectionTitle", delivered)
        box.addWidget(self.delivered_title)
        self.delivered_model = DeliveredModel(self)
        self.delivered = QTableView(delivered)
        self.delivered.setObjectName("DeliveredTable")
        self.delivered.setModel(self.delivered_model)
        self.delivered.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.delivered.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.delivered.verticalHeader().hide()
        self.delivered.horizontalHeader().setStretchLastSection(True)
        self.delivered.setColumnWidth(0, em(self, 5))
        self.delivered.setColumnWidth(1, em(self, 15))
        self.delivered.doubleClicked.connect(self._delivered_activated)
        box.addWidget(self.delivered, 1)
        bottom.addWidget(delivered, 2)

        rec = QFrame(self)
        rec.setObjectName("SyncSection")
        box = QVBoxLayout(rec)
        box.setContentsMargins(10, 8, 10, 8)
        box.setSpacing(6)
        box.addWidget(plain_label(self.tr("对账"), "SectionTitle", rec))
        box.addWidget(plain_label(self.tr("逐件核对本机已送达的办件与平台实际收到的是否一致（建议每天下班前做一次）。"),
                                  "Hint", rec, wrap=True))
        row = QHBoxLayout()
        row.setSpacing(8)
        row.addWidget(plain_label(self.tr("收件日期"), "FormLabel", rec))
        self.day = QDateEdit(rec)
        self.day.setCalendarPopup(True)
        self.day.setDisplayFormat("yyyy-MM-dd")
        self.day.setDate(QDate.currentDate())
        self.day.setMaximumDate(QDate.currentDate().addDays(1))
        row.addWidget(self.day)
        self.reconcile_button = QPushButton(self.tr("对账"), rec)
        self.reconcile_button.clicked.connect(self.reconcile)
        row.addWidget(self.reconcile_button)
        row.addStretch(1)
        box.addLayout(row)
        self.reconcile_result = FieldMessage(rec)
        box.addWidget(self.reconcile_result)
        self.gaps = QFrame(rec)
        self.gaps.setObjectName("ProblemsBox")
        gaps = QVBoxLayout(self.gaps)
        gaps.setContentsMargins(10, 8, 10, 8)
        gaps.setSpacing(4)
        self.gaps_title = plain_label("", "ProblemsTitle", self.gaps, wrap=True)
        gaps.addWidget(self.gaps_title)
        self.gaps_text = plain_label("", "GapList", self.gaps, wrap=True)
        self.gaps_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.gaps_text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        gaps_scroll = QScrollArea(self.gaps)  # a long list scrolls; the button stays in sight
        gaps_scroll.setObjectName("GapScroll")
        gaps_scroll.setWidgetResizable(True)
        gaps_scroll.setFrameShape(QFrame.Shape.NoFrame)
        gaps_scroll.setWidget(self.gaps_text)
        gaps_scroll.setMinimumHeight(em(self, 2.5))
        gaps.addWidget(gaps_scroll, 1)
        resend_row = QHBoxLayout()
        resend_row.addStretch(1)
        self.resend_button = QPushButton(self.tr("重新发送"), self.gaps)
        self.resend_button.setObjectName("Primary")
        self.resend_button.setToolTip(self.tr("把平台缺少的办件重新排队，原样再发一次（不会产生重复办件）"))
        self.resend_button.clicked.connect(self.resend)
        resend_row.addWidget(self.resend_button)
        gaps.addLayout(resend_row)
        self.gaps.hide()
        box.addWidget(self.gaps, 1)
        box.addStretch(0)
        bottom.addWidget(rec, 3)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setObjectName("SyncSplitter")
        self.splitter.addWidget(upper)
        self.splitter.addWidget(lower)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        layout.addWidget(self.splitter, 1)

        self._show_login_state()
        self._update_actions()
        self._set_enabled(False)

    # -- service ----------------------------------------------------------------------------------
    def set_desk(self, desk: Any) -> None:
        self.desk = desk
        self._set_enabled(True)
        self.reload()

    def set_platform(self, name: str) -> None:
        self.platform = name

    def page_shown(self) -> None:
        self.reload()
        self.table.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _set_enabled(self, enabled: bool) -> None:
        for w in (self.sync_button, self.reconcile_button, self.login_button, self.logout_button):
            w.setEnabled(enabled)

    # -- the queue --------------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the queue, today's deliveries and the login (on the runner)."""
        desk = self.desk
        if desk is None:
            return
        (self._runner.op(lambda job: desk.queue(self._today()))
         .superseding(QUEUE_KEY)
         .on_success(self.show_view)
         .on_failure(lambda exc: self.status.set_live(
             exc.message if isinstance(exc, UserError) else self.tr("读取同步队列出错，已记录到日志。"), "error"))
         .run())

    def show_view(self, view: Any) -> None:
        selected = self.selected_entry()
        self.view = view
        self.model.set_rows(view.entries)
        self.delivered_model.set_rows(view.delivered_today)
        has = bool(view.entries)
        self.table.setVisible(has)
        self.empty.setVisible(not has)
        self.summary.setText(self._summary_text(view))
        self.delivered_title.setText(self.tr("今天已送达 %1 件").replace("%1", str(len(view.delivered_today))))
        row = self.model.row_of(selected.id) if selected else -1
        if row < 0 and view.entries:
            row = 0
        if row >= 0:
            self.table.selectionModel().setCurrentIndex(
                self.model.index(row, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self._show_login_state()
        self._update_actions()
        self.queue_did_load.emit(view)

    def _summary_text(self, view: Any) -> str:
        s = view.summary
        parts = [f"{state_label(view.labels.get(state, state))} {s.counts[state]}" for state in STATE_ORDER
                 if s.counts.get(state)]
        if not parts:
            return self.tr("已全部送达") if s.acked else self.tr("队列为空")
        text = "　".join(parts)
        age = s.oldest_age()
        if age is not None and s.unsent:
            text += self.tr("　·　最早未送达的已等待 %1").replace("%1", duration_text(age))
        return text

    def selected_entry(self):
        return self.model.row(self.table.currentIndex().row())

    def select_key(self, key: str) -> bool:
        for row, entry in enumerate(self.model.rows):
            if entry.key == key:
                self.table.selectionModel().setCurrentIndex(
                    self.model.index(row, 0),
                    QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
                return True
        return False

    def _update_actions(self) -> None:
        entry = self.selected_entry()
        view = self.view
        supervisor = bool(view and view.supervisor)
        if entry is None:
            self.selected.setText("")
        else:
            self.selected.setText(f"{grouped(entry.receipt_no) if entry.receipt_no else entry.key}"
                                  f"（{kind_label(entry.kind)}）：{explanation(entry)}")
        self.retry_button.setEnabled(entry is not None and entry.state in RETRYABLE and self.desk is not None)
        held = entry is not None and entry.state == "held"
        self.hold_button.setText(self.tr("恢复") if held else self.tr("暂停"))
        self.hold_button.setVisible(supervisor or self.training)
        can = entry is not None and (held or entry.state in HOLDABLE)
        self.hold_button.setEnabled(supervisor and can)
        if not supervisor:
            self.hold_button.setToolTip(self.tr("只有值班主管账号可以暂停或恢复上传（培训账号不是主管）。"))
        elif entry is not None and entry.state == "in_doubt":
            self.hold_button.setToolTip(self.tr("待确认的办件须先向平台核实，不能暂停。"))
        else:
            self.hold_button.setToolTip(self.tr("暂停：这一件先不上传，直到恢复") if not held
                                        else self.tr("恢复上传这一件"))

    def retry_selected(self) -> None:
        entry = self.selected_entry()
        desk = self.desk
        if entry is None or desk is None or entry.state not in RETRYABLE:
            return
        (self._runner.op(lambda job: desk.retry_now(entry.id))
         .on_success(lambda _r: self._changed(self.tr("已安排立即重试：%1").replace("%1", self._name(entry)), sync=True))
         .on_failure(self._failed)
         .run())

    def toggle_hold(self) -> None:
        entry = self.selected_entry()
        desk = self.desk
        if entry is None or desk is None or not (self.view and self.view.supervisor):
            return
        if entry.state == "held":
            (self._runner.op(lambda job: desk.resume(entry.id))
             .on_success(lambda _r: self._changed(self.tr("已恢复：%1").replace("%1", self._name(entry)), sync=True))
             .on_failure(self._failed).run())
        elif entry.state in HOLDABLE:
            (self._runner.op(lambda job: desk.hold(entry.id))
             .on_success(lambda _r: self._changed(self.tr("已暂停：%1").replace("%1", self._name(entry))))
             .on_failure(self._failed).run())

    @staticmethod
    def _name(entry) -> str:
        return grouped(entry.receipt_no) if entry.receipt_no else entry.key

    def _changed(self, text: str, sync: bool = False) -> None:
        self.status.set_live(text, "ok")
        self.reload()
        if sync:
            self.sync_now_was_requested.emit()

    def _failed(self, exc: BaseException) -> None:
        self.status.set_live(exc.message if isinstance(exc, UserError) else self.tr("操作失败，已记录到日志。"), "error")

    def _row_activated(self, index) -> None:
        entry = self.model.row(index.row())
        if entry is not None:
            self.case_view_was_requested.emit(entry.case_id)

    def _delivered_activated(self, index) -> None:
        entry = self.delivered_model.row(index.row())
        if entry is not None:
            self.case_view_was_requested.emit(entry.case_id)

    # -- the worker's news ------------------------------------------------------------------------
    def note(self, text: str) -> None:
        """A line added under what the status line says now (e.g. why the pass waits)."""
        current = self.status.text()
        if current and text not in current:
            self.status.set_live(current + "\n" + text, self.status.kind or "hint")
        elif not current:
            self.status.set_live(text, "hint")

    def sync_started(self) -> None:
        self.status.set_live(self.tr("正在同步…"), "hint")

    def sync_progressed(self, done: int, total: int, text: str) -> None:
        if total > 0:
            self.status.set_live(f"{text or self.tr('正在上传')}（{min(done + 1, total)}/{total}）", "hint")
        elif text:
            self.status.set_live(text + "…", "hint")

    def sync_finished(self, report: Any) -> None:
        when = clock_text(dt.datetime.now().timestamp())
        text = self.tr("上次同步 %1：%2").replace("%1", when).replace("%2", report_text(report))
        if report.stopped and not report.busy:
            self.status.set_live(text + "\n" + report.stopped, "warning" if not report.login_required else "error")
        else:
            self.status.set_live(text, "ok")
        self.reload()

    def sync_failed(self, message: str) -> None:
        self.status.set_live(message, "error")
        self.reload()

    # -- login ------------------------------------------------------------------------------------
    def _show_login_state(self) -> None:
        view = self.view
        profile = view.profile if view else None
        logged_in = bool(view and view.logged_in)
        if self.training:
            who = profile.name or profile.account if profile and logged_in else self.tr("培训账号")
            self.account.setText(self.tr("%1（培训模式自动登录）").replace("%1", who))
            self.login_button.hide()
            self.logout_button.hide()
            self.login_banner.hide()
            return
        if logged_in and profile is not None:
            role = self.tr("值班主管") if profile.supervisor else self.tr("窗口人员")
            self.account.setText(self.tr("已登录：%1（%2）").replace("%1", profile.name or profile.account)
                                 .replace("%2", role))
        else:
            self.account.setText(self.tr("未登录"))
        self.login_button.setVisible(not logged_in)
        self.logout_button.setVisible(logged_in)
        self.login_banner.setVisible(view is not None and not logged_in)

    def ask_login(self, reason: str = "") -> LoginDialog | None:
        """The login dialog (outside training); the login runs on the runner."""
        if self.training or self.desk is None:
            return None
        if self.login_dialog is not None and self.login_dialog.isVisible():
            self.login_dialog.raise_()
            self.login_dialog.activateWindow()
            return self.login_dialog
        profile = self.view.profile if self.view else None
        dialog = LoginDialog(self.platform, profile.account if profile else "", reason, self)
        dialog.login_was_requested.connect(self._log_in)
        dialog.finished.connect(lambda _r: setattr(self, "login_dialog", None))
        self.login_dialog = dialog
        dialog.open()
        return dialog

    def _log_in(self, account: str, password: str) -> None:
        desk, dialog = self.desk, self.login_dialog

        def done(profile) -> None:
            if dialog is not None:
                dialog.accept()
            self.status.set_live(self.tr("已登录：%1").replace("%1", profile.name or profile.account), "ok")
            self.login_did_change.emit(profile)
            self.reload()

        def failed(exc: BaseException) -> None:
            message = exc.message if isinstance(exc, UserError) else self.tr("登录出错，已记录到日志。")
            if dialog is not None:
                dialog.show_failure(message)

        (self._runner.op(lambda job: desk.login(account, password))
         .on_success(done).on_failure(failed).run())

    def logout(self) -> None:
        desk = self.desk
        if desk is None:
            return

        def done(_r) -> None:
            self.status.set_live(self.tr("已退出登录。待上传的办件保留在本机，登录后继续报送。"), "ok")
            self.login_did_change.emit(None)
            self.reload()

        (self._runner.op(lambda job: desk.logout()).on_success(done).on_failure(self._failed).run())

    # -- reconciliation ---------------------------------------------------------------------------
    def reconcile(self) -> None:
        desk = self.desk
        if desk is None:
            return
        qdate = self.day.date()
        day = dt.date(qdate.year(), qdate.month(), qdate.day())
        self.reconcile_button.setEnabled(False)
        self.reconcile_result.set_live(self.tr("正在对账…"), "hint")
        (self._runner.op(lambda job: desk.reconcile(day))
         .with_progress(self.tr("正在对账…"), cancellable=False)
         .on_success(self.show_reconciliation)
         .on_failure(lambda exc: self.reconcile_result.set_live(
             exc.message if isinstance(exc, UserError) else self.tr("对账出错，已记录到日志。"), "error"))
         .on_finished(lambda: self.reconcile_button.setEnabled(self.desk is not None))
         .run())

    def show_reconciliation(self, report: Any) -> None:
        self.reconciliation = report
        text = (self.tr("%1 对账：本机已送达 %2 件，平台收到 %3 件，一致 %4 件，尚未送达 %5 件。")
                .replace("%1", report.day).replace("%2", str(report.acked_here)).replace("%3", str(report.held_there))
                .replace("%4", str(report.matched)).replace("%5", str(report.pending_here)))
        if report.settled:
            text += self.tr("另有 %1 件此前待确认，平台已收到，已记为送达。").replace("%1", str(len(report.settled)))
        if report.clean:
            self.reconcile_result.set_live(text + self.tr("全部一致。"), "ok")
            self.gaps.hide()
        else:
            self.reconcile_result.set_live(text, "error")
            self.gaps_title.setText(self.tr("！发现 %1 处不一致").replace("%1", str(len(report.gaps))))
            self.gaps_text.setText(gap_text(report.gaps))
            self.resend_button.setVisible(any(g.kind == "missing_there" for g in report.gaps))
            self.resend_button.setEnabled(True)
            self.gaps.show()
            self._make_room_below()
        self.reload()
        self.reconciliation_did_finish.emit(report)

    def _make_room_below(self) -> None:
        """A gap must be read in full: the lower part grows to show it (the queue keeps at
        least 40 % of the height)."""
        sizes = self.splitter.sizes()
        total = sum(sizes)
        if total <= 0:
            return
        lower = self.splitter.widget(1)
        lower.layout().activate()
        want = lower.sizeHint().height() + self.gaps_text.sizeHint().height()
        lower_size = min(max(sizes[1], want), int(total * 0.6))
        self.splitter.setSizes([total - lower_size, lower_size])

    def resend(self) -> None:
        desk, report = self.desk, self.reconciliation
        if desk is None or report is None:
            return
        self.resend_button.setEnabled(False)

        def done(receipts: list[str]) -> None:
            if receipts:
                self.gaps_title.setText(self.tr("已重新排队 %1 件，正在重新发送：").replace("%1", str(len(receipts)))
                                        + "、".join(grouped(r) for r in receipts))
                set_kind(self.gaps_title, "")
                self.resend_button.hide()
                self._changed(self.tr("已重新排队 %1 件，正在发送。发送后请再对账一次。").replace("%1", str(len(receipts))),
                              sync=True)
            else:
                self.resend_button.setEnabled(True)

        (self._runner.op(lambda job: desk.resend(report))
         .on_success(done)
         .on_failure(lambda exc: (self.resend_button.setEnabled(True), self._failed(exc)))
         .run())
