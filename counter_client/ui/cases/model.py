"""The case list as a table model: receipt number (grouped), state, day, applicant, delivery to
the platform (the outbox state), the platform's latest status, items."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QColor

from counter_client.domain.case import STATE_LABELS
from counter_client.domain.receipt import ReceiptError, format_grouped

COLUMNS = ("收件编号", "状态", "日期", "申请人", "送达", "办理状态", "事项")
ITEMS_COLUMN = len(COLUMNS) - 1
DAY_COLUMN, DELIVERY_COLUMN, PLATFORM_COLUMN = 2, 4, 5
STATE_COLOURS = {"draft": QColor("#9a5b00"), "collected": QColor("#2e7d32"), "void": QColor("#8a96a3")}
DELIVERY_COLOURS = {"acked": QColor("#2e7d32"), "rejected": QColor("#c62828"), "in_doubt": QColor("#9a5b00"),
                    "retry_wait": QColor("#9a5b00"), "held": QColor("#5b6675")}
PLATFORM_COLOURS = {"补正": QColor("#9a5b00"), "不予受理": QColor("#c62828"), "办结": QColor("#2e7d32"),
                    "结果已寄出": QColor("#2e7d32")}
ROW_ROLE = Qt.ItemDataRole.UserRole + 1


def _tr(text: str) -> str:
    return QCoreApplication.translate("CaseList", text)


def grouped(receipt_no: str) -> str:
    if not receipt_no:
        return _tr("（草稿，无编号）")
    try:
        return format_grouped(receipt_no)
    except ReceiptError:
        return receipt_no


class CaseListModel(QAbstractTableModel):
    """Rows of ``CaseRow`` (read on the runner), displayed as plain text."""

    def __init__(self, parent=None, today=dt.date.today):
        super().__init__(parent)
        self._rows: list = []
        self._cells: list[tuple[str, ...]] = []
        self._deliveries: dict = {}
        self._today = today

    @property
    def rows(self) -> list:
        return list(self._rows)

    def set_rows(self, rows: list, deliveries: dict | None = None) -> None:
        """``deliveries``: receipt number -> CaseDelivery (delivery state, platform status)."""
        self.beginResetModel()
        self._rows = list(rows)
        self._deliveries = dict(deliveries or {})
        self._cells = []
        year = str(self._today().year)
        for r in rows:
            d = self._deliveries.get(r.receipt_no)
            self._cells.append((grouped(r.receipt_no), _tr(STATE_LABELS.get(r.state, r.state)), short_day(r.day, year),
                                r.applicant or _tr("（未填）"), _delivery_text(d), _platform_text(d),
                                "、".join(r.items) or _tr("（未选事项）")))
        self.endResetModel()

    def delivery(self, index: int):
        r = self.row(index)
        return self._deliveries.get(r.receipt_no) if r is not None else None

    def row(self, index: int):
        return self._rows[index] if 0 <= index < len(self._rows) else None

    def row_of(self, case_id: str) -> int:
        return next((i for i, r in enumerate(self._rows) if r.id == case_id), -1)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._cells[index.row()][index.column()]
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == ITEMS_COLUMN:
            return self._cells[index.row()][ITEMS_COLUMN]
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == DAY_COLUMN:
            return self._rows[index.row()].day
        if role == Qt.ItemDataRole.ForegroundRole:
            if index.column() == 1:
                return STATE_COLOURS.get(self._rows[index.row()].state)
            d = self._deliveries.get(self._rows[index.row()].receipt_no)
            if d is not None and index.column() == DELIVERY_COLUMN:
                return DELIVERY_COLOURS.get(d.state)
            if d is not None and index.column() == PLATFORM_COLUMN:
                return PLATFORM_COLOURS.get(d.platform_status.split("、")[0])
        if role == ROW_ROLE:
            return self._rows[index.row()]
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _tr(COLUMNS[section])
        return None


def short_day(day: str, year: str) -> str:
    """``11-26`` for a day of this year (the list is about recent work), the whole date otherwise."""
    return day[5:] if day.startswith(year + "-") else day


def _delivery_text(d) -> str:
    return _tr(d.label) if d is not None and d.label else ""


def _platform_text(d) -> str:
    if d is None or not d.platform_status:
        return ""
    return "、".join(_tr(s) for s in d.platform_status.split("、"))
