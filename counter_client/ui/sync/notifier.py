"""Telling the clerk when the 办理地 asks for something: a status pull that brings 补正 (materials
to collect) or 不予受理 (the applicant must be told) shows one banner under the top bar — the
case and what is asked, or, for several cases, one short line each — until the clerk has opened
each case; where the desktop has a system tray, a desktop notification is shown as well (the
clerk may have another window in front, and a tray message vanishes after seconds: the banner
stays).

Opening a case marks its events seen (``CasesPage``), and ``seen`` takes it off the banner.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QPushButton, QSystemTrayIcon, QWidget

from counter_client.ui.cases.model import grouped
from counter_client.ui.icons import icon
from counter_client.ui.widgets import Banner, set_kind

log = logging.getLogger(__name__)

SUPPLEMENT, REFUSED = "补正", "不予受理"
TRAY_MESSAGE_MS = 15_000
MAX_LINES = 3  # cases listed on the banner; the rest are counted
SHORT_REASON = 30  # characters of a refusal's reason on a banner line


class StatusNotifier(QObject):
    """Signals:
        case_was_requested(str receipt_no): the clerk wants to see the case (banner or tray message).
    """

    case_was_requested = Signal(str)

    def __init__(self, add_banner: Callable[[Banner], None], parent_widget: QWidget | None = None,
                 tray_available: bool | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self._add_banner = add_banner
        self._parent_widget = parent_widget
        self.pending: dict[str, tuple[str, str, str]] = {}  # receipt -> (kind, one line, full text)
        self.banner: Banner | None = None
        self.view_button: QPushButton | None = None
        self.tray: QSystemTrayIcon | None = None
        self._last_tray_receipt = ""
        self.tray_messages: list[tuple[str, str]] = []  # (title, text) shown, newest last
        available = QSystemTrayIcon.isSystemTrayAvailable() if tray_available is None else tray_available
        if available:
            self.tray = QSystemTrayIcon(icon("sync"), self)
            self.tray.setToolTip(self.tr("跨省通办窗口"))
            self.tray.messageClicked.connect(self._tray_clicked)
            self.tray.show()

    def notify(self, events: list) -> None:
        """Announce the 补正 and 不予受理 among ``events`` (one notice per case)."""
        by_case: dict[str, list] = {}
        for e in events:
            if e.status in (SUPPLEMENT, REFUSED):
                by_case.setdefault(e.receipt_no, []).append(e)
        if not by_case:
            return
        for receipt, found in by_case.items():
            title, line, full, kind = self._words(receipt, found)
            log.info("platform asks the clerk about %s: %s", receipt, ", ".join(e.status for e in found))
            self.pending[receipt] = (kind, line, full)
            if self.tray is not None:
                self.tray.showMessage(title, full, QSystemTrayIcon.MessageIcon.Warning, TRAY_MESSAGE_MS)
                self._last_tray_receipt = receipt
            self.tray_messages.append((title, full))
        self._update(show=True)

    def seen(self, receipt_no: str) -> None:
        """The clerk opened the case: it leaves the banner."""
        if self.pending.pop(receipt_no, None) is not None:
            self._update()

    def close(self) -> None:
        if self.tray is not None:
            self.tray.hide()

    # -- internals -------------------------------------------------------------------------------
    def _words(self, receipt: str, events: list) -> tuple[str, str, str, str]:
        """(tray title, banner line, full text, kind)."""
        number = grouped(receipt)
        refused = [e for e in events if e.status == REFUSED]
        if refused:
            reason = "；".join(dict.fromkeys(e.reason for e in refused if e.reason))
            full = self.tr("办件 %1 不予受理。").replace("%1", number)
            if reason:
                full += self.tr("理由：%1").replace("%1", reason)
            full += self.tr(" 请尽快告知申请人。")
            short = reason if len(reason) <= SHORT_REASON else reason[:SHORT_REASON] + "…"
            line = self.tr("%1 不予受理").replace("%1", number) + (f"：{short}" if short else "")
            return self.tr("办件不予受理"), line, full, "error"
        needed = "、".join(dict.fromkeys(name for e in events for name in e.needed))
        full = self.tr("办件 %1 需要补正").replace("%1", number) + (f"：{needed}" if needed else "")
        full += self.tr("。请通知申请人，收到后在办件详情中“收取补正材料”。")
        line = self.tr("%1 需要补正").replace("%1", number) + (f"：{needed}" if needed else "")
        return self.tr("办件需要补正"), line, full, "warning"

    def _update(self, show: bool = False) -> None:
        if not self.pending:
            if self.banner is not None:
                self.banner.hide()
            return
        # a 补正 first: its materials are collected at this window; then the refusals to pass on
        receipts = sorted(self.pending, key=lambda r: self.pending[r][0] == "error")
        if len(receipts) == 1:
            text = self.pending[receipts[0]][2]
        else:
            lines = [self.tr("办理地对 %1 件办件有新的决定，请逐件处理：").replace("%1", str(len(receipts)))]
            lines += [f"· {self.pending[r][1]}" for r in receipts[:MAX_LINES]]
            if len(receipts) > MAX_LINES:
                lines.append(self.tr("· 另有 %1 件，可在“办件”的办理状态栏查看").replace("%1", str(len(receipts) - MAX_LINES)))
            text = "\n".join(lines)
        kind = "error" if any(k == "error" for k, _l, _f in self.pending.values()) else "warning"
        if self.banner is None:
            self.banner = Banner(text, kind=kind, parent=self._parent_widget)
            self.view_button = self.banner.add_action(self.tr("查看办件"), self._view_first, primary=True)
            self._add_banner(self.banner)
        self.banner.label.setText(text)
        set_kind(self.banner, kind)
        set_kind(self.banner.label, kind)
        first = grouped(receipts[0])
        self.view_button.setText(self.tr("查看办件") if len(receipts) == 1 else self.tr("查看第一件"))
        self.view_button.setToolTip(self.tr("打开办件 %1").replace("%1", first))
        if show or self.banner.isVisibleTo(self.banner.parentWidget()):
            self.banner.show()

    def _view_first(self) -> None:
        if self.pending:
            self.case_was_requested.emit(min(self.pending, key=lambda r: self.pending[r][0] == "error"))

    def _tray_clicked(self) -> None:
        if self._last_tray_receipt:
            self.case_was_requested.emit(self._last_tray_receipt)
