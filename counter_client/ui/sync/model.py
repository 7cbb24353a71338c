"""The delivery queue as table models, and the clerk's words for it: each state's label (from the
outbox, e.g. 待上传, 待确认, 被退回) with what to do about it, the next try as a relative time, and
durations (最早 5 分钟).

Rows are ``services.sync_desk.QueueEntry`` values read on the task runner; nothing here reads a
store.
"""

from __future__ import annotations

import time

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractTableModel,
    QCoreApplication,
    QDateTime,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QColor

from counter_client.ui.cases.model import grouped

ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1
QUEUE_COLUMNS = (QT_TRANSLATE_NOOP("SyncQueue", "收件编号"), QT_TRANSLATE_NOOP("SyncQueue", "类型"),
                 QT_TRANSLATE_NOOP("SyncQueue", "状态"), QT_TRANSLATE_NOOP("SyncQueue", "已尝试"),
                 QT_TRANSLATE_NOOP("SyncQueue", "下次尝试"), QT_TRANSLATE_NOOP("SyncQueue", "说明"))
DELIVERED_COLUMNS = (QT_TRANSLATE_NOOP("SyncQueue", "送达时间"), QT_TRANSLATE_NOOP("SyncQueue", "收件编号"),
                     QT_TRANSLATE_NOOP("SyncQueue", "类型"))
STATE_COLOURS = {"acked": "#2e7d32", "rejected": "#c62828", "in_doubt": "#9a5b00", "retry_wait": "#9a5b00",
                 "held": "#5b6675", "sending": "#1f4e8c", "queued": "#1f2933"}
# what to do about each state (ui.md: "states in words a clerk understands … and what to do about each")
STATE_HINTS = {
    "queued": QT_TRANSLATE_NOOP("SyncQueue", "等待自动上传，无需处理。"),
    "sending": QT_TRANSLATE_NOOP("SyncQueue", "正在上传，请勿关闭程序。"),
    "in_doubt": QT_TRANSLATE_NOOP("SyncQueue", "上次发送后没有收到平台答复。下次同步会先向平台核实，确认平台没有收到才重发，不会重复提交。"),
    "retry_wait": QT_TRANSLATE_NOOP("SyncQueue", "暂时未能上传，到时会自动重试；网络恢复后也可点“立即重试”。"),
    "rejected": QT_TRANSLATE_NOOP("SyncQueue", "平台拒收，不会自动重发。请按说明处理，或联系平台运维。"),
    "held": QT_TRANSLATE_NOOP("SyncQueue", "已由值班主管暂停，恢复后才会上传。"),
    "acked": QT_TRANSLATE_NOOP("SyncQueue", "平台已收到。"),
}
KIND_LABELS = {"case": QT_TRANSLATE_NOOP("SyncQueue", "办件"), "supplement": QT_TRANSLATE_NOOP("SyncQueue", "补正材料")}
RETRYABLE = ("queued", "retry_wait", "in_doubt")
HOLDABLE = ("queued", "retry_wait")


def _tr(text: str) -> str:
    return QCoreApplication.translate("SyncQueue", text)


def duration_text(seconds: float) -> str:
    """5 分钟, 2 小时 5 分钟, 3 天; under a minute: 不到 1 分钟."""
    seconds = int(max(0, seconds))
    if seconds < 60:
        return _tr("不到 1 分钟")
    if seconds < 3600:
        return _tr("%1 分钟").replace("%1", str(seconds // 60))
    if seconds < 86400:
        hours, minutes = seconds // 3600, seconds % 3600 // 60
        text = _tr("%1 小时").replace("%1", str(hours))
        return text + (_tr(" %1 分钟").replace("%1", str(minutes)) if minutes else "")
    return _tr("%1 天").replace("%1", str(seconds // 86400))


def state_label(label: str) -> str:
    """An outbox state's word (待上传, 被退回 …) through the translation system."""
    return _tr(label)


def state_hint(state: str) -> str:
    return _tr(STATE_HINTS.get(state, ""))


def kind_label(kind: str) -> str:
    return _tr(KIND_LABELS.get(kind, kind))


def next_try_text(entry, now: float | None = None) -> str:
    """When the sender will try this item again, in words."""
    if entry.state not in RETRYABLE:
        return "—"
    now = time.time() if now is None else now
    wait = entry.next_attempt_at - now
    if wait <= 0:
        return _tr("下次同步")
    if wait < 60:
        return _tr("%1 秒后").replace("%1", str(int(wait) + 1))
    return _tr("约 %1后").replace("%1", duration_text(wait))


def explanation(entry) -> str:
    """The item's last error (already in Chinese), else what its state means."""
    return entry.last_error or state_hint(entry.state)


def clock_text(epoch: float | None) -> str:
    if not epoch:
        return ""
    return QDateTime.fromSecsSinceEpoch(int(epoch)).toString("HH:mm")


class _EntriesModel(QAbstractTableModel):
    """A read-only table of queue entries: each row's texts are computed once when the rows are set."""

    columns: tuple[str, ...] = ()

    def __init__(self, parent=None, clock=time.time):
        super().__init__(parent)
        self._rows: list = []
        self._cells: list[tuple[str, ...]] = []
        self._clock = clock

    def cells(self, entry, now: float) -> tuple[str, ...]:
        raise NotImplementedError

    @property
    def rows(self) -> list:
        return list(self._rows)

    def set_rows(self, rows: list) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        now = self._clock()
        self._cells = [self.cells(r, now) for r in self._rows]
        self.endResetModel()

    def row(self, index: int):
        return self._rows[index] if 0 <= index < len(self._rows) else None

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._cells[index.row()][index.column()]
        if role == ENTRY_ROLE:
            return self._rows[index.row()]
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _tr(self.columns[section])
        return None


def _key_text(entry) -> str:
    return grouped(entry.receipt_no) if entry.receipt_no else entry.key


class QueueModel(_EntriesModel):
    """The undelivered items (rejected and held included), newest first."""

    columns = QUEUE_COLUMNS

    def cells(self, entry, now: float) -> tuple[str, ...]:
        return (_key_text(entry), kind_label(entry.kind), state_label(entry.label), str(entry.attempts),
                next_try_text(entry, now), explanation(entry))

    def row_of(self, item_id: int) -> int:
        return next((i for i, r in enumerate(self._rows) if r.id == item_id), -1)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        column, entry = index.column(), self._rows[index.row()]
        if role == Qt.ItemDataRole.ToolTipRole:
            if column in (2, 5):
                tip = [entry.last_error] if entry.last_error else []
                return "\n".join([*tip, state_hint(entry.state)])
            return None
        if role == Qt.ItemDataRole.ForegroundRole and column in (2, 5):
            if column == 5 and not entry.last_error:
                return QColor("#5b6675")
            return QColor(STATE_COLOURS.get(entry.state, "#1f2933"))
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 3:
            return int(Qt.AlignmentFlag.AlignCenter)
        return super().data(index, role)


class DeliveredModel(_EntriesModel):
    """Today's deliveries, latest first."""

    columns = DELIVERED_COLUMNS

    def cells(self, entry, now: float) -> tuple[str, ...]:
        return clock_text(entry.acked_at), _key_text(entry), kind_label(entry.kind)
