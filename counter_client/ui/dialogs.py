"""Error dialogs: a ``UserError`` nobody handled is shown to the clerk as it is; a bug gets a short
sentence and its details folded away (already logged). Dialogs open window-modal without a
nested event loop, and the same message is not stacked twice.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

MAX_OPEN_DIALOGS = 3


class ErrorPresenter(QObject):
    """Shows errors reported by the task runner.

    Signals:
        error_was_shown(str kind, str message): kind is "user" or "bug" (the self-test listens).
    """

    error_was_shown = Signal(str, str)

    def __init__(self, parent_window: QWidget | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self._window = parent_window
        self._open: dict[str, QMessageBox] = {}

    def set_window(self, window: QWidget) -> None:
        self._window = window

    def show_user_error(self, message: str) -> None:
        self._show("user", QMessageBox.Icon.Warning, self.tr("提示"), message, "")

    def show_bug(self, message: str, details: str) -> None:
        self._show("bug", QMessageBox.Icon.Critical, self.tr("出错了"), message, details)

    def close_all(self) -> None:
        for box in list(self._open.values()):
            box.close()
        self._open.clear()

    def _show(self, kind: str, level: QMessageBox.Icon, title: str, message: str, details: str) -> None:
        self.error_was_shown.emit(kind, message)
        if message in self._open or len(self._open) >= MAX_OPEN_DIALOGS:
            return
        box = QMessageBox(level, title, message, QMessageBox.StandardButton.Ok, self._window)
        box.setTextFormat(Qt.TextFormat.PlainText)  # messages may quote platform text
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if details:
            box.setDetailedText(details)
        box.finished.connect(lambda _result, m=message: self._open.pop(m, None))
        self._open[message] = box
        box.open()
