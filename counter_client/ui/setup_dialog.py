"""First-run set-up outside training mode: which hall this is and which terminal.

The hall code is the 9-digit township code (or the 9-digit id the platform gives a county or city
hall); its first two digits must be a province. The terminal number (1–99) tells this PC from the
others of the hall: receipt numbers are unique only if it differs. Both go into every receipt
number, so the dialog checks them as they are typed.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from counter_client.domain.receipt import MAX_TERMINAL, PROVINCE_CODES
from counter_client.ui.widgets import FieldMessage, em, plain_label

_NINE = re.compile(r"^\d{9}$")


def hall_code_problem(code: str) -> str:
    """'' when ``code`` may be a hall code, else why not (Chinese)."""
    code = code.strip()
    if not code:
        return "请填写 9 位大厅编码"
    if not code.isdigit():
        return "大厅编码只由数字组成"
    if code[:2] not in PROVINCE_CODES and len(code) >= 2:
        return f"前两位 {code[:2]} 不是省级区划代码"
    if not _NINE.match(code):
        return f"应为 9 位数字，现为 {len(code)} 位"
    return ""


class FirstRunDialog(QDialog):
    """Signals:
        setup_was_chosen(dict values): settings keys and values to save.
    """

    setup_was_chosen = Signal(dict)

    def __init__(self, current: dict[str, object], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(self.tr("首次设置：本窗口的编号"))
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addWidget(plain_label(self.tr(
            "收件编号由大厅编码和终端号组成，每台电脑须不同。请向大厅负责人确认后填写；以后可在“设置”中修改。"),
            "DialogText", self, wrap=True))
        grid = QGridLayout()
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(8)
        self.hall_code = QLineEdit(str(current.get("hall.township_code") or ""), self)
        self.hall_code.setPlaceholderText(self.tr("9 位数字，如 511324102（乡镇/街道代码）"))
        self.hall_code.setMaxLength(9)
        self.hall_code.setMinimumWidth(em(self, 14))
        self.hall_code.textChanged.connect(self._check)
        self.hall_message = FieldMessage(self)
        self.terminal = QSpinBox(self)
        self.terminal.setRange(1, MAX_TERMINAL)
        self.terminal.setValue(int(current.get("hall.terminal") or 1))
        self.terminal_message = FieldMessage(self)
        self.terminal_message.set_live(self.tr("1–%1，同一大厅内每台电脑不同").replace("%1", str(MAX_TERMINAL)), "hint")
        self.hall_name = QLineEdit(str(current.get("hall.name") or ""), self)
        self.hall_name.setMinimumWidth(em(self, 18))
        self.hall_name.setPlaceholderText(self.tr("如：仪陇县马鞍镇便民服务中心"))
        self.window_name = QLineEdit(str(current.get("hall.window") or ""), self)
        self.window_name.setPlaceholderText(self.tr("如：跨省通办窗口 1"))
        self.clerk = QLineEdit(str(current.get("clerk.name") or ""), self)
        self.clerk.setPlaceholderText(self.tr("窗口人员姓名"))
        rows = ((self.tr("大厅编码"), self.hall_code, self.hall_message),
                (self.tr("终端号"), self.terminal, self.terminal_message),
                (self.tr("大厅名称"), self.hall_name, None),
                (self.tr("窗口名称"), self.window_name, None),
                (self.tr("窗口人员"), self.clerk, None))
        for row, (label, widget, message) in enumerate(rows):
            grid.addWidget(plain_label(label, "FormLabel", self), row, 0)
            grid.addWidget(widget, row, 1)
            if message is not None:
                grid.addWidget(message, row, 2)
        grid.setColumnStretch(2, 1)
        layout.addLayout(grid)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        later = QPushButton(self.tr("稍后设置"), self)
        later.clicked.connect(self.reject)
        buttons.addWidget(later)
        self.save_button = QPushButton(self.tr("保存"), self)
        self.save_button.setObjectName("Primary")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self._save)
        buttons.addWidget(self.save_button)
        layout.addLayout(buttons)
        self._check()

    def _check(self) -> None:
        text = self.hall_code.text()
        problem = hall_code_problem(text)
        if problem:
            typing = len(text.strip()) < 9 and not problem.startswith(("前两位", "大厅编码只"))
            self.hall_message.set_live(self.tr(problem), "hint" if typing else "error")
        else:
            self.hall_message.set_live("✓", "ok")
        self.save_button.setEnabled(not problem)

    def _save(self) -> None:
        code = self.hall_code.text().strip()
        if hall_code_problem(code):
            return
        values = {"hall.township_code": code, "hall.terminal": self.terminal.value(),
                  "hall.name": self.hall_name.text().strip(), "hall.window": self.window_name.text().strip(),
                  "clerk.name": self.clerk.text().strip()}
        self.setup_was_chosen.emit(values)
        self.accept()
