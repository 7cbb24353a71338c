"""The 寄递 page's tables: departments with cases waiting (待寄), the cases of one department with a
tick each, and the parcels with their delivery to the platform.

Rows are ``services.mail_desk`` values read on the task runner; nothing here reads a store.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, Signal
from PySide6.QtGui import QColor

from counter_client.ui.cases.model import grouped
from counter_client.ui.sync.model import STATE_COLOURS, _EntriesModel

DEPARTMENT_COLUMNS = (QT_TRANSLATE_NOOP("MailPage", "办理地部门"), QT_TRANSLATE_NOOP("MailPage", "部门编码"),
                      QT_TRANSLATE_NOOP("MailPage", "待寄"))
PENDING_COLUMNS = (QT_TRANSLATE_NOOP("MailPage", "收件编号"), QT_TRANSLATE_NOOP("MailPage", "申请人"),
                   QT_TRANSLATE_NOOP("MailPage", "事项"), QT_TRANSLATE_NOOP("MailPage", "收件时间"),
                   QT_TRANSLATE_NOOP("MailPage", "寄送材料"))
MATERIALS_COLUMN = 4
PARCEL_COLUMNS = (QT_TRANSLATE_NOOP("MailPage", "邮包编号"), QT_TRANSLATE_NOOP("MailPage", "邮件号"),
                  QT_TRANSLATE_NOOP("MailPage", "办理地部门"), QT_TRANSLATE_NOOP("MailPage", "件数"),
                  QT_TRANSLATE_NOOP("MailPage", "建包时间"), QT_TRANSLATE_NOOP("MailPage", "报送平台"))
SENT_LABELS = {"": QT_TRANSLATE_NOOP("MailPage", "未排队"), "queued": QT_TRANSLATE_NOOP("MailPage", "待上传"),
               "sending": QT_TRANSLATE_NOOP("MailPage", "上传中"), "in_doubt": QT_TRANSLATE_NOOP("MailPage", "待确认"),
               "retry_wait": QT_TRANSLATE_NOOP("MailPage", "待上传"), "held": QT_TRANSLATE_NOOP("MailPage", "暂停"),
               "rejected": QT_TRANSLATE_NOOP("MailPage", "被退回"), "acked": QT_TRANSLATE_NOOP("MailPage", "已报送")}
SHARED_MARK = QT_TRANSLATE_NOOP("MailPage", "（另备一份）")
AMBER = "#9a5b00"


def _tr(text: str) -> str:
    return QCoreApplication.translate("MailPage", text)


def short_time(iso: str) -> str:
    """``2026-09-28T10:30:00+08:00`` -> ``09-28 10:30`` (local)."""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%m-%d %H:%M")
    except (ValueError, TypeError):
        return (iso or "")[5:16].replace("T", " ")


def sent_label(state: str) -> str:
    return _tr(SENT_LABELS.get(state, state))


def material_text(materials, marks: bool = True) -> str:
    """居民身份证、户口簿（另备一份）…"""
    return "、".join(m.name + (_tr(SHARED_MARK) if marks and m.shared else "") for m in materials)


class _MailModel(_EntriesModel):
    """Headers in the page's translation context."""

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _tr(self.columns[section])
        return None


class DepartmentModel(_MailModel):
    """``PendingGroup`` rows: department, code, number of cases."""

    columns = DEPARTMENT_COLUMNS

    def cells(self, group, now: float) -> tuple[str, ...]:
        return group.department_name, group.department_code, str(len(group.cases))

    def row_of(self, code: str) -> int:
        return next((i for i, g in enumerate(self._rows) if g.department_code == code), -1)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if index.isValid() and role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 2:
            return int(Qt.AlignmentFlag.AlignCenter)
        if index.isValid() and role == Qt.ItemDataRole.ToolTipRole:  # the code column is hidden on the page
            group = self._rows[index.row()]
            return f"{group.department_name}（{group.department_code}）"
        return super().data(index, role)


class PendingModel(_MailModel):
    """``PendingCase`` rows of one department, each with a tick (all ticked when shown).

    Signals:
        ticks_did_change(int ticked)
    """

    columns = PENDING_COLUMNS
    ticks_did_change = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._ticked: set[str] = set()

    def cells(self, case, now: float) -> tuple[str, ...]:
        return (grouped(case.receipt_no), case.applicant, "、".join(case.items), short_time(case.collected_at),
                material_text(case.materials))

    def set_rows(self, rows: list) -> None:
        super().set_rows(rows)
        self._ticked = {r.receipt_no for r in rows}
        self.ticks_did_change.emit(len(self._ticked))

    def ticked(self) -> list[str]:
        """Receipt numbers ticked, in list order."""
        return [r.receipt_no for r in self._rows if r.receipt_no in self._ticked]

    def set_ticked(self, row: int, ticked: bool) -> None:
        case = self.row(row)
        if case is None:
            return
        (self._ticked.add if ticked else self._ticked.discard)(case.receipt_no)
        index = self.index(row, 0)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.CheckStateRole])
        self.ticks_did_change.emit(len(self._ticked))

    def toggle(self, row: int) -> None:
        case = self.row(row)
        if case is not None:
            self.set_ticked(row, case.receipt_no not in self._ticked)

    def tick_all(self, ticked: bool) -> None:
        self._ticked = {r.receipt_no for r in self._rows} if ticked else set()
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, 0),
                                  [Qt.ItemDataRole.CheckStateRole])
        self.ticks_did_change.emit(len(self._ticked))

    def flags(self, index):
        flags = super().flags(index)
        if index.isValid() and index.column() == 0:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        case = self._rows[index.row()]
        if role == Qt.ItemDataRole.CheckStateRole and index.column() == 0:
            return Qt.CheckState.Checked if case.receipt_no in self._ticked else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == MATERIALS_COLUMN and case.shared:
            return QColor(AMBER)
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == MATERIALS_COLUMN:
            lines = [f"{m.name}：{m.form}" + (f"，{m.pages} 页" if m.pages else "") for m in case.materials]
            if case.shared:
                lines.append(_tr("标“另备一份”的材料也寄往其他办理地：请另备一份放入本包裹。"))
            return "\n".join(lines)
        return super().data(index, role)

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if index.isValid() and index.column() == 0 and role == Qt.ItemDataRole.CheckStateRole:
            self.set_ticked(index.row(), Qt.CheckState(value) == Qt.CheckState.Checked)
            return True
        return False


class ParcelModel(_MailModel):
    """``ParcelRow`` rows, newest first."""

    columns = PARCEL_COLUMNS

    def cells(self, row, now: float) -> tuple[str, ...]:
        p = row.parcel
        return (p.id, p.waybill_no, p.department_name, str(len(p.cases)), short_time(p.created_at),
                sent_label(row.state))

    def row_of(self, parcel_id: str) -> int:
        return next((i for i, r in enumerate(self._rows) if r.parcel.id == parcel_id), -1)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        if index.column() == 5:
            if role == Qt.ItemDataRole.ForegroundRole:
                return QColor(STATE_COLOURS.get(row.state, "#5b6675"))
            if role == Qt.ItemDataRole.ToolTipRole and row.last_error:
                return row.last_error
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 3:
            return int(Qt.AlignmentFlag.AlignCenter)
        return super().data(index, role)
