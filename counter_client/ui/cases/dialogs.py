"""Decisions about a case: void it (with a reason), drop a draft. Window-modal, no nested loop."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from counter_client.ui.widgets import FieldMessage, em, plain_label

VOID_REASONS = ("申请人撤回申请", "信息录入有误，须重新收件", "重复收件", "材料不符，申请人选择到办理地办理")


class VoidDialog(QDialog):
    """作废: say why; the case keeps its number and shows as 已作废.

    Signals:
        void_was_confirmed(str reason)
    """

    void_was_confirmed = Signal(str)

    def __init__(self, receipt_text: str, applicant: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(self.tr("作废办件"))
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addWidget(plain_label(
            self.tr("作废收件编号 %1（申请人 %2）的办件？\n作废后不能恢复；如需继续办理，须重新收件。")
            .replace("%1", receipt_text).replace("%2", applicant), "DialogText", self, wrap=True))
        layout.addWidget(plain_label(self.tr("作废原因（必填）"), "FormLabel", self))
        self.reason = QComboBox(self)
        self.reason.setEditable(True)
        self.reason.addItem("")
        for text in VOID_REASONS:
            self.reason.addItem(self.tr(text))
        self.reason.setMinimumWidth(em(self, 24))
        self.reason.lineEdit().setPlaceholderText(self.tr("选择或输入原因"))
        self.reason.currentTextChanged.connect(self._reason_changed)
        layout.addWidget(self.reason)
        self.message = FieldMessage(self)
        layout.addWidget(self.message)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        cancel = QPushButton(self.tr("取消"), self)
        cancel.clicked.connect(self.reject)
        buttons.addWidget(cancel)
        self.void_button = QPushButton(self.tr("作废"), self)
        self.void_button.setObjectName("Danger")
        self.void_button.setEnabled(False)
        self.void_button.clicked.connect(self._confirm)
        buttons.addWidget(self.void_button)
        layout.addLayout(buttons)
        cancel.setDefault(True)
        self.reason.setFocus()

    def _reason_changed(self, text: str) -> None:
        self.void_button.setEnabled(bool(text.strip()))

    def _confirm(self) -> None:
        reason = self.reason.currentText().strip()
        if not reason:
            self.message.set_live(self.tr("请填写作废原因"), "error")
            return
        self.void_was_confirmed.emit(reason)
        self.accept()


class DiscardDraftDialog(QDialog):
    """Drop a draft (nothing was collected, no number was given).

    Signals:
        discard_was_confirmed()
    """

    discard_was_confirmed = Signal()

    def __init__(self, applicant: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(self.tr("放弃草稿"))
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        layout = QVBoxLayout(self)
        layout.addWidget(plain_label(self.tr("放弃申请人 %1 的收件草稿？已录入的内容和扫描件将不再保留。")
                                     .replace("%1", applicant), "DialogText", self, wrap=True))
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        keep = QPushButton(self.tr("保留"), self)
        keep.clicked.connect(self.reject)
        keep.setDefault(True)
        buttons.addWidget(keep)
        drop = QPushButton(self.tr("放弃草稿"), self)
        drop.setObjectName("Danger")
        drop.clicked.connect(lambda: (self.discard_was_confirmed.emit(), self.accept()))
        buttons.addWidget(drop)
        layout.addLayout(buttons)
