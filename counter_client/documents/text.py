"""Measuring, wrapping, fitting and drawing text with the embedded font, on a reportlab canvas.

Every document draws its text through ``draw``, so the same rules hold everywhere:

- characters the font lacks are drawn as a boxed code point (``U+2020C``) carrying the real
  character as ActualText (see ``fonts``); they never vanish;
- ``bold`` is the font stroked as well as filled (WenQuanYi Micro Hei has no bold face);
- ``wrap`` breaks Chinese between any two characters, keeps Latin words and numbers whole when
  they fit, and follows the common line-breaking rules (no line starts with ，。）etc., none ends
  with （《 etc.);
- ``fit`` wraps into a box and shrinks the size step by step until the lines fit; at the
  smallest size what still does not fit is cut with an ellipsis. Text never leaves its box.

``tracing()`` records every draw that was given a box (its ink box and the box), so tests can
prove that nothing overflows.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from dataclasses import dataclass
from typing import Iterator

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from counter_client.documents import fonts
from counter_client.documents.fonts import MONO, REGULAR, code_label

ELLIPSIS = "…"
BOLD_STROKE = 0.035  # stroke width of fake bold, as a fraction of the size
MISSING_LABEL_SCALE = 0.62  # size of the code label inside the box, as a fraction of the size
MISSING_PAD = 0.08  # padding inside the box each side, fraction of the size
MISSING_GAP = 0.06  # space each side outside the box, fraction of the size
ASCENT = 0.80  # ink above the baseline as a fraction of the size (the face's ascent is 0.77)
DESCENT = 0.22  # ink below the baseline (the face's descent is 0.24; CJK glyphs stop near 0.12)
SHRINK_STEP = 0.5

NO_LINE_START = set("，。、；：！？）》」』】〕〉”’%·…—～,.;:!?)]}>/")
NO_LINE_END = set("（《「『【〔〈“‘([{<")
_TOKEN = re.compile(r"[A-Za-z0-9@._:/\\\-+#%&=?*~]+|\s+|.", re.S)

_trace: contextvars.ContextVar[list | None] = contextvars.ContextVar("text_trace", default=None)


@dataclass(frozen=True)
class Box:
    """A rectangle in points: lower-left corner, width, height."""

    x: float
    y: float
    w: float
    h: float

    @property
    def top(self) -> float:
        return self.y + self.h

    @property
    def right(self) -> float:
        return self.x + self.w

    def inset(self, dx: float, dy: float | None = None) -> "Box":
        dy = dx if dy is None else dy
        return Box(self.x + dx, self.y + dy, max(0.0, self.w - 2 * dx), max(0.0, self.h - 2 * dy))

    def contains(self, other: "Box", tolerance: float = 0.01) -> bool:
        return (other.x >= self.x - tolerance and other.y >= self.y - tolerance
                and other.right <= self.right + tolerance and other.top <= self.top + tolerance)


@dataclass(frozen=True)
class Draw:
    """One traced draw: the text, its ink box and the box it had to stay in."""

    text: str
    ink: Box
    box: Box


@contextlib.contextmanager
def tracing() -> Iterator[list[Draw]]:
    draws: list[Draw] = []
    token = _trace.set(draws)
    try:
        yield draws
    finally:
        _trace.reset(token)


# -- measuring ----------------------------------------------------------------------------------------
def _missing_width(ch: str, size: float) -> float:
    label = pdfmetrics.stringWidth(code_label(ch), REGULAR, size * MISSING_LABEL_SCALE)
    return label + 2 * size * (MISSING_PAD + MISSING_GAP)


def width(text: str, size: float, font: str = REGULAR, char_space: float = 0.0) -> float:
    """The advance width of ``text`` as ``draw`` draws it."""
    fonts.register()
    total = 0.0
    count = 0
    for chunk, missing in fonts.runs(text, font):
        if missing:
            total += _missing_width(chunk, size)
        else:
            total += pdfmetrics.stringWidth(chunk, font, size)
        count += len(chunk)
    return total + char_space * max(0, count - 1)


# -- drawing ------------------------------------------------------------------------------------------
def draw(c: Canvas, x: float, y: float, text: str, size: float, *, font: str = REGULAR, bold: bool = False,
         align: str = "left", color=None, char_space: float = 0.0, box: Box | None = None) -> float:
    """Draw one line with its baseline at ``y``; ``align`` is left, center or right of ``x``.
    Returns the width drawn."""
    fonts.register()
    w = width(text, size, font, char_space)
    if align == "center":
        x -= w / 2
    elif align == "right":
        x -= w
    traced = _trace.get()
    if traced is not None and box is not None:
        traced.append(Draw(text, Box(x, y - DESCENT * size, w, (ASCENT + DESCENT) * size), box))
    c.saveState()
    if color is not None:
        c.setFillColor(color)
        c.setStrokeColor(color)
    cursor = x
    for chunk, missing in fonts.runs(text, font):
        if missing:
            cursor += _draw_missing(c, cursor, y, chunk, size)
            cursor += char_space
            continue
        t = c.beginText(cursor, y)
        t.setFont(font, size)
        if char_space:
            t.setCharSpace(char_space)
        if bold:
            t.setTextRenderMode(2)
            c.setLineWidth(size * BOLD_STROKE)
        t.textOut(chunk)
        c.drawText(t)
        cursor += pdfmetrics.stringWidth(chunk, font, size) + char_space * len(chunk)
    c.restoreState()
    return w


def _draw_missing(c: Canvas, x: float, y: float, ch: str, size: float) -> float:
    """A character without a glyph: its code point in a thin box; ActualText keeps the character."""
    label = code_label(ch)
    small = size * MISSING_LABEL_SCALE
    inner = pdfmetrics.stringWidth(label, REGULAR, small) + 2 * size * MISSING_PAD
    left = x + size * MISSING_GAP
    actual = "FEFF" + ch.encode("utf-16-be").hex().upper()
    c.addLiteral(f"/Span <</ActualText <{actual}>>> BDC")
    c.saveState()
    c.setLineWidth(max(0.4, size * 0.04))
    c.rect(left, y - 0.1 * size, inner, 0.9 * size, stroke=1, fill=0)
    t = c.beginText(left + size * MISSING_PAD, y + 0.12 * size)
    t.setFont(REGULAR, small)
    t.textOut(label)
    c.drawText(t)
    c.restoreState()
    c.addLiteral("EMC")
    return inner + 2 * size * MISSING_GAP


# -- wrapping and fitting -----------------------------------------------------------------------------
def _tokens(text: str) -> list[str]:
    """Breakable units: single CJK characters, whole Latin words/numbers, whitespace runs;
    punctuation glued to its neighbour by the line-breaking rules."""
    raw = _TOKEN.findall(text)
    out: list[str] = []
    glue_next = False
    for tok in raw:
        if out and (glue_next or tok[0] in NO_LINE_START) and not tok.isspace():
            out[-1] += tok
        else:
            out.append(tok)
        glue_next = tok[-1] in NO_LINE_END
    return out


def wrap(text: str, size: float, max_width: float, font: str = REGULAR, char_space: float = 0.0) -> list[str]:
    """``text`` broken into lines no wider than ``max_width`` (explicit newlines kept)."""
    lines: list[str] = []
    for para in (text or "").split("\n"):
        lines += _wrap_para(para, size, max_width, font, char_space)
    return lines


def _wrap_para(text: str, size: float, max_width: float, font: str, char_space: float) -> list[str]:
    lines: list[str] = []
    line = ""
    line_w = 0.0
    for tok in _tokens(text):
        if not line and tok.isspace():
            continue
        tok_w = width(tok, size, font, char_space) + (char_space if line else 0.0)
        if line_w + tok_w <= max_width + 1e-6:
            line += tok
            line_w += tok_w
            continue
        if line:
            lines.append(line.rstrip())
            line, line_w = "", 0.0
            if tok.isspace():
                continue
            tok_w = width(tok, size, font, char_space)
        if tok_w <= max_width + 1e-6:
            line, line_w = tok, tok_w
            continue
        for ch in tok:  # a token wider than the line: break it anywhere
            ch_w = width(ch, size, font, char_space) + (char_space if line else 0.0)
            if line and line_w + ch_w > max_width + 1e-6:
                lines.append(line)
                line, line_w = "", 0.0
                ch_w = width(ch, size, font, char_space)
            line += ch
            line_w += ch_w
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return lines


def ellipsize(text: str, size: float, max_width: float, font: str = REGULAR, char_space: float = 0.0) -> str:
    """``text`` cut to ``max_width`` with an ellipsis when it does not fit."""
    if width(text, size, font, char_space) <= max_width:
        return text
    cut = text
    while cut and width(cut + ELLIPSIS, size, font, char_space) > max_width:
        cut = cut[:-1]
    return cut.rstrip() + ELLIPSIS if cut else ""


@dataclass(frozen=True)
class Fitted:
    size: float
    leading: float
    lines: list[str]
    truncated: bool = False

    @property
    def height(self) -> float:
        return self.leading * len(self.lines)


def fit(text: str, max_width: float, max_height: float, *, size: float, min_size: float,
        font: str = REGULAR, leading: float = 1.25, max_lines: int | None = None,
        char_space: float = 0.0) -> Fitted:
    """Wrap ``text`` into ``max_width`` × ``max_height``, shrinking from ``size`` to ``min_size``;
    at ``min_size`` lines that do not fit are dropped and the last kept one ends with …"""
    s = size
    while True:
        lines = wrap(text, s, max_width, font, char_space)
        lead = s * leading
        fits_height = _lines_height(len(lines), s, lead) <= max_height + 1e-6
        if fits_height and (max_lines is None or len(lines) <= max_lines):
            return Fitted(s, lead, lines)
        if s - SHRINK_STEP < min_size - 1e-9:
            break
        s -= SHRINK_STEP
    s = min_size
    lead = s * leading
    lines = wrap(text, s, max_width, font, char_space)
    room = 1
    while room < len(lines) and _lines_height(room + 1, s, lead) <= max_height + 1e-6:
        room += 1
    if max_lines is not None:
        room = min(room, max_lines)
    kept = lines[:room]
    if len(lines) > room:
        kept[-1] = ellipsize(kept[-1] + ELLIPSIS, s, max_width, font, char_space)
    return Fitted(s, lead, kept, truncated=len(lines) > room)


def _lines_height(n: int, size: float, lead: float) -> float:
    """Ink height of ``n`` lines: the first line's ascent, the leadings, the last descent."""
    return (ASCENT + DESCENT) * size + max(0, n - 1) * lead


def draw_fitted(c: Canvas, box: Box, fitted: Fitted, *, font: str = REGULAR, bold: bool = False,
                align: str = "left", valign: str = "top", color=None, char_space: float = 0.0) -> float:
    """Draw fitted lines inside ``box``; returns the height used."""
    s = fitted.size
    used = _lines_height(len(fitted.lines), s, fitted.leading)
    if valign == "middle":
        top = box.top - (box.h - used) / 2
    elif valign == "bottom":
        top = box.y + used
    else:
        top = box.top
    x = {"left": box.x, "center": box.x + box.w / 2, "right": box.right}[align]
    y = top - ASCENT * s
    for line in fitted.lines:
        draw(c, x, y, line, s, font=font, bold=bold, align=align, color=color, char_space=char_space, box=box)
        y -= fitted.leading
    return used


def draw_in(c: Canvas, box: Box, text: str, *, size: float, min_size: float, font: str = REGULAR,
            bold: bool = False, align: str = "left", valign: str = "top", leading: float = 1.25,
            max_lines: int | None = None, color=None, char_space: float = 0.0) -> Fitted:
    """Fit and draw ``text`` in ``box`` in one call."""
    fitted = fit(text, box.w, box.h, size=size, min_size=min_size, font=font, leading=leading,
                 max_lines=max_lines, char_space=char_space)
    draw_fitted(c, box, fitted, font=font, bold=bold, align=align, valign=valign, color=color, char_space=char_space)
    return fitted


__all__ = ["Box", "Draw", "Fitted", "MONO", "REGULAR", "draw", "draw_fitted", "draw_in", "ellipsize", "fit",
           "tracing", "width", "wrap"]
