"""The window's frame: left navigation, top bar (hall, window, 培训模式 band), one page at a
time, and the status bar. Thin: the pages and the status bar are built by ``app.py`` and
handed in; this module only arranges them and switches between them.

The navigation knows every page of the design (ui.md) so that Ctrl+1…Ctrl+8 always mean the
same page; it lists only the pages that exist in this build.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QSize, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QSizePolicy,
    QStackedWidget,
    QStatusBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from counter_client.ui.icons import icon
from counter_client.ui.receipt_field import ReceiptField
from counter_client.ui.widgets import Banner

NAV_WIDTH = 92
NAV_ICON = 26
MIN_WINDOW = QSize(1100, 680)


@dataclass(frozen=True)
class PageSlot:
    """A page of the design: its key, its navigation label and icon, its Ctrl+N shortcut."""

    key: str
    title: str
    icon: str

    def label(self) -> str:
        return QCoreApplication.translate("MainWindow", self.title)


PAGE_SLOTS: tuple[PageSlot, ...] = (
    PageSlot("catalogue", QT_TRANSLATE_NOOP("MainWindow", "事项指南"), "catalogue"),
    PageSlot("intake", QT_TRANSLATE_NOOP("MainWindow", "收件"), "intake"),
    PageSlot("cases", QT_TRANSLATE_NOOP("MainWindow", "办件"), "cases"),
    PageSlot("parcels", QT_TRANSLATE_NOOP("MainWindow", "寄递"), "parcels"),
    PageSlot("sync", QT_TRANSLATE_NOOP("MainWindow", "同步"), "sync"),
    PageSlot("tickets", QT_TRANSLATE_NOOP("MainWindow", "咨询投诉"), "tickets"),
    PageSlot("statistics", QT_TRANSLATE_NOOP("MainWindow", "统计"), "statistics"),
    PageSlot("settings", QT_TRANSLATE_NOOP("MainWindow", "设置"), "settings"),
)


def _plain_label(text: str = "", name: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)  # names come from settings: never rich text
    if name:
        label.setObjectName(name)
    return label


class NavBar(QFrame):
    """The left navigation: one checkable button per existing page.

    Signals:
        page_was_chosen(str key)
    """

    page_was_chosen = Signal(str)

    def __init__(self, slots: list[PageSlot], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("NavBar")
        self.setFixedWidth(NAV_WIDTH)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 8)
        layout.setSpacing(2)
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        self.buttons: dict[str, QToolButton] = {}
        for slot in slots:
            number = PAGE_SLOTS.index(slot) + 1
            button = QToolButton(self)
            button.setText(slot.label())
            button.setIcon(icon(slot.icon))
            button.setIconSize(QSize(NAV_ICON, NAV_ICON))
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            button.setCheckable(True)
            button.setAutoRaise(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Ctrl+N instead; Tab stays in the page
            button.setToolTip(f"{slot.label()}（Ctrl+{number}）")
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            button.clicked.connect(lambda _=False, key=slot.key: self.page_was_chosen.emit(key))
            self._group.addButton(button)
            layout.addWidget(button)
            self.buttons[slot.key] = button
        layout.addStretch(1)

    def set_current(self, key: str) -> None:
        button = self.buttons.get(key)
        if button is not None:
            button.setChecked(True)


class TopBar(QFrame):
    """Hall and window name, the clerk, the receipt field (and, in training mode, the band above)."""

    def __init__(self, hall: dict[str, str], training: bool, parent: QWidget | None = None):
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.training_band: QLabel | None = None
        if training:
            band = _plain_label(self.tr("培训模式　·　练习数据，不会报送真实平台，打印件均带“培训”水印"),
                                "TrainingBand")
            band.setAlignment(Qt.AlignmentFlag.AlignCenter)
            outer.addWidget(band)
            self.training_band = band
        bar = QFrame(self)
        bar.setObjectName("TopBar")
        row = QHBoxLayout(bar)
        row.setContentsMargins(16, 8, 16, 8)
        row.setSpacing(16)
        self.hall_label = _plain_label("", "HallName")
        self.window_label = _plain_label("", "WindowName")
        row.addWidget(self.hall_label)
        row.addWidget(self.window_label)
        row.addStretch(1)
        self.receipt = ReceiptField(bar)
        row.addWidget(self.receipt)
        outer.addWidget(bar)
        self.set_hall(hall)

    def set_hall(self, hall: dict[str, str]) -> None:
        self.hall_label.setText(hall.get("hall.name") or self.tr("（未设置大厅名称）"))
        window = hall.get("hall.window") or ""
        clerk = hall.get("clerk.name") or ""
        self.window_label.setText("　".join(x for x in (window, clerk) if x))


class MainWindow(QMainWindow):
    """The frame around the pages.

    Signals:
        page_did_change(str key): another page is shown.
    """

    page_did_change = Signal(str)

    def __init__(self, pages: dict[str, QWidget], hall: dict[str, str], training: bool,
                 status_bar: QStatusBar | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(self.tr("跨省通办窗口") + (self.tr("（培训模式）") if training else ""))
        self.setMinimumSize(MIN_WINDOW)
        self.pages = dict(pages)
        slots = [s for s in PAGE_SLOTS if s.key in self.pages]
        unknown = set(self.pages) - {s.key for s in PAGE_SLOTS}
        if unknown:
            raise ValueError(f"pages without a navigation slot: {sorted(unknown)}")

        central = QWidget(self)
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.top_bar = TopBar(hall, training, central)
        outer.addWidget(self.top_bar)
        self.notices = QVBoxLayout()
        self.notices.setContentsMargins(0, 0, 0, 0)
        self.notices.setSpacing(0)
        outer.addLayout(self.notices)
        self.shown_notices: list[str] = []
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        self.nav = NavBar(slots, central)
        self.nav.page_was_chosen.connect(self.show_page)
        body.addWidget(self.nav)
        self.stack = QStackedWidget(central)
        for slot in slots:
            self.stack.addWidget(self.pages[slot.key])
        body.addWidget(self.stack, 1)
        outer.addLayout(body, 1)
        self.setCentralWidget(central)
        if status_bar is not None:
            self.setStatusBar(status_bar)

        for number, slot in enumerate(PAGE_SLOTS, start=1):
            shortcut = QShortcut(QKeySequence(f"Ctrl+{number}"), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(lambda key=slot.key: self.show_page(key))
        receipt_shortcut = QShortcut(QKeySequence(Qt.Key.Key_F2), self)
        receipt_shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        receipt_shortcut.activated.connect(self.top_bar.receipt.focus)
        self._current = ""
        if slots:
            self.show_page(slots[0].key)

    @property
    def receipt_field(self) -> ReceiptField:
        return self.top_bar.receipt

    def show_notice(self, text: str) -> Banner | None:
        """A calm banner under the top bar, shown once per message for this run."""
        if text in self.shown_notices:
            return None
        self.shown_notices.append(text)
        banner = Banner(text, kind="notice", parent=self)
        self.notices.addWidget(banner)
        banner.show()
        return banner

    def add_banner(self, banner: Banner) -> None:
        """A banner under the top bar that its owner hides or removes (e.g. a 补正 notice)."""
        banner.setParent(self.centralWidget())
        self.notices.addWidget(banner)

    @property
    def training_band(self) -> QLabel | None:
        return self.top_bar.training_band

    @property
    def current_page(self) -> str:
        return self._current

    def page_keys(self) -> list[str]:
        return [s.key for s in PAGE_SLOTS if s.key in self.pages]

    def show_page(self, key: str) -> bool:
        """Show the page ``key``; False when this build has no such page."""
        page = self.pages.get(key)
        if page is None:
            return False
        self.stack.setCurrentWidget(page)
        self.nav.set_current(key)
        changed = key != self._current
        self._current = key
        shown = getattr(page, "page_shown", None)
        if callable(shown):
            shown()
        if changed:
            self.page_did_change.emit(key)
        return True
