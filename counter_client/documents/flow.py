"""Platypus pieces for the A4/A5 documents (receipt, notice, manifest): text blocks that wrap and
draw through ``documents.text`` (so missing glyphs stay visible and bold works), section
headings, key–value grids, tables with the house style, signature lines and a document builder.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Callable, Sequence

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate, Table, TableStyle

from counter_client.documents import pdf
from counter_client.documents import text as t
from counter_client.documents.fonts import REGULAR


@dataclass(frozen=True)
class Scale:
    """Type sizes of one page format (A4 or A5)."""

    body: float
    small: float
    heading: float
    title: float
    number: float
    margin: float
    pad: float

    def leading(self, size: float) -> float:
        return size * 1.35


_PAGE = re.compile(rb"/Type /Page\b(?!s)")
FONT = ("FONTNAME", (0, 0), (-1, -1), REGULAR)  # plain-string cells (empty ones too) use the embedded font
A4_SCALE = Scale(body=9.5, small=7.8, heading=10.5, title=20, number=17, margin=15 * mm, pad=1.6 * mm)
A5_SCALE = Scale(body=7.6, small=6.4, heading=8.4, title=15, number=12.5, margin=9 * mm, pad=0.9 * mm)


class Text(Flowable):
    """A block of wrapped text in one size (Chinese breaks anywhere, Latin words whole)."""

    def __init__(self, value: str, size: float, *, font: str = REGULAR, bold: bool = False, color=pdf.INK,
                 align: str = "left", leading: float | None = None, space_before: float = 0.0,
                 space_after: float = 0.0):
        super().__init__()
        self.value = value or ""
        self.size = size
        self.font = font
        self.bold = bold
        self.color = color
        self.align = align
        self.lead = leading or size * 1.35
        self.spaceBefore = space_before
        self.spaceAfter = space_after
        self._lines: list[str] = []
        self._width = 0.0

    def wrap(self, availWidth, availHeight):
        self._width = availWidth
        self._lines = t.wrap(self.value, self.size, availWidth, self.font)
        return availWidth, self._height(len(self._lines))

    def _height(self, n: int) -> float:
        return max(1, n) * self.lead

    def draw(self):
        x = {"left": 0.0, "center": self._width / 2, "right": self._width}[self.align]
        y = self._height(len(self._lines)) - self.lead + (self.lead - self.size) / 2 + t.DESCENT * self.size
        for line in self._lines:
            t.draw(self.canv, x, y, line, self.size, font=self.font, bold=self.bold, align=self.align,
                   color=self.color)
            y -= self.lead

    def split(self, availWidth, availHeight):
        lines = t.wrap(self.value, self.size, availWidth, self.font)
        fit = int(availHeight // self.lead)
        if fit <= 0 or fit >= len(lines):
            return []
        head = Text("\n".join(lines[:fit]), self.size, font=self.font, bold=self.bold, color=self.color,
                    align=self.align, leading=self.lead, space_before=self.spaceBefore)
        tail = Text("\n".join(lines[fit:]), self.size, font=self.font, bold=self.bold, color=self.color,
                    align=self.align, leading=self.lead, space_after=self.spaceAfter)
        return [head, tail]


class Heading(Flowable):
    """A section heading: a dark bar at the left, bold text, a thin rule across."""

    def __init__(self, value: str, scale: Scale, space_before: float | None = None):
        super().__init__()
        self.value = value
        self.scale = scale
        self.spaceBefore = scale.body * 0.9 if space_before is None else space_before
        self.spaceAfter = scale.body * 0.35
        self._width = 0.0

    def wrap(self, availWidth, availHeight):
        self._width = availWidth
        return availWidth, self.scale.heading * 1.6

    def draw(self):
        c = self.canv
        s = self.scale.heading
        c.saveState()
        c.setFillColor(pdf.INK)
        c.rect(0, s * 0.25, s * 0.28, s * 1.05, stroke=0, fill=1)
        t.draw(c, s * 0.6, s * 0.45, self.value, s, bold=True)
        c.setStrokeColor(pdf.RULE)
        c.setLineWidth(0.5)
        c.line(0, 0.5, self._width, 0.5)
        c.restoreState()


class Bars(Flowable):
    """A Code 128 symbol (quiet zones included) with its height, left-aligned."""

    def __init__(self, value: str, module: float, height: float):
        super().__init__()
        from counter_client.documents import barcodes

        self.value = value
        self.module = module
        self.height = height
        self._w = barcodes.code128_width(value, module)

    def wrap(self, availWidth, availHeight):
        return self._w, self.height

    def draw(self):
        from counter_client.documents import barcodes

        barcodes.draw_code128(self.canv, 0, 0, self.value, module=self.module, height=self.height)


class CheckBox(Flowable):
    """An empty square to tick by hand (the font's □ is too small to tick)."""

    def __init__(self, size: float):
        super().__init__()
        self.size = size

    def wrap(self, availWidth, availHeight):
        self._avail = availWidth
        return availWidth, self.size

    def draw(self):
        c = self.canv
        c.saveState()
        c.setLineWidth(0.7)
        c.rect((self._avail - self.size) / 2, 0, self.size, self.size, stroke=1, fill=0)
        c.restoreState()


def cell(value: str, scale: Scale, *, size: float | None = None, bold: bool = False, color=pdf.INK,
         align: str = "left", font: str = REGULAR) -> Text:
    return Text(value, size or scale.body, bold=bold, color=color, align=align, font=font)


def label(value: str, scale: Scale, align: str = "left") -> Text:
    return Text(value, scale.small, color=pdf.GREY, align=align)


def grid_style(scale: Scale, *, header: bool = True, zebra: bool = False, rows: int = 0) -> list:
    """The house table style: hairline grid, padding, a shaded header row."""
    style = [
        ("GRID", (0, 0), (-1, -1), 0.4, pdf.RULE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), scale.pad),
        ("RIGHTPADDING", (0, 0), (-1, -1), scale.pad),
        ("TOPPADDING", (0, 0), (-1, -1), scale.pad * 0.8),
        ("BOTTOMPADDING", (0, 0), (-1, -1), scale.pad * 0.8),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), pdf.SHADE))
    if zebra:
        for r in range(2 if header else 1, rows, 2):
            style.append(("BACKGROUND", (0, r), (-1, r), colors.Color(0.975, 0.975, 0.975)))
    return style


def table(rows: Sequence[Sequence], widths: Sequence[float], style: list, repeat: int = 0) -> Table:
    tb = Table([list(r) for r in rows], colWidths=list(widths), repeatRows=repeat, hAlign="LEFT")
    tb.setStyle(TableStyle([FONT, *style]))
    return tb


def key_values(pairs: Sequence[tuple[str, str]], width: float, scale: Scale, columns: int = 2,
               label_width: float | None = None) -> Table:
    """Label/value pairs flowed into ``columns`` column pairs."""
    rows = [list(pairs[i:i + columns]) for i in range(0, len(pairs), columns)]
    return kv_rows(rows, width, scale, columns, label_width)


def kv_rows(rows: Sequence[Sequence[tuple[str, str]]], width: float, scale: Scale, columns: int = 2,
            label_width: float | None = None) -> Table:
    """Label/value pairs laid out row by row; in a row with fewer pairs the last value spans
    the rest of the row."""
    label_width = label_width or 17 * mm * (scale.body / A4_SCALE.body)
    value_width = (width - columns * label_width) / columns
    data, spans = [], []
    for r, pairs in enumerate(rows):
        row: list = []
        for key, value in pairs:
            row += [label(key, scale), cell(value, scale)]
        if len(row) < 2 * columns:
            spans.append(("SPAN", (len(row) - 1, r), (2 * columns - 1, r)))
            row += [""] * (2 * columns - len(row))
        data.append(row)
    widths = [label_width, value_width] * columns
    style = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), scale.pad),
        ("RIGHTPADDING", (0, 0), (-1, -1), scale.pad),
        ("TOPPADDING", (0, 0), (-1, -1), scale.pad * 0.6),
        ("BOTTOMPADDING", (0, 0), (-1, -1), scale.pad * 0.6),
        ("LINEBELOW", (0, 0), (-1, -1), 0.3, colors.Color(0.85, 0.85, 0.85)),
        *spans,
    ]
    return table(data, widths, style)


def signatures(names: Sequence[str], width: float, scale: Scale, *, date: bool = True) -> Flowable:
    """Signature lines side by side, a gap between them: the name, room to sign on a rule, the date."""
    n = len(names)
    gap = 8 * mm
    col = (width - gap * (n - 1)) / n
    widths: list[float] = []
    for i in range(n):
        widths += [col] + ([gap] if i < n - 1 else [])

    def spread(cells: list) -> list:
        out: list = []
        for i, v in enumerate(cells):
            out += [v] + ([""] if i < n - 1 else [])
        return out

    rows = [spread([Text(f"{name}：", scale.body) for name in names]), spread(["" for _ in names])]
    heights = [scale.body * 1.5, scale.body * 2.4]
    if date:
        rows.append(spread([Text("日期：　　　年　　月　　日", scale.small, color=pdf.GREY) for _ in names]))
        heights.append(scale.small * 1.9)
    style = [
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
    ]
    style += [("LINEBELOW", (2 * i, 1), (2 * i, 1), 0.6, pdf.INK) for i in range(n)]
    tb = Table(rows, colWidths=widths, rowHeights=heights, hAlign="LEFT", spaceBefore=scale.body * 0.8)
    tb.setStyle(TableStyle([FONT, *style]))
    return tb


def build(story: list, pagesize: tuple[float, float], margin: float, meta: pdf.Meta, decorate: pdf.Decorate,
          *, top: float | None = None, bottom: float | None = None,
          on_page: Callable | None = None) -> bytes:
    """Lay ``story`` out on pages of ``pagesize`` and return the PDF bytes."""
    buffer = io.BytesIO()
    width, height = pagesize
    top = margin if top is None else top
    bottom = margin if bottom is None else bottom
    doc = BaseDocTemplate(buffer, pagesize=pagesize, leftMargin=margin, rightMargin=margin, topMargin=top,
                          bottomMargin=bottom, title=meta.title, author=meta.author, subject=meta.subject,
                          creator="counter-client", invariant=1)
    frame = Frame(margin, bottom, width - 2 * margin, height - top - bottom, id="body",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=on_page or (lambda c, d: None))])
    doc.build(story, canvasmaker=pdf.numbered_canvas(meta, decorate))
    return buffer.getvalue()


def page_count(data: bytes) -> int:
    """Pages in a PDF made here (counts the page objects reportlab writes, uncompressed)."""
    return len(_PAGE.findall(data))
