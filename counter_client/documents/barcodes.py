"""Code 128 and QR codes drawn as vectors on a reportlab canvas.

Code 128: python-barcode chooses the code sets (a 22-digit receipt number goes in set C, 11
symbols) and gives the module pattern; the bars are drawn here as filled rectangles, so they
stay sharp at any printer resolution. Scanner grade per the mail section of domain.md: module
at least 0.33 mm, bars at least 12 mm high, a quiet zone of 10 modules each side, the human
readable text below (drawn by the caller, which knows its layout).

QR: reportlab's own encoder (``reportlab.graphics.barcode.qr``), error correction M, with the
standard 4-module quiet zone left white around it.
"""

from __future__ import annotations

from functools import lru_cache

from barcode import Code128
from reportlab.graphics.barcode import qrencoder
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

MIN_MODULE = 0.33 * mm
MIN_HEIGHT = 12 * mm
QUIET_MODULES = 10
QR_QUIET_MODULES = 4


@lru_cache(maxsize=256)
def code128_modules(value: str) -> str:
    """The module pattern of ``value`` (``1`` bar, ``0`` space), start to stop, no quiet zone."""
    return Code128(value).build()[0]


def code128_width(value: str, module: float, quiet: bool = True) -> float:
    """Width of the symbol in points, with the quiet zones when ``quiet``."""
    return (len(code128_modules(value)) + (2 * QUIET_MODULES if quiet else 0)) * module


def module_for(value: str, max_width: float, *, preferred: float, minimum: float = MIN_MODULE) -> float:
    """The module width to use: ``preferred`` if the symbol (with quiet zones) fits ``max_width``,
    else the widest that fits, but never below ``minimum``."""
    modules = len(code128_modules(value)) + 2 * QUIET_MODULES
    return max(minimum, min(preferred, max_width / modules))


def draw_code128(c: Canvas, x: float, y: float, value: str, *, module: float, height: float) -> float:
    """Draw the bars of ``value`` with the lower-left corner of the quiet zone at (x, y).
    Returns the width including both quiet zones."""
    if module < MIN_MODULE - 1e-9 or height < MIN_HEIGHT - 1e-9:
        raise ValueError(f"Code 128 below scanner grade: module {module / mm:.3f} mm, height {height / mm:.1f} mm")
    pattern = code128_modules(value)
    c.saveState()
    c.setFillColorRGB(0, 0, 0)
    start = None
    left = x + QUIET_MODULES * module
    path = c.beginPath()
    for i, bit in enumerate(pattern + "0"):
        if bit == "1" and start is None:
            start = i
        elif bit == "0" and start is not None:
            path.rect(left + start * module, y, (i - start) * module, height)
            start = None
    c.drawPath(path, stroke=0, fill=1)
    c.restoreState()
    return code128_width(value, module)


def qr_matrix(value: str, level: str = "M") -> list[list[bool]]:
    """The QR modules of ``value`` (rows top to bottom, True = dark), smallest version that fits."""
    qr = qrencoder.QRCode(None, getattr(qrencoder.QRErrorCorrectLevel, level))
    qr.addData(value)
    qr.make()
    return [[bool(m) for m in row] for row in qr.modules]


def draw_qr(c: Canvas, x: float, y: float, value: str, size: float, level: str = "M") -> None:
    """Draw a QR code of ``value`` as a ``size``-point square (quiet zone included) at (x, y).
    Drawn as one path of squares, with no font state (renderPDF would name Helvetica)."""
    rows = qr_matrix(value, level)
    n = len(rows)
    module = size / (n + 2 * QR_QUIET_MODULES)
    top = y + size - QR_QUIET_MODULES * module
    left = x + QR_QUIET_MODULES * module
    c.saveState()
    c.setFillColorRGB(0, 0, 0)
    path = c.beginPath()
    for r, row in enumerate(rows):
        start = None
        for col, dark in enumerate(row + [False]):
            if dark and start is None:
                start = col
            elif not dark and start is not None:
                path.rect(left + start * module, top - (r + 1) * module, (col - start) * module, module)
                start = None
    c.drawPath(path, stroke=0, fill=1)
    c.restoreState()
