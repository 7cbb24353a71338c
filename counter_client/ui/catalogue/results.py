"""The result list of the catalogue search: a list model of ``SearchHit`` and a delegate that
paints each hit on two lines (name and badge; 办理地 · department · modes).

Everything is painted as plain text: a name containing markup shows the markup's characters.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QAbstractListModel, QCoreApplication, QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from counter_client.domain.search import SearchHit

HIT_ROLE = Qt.ItemDataRole.UserRole + 1
PAD_X = 10
PAD_Y = 7
LINE_GAP = 3
BADGE_PAD_X = 6
BADGE_GAP = 6
BADGE_SHARE = 0.45  # of the row width

ACCENT = QColor("#1f4e8c")
TEXT = QColor("#1f2933")
SECONDARY = QColor("#5b6675")
SEPARATOR = QColor("#e6eaf0")
SELECTED_BG = QColor("#e8eef7")
CURRENT_BAR = QColor("#1f4e8c")
BADGE_BG = QColor("#e8eef7")
BADGE_AGREEMENT_BG = QColor("#e6f2e8")
BADGE_AGREEMENT_FG = QColor("#2e6b34")
BADGE_NONE_BG = QColor("#f1f2f4")
BADGE_COLOURS = {"national": (BADGE_BG, ACCENT), "agreement": (BADGE_AGREEMENT_BG, BADGE_AGREEMENT_FG),
                 "none": (BADGE_NONE_BG, SECONDARY)}


def _tr(text: str) -> str:
    return QCoreApplication.translate("SearchResults", text)


def badges(hit: SearchHit) -> list[tuple[str, str]]:
    """(text, kind) of the badges of a hit: 全国清单 (which alone settles that this window may
    collect), else the agreements that allow it, else 本窗口不可收件."""
    if hit.national_list:
        return [(_tr("全国清单"), "national")]
    if hit.agreements:
        return [(name, "agreement") for name in hit.agreements]
    return [(_tr("本窗口不可收件"), "none")]


def second_line(hit: SearchHit) -> str:
    return "  ·  ".join(x for x in (hit.handling_region_name, hit.department, "、".join(hit.modes)) if x)


class SearchResultsModel(QAbstractListModel):
    """The hits of the last search, in rank order."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._hits: list[SearchHit] = []

    @property
    def hits(self) -> list[SearchHit]:
        return list(self._hits)

    def set_hits(self, hits: list[SearchHit]) -> None:
        self.beginResetModel()
        self._hits = list(hits)
        self.endResetModel()

    def hit(self, row: int) -> SearchHit | None:
        return self._hits[row] if 0 <= row < len(self._hits) else None

    def row_of(self, code: str) -> int:
        return next((i for i, h in enumerate(self._hits) if h.code == code), -1)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._hits)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        hit = self.hit(index.row()) if index.isValid() else None
        if hit is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return hit.name
        if role == HIT_ROLE:
            return hit
        if role == Qt.ItemDataRole.ToolTipRole:  # rich text, every value escaped
            lines = [hit.name, second_line(hit), "、".join(t for t, _ in badges(hit))]
            return "<p>" + "<br>".join(html.escape(x) for x in lines) + "</p>"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{hit.name}，{second_line(hit)}，{'、'.join(t for t, _ in badges(hit))}"
        return None


class HitDelegate(QStyledItemDelegate):
    """Paints one hit: the bold name, then badges and a grey line of 办理地 · department · modes."""

    def _fonts(self, option: QStyleOptionViewItem) -> tuple[QFont, QFont, QFont]:
        base = QFont(option.font)
        bold = QFont(base)
        bold.setBold(True)
        small = QFont(base)
        if base.pixelSize() > 0:
            small.setPixelSize(max(10, base.pixelSize() - 2))
        else:
            small.setPointSizeF(max(7.5, base.pointSizeF() - 1.5))
        return bold, base, small

    @staticmethod
    def _fit_badges(fm: QFontMetrics, items: list[tuple[str, str]], room: int) -> list[tuple[str, str, int]]:
        """(text, kind, width) of the badges that fit in ``room`` pixels, elided/counted."""
        longest = max(fm.horizontalAdvance("全国清单"), room * 2 // 3)
        for shown in range(len(items), 0, -1):
            chosen = []
            for text, kind in items[:shown]:
                text = fm.elidedText(text, Qt.TextElideMode.ElideRight, longest)
                chosen.append((text, kind, fm.horizontalAdvance(text) + 2 * BADGE_PAD_X))
            if shown < len(items):
                more = f"+{len(items) - shown}"
                chosen.append((more, items[shown][1], fm.horizontalAdvance(more) + 2 * BADGE_PAD_X))
            if sum(w for _, _, w in chosen) + BADGE_GAP * (len(chosen) - 1) <= room:
                return chosen
        return []

    def _paint_badges(self, painter: QPainter, fm: QFontMetrics, items: list[tuple[str, str]],
                      left: int, right: int, top: int, line_height: int) -> int:
        """Paint the badges from ``left``; returns the x where the text after them starts."""
        chosen = self._fit_badges(fm, items, int((right - left) * BADGE_SHARE))
        height = fm.height() + 2
        x = left
        for text, kind, width in chosen:
            box = QRect(x, top + (line_height - height) // 2, width, height)
            bg, fg = BADGE_COLOURS[kind]
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(bg)
            painter.drawRoundedRect(box, 3, 3)
            painter.setPen(fg)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
            x += width + BADGE_GAP
        return x + (BADGE_GAP if chosen else 0)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:  # noqa: N802
        bold, base, _small = self._fonts(option)
        height = QFontMetrics(bold).height() + LINE_GAP + QFontMetrics(base).height() + 2 * PAD_Y
        return QSize(200, height)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        hit: SearchHit | None = index.data(HIT_ROLE)
        if hit is None:
            return super().paint(painter, option, index)
        painter.save()
        rect: QRect = option.rect
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(rect, SELECTED_BG)
            painter.fillRect(QRect(rect.left(), rect.top(), 4, rect.height()), CURRENT_BAR)
        painter.setPen(QPen(SEPARATOR))
        painter.drawLine(rect.left(), rect.bottom(), rect.right(), rect.bottom())

        bold, base, small = self._fonts(option)
        fm_bold, fm_base, fm_small = QFontMetrics(bold), QFontMetrics(base), QFontMetrics(small)
        left = rect.left() + PAD_X + 2
        right = rect.right() - PAD_X
        top = rect.top() + PAD_Y

        # line 1: the name, the whole width
        painter.setFont(bold)
        painter.setPen(TEXT)
        name_rect = QRect(left, top, right - left, fm_bold.height())
        painter.drawText(name_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         fm_bold.elidedText(hit.name, Qt.TextElideMode.ElideRight, name_rect.width()))

        # line 2: badges (at most BADGE_SHARE of the width; long agreement names elided, the
        # rest counted as "+2"), then 办理地 · department · modes
        line_top = top + fm_bold.height() + LINE_GAP
        painter.setFont(small)
        x = self._paint_badges(painter, fm_small, badges(hit), left, right, line_top, fm_base.height())
        painter.setFont(base)
        painter.setPen(SECONDARY)
        line2 = QRect(x, line_top, max(0, right - x), fm_base.height())
        painter.drawText(line2, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         fm_base.elidedText(second_line(hit), Qt.TextElideMode.ElideRight, line2.width()))
        painter.restore()
