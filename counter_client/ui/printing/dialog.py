"""The print dialog: the exact PDF in a preview, the printer (remembered per kind of document),
copies, and the reprint reason when the document was printed before.

The preview shows the very bytes that go to the printer or the file: the PDF is made on the
runner (``PrintService.render``), shown with QtPdf's ``QPdfView`` and printed by the print
worker (``background.printing.print_pdf``) on the runner, so the window never waits for a
spooler. A reprint is already stamped 副本 in the preview; choosing the reason renders it again
(the reason is printed in the stamp) before 打印 is possible.

"保存为 PDF" is always there, as a printer choice and as a button: with no printer at all (or a
printer that just vanished) the document can still leave the window as a file. A failed print
is said in Chinese in the dialog, logged as a failed attempt, and the dialog stays open with
the PDF, so nothing is lost.

Keyboard: Enter prints (the default button), Ctrl+S saves as PDF, Esc closes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QStandardPaths, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from counter_client.background.tasks import TaskRunner
from counter_client.errors import Cancelled, UserError
from counter_client.services.printing import (
    FAILED,
    KIND_TITLES,
    OTHER,
    PRINTED,
    REPRINT_REASONS,
    DocumentRequest,
    Rendered,
    check_reason,
)
from counter_client.ui.widgets import FieldMessage, em, plain_label, set_kind

log = logging.getLogger(__name__)

RENDER_KEY = "print-render"
MAX_COPIES = 5
PDF_CHOICE = ""  # the printer combo's data for 保存为 PDF
PREVIEW_EM = (30, 38)  # the preview's minimum size, in ems


def safe_file_name(title: str) -> str:
    return "".join("_" if ch in '\\/:*?"<>|' else ch for ch in title).strip() or "document"


def list_printers(printers: Callable[[], list[str]], engine: Any) -> tuple[list[str], str]:
    """The printers and the system's default, asked on the runner (the spooler may be slow to answer;
    a broken print system leaves only "保存为 PDF")."""
    try:
        return list(printers()), engine.default_printer()
    except Exception:  # noqa: BLE001 - a broken print system must not stop saving a PDF
        log.exception("could not list printers")
        return [], ""


class PrintDialog(QDialog):
    """打印: preview, printer, copies, reprint reason.

    Signals:
        preview_did_load(int pages): the PDF is in the preview.
        print_did_finish(object entry): printed or saved (``PrintEntry``); the dialog closes.
        print_did_fail(str message): a failed attempt (logged); the dialog stays open.
    """

    preview_did_load = Signal(int)
    print_did_finish = Signal(object)
    print_did_fail = Signal(str)

    def __init__(self, runner: TaskRunner, service: Any, engine: Any, make_request: Callable[[], DocumentRequest],
                 parent: QWidget | None = None, printers: Callable[[], list[str]] | None = None):
        super().__init__(parent)
        self.setObjectName("PrintDialog")
        self.setWindowTitle(self.tr("打印"))
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self._runner = runner
        self._service = service
        self._engine = engine
        self._make_request = make_request
        self._printers = printers or engine.available_printers
        self.rendered: Rendered | None = None
        self._busy = False
        self._handle = None
        self._closing = False  # closed while a job ran: hidden, and really closed when the job is over

        outer = QHBoxLayout(self)
        outer.setContentsMargins(12, 12, 12, 12)
        outer.setSpacing(14)
        self.document = QPdfDocument(self)
        self._buffer: QBuffer | None = None
        self.view = QPdfView(self)
        self.view.setObjectName("PrintPreview")
        self.view.setDocument(self.document)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self.view.setPageSpacing(12)
        self.view.setMinimumSize(em(self, PREVIEW_EM[0]), em(self, PREVIEW_EM[1]))
        outer.addWidget(self.view, 1)

        side = QVBoxLayout()
        side.setSpacing(10)
        self.title = plain_label("", "PrintTitle", self, wrap=True)
        side.addWidget(self.title)
        self.copy_badge = plain_label("", "CopyBadge", self, wrap=True)
        side.addWidget(self.copy_badge)

        self.reason_box = QFrame(self)
        self.reason_box.setObjectName("NoticeBox")
        rb = QVBoxLayout(self.reason_box)
        rb.setContentsMargins(10, 8, 10, 10)
        rb.addWidget(plain_label(self.tr("补打原因（必填）"), "FormLabel", self.reason_box))
        self.reason = QComboBox(self.reason_box)
        self.reason.addItem(self.tr("请选择…"), "")
        for code, text in REPRINT_REASONS.items():
            self.reason.addItem(self.tr(text), code)
        self.reason.currentIndexChanged.connect(self._reason_changed)
        rb.addWidget(self.reason)
        self.reason_text = QLineEdit(self.reason_box)
        self.reason_text.setPlaceholderText(self.tr("具体原因（选“其他”时必填）"))
        self.reason_text.setMaxLength(200)
        rb.addWidget(self.reason_text)
        side.addWidget(self.reason_box)
        self.reason_box.hide()

        form = QFormLayout()
        form.setSpacing(8)
        self.printer = QComboBox(self)
        self.printer.setMinimumWidth(em(self, 16))
        self.printer.currentIndexChanged.connect(self._printer_changed)
        form.addRow(self.tr("打印机"), self.printer)
        self.copies = QSpinBox(self)
        self.copies.setRange(1, MAX_COPIES)
        form.addRow(self.tr("份数"), self.copies)
        side.addLayout(form)
        self.printer_hint = plain_label("", "Hint", self, wrap=True)
        side.addWidget(self.printer_hint)
        self.message = FieldMessage(self)
        self.message.setWordWrap(True)
        side.addWidget(self.message)
        side.addStretch(1)
        self.save_button = QPushButton(self.tr("保存为 PDF…"), self)
        self.save_button.setToolTip(self.tr("把这份文书保存为 PDF 文件（Ctrl+S）"))
        self.save_button.clicked.connect(self.save_as_pdf)
        side.addWidget(self.save_button)
        buttons = QHBoxLayout()
        self.cancel_button = QPushButton(self.tr("关闭"), self)
        self.cancel_button.clicked.connect(self._close)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        self.print_button = QPushButton(self.tr("打印"), self)
        self.print_button.setObjectName("Primary")
        self.print_button.setDefault(True)
        self.print_button.clicked.connect(self.print_now)
        buttons.addWidget(self.print_button)
        side.addLayout(buttons)
        panel = QWidget(self)
        panel.setLayout(side)
        panel.setFixedWidth(em(self, 23))
        outer.addWidget(panel)
        shortcut = QShortcut(QKeySequence.StandardKey.Save, self)
        shortcut.activated.connect(self.save_as_pdf)

        self._default_printer = ""
        self._fill_printers([])  # the printers come with the preview: asking the spooler may take a while
        self._set_busy(True, self.tr("正在生成预览…"))
        self.load()

    # -- loading ----------------------------------------------------------------------------------
    def load(self) -> None:
        """Make the request, decide original or 副本 and render the preview (on the runner)."""
        service, make = self._service, self._make_request

        printers, engine = self._printers, self._engine

        def work(job):
            issue = service.prepare(make())
            return service.render(issue), list_printers(printers, engine)

        (self._runner.op(work).superseding(RENDER_KEY)
         .on_success(self._loaded)
         .on_failure(self._load_failed)
         .run())

    def _rerender(self) -> None:
        if self.rendered is None:
            return
        service, issue, code = self._service, self.rendered.issue, self.reason.currentData() or ""
        self._set_busy(True, self.tr("正在更新预览…"))
        (self._runner.op(lambda job: service.render(issue, code)).superseding(RENDER_KEY)
         .on_success(self._show)
         .on_failure(self._load_failed)
         .run())

    def _loaded(self, result) -> None:
        rendered, (names, default) = result
        if not self._closing:
            self._fill_printers(names)
            self._default_printer = default
        self._show(rendered)

    def _show(self, rendered: Rendered) -> None:
        if self._closing:
            self._really_close()
            return
        first = self.rendered is None
        self.rendered = rendered
        issue = rendered.issue
        request = issue.request
        self.setWindowTitle(self.tr("打印 %1").replace("%1", request.title))
        self.title.setText(request.title)
        if issue.reprint:
            last = issue.previous[-1]
            self.copy_badge.setText(
                self.tr("已打印过 %1 次（最近：%2，%3）。本次为第 %4 份，纸上印“副本”。")
                .replace("%1", str(len(issue.previous))).replace("%2", last.at[:16].replace("T", " "))
                .replace("%3", last.clerk).replace("%4", str(issue.copy_no)))
            set_kind(self.copy_badge, "copy")
            self.reason_box.show()
        else:
            self.copy_badge.setText(self.tr("首次打印（原件）。"))
        self._load_pdf(rendered.data)
        self.message.set_live("", "hint")
        if first:
            self._choose_printer(request)
        self._set_busy(False)
        if first:
            (self.reason if issue.reprint else self.print_button).setFocus(Qt.FocusReason.OtherFocusReason)
        self.preview_did_load.emit(self.document.pageCount())

    def _load_pdf(self, data: bytes) -> None:
        self.document.close()
        buffer = QBuffer(self)
        buffer.setData(QByteArray(data))
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self.document.load(buffer)
        if self._buffer is not None:
            self._buffer.deleteLater()
        self._buffer = buffer

    def _load_failed(self, exc: BaseException) -> None:
        if self._closing:
            self._really_close()
            return
        message = exc.message if isinstance(exc, UserError) else self.tr("生成打印文件时出错，已记录到日志。")
        self._set_busy(False)
        self.message.set_live(message, "error")
        if self.rendered is None:
            for button in (self.print_button, self.save_button):
                button.setEnabled(False)

    # -- printers ---------------------------------------------------------------------------------
    def _fill_printers(self, names: list[str]) -> None:
        self.printer.blockSignals(True)
        self.printer.clear()
        for name in names:
            self.printer.addItem(name, name)
        self.printer.addItem(self.tr("保存为 PDF"), PDF_CHOICE)
        self.printer.blockSignals(False)

    def _choose_printer(self, request: DocumentRequest) -> None:
        """The printer last used for this kind of document, else the system's default."""
        remembered = self._service.printer_for(request.kind)
        names = [self.printer.itemData(i) for i in range(self.printer.count())]
        hint = ""
        if remembered and remembered in names:
            choice = remembered
        else:
            default = self._default_printer
            choice = default if default and default in names else names[0]  # the first printer, or PDF
            if remembered:
                hint = self.tr("上次用的打印机“%1”现在不可用。").replace("%1", remembered)
        if not [n for n in names if n]:
            hint += self.tr("本机没有可用的打印机：可保存为 PDF，再用其他电脑打印。")
        self.printer.setCurrentIndex(max(0, self.printer.findData(choice)))
        self.printer_hint.setText(hint)
        self.printer_hint.setVisible(bool(hint))
        self._printer_changed()

    def _printer_changed(self, *_args) -> None:
        to_pdf = self.printer.currentData() == PDF_CHOICE
        self.copies.setEnabled(not to_pdf)
        self.save_button.setHidden(to_pdf)  # the main button saves then
        self.print_button.setText(self.tr("保存为 PDF…") if to_pdf else self.tr("打印"))

    # -- reprint reason ---------------------------------------------------------------------------
    def _reason_changed(self, *_args) -> None:
        code = self.reason.currentData() or ""
        self.reason_text.setPlaceholderText(self.tr("具体原因（必填）") if code == OTHER
                                            else self.tr("具体原因（选填）"))
        self.message.set_live("", "hint")
        self._rerender()

    def _reason_ok(self) -> bool:
        if self.rendered is None:
            return False
        try:
            check_reason(self.rendered.issue, self.rendered.reason_code, self.reason_text.text())
        except UserError as exc:
            self.message.set_live(exc.message, "error")
            (self.reason_text if self.rendered.reason_code == OTHER else self.reason).setFocus()
            return False
        return True

    # -- printing ---------------------------------------------------------------------------------
    def print_now(self) -> None:
        """打印 (Enter): to the chosen printer on the runner, or save as PDF."""
        if self._busy or not self._reason_ok():
            return
        name = self.printer.currentData()
        if name == PDF_CHOICE:
            self.save_as_pdf()
            return
        self.print_to(name)

    def print_to(self, name: str) -> None:
        rendered, service, engine = self.rendered, self._service, self._engine
        copies, reason = self.copies.value(), self.reason_text.text()
        request = rendered.issue.request

        def work(job):
            target = engine.PrintTarget(printer=name)
            pending = service.begin(rendered, name, copies=copies, reason=reason)  # written down first
            try:
                outcome = engine.print_pdf(rendered.data, target, request.page_mm, copies=copies, title=request.title,
                                           progress=lambda done, total: job.progress(done, total, ""),
                                           cancelled=job.cancelled)
            except Cancelled:  # the clerk closed the dialog: stopped between pages
                service.finish(pending, FAILED, "已取消（打印中关闭了打印窗口，可能已打印出部分页）")
                raise
            except UserError as exc:
                service.finish(pending, FAILED, exc.message)
                raise
            except Exception:
                service.finish(pending, FAILED, "打印出错（程序错误，已记录到日志）")
                raise
            return outcome, service.finish(pending, PRINTED)

        self._set_busy(True, self.tr("正在打印…"))
        self._handle = (self._runner.op(work)
                        .with_progress(self.tr("正在打印%1…").replace("%1", KIND_TITLES.get(request.kind, "")))
                        .on_success(lambda result: self._printed(result[1], request.kind, name))
                        .on_failure(self._failed)
                        .on_finished(self._finished)
                        .run())

    def save_as_pdf(self) -> None:
        """保存为 PDF (Ctrl+S): choose a file, write it atomically on the runner, log it."""
        if self._busy or not self._reason_ok():
            return
        rendered = self.rendered
        issue = rendered.issue
        name = issue.request.title + (self.tr("（副本%1）").replace("%1", str(issue.copy_no)) if issue.reprint else "")
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation) or str(Path.home())
        path, _ = QFileDialog.getSaveFileName(self, self.tr("保存为 PDF"), str(Path(folder) / f"{safe_file_name(name)}.pdf"),
                                              self.tr("PDF 文件 (*.pdf)"))
        if not path:
            return
        service, reason = self._service, self.reason_text.text()
        self._set_busy(True, self.tr("正在保存…"))
        (self._runner.op(lambda job: service.save(rendered, path, reason))
         .on_success(lambda result: self._done(result[1], self.tr("已保存：%1").replace("%1", str(result[0]))))
         .on_failure(self._failed)
         .on_finished(self._finished)
         .run())

    def _printed(self, entry, kind: str, name: str) -> None:
        """On the GUI thread, where the shared settings live: remember the printer for this kind."""
        try:
            self._service.remember_printer(kind, name)
        except (OSError, ValueError) as exc:  # the print happened; only the memory of the choice is lost
            log.warning("could not remember the printer: %s", type(exc).__name__)
        self._done(entry, self.tr("已发送到打印机。"))

    def _done(self, entry, text: str) -> None:
        self.print_did_finish.emit(entry)  # also when the clerk closed the dialog meanwhile: the history follows
        if self._closing:
            self._really_close()
            return
        self.message.set_live(text, "ok")
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        if self._closing:
            self._really_close()
            return
        message = exc.message if isinstance(exc, UserError) else self.tr("打印出错，已记录到日志。文件没有丢失：可重试或“保存为 PDF”。")
        self.message.set_live(message, "error")
        self.print_did_fail.emit(message)

    def _finished(self) -> None:
        self._handle = None
        if self._closing:
            self._really_close()
            return
        self._set_busy(False)

    def _set_busy(self, busy: bool, text: str = "") -> None:
        self._busy = busy
        for w in (self.print_button, self.save_button, self.printer, self.copies, self.reason, self.reason_text):
            w.setEnabled(not busy)
        if not busy:
            self._printer_changed()
        if text:
            self.message.set_live(text, "hint")

    def _close(self) -> None:
        self.reject()

    def reject(self) -> None:
        """关闭, Esc, the window's close button, or the launcher opening another document. While a
        preview, print or save runs the dialog only hides (a print is cancelled between pages): its
        job still reports to it, and it closes for good when the job is over."""
        if not self._busy:
            super().reject()
            return
        if self._handle is not None:
            self._handle.cancel()
        self._closing = True
        self.hide()

    def _really_close(self) -> None:
        if self._closing:
            self._closing = False
            self._busy = False
            super().reject()
