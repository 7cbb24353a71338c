"""Small widgets shared by the pages: the message beside a field, a calm banner, a page-sized
message shown in place of a form, and size helpers that follow the font (large-font mode).

Every text here is plain text: names and numbers typed at the counter are never rich text.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QFontMetrics
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

KINDS = ("ok", "error", "warning", "hint", "")
IN_PLACE_EM = 40
IN_PLACE_MAX_PX = 900


def plain_label(text: str = "", name: str = "", parent: QWidget | None = None, wrap: bool = False) -> QLabel:
    label = QLabel(text, parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    if name:
        label.setObjectName(name)
    label.setWordWrap(wrap)
    return label


def set_kind(widget: QWidget, kind: str, prop: str = "kind") -> None:
    """Set a style-sheet property and re-polish (colours follow ``kind``)."""
    if widget.property(prop) != kind:
        widget.setProperty(prop, kind)
        widget.style().unpolish(widget)
        widget.style().polish(widget)


def em(widget: QWidget, count: float) -> int:
    """``count`` widths of the character 中 in the widget's font: sizes that grow in large-font mode."""
    return round(QFontMetrics(widget.font()).horizontalAdvance("中") * count)


class FieldMessage(QLabel):
    """The message beside a field: a live check (as typed) and a problem found by the rules.

    The problem is shown only once revealed (the clerk left the section or tried to confirm), and
    a live error already says what the problem would say, so it wins.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("FieldMessage")
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._live: tuple[str, str] = ("", "")
        self._problem = ""
        self._update()

    @property
    def problem(self) -> str:
        return self._problem

    @property
    def kind(self) -> str:
        return self.property("kind") or ""

    def set_live(self, text: str, kind: str = "hint") -> None:
        self._live = (text, kind)
        self._update()

    def set_problem(self, text: str) -> None:
        self._problem = text
        self._update()

    def clear_all(self) -> None:
        self._live, self._problem = ("", ""), ""
        self._update()

    def _update(self) -> None:
        live_text, live_kind = self._live
        if live_text and (live_kind == "error" or not self._problem):
            text, kind = live_text, live_kind
        elif self._problem:
            text, kind = self._problem, "error"
        else:
            text, kind = live_text, live_kind
        self.setText(text)
        set_kind(self, kind)
        self.setVisible(bool(text))


class Banner(QFrame):
    """A calm notice across the top of a page or the window, with optional actions and a close button.

    Signals:
        was_closed()
    """

    was_closed = Signal()

    def __init__(self, text: str = "", kind: str = "info", closable: bool = True, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("Banner")
        set_kind(self, kind)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 6, 8, 6)
        row.setSpacing(10)
        self.label = plain_label(text, "BannerText", self, wrap=True)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        row.addWidget(self.label, 1)
        self._actions = QHBoxLayout()
        self._actions.setSpacing(6)
        row.addLayout(self._actions)
        self.close_button: QPushButton | None = None
        if closable:
            self.close_button = QPushButton(self.tr("知道了"), self)
            self.close_button.setObjectName("BannerClose")
            self.close_button.clicked.connect(self.dismiss)
            row.addWidget(self.close_button)

    def add_action(self, text: str, slot, primary: bool = False) -> QPushButton:
        button = QPushButton(text, self)
        if primary:
            button.setObjectName("Primary")
        button.clicked.connect(slot)
        self._actions.addWidget(button)
        return button

    def dismiss(self) -> None:
        self.hide()
        self.was_closed.emit()


class InPlaceMessage(QWidget):
    """A page-sized message instead of a form (the service could not be opened, …) with what to do.

    Signals:
        action_was_clicked(str key)
    """

    action_was_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(40, 40, 40, 40)
        box = QFrame(self)
        box.setObjectName("InPlaceMessage")
        box.setFixedWidth(min(IN_PLACE_MAX_PX, em(self, IN_PLACE_EM)))  # wrapped text needs a width to wrap to
        layout = QVBoxLayout(box)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.setSpacing(12)
        self.title = plain_label("", "InPlaceTitle", box, wrap=True)
        self.text = plain_label("", "InPlaceText", box, wrap=True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.title)
        layout.addWidget(self.text)
        self._buttons = QHBoxLayout()
        self._buttons.setSpacing(8)
        self._buttons.addStretch(1)
        layout.addLayout(self._buttons)
        centred = QHBoxLayout()  # not an alignment flag: with one, the wrapped text gets no height for its width
        centred.addStretch(1)
        centred.addWidget(box)
        centred.addStretch(1)
        outer.addLayout(centred)
        outer.addStretch(1)
        self.buttons: dict[str, QPushButton] = {}

    def show_message(self, title: str, text: str, actions: list[tuple[str, str]] = ()) -> None:
        """``actions``: (key, label) buttons, the first one primary."""
        self.title.setText(title)
        self.text.setText(text)
        for button in self.buttons.values():
            self._buttons.removeWidget(button)
            button.deleteLater()
        self.buttons = {}
        for number, (key, label) in enumerate(actions):
            button = QPushButton(label, self)
            if number == 0:
                button.setObjectName("Primary")
            button.clicked.connect(lambda _=False, k=key: self.action_was_clicked.emit(k))
            self._buttons.addWidget(button)
            self.buttons[key] = button


def term(value: str) -> str:
    """A domain term shown to the clerk (办理方式, 收取方式 …), through the translation system."""
    return QCoreApplication.translate("CaseTerms", value)


def fill_combo(combo: QComboBox, values) -> None:
    """Items that show the translated term and keep the domain value as their data."""
    for value in values:
        combo.addItem(term(value), value)


def combo_value(combo: QComboBox) -> str:
    value = combo.currentData()
    return value if isinstance(value, str) else combo.currentText()


def set_combo_value(combo: QComboBox, value: str) -> None:
    """Select ``value`` without emitting."""
    index = combo.findData(value)
    if index >= 0 and index != combo.currentIndex():
        combo.blockSignals(True)
        combo.setCurrentIndex(index)
        combo.blockSignals(False)


class FileDropFrame(QFrame):
    """A frame that takes local files dropped on it (marked ``dropping`` while dragged over);
    subclasses say what to do with them in ``files_dropped``."""

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
            set_kind(self, "true", "dropping")

    def dragLeaveEvent(self, event) -> None:  # noqa: N802
        set_kind(self, "false", "dropping")

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        set_kind(self, "false", "dropping")
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.files_dropped(paths)

    def files_dropped(self, paths: list[str]) -> None:
        raise NotImplementedError


def store_page_frame(owner: QWidget, opening: str) -> tuple[QStackedWidget, InPlaceMessage, QWidget, QVBoxLayout]:
    """The frame of a page that works on the case store: an in-place message (``opening`` while the
    store opens, later why the page cannot be used) stacked over the page itself, which is
    returned empty with its layout. Returns (stack, message, page, layout)."""
    outer = QVBoxLayout(owner)
    outer.setContentsMargins(0, 0, 0, 0)
    stack = QStackedWidget(owner)
    outer.addWidget(stack)
    message = InPlaceMessage(owner)
    message.show_message(opening, "")
    stack.addWidget(message)
    page = QWidget(owner)
    layout = QVBoxLayout(page)
    layout.setContentsMargins(14, 10, 14, 8)
    layout.setSpacing(8)
    stack.addWidget(page)
    return stack, message, page, layout
