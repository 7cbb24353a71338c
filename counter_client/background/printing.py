"""Printing a PDF on a real printer through Qt's print system, off the GUI thread.

The one module of ``background/`` that paints, hence the one exception to "QtCore only" (as the
camera is in ``scanning/``; ``tests/unit/test_architecture.py`` names it): QtPdf renders the
PDF's pages, QtGui's ``QPainter`` draws them on a ``QPrinter`` (QtPrintSupport). No widgets:
the dialog that chooses the printer is ``ui/printing``. ``print_pdf`` runs on a task-runner
thread (Qt allows painting on a ``QPrinter`` outside the GUI thread), so the window never
freezes while a printer spools.

The printed pages are the exact PDF the preview shows: each page is rendered by QtPdf at the
printer's resolution (at most ``MAX_DPI``) in horizontal bands, so an A4 page at 600 dpi never
needs one 140 MB image, and drawn edge to edge on a page whose size is the document's own (A4,
A5, 100×150 mm labels …: ``QPageSize`` in millimetres, full-page mode, no margins added).

A printer that is not there (never installed, unplugged, removed since the list was read) or
that stops mid-job raises ``PrinterUnavailable`` / ``PrintFailed`` with a Chinese message; the
caller logs the failed attempt and the PDF stays available to save.

``PrintTarget(file=…)`` prints through Qt's own PDF printer into a file: the tests' real
"printer", and proof that page size and content survive the trip.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QRect, QRectF, QSize, QSizeF
from PySide6.QtGui import QPageLayout, QPageSize, QPainter
from PySide6.QtPdf import QPdfDocument, QPdfDocumentRenderOptions
from PySide6.QtPrintSupport import QPrinter, QPrinterInfo

from counter_client.errors import Cancelled, UserError

log = logging.getLogger(__name__)

MAX_DPI = 600  # higher printer resolutions are scaled up by the printer driver
FILE_DPI = 300  # Qt's PDF printer (print to file)
BAND_BYTES = 32 * 2**20  # the largest piece of a page rendered at once
MAX_COPIES = 20


class PrinterUnavailable(UserError):
    """The chosen printer is not known to the system (now)."""


class PrintFailed(UserError):
    """The printer refused the job or stopped in the middle of it."""


@dataclass(frozen=True)
class PrintTarget:
    """Where to print: a printer by its system name, or (``file``) Qt's PDF printer."""

    printer: str = ""
    file: str = ""

    @property
    def label(self) -> str:
        return self.printer or self.file


@dataclass(frozen=True)
class PrintOutcome:
    pages: int
    copies: int
    target: str
    thread: str  # the thread that painted (never the GUI thread)


def available_printers() -> list[str]:
    """The printers the system knows now (CUPS on Linux, the spooler on Windows)."""
    return [name for name in QPrinterInfo.availablePrinterNames() if name]


def default_printer() -> str:
    return QPrinterInfo.defaultPrinterName() or ""


def unavailable_message(name: str) -> str:
    return (f"打印机“{name}”现在不可用（未连接、未开机或已被删除）。文件没有丢失：请检查打印机后重试，"
            "或改选其他打印机，或“保存为 PDF”。")


def _page_size(page_mm: tuple[float, float]) -> tuple[QPageSize, QPageLayout.Orientation]:
    w, h = page_mm
    portrait = QSizeF(min(w, h), max(w, h))
    size = QPageSize(portrait, QPageSize.Unit.Millimeter, f"{w:g}x{h:g}mm", QPageSize.SizeMatchPolicy.FuzzyMatch)
    orientation = QPageLayout.Orientation.Landscape if w > h else QPageLayout.Orientation.Portrait
    return size, orientation


def _printer(target: PrintTarget, page_mm: tuple[float, float], copies: int, title: str) -> QPrinter:
    if target.file:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(target.file)
        printer.setResolution(FILE_DPI)
    else:
        if target.printer not in available_printers():
            raise PrinterUnavailable(unavailable_message(target.printer), "printer not available")
        printer = QPrinter(QPrinterInfo.printerInfo(target.printer), QPrinter.PrinterMode.HighResolution)
    size, orientation = _page_size(page_mm)
    layout = QPageLayout(size, orientation, QMarginsF(0, 0, 0, 0), QPageLayout.Unit.Millimeter)
    layout.setMode(QPageLayout.Mode.FullPageMode)
    if not printer.setPageLayout(layout):
        log.warning("printer did not take the page layout %s; printing on its nearest size", size.name())
    printer.setFullPage(True)
    printer.setCopyCount(copies)
    printer.setDocName(title or "counter-client")
    return printer


def _load(data: bytes) -> tuple[QPdfDocument, QBuffer]:
    buffer = QBuffer()
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    doc = QPdfDocument()
    doc.load(buffer)
    if doc.status() != QPdfDocument.Status.Ready or doc.pageCount() < 1:
        raise RuntimeError(f"the PDF to print could not be read by QtPdf: {doc.error()}")
    return doc, buffer


def _draw_page(painter: QPainter, doc: QPdfDocument, index: int, rect: QRectF, dpi: float) -> None:
    """Render page ``index`` in bands at ``dpi`` (at most the device's) and draw it over ``rect``."""
    scale = min(1.0, MAX_DPI / dpi) if dpi > 0 else 1.0
    full = QSize(max(1, round(rect.width() * scale)), max(1, round(rect.height() * scale)))
    band = max(1, BAND_BYTES // (full.width() * 4))
    top = 0
    while top < full.height():
        rows = min(band, full.height() - top)
        options = QPdfDocumentRenderOptions()
        options.setScaledSize(full)
        options.setScaledClipRect(QRect(0, top, full.width(), rows))
        image = doc.render(index, QSize(full.width(), rows), options)
        if image.isNull():
            raise RuntimeError(f"QtPdf rendered nothing for page {index + 1}")
        target = QRectF(rect.x(), rect.y() + top / scale, rect.width(), rows / scale)
        painter.drawImage(target, image)
        top += rows


def print_pdf(data: bytes, target: PrintTarget, page_mm: tuple[float, float], *, copies: int = 1, title: str = "",
              progress: Callable[[int, int], None] | None = None,
              cancelled: Callable[[], bool] | None = None) -> PrintOutcome:
    """Print ``data`` (a PDF) on ``target`` with paper of ``page_mm``; blocking, for a worker thread.

    ``progress(done, total)`` after each page; ``cancelled()`` is checked between pages (the job
    is then aborted at the printer)."""
    copies = max(1, min(MAX_COPIES, int(copies)))
    printer = _printer(target, page_mm, copies, title)
    doc, buffer = _load(data)
    # a printer that cannot collate copies itself gets them one after another in the same job
    repeat = 1 if printer.copyCount() == copies and printer.supportsMultipleCopies() else copies
    if repeat > 1:
        printer.setCopyCount(1)
    where = "PDF 文件" if target.file else f"打印机“{target.printer}”"
    painter = QPainter()
    if not painter.begin(printer):
        doc.close()
        raise PrintFailed(f"无法开始打印：{where}拒绝了打印任务（可能已断开、缺纸或无法写入）。文件没有丢失：可改选其他打印机或“保存为 PDF”。",
                          f"QPainter.begin failed on {'file' if target.file else 'printer'}")
    pages = doc.pageCount()
    total = pages * repeat
    done = 0
    try:
        rect = printer.pageRect(QPrinter.Unit.DevicePixel)
        dpi = float(printer.resolution())
        for _ in range(repeat):
            for index in range(pages):
                if cancelled is not None and cancelled():
                    printer.abort()
                    raise Cancelled()
                if done and not printer.newPage():
                    raise PrintFailed(f"打印中途出错：{where}停止响应，已出纸的部分可能不完整。文件没有丢失：请检查打印机后重新打印，"
                                      "或“保存为 PDF”。", f"newPage failed after {done} page(s)")
                _draw_page(painter, doc, index, rect, dpi)
                done += 1
                if progress is not None:
                    progress(done, total)
    finally:
        ended = painter.end()
        doc.close()
        buffer.close()
    if not ended:
        raise PrintFailed(f"打印没有完成：{where}没有接受最后的数据。文件没有丢失：请检查打印机后重新打印，或“保存为 PDF”。",
                          "QPainter.end failed")
    thread = threading.current_thread().name
    log.info("printed %d page(s) x %d to %s on thread %s", pages, repeat if repeat > 1 else copies,
             "a pdf file" if target.file else "a printer", thread)
    return PrintOutcome(pages, copies, target.label, thread)
