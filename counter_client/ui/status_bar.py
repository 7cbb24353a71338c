"""The status bar: connection, the delivery queue (同步中 3/10, 待上传 2 件 · 最早 5 分钟, 已全部送达,
需要登录), catalogue version and last refresh, the waybill pool (邮件号 N, amber when low), progress of the running job (in place, after the
runner's delay) with its cancel button, and the clock.

Each item that has a page is clickable to it; ``app.py`` wires the clicks.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QCoreApplication,
    QDateTime,
    QLocale,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar, QWidget

from counter_client.background.tasks import Handle, TaskRunner
from counter_client.services.connection import State, Status
from counter_client.ui.sync.model import duration_text

CLOCK_INTERVAL_MS = 1000
PROGRESS_WIDTH = 180
STATE_LABELS = {
    State.UNKNOWN: QT_TRANSLATE_NOOP("StatusBar", "检测中"),
    State.STARTING: QT_TRANSLATE_NOOP("StatusBar", "培训平台启动中"),
    State.ONLINE: QT_TRANSLATE_NOOP("StatusBar", "在线"),
    State.OFFLINE: QT_TRANSLATE_NOOP("StatusBar", "离线"),
    State.LIMITED: QT_TRANSLATE_NOOP("StatusBar", "受限网络"),
}


def state_label(state: State) -> str:
    """The clerk's word for a connection state (translated here, not in the Qt-free layer)."""
    return QCoreApplication.translate("StatusBar", STATE_LABELS[state])


class StatusItem(QLabel):
    """A plain-text status label, clickable when it leads somewhere.

    Signals:
        was_clicked()
    """

    was_clicked = Signal()

    def __init__(self, parent: QWidget | None = None, clickable: bool = False):
        super().__init__(parent)
        self.setObjectName("StatusItem")
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.set_clickable(clickable)

    def set_clickable(self, clickable: bool) -> None:
        self.setProperty("clickable", clickable)
        self.setCursor(Qt.CursorShape.PointingHandCursor if clickable else Qt.CursorShape.ArrowCursor)

    def set_state(self, state: str) -> None:
        if self.property("state") != state:
            self.setProperty("state", state)
            self.style().unpolish(self)
            self.style().polish(self)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self.property("clickable"):
            self.was_clicked.emit()
        super().mouseReleaseEvent(event)


class StatusBar(QStatusBar):
    """Connection, catalogue, progress and clock along the bottom of the window."""

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self.setSizeGripEnabled(False)
        self._runner = runner
        self._progress_handle: Handle | None = None

        self.progress_label = QLabel(self)
        self.progress_label.setObjectName("ProgressLabel")
        self.progress_label.setTextFormat(Qt.TextFormat.PlainText)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setFixedWidth(PROGRESS_WIDTH)
        self.progress_bar.setTextVisible(True)
        self.cancel_button = QPushButton(self.tr("取消"), self)
        self.cancel_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.cancel_button.clicked.connect(self.cancel_progress)
        for w in (self.progress_label, self.progress_bar, self.cancel_button):
            self.addWidget(w)
            w.hide()

        self.connection_item = StatusItem(self, clickable=True)
        self.connection_item.setToolTip(self.tr("点击立即检测网络"))
        self.sync_item = StatusItem(self, clickable=True)
        self.sync_item.setText(self.tr("同步：读取中…"))
        self.sync_item.setToolTip(self.tr("点击打开同步页"))
        self._queue = None  # the last QueueSummary
        self._sync_running: tuple[int, int] | None = None
        self._login_required = False
        self._sync_problem = ""
        self.catalogue_item = StatusItem(self, clickable=True)
        self.catalogue_item.setText(self.tr("目录：读取中…"))
        self.pool_item = StatusItem(self, clickable=True)
        self.pool_item.setText(self.tr("邮件号：读取中…"))
        self.pool_item.setToolTip(self.tr("点击打开寄递页"))
        self.clock_item = StatusItem(self)
        for item in (self.connection_item, self.sync_item, self.catalogue_item, self.pool_item, self.clock_item):
            self.addPermanentWidget(item)

        self._clock = QTimer(self)
        self._clock.setInterval(CLOCK_INTERVAL_MS)
        self._clock.timeout.connect(self._tick)
        self._tick()

        runner.progress_did_show.connect(self._on_progress_show)
        runner.progress_did_change.connect(self._on_progress_change)
        runner.progress_did_hide.connect(self._on_progress_hide)

    # -- clock -----------------------------------------------------------------------------------
    def start_clock(self) -> None:
        self._clock.start()

    def stop_clock(self) -> None:
        self._clock.stop()

    def _tick(self) -> None:
        if self._queue is not None and self._sync_running is None:
            self._show_sync()  # the oldest item's age grows
        now = QDateTime.currentDateTime()
        self.clock_item.setText(QLocale(QLocale.Language.Chinese, QLocale.Country.China)
                                .toString(now, "M月d日 ddd HH:mm"))

    # -- connection ------------------------------------------------------------------------------
    def show_connection(self, status: Status) -> None:
        label = state_label(status.state)
        name = status.platform_name or status.url or ""
        self.connection_item.setText(f"● {label}" + (f"　{name}" if name else ""))
        self.connection_item.set_state(status.state.value)
        if status.message:
            tip = status.message
        elif status.state == State.ONLINE:
            tip = self.tr("已连接 %1").replace("%1", status.url or "")
        else:
            tip = label
        self.connection_item.setToolTip(tip + "\n" + self.tr("点击立即检测网络"))

    # -- the delivery queue ----------------------------------------------------------------------
    def show_sync_running(self, done: int = 0, total: int = 0) -> None:
        """A pass runs: 同步中 3/10 (or 同步中… while the total is unknown)."""
        self._sync_running = (done, total)
        self._show_sync()

    def show_sync_idle(self, login_required: bool = False, problem: str = "") -> None:
        """The pass ended; ``login_required``: the platform wants a login; ``problem``: why it
        stopped early (offline, …), for the tooltip."""
        self._sync_running = None
        self._login_required = login_required
        self._sync_problem = problem
        self._show_sync()

    def set_login_required(self, required: bool) -> None:
        self._login_required = required
        self._show_sync()

    def show_queue(self, summary) -> None:
        """``summary``: a QueueSummary (counts by state, oldest unsent)."""
        self._queue = summary
        self._show_sync()

    def _show_sync(self) -> None:
        text, state = sync_text(self._queue, self._sync_running, self._login_required)
        self.sync_item.setText(text)
        self.sync_item.set_state(state)
        tip = [self.tr("点击打开同步页")]
        if self._login_required:
            tip.insert(0, self.tr("平台登录已失效或尚未登录，待上传的办件不会发出。"))
        elif self._sync_problem:
            tip.insert(0, self.tr("上次同步未完成：%1").replace("%1", self._sync_problem))
        self.sync_item.setToolTip("\n".join(tip))

    # -- catalogue -------------------------------------------------------------------------------
    def show_catalogue(self, info, error: str = "") -> None:
        """``info``: a CatalogueInfo (version, guide_count, refreshed_at)."""
        if info is None or info.version is None or info.guide_count == 0:
            self.catalogue_item.setText(self.tr("目录：空，请更新"))
            self.catalogue_item.set_state("warning")
        else:
            when = _local_time(info.refreshed_at)
            text = self.tr("目录 v%1 · %2 项").replace("%1", str(info.version)).replace(
                "%2", str(info.guide_count))
            if when:
                text += self.tr(" · 更新于 %1").replace("%1", when)
            self.catalogue_item.setText(text)
            self.catalogue_item.set_state("warning" if error else "")
        tip = self.tr("点击打开事项指南")
        if error:
            tip = self.tr("上次更新失败：%1").replace("%1", error) + "\n" + tip
        self.catalogue_item.setToolTip(tip)

    # -- the waybill pool ------------------------------------------------------------------------
    def show_pool(self, status) -> None:
        """``status``: a PoolStatus (free numbers, low, the warning sentence)."""
        self.pool_item.setText(self.tr("邮件号 %1").replace("%1", str(status.free)))
        self.pool_item.set_state("warning" if status.low else "")
        tip = self.tr("本机可用邮件号 %1 个").replace("%1", str(status.free))
        if status.warning:
            tip = status.warning + "\n" + tip
        self.pool_item.setToolTip(tip + "\n" + self.tr("点击打开寄递页"))

    # -- progress --------------------------------------------------------------------------------
    @property
    def progress_visible(self) -> bool:
        return self.progress_bar.isVisibleTo(self)

    def cancel_progress(self) -> None:
        if self._progress_handle is not None:
            self._progress_handle.cancel()
            self.progress_label.setText(self.tr("正在取消…"))
            self.cancel_button.setEnabled(False)

    def _on_progress_show(self, handle: Handle) -> None:
        self._progress_handle = handle
        self.progress_label.setText(handle.label)
        self.progress_bar.setRange(0, 0)  # busy until a total is known
        self.cancel_button.setVisible(handle.cancellable)
        self.cancel_button.setEnabled(True)
        self.progress_label.show()
        self.progress_bar.show()

    def _on_progress_change(self, handle: Handle, done: int, total: int, label: str) -> None:
        if handle is not self._progress_handle:
            return
        if handle.cancelled():
            return
        self.progress_label.setText(label)
        if total > 0:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(min(done, total))
        else:
            self.progress_bar.setRange(0, 0)

    def _on_progress_hide(self, handle: Handle) -> None:
        if handle is not self._progress_handle:
            return
        # another op with visible progress may still run: show it instead
        others = [h for h in self._runner.running() if h.visible and h is not handle and not h.done]
        if others:
            self._on_progress_show(others[-1])
            return
        self._progress_handle = None
        for w in (self.progress_label, self.progress_bar, self.cancel_button):
            w.hide()


def sync_text(summary, running: tuple[int, int] | None, login_required: bool) -> tuple[str, str]:
    """The queue item's words and colour state."""
    tr = lambda text: QCoreApplication.translate("StatusBar", text)
    if running is not None:
        done, total = running
        if total > 0:
            return tr("同步中 %1/%2").replace("%1", str(min(done + 1, total))).replace("%2", str(total)), "busy"
        return tr("同步中…"), "busy"
    if login_required:
        return tr("需要登录"), "error"
    if summary is None:
        return tr("同步：读取中…"), "unknown"
    parts = []
    if summary.unsent:
        text = tr("待上传 %1 件").replace("%1", str(summary.unsent))
        age = summary.oldest_age()
        if age is not None:
            text += tr(" · 最早 %1").replace("%1", duration_text(age))
        parts.append(text)
    if summary.rejected:
        parts.append(tr("被退回 %1 件").replace("%1", str(summary.rejected)))
    if parts:
        return "　".join(parts), "error" if summary.rejected else "warning"
    if summary.acked:
        return tr("已全部送达"), "done"
    return tr("无待上传"), ""


def _local_time(iso: str | None) -> str:
    """``2025-01-02T01:30:00+00:00`` -> ``今天 09:30`` / ``1月2日 09:30`` in local time."""
    if not iso:
        return ""
    try:
        moment = datetime.fromisoformat(iso).astimezone()
    except ValueError:
        return iso
    today = datetime.now().astimezone().date()
    if moment.date() == today:
        return QCoreApplication.translate("StatusBar", "今天 %1").replace("%1", moment.strftime("%H:%M"))
    return f"{moment.month}月{moment.day}日 {moment.strftime('%H:%M')}"
