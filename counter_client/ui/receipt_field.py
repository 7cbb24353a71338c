"""The top bar's receipt field: a barcode scanner (or the clerk) types a receipt number and
presses Enter; the case opens in the case list. F2 focuses the field from anywhere.

``ScannerBurst`` also catches a scan while the focus is somewhere that takes no text (a table, a
button): a scanner types far faster than a person, so a burst of characters ending in Enter is
a scan and goes to the field. Where the focus is in a text field the characters are that field's,
and nothing is taken from it.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from counter_client.ui.widgets import FieldMessage, em

MESSAGE_MS = 8000
BURST_GAP_S = 0.05  # scanners send a character every few ms; people type at 100 ms and more
BURST_MIN_CHARS = 18  # a receipt number has 22 characters (separators come on top)
BURST_CHARS = set("0123456789Xx-")


class ReceiptField(QWidget):
    """The field and its message in place.

    Signals:
        receipt_was_entered(str text): Enter pressed with something in the field.
    """

    receipt_was_entered = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(8)
        self.message = FieldMessage(self)
        self.message.setObjectName("ReceiptMessage")
        self.message.setWordWrap(False)
        row.addWidget(self.message)
        self.field = QLineEdit(self)
        self.field.setObjectName("ReceiptField")
        self.field.setPlaceholderText(self.tr("扫描或输入收件编号（F2）"))
        self.field.setClearButtonEnabled(True)
        self.field.setFixedWidth(em(self, 16))
        self.field.returnPressed.connect(self._entered)
        self.field.textEdited.connect(lambda _t: self.message.set_live(""))
        row.addWidget(self.field)
        self._clear = QTimer(self)
        self._clear.setSingleShot(True)
        self._clear.setInterval(MESSAGE_MS)
        self._clear.timeout.connect(lambda: self.message.set_live(""))

    def focus(self) -> None:
        self.field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.field.selectAll()

    def show_message(self, text: str, kind: str = "error") -> None:
        self.message.set_live(text, kind)
        self._clear.start()

    def found(self) -> None:
        self.field.clear()
        self.message.set_live("")

    def enter(self, text: str) -> None:
        """As if scanned into the field."""
        self.field.setText(text)
        self._entered()

    def _entered(self) -> None:
        text = self.field.text().strip()
        if text:
            self.receipt_was_entered.emit(text)


def _takes_text(widget: QWidget | None) -> bool:
    return isinstance(widget, (QLineEdit, QTextEdit, QPlainTextEdit, QAbstractSpinBox)) or (
        isinstance(widget, QComboBox) and widget.isEditable())


class ScannerBurst(QObject):
    """An application event filter that recognises a scanner's burst where no text is typed.

    Signals:
        burst_did_end(str text)
    """

    burst_did_end = Signal(str)

    def __init__(self, field: ReceiptField, parent: QObject | None = None, clock=time.monotonic):
        super().__init__(parent)
        self._field = field
        self._clock = clock
        self._buffer = ""
        self._last = 0.0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() != QEvent.Type.KeyPress or not isinstance(watched, QWidget):
            return False
        focus = QApplication.focusWidget()
        if watched is not (focus or watched.window()):  # count each key once, where it is delivered
            return False
        if _takes_text(watched) or event.modifiers() & (Qt.KeyboardModifier.ControlModifier
                                                         | Qt.KeyboardModifier.AltModifier):
            self._buffer = ""
            return False
        now = self._clock()
        if now - self._last > BURST_GAP_S:
            self._buffer = ""
        self._last = now
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            text, self._buffer = self._buffer, ""
            if len(text) >= BURST_MIN_CHARS:
                self._field.enter(text)
                self.burst_did_end.emit(text)
                return True
            return False
        ch = event.text()
        if len(ch) == 1 and ch in BURST_CHARS:
            self._buffer += ch
            return len(self._buffer) > 1  # from the second fast character on, it is the scanner's
        self._buffer = ""
        return False
