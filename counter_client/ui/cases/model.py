"""The case list as a table model: receipt number (grouped), state, day, applicant, items."""

from __future__ import annotations

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

COLUMNS = ("收件编号", "状态", "日期", "申请人", "事项")
STATE_COLOURS = {"draft": QColor("#9a5b00"), "collected": QColor("#2e7d32"), "void": QColor("#8a96a3")}
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

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list = []
        self._cells: list[tuple[str, ...]] = []

    @property
    def rows(self) -> list:
        return list(self._rows)

    def set_rows(self, rows: list) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._cells = [(grouped(r.receipt_no), _tr(STATE_LABELS.get(r.state, r.state)), r.day,
                        r.applicant or _tr("（未填）"), "、".join(r.items) or _tr("（未选事项）")) for r in rows]
        self.endResetModel()

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
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 4:
            return self._cells[index.row()][4]
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 1:
            return STATE_COLOURS.get(self._rows[index.row()].state)
        if role == ROW_ROLE:
            return self._rows[index.row()]
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _tr(COLUMNS[section])
        return None
