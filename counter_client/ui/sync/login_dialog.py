"""Logging in to the platform (账号, 密码) when the sync engine says a login is needed.

The dialog only collects the two fields; the page logs in on the task runner and tells the dialog
the outcome (``show_failure`` keeps it open with the platform's message, ``accept`` closes it).
The password never leaves this dialog except in the signal; it is cleared after each attempt.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from counter_client.ui.widgets import FieldMessage, em, plain_label


class LoginDialog(QDialog):
    """Signals:
        login_was_requested(str account, str password)
    """

    login_was_requested = Signal(str, str)

    def __init__(self, platform: str, account: str = "", reason: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(self.tr("登录平台"))
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        intro = reason or self.tr("登录后，待上传的办件会自动报送平台。")
        if platform:
            intro += "\n" + self.tr("平台：%1").replace("%1", platform)
        layout.addWidget(plain_label(intro, "DialogText", self, wrap=True))
        grid = QGridLayout()
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(8)
        self.account = QLineEdit(account, self)
        self.account.setPlaceholderText(self.tr("平台分配的账号"))
        self.account.setMinimumWidth(em(self, 16))
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText(self.tr("密码"))
        grid.addWidget(plain_label(self.tr("账号"), "FormLabel", self), 0, 0)
        grid.addWidget(self.account, 0, 1)
        grid.addWidget(plain_label(self.tr("密码"), "FormLabel", self), 1, 0)
        grid.addWidget(self.password, 1, 1)
        layout.addLayout(grid)
        self.message = FieldMessage(self)
        layout.addWidget(self.message)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel_button = QPushButton(self.tr("稍后登录"), self)
        self.cancel_button.clicked.connect(self.reject)
        buttons.addWidget(self.cancel_button)
        self.login_button = QPushButton(self.tr("登录"), self)
        self.login_button.setObjectName("Primary")
        self.login_button.setDefault(True)
        self.login_button.clicked.connect(self._submit)
        buttons.addWidget(self.login_button)
        layout.addLayout(buttons)
        (self.password if account else self.account).setFocus()

    def _submit(self) -> None:
        account, password = self.account.text().strip(), self.password.text()
        if not account:
            self.message.set_live(self.tr("请填写账号"), "error")
            self.account.setFocus()
            return
        if not password:
            self.message.set_live(self.tr("请填写密码"), "error")
            self.password.setFocus()
            return
        self.set_busy(True)
        self.message.set_live(self.tr("正在登录…"), "hint")
        self.login_was_requested.emit(account, password)

    def set_busy(self, busy: bool) -> None:
        for w in (self.account, self.password, self.login_button):
            w.setEnabled(not busy)

    def show_failure(self, message: str) -> None:
        self.set_busy(False)
        self.password.clear()
        self.password.setFocus()
        self.message.set_live(message, "error")
