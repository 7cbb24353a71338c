"""What every printout shares: a deterministic canvas, the page footer with 第 n 页 共 N 页, the
training watermark (培训) and the reprint stamp (副本).

Deterministic output: reportlab's ``invariant`` mode fixes the document id and the object
order, and the creation date written into the PDF is the moment given by the input (when it was
printed), never the clock, so the same input gives the same bytes and golden files compare.

``DocCanvas`` keeps each page until ``save`` so the footer can say how many pages there are,
then draws the marks (watermark on top, semi-transparent, so no table background hides it).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from counter_client.documents import fonts
from counter_client.documents import text as t

INK = colors.black
GREY = colors.Color(0.35, 0.35, 0.35)
LIGHT = colors.Color(0.55, 0.55, 0.55)
RULE = colors.Color(0.6, 0.6, 0.6)
SHADE = colors.Color(0.93, 0.93, 0.93)
WATERMARK = "培训"
WATERMARK_SUB = "TRAINING · 培训练习专用，不作正式凭证"
WATERMARK_ALPHA = 0.22
COPY_WORD = "副本"


@dataclass(frozen=True)
class Marks:
    """How a printout is marked: training (watermark) and reprint (副本 stamp with a note)."""

    training: bool = False
    copy: bool = False
    copy_note: str = ""  # e.g. "补打" or "第 2 次打印"; who/when/why is logged by the caller


@dataclass(frozen=True)
class Meta:
    title: str
    created: datetime  # written as the PDF's creation date: the input's moment, not the clock
    subject: str = ""
    author: str = ""


def pdf_date(moment: datetime) -> str:
    """``D:YYYYMMDDHHmmSS`` with the UTC offset when ``moment`` has one."""
    base = moment.strftime("D:%Y%m%d%H%M%S")
    offset = moment.utcoffset()
    if offset is None:
        return base
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{base}{sign}{minutes // 60:02d}'{minutes % 60:02d}'"


def _setup(c: Canvas, meta: Meta) -> None:
    c.setTitle(meta.title)
    c.setSubject(meta.subject)
    c.setAuthor(meta.author)
    c.setCreator("counter-client")
    stamp = pdf_date(meta.created)
    c.setDateFormatter(lambda *_: stamp)


def new_canvas(buffer: io.BytesIO, pagesize: tuple[float, float], meta: Meta) -> Canvas:
    """A plain canvas (one drawn page at a time, no deferred footer): labels."""
    fonts.register()
    c = Canvas(buffer, pagesize=pagesize, invariant=1, initialFontName=fonts.REGULAR, pageCompression=1)
    _setup(c, meta)
    return c


Decorate = Callable[[Canvas, int, int], None]  # (canvas, page number from 1, page count)


def numbered_canvas(meta: Meta, decorate: Decorate) -> type[Canvas]:
    """A canvas class for platypus (``canvasmaker``) that calls ``decorate`` on every page at
    save time, when the page count is known."""

    class DocCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            fonts.register()
            kwargs.update(invariant=1, initialFontName=fonts.REGULAR, pageCompression=1)
            super().__init__(*args, **kwargs)
            _setup(self, meta)
            self._pages: list[dict] = []

        def showPage(self):
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                decorate(self, number, total)
                Canvas.showPage(self)
            Canvas.save(self)

    return DocCanvas


def draw_watermark(c: Canvas, width: float, height: float) -> None:
    """培训 diagonally across the page, large and light, with a small line under each."""
    c.saveState()
    ink = colors.Color(0.45, 0.45, 0.45, alpha=WATERMARK_ALPHA)
    size = min(width, height) * 0.30
    c.translate(width / 2, height / 2)
    c.rotate(35 if height >= width else 20)
    rows = 2 if height > 250 * mm else 1
    step = height * 0.36
    for i in range(rows):
        dy = (i - (rows - 1) / 2) * step
        t.draw(c, 0, dy - size * 0.3, WATERMARK, size, align="center", color=ink)
        t.draw(c, 0, dy - size * 0.3 - size * 0.32, WATERMARK_SUB, size * 0.11, align="center", color=ink)
    c.restoreState()


def draw_copy_stamp(c: Canvas, right: float, top: float, note: str = "", size: float = 14) -> None:
    """A framed 副本 / COPY stamp whose top-right corner is at (right, top)."""
    word = f"{COPY_WORD} COPY"
    w = t.width(word, size) + size
    h = size * 1.6
    sub = note.strip()
    sub_size = max(size * 0.5, 6.0)
    if sub:
        sub = t.ellipsize(sub, sub_size, 60 * mm)
        w = max(w, t.width(sub, sub_size) + size)
        h += sub_size * 1.3
    c.saveState()
    c.setStrokeColor(INK)
    c.setLineWidth(1.2)
    c.rect(right - w, top - h, w, h, stroke=1, fill=0)
    c.setLineWidth(0.4)
    c.rect(right - w + 2, top - h + 2, w - 4, h - 4, stroke=1, fill=0)
    t.draw(c, right - w / 2, top - size * 1.15, word, size, bold=True, align="center")
    if sub:
        t.draw(c, right - w / 2, top - h + sub_size * 0.8, sub, sub_size, align="center")
    c.restoreState()


def page_footer(c: Canvas, width: float, margin: float, number: int, total: int, left: str, size: float = 7.5,
                y: float | None = None) -> None:
    """A thin rule, ``left`` text and 第 n 页 共 N 页 at the bottom margin."""
    y = margin * 0.55 if y is None else y
    c.saveState()
    c.setStrokeColor(RULE)
    c.setLineWidth(0.4)
    c.line(margin, y + size * 1.4, width - margin, y + size * 1.4)
    page = f"第 {number} 页 共 {total} 页"
    pw = t.width(page, size)
    text_box = t.Box(margin, y - size * 0.4, width - 2 * margin - pw - 4 * mm, size * 1.4)
    t.draw(c, margin, y, t.ellipsize(left, size, text_box.w), size, color=GREY, box=text_box)
    t.draw(c, width - margin, y, page, size, align="right", color=GREY)
    c.restoreState()
