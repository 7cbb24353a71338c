"""Printing from the window: the print dialog's preview is the exact PDF (its pages), save as PDF
writes the file (only Qt's file dialog is answered by the test), a reprint asks for its reason
and is stamped 副本, real printing through Qt's PDF printer (page size to the millimetre, on a
pool thread), a printer that is gone or refuses the job (Chinese message, failed attempt logged,
the PDF still saved as the original), and the buttons and shortcuts of the case detail and of
intake — on the real window, real stores and real PDFs read back with pypdfium2."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog

from counter_client.background import printing as engine
from counter_client.documents import samples
from counter_client.documents.receipt import receipt_pdf
from counter_client.documents.waybill import label_size_mm, waybill_pdf
from counter_client.services.printing import A4_MM, document_request
from counter_client.ui.printing.dialog import PrintDialog
from counter_client.ui.printing.launcher import PrintLauncher
from tests.gui.intake_helpers import NATIONAL, collected_case, fill_applicant, receive_all, show

pytest_plugins = ("tests.gui.intake_fixtures",)  # make_gui, gui, fresh_keys

pytestmark = pytest.mark.gui

PT_PER_MM = 72 / 25.4
LASER = "柜台激光打印机"


def pdf_pages(data: bytes) -> int:
    doc = pdfium.PdfDocument(data)
    try:
        return len(doc)
    finally:
        doc.close()


def pdf_text(data: bytes) -> str:
    doc = pdfium.PdfDocument(data)
    try:
        return "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


def sizes_mm(path: Path) -> list[tuple[float, float]]:
    doc = pdfium.PdfDocument(str(path))
    try:
        return [tuple(v / PT_PER_MM for v in doc[i].get_size()) for i in range(len(doc))]
    finally:
        doc.close()


def ink(path: Path, page: int = 0) -> float:
    """Share of dark pixels on a page (something was drawn)."""
    doc = pdfium.PdfDocument(str(path))
    try:
        image = doc[page].render(scale=0.5, grayscale=True).to_pil()
    finally:
        doc.close()
    histogram = image.histogram()
    return sum(histogram[:128]) / (image.width * image.height)


class FilePrinters:
    """The real print worker, whose "printers" are Qt's PDF printer writing one file per printer
    into ``folder`` (this machine has no printer; a missing folder makes a printer that refuses)."""

    PrintTarget = engine.PrintTarget

    def __init__(self, folder: Path, names=(LASER,)):
        self.folder = folder
        self.names = list(names)
        self.jobs: list[engine.PrintOutcome] = []

    def available_printers(self) -> list[str]:
        return list(self.names)

    def default_printer(self) -> str:
        return self.names[0] if self.names else ""

    def print_pdf(self, data, target, page_mm, **kwargs):
        outcome = engine.print_pdf(data, engine.PrintTarget(file=str(self.folder / f"{target.printer}.pdf")), page_mm,
                                   **kwargs)
        self.jobs.append(outcome)
        return outcome


@pytest.fixture
def collected(gui, context):
    return collected_case(context.intake())


def save_to(monkeypatch, path: Path) -> list:
    """Answer Qt's save-file dialog with ``path`` (the only thing patched: the Qt boundary)."""
    asked = []

    def answer(parent, caption, directory, filters):
        asked.append((caption, directory, filters))
        return str(path), filters

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(answer))
    return asked


def history(context, case_id: str):
    return context.printing().history(case_id)


# -- the dialog ------------------------------------------------------------------------------------
def test_preview_shows_every_page_of_the_exact_pdf(qtbot, gui, context):
    long_case = samples.case(many_materials=30)
    made = []

    def render(marks):
        data = receipt_pdf(long_case, replace(samples.receipt_context(case_=long_case), copy=marks.copy,
                                              copy_note=marks.note, printed_at=marks.printed_at))
        made.append(data)
        return data

    request = lambda: document_request("receipt", long_case.receipt_no, "收件凭证（长）", A4_MM, render)  # noqa: E731
    dialog = gui.printing.open_request(request, gui.window)
    qtbot.addWidget(dialog)
    assert dialog.rendered.data == made[-1] and pdf_pages(made[-1]) == 3
    assert dialog.document.pageCount() == 3 and dialog.document.pagePointSize(0).width() == pytest.approx(595.3, abs=0.2)
    assert dialog.title.text() == "收件凭证（长）" and "首次打印（原件）" in dialog.copy_badge.text()
    assert dialog.reason_box.isHidden()
    # this machine has no printer: 保存为 PDF is the choice, and the clerk is told why
    assert [dialog.printer.itemText(i) for i in range(dialog.printer.count())] == ["保存为 PDF"]
    assert "本机没有可用的打印机" in dialog.printer_hint.text() and dialog.print_button.text() == "保存为 PDF…"


def test_save_as_pdf_writes_the_file_logs_it_and_the_case_shows_it(qtbot, gui, context, collected, tmp_path,
                                                                    monkeypatch):
    asked = save_to(monkeypatch, tmp_path / "收件凭证")
    dialog = gui.printing.print_case("receipt", collected.id, gui.window)
    with qtbot.waitSignal(dialog.print_did_finish) as finished:
        qtbot.keyClick(dialog.print_button, Qt.Key.Key_Return)  # Enter on the default button
    written = tmp_path / "收件凭证.pdf"
    assert written.read_bytes() == dialog.rendered.data and not list(tmp_path.glob(".*.tmp"))
    assert asked[0][1].endswith(".pdf") and "PDF" in asked[0][2]
    assert "收件凭证" in pdf_text(written.read_bytes()) and "副本" not in pdf_text(written.read_bytes())
    entry = finished.args[0]
    assert (entry.outcome, entry.copy_no, entry.target) == ("saved", 1, "PDF 文件")
    assert dialog.result() == QDialog.DialogCode.Accepted
    show(qtbot, gui, "cases")
    gui.cases_page.show_case(collected.id)
    body = gui.cases_page.detail.body.text()
    assert "打印记录" in body and "收件凭证" in body and "原件，保存为 PDF" in body


def test_a_reprint_is_a_copy_and_needs_a_reason(qtbot, gui, context, collected, tmp_path, monkeypatch):
    save_to(monkeypatch, tmp_path / "first.pdf")
    first = gui.printing.print_case("receipt", collected.id, gui.window)
    with qtbot.waitSignal(first.print_did_finish):
        first.save_as_pdf()
    save_to(monkeypatch, tmp_path / "second.pdf")
    dialog = gui.printing.print_case("receipt", collected.id, gui.window)
    assert not dialog.reason_box.isHidden() and "本次为第 2 份" in dialog.copy_badge.text()
    assert "副本" in pdf_text(dialog.rendered.data)  # the preview is never mistaken for an original
    dialog.save_as_pdf()
    assert "请选择补打原因" in dialog.message.text() and not (tmp_path / "second.pdf").exists()
    dialog.reason.setCurrentIndex(dialog.reason.findData("other"))
    dialog.save_as_pdf()
    assert "请写明具体原因" in dialog.message.text()
    dialog.reason.setCurrentIndex(dialog.reason.findData("lost"))
    assert "原件遗失" in pdf_text(dialog.rendered.data)
    dialog.reason_text.setText("申请人称丢失")
    with qtbot.waitSignal(dialog.print_did_finish):
        dialog.save_as_pdf()
    assert (tmp_path / "second.pdf").read_bytes() == dialog.rendered.data
    entries = history(context, collected.id)
    assert [(e.copy_no, e.reason_code, e.reason, e.clerk) for e in entries] == [
        (1, "", "", "培训学员"), (2, "lost", "申请人称丢失", "培训学员")]
    gui.cases_page.show_case(collected.id)
    assert "副本（第 2 份）" in gui.cases_page.detail.body.text()
    assert "补打原因：原件遗失：申请人称丢失" in gui.cases_page.detail.body.text()


def test_printing_goes_to_a_real_qprinter_off_the_gui_thread(qtbot, context, gui, collected, tmp_path, pool_runner):
    printers = FilePrinters(tmp_path)
    launcher = PrintLauncher(pool_runner, printers)
    launcher.set_service(context.printing(), context.intake().load)
    dialog = launcher.print_case("receipt", collected.id, gui.window)
    qtbot.waitUntil(lambda: dialog.rendered is not None, timeout=10_000)
    assert dialog.printer.currentData() == LASER and dialog.print_button.text() == "打印"
    dialog.copies.setValue(2)
    with qtbot.waitSignal(dialog.print_did_finish, timeout=30_000) as finished:
        dialog.print_now()
        assert dialog.print_button.isEnabled() is False  # busy while the worker prints; the window is not
    assert printers.jobs[0].thread != threading.main_thread().name
    out = tmp_path / f"{LASER}.pdf"
    assert [tuple(round(v) for v in s) for s in sizes_mm(out)] == [(210, 297)] * 2  # two copies, A4
    assert all(abs(w - 210) < 0.3 and abs(h - 297) < 0.3 for w, h in sizes_mm(out))
    assert ink(out) > 0.005
    entry = finished.args[0]
    assert (entry.outcome, entry.target, entry.copies, entry.copy_no) == ("printed", LASER, 2, 1)
    assert context.settings.get("print.printer.receipt") == LASER  # remembered for the next receipt


def test_closing_while_the_preview_or_the_print_runs_is_safe(qtbot, context, gui, collected, tmp_path, pool_runner):
    """Esc at once after 确认收件 (the receipt dialog opens by itself), or while printing: the dialog
    hides, its job still reports to it, and it closes for good afterwards — no crash, and a print
    that went through is in the history."""
    printers = FilePrinters(tmp_path)
    launcher = PrintLauncher(pool_runner, printers)
    launcher.set_service(context.printing(), context.intake().load)
    dialog = launcher.print_case("receipt", collected.id, gui.window)
    assert dialog._busy  # the preview is being made on the pool
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
    qtbot.waitUntil(lambda: launcher.dialog is None, timeout=10_000)  # closed for good once the render was in

    dialog = launcher.print_case("receipt", collected.id, gui.window)
    qtbot.waitUntil(lambda: dialog.rendered is not None and not dialog._busy, timeout=10_000)
    dialog.print_now()
    dialog.reject()  # closed mid-job: the print stops between pages (a one-page slip may be through)
    assert not dialog.isVisible()
    qtbot.waitUntil(lambda: launcher.dialog is None, timeout=30_000)
    entries = history(context, collected.id)  # none when the job was cancelled before it began
    assert len(entries) <= 1 and all(e.outcome == "printed" or (e.outcome == "failed" and "已取消" in e.error)
                                     for e in entries), entries


@pytest.mark.parametrize("size", ["100x150", "76x130", "100x180"])
def test_labels_print_on_paper_of_their_own_size(qtbot, tmp_path, size):
    data = waybill_pdf(samples.waybill(), size)
    out = tmp_path / "label.pdf"
    outcome = engine.print_pdf(data, engine.PrintTarget(file=str(out)), label_size_mm(size))
    (w, h), = sizes_mm(out)
    want = label_size_mm(size)
    assert outcome.pages == 1 and abs(w - want[0]) < 0.3 and abs(h - want[1]) < 0.3
    assert ink(out) > 0.01


def test_a_printer_that_is_gone_says_so_logs_the_attempt_and_the_pdf_is_kept(qtbot, gui, context, collected,
                                                                              tmp_path, monkeypatch):
    launcher = PrintLauncher(gui.runner, printers=lambda: [LASER])  # listed a moment ago, unplugged since
    launcher.set_service(context.printing(), context.intake().load)
    failures = []
    launcher.print_did_fail.connect(failures.append)
    dialog = launcher.print_case("receipt", collected.id, gui.window)
    assert dialog.printer.currentData() == LASER
    dialog.print_now()
    assert "现在不可用" in dialog.message.text() and "保存为 PDF" in dialog.message.text()
    assert dialog.message.kind == "error" and failures and dialog.result() != QDialog.DialogCode.Accepted
    assert dialog.print_button.isEnabled() and dialog.save_button.isEnabled()
    save_to(monkeypatch, tmp_path / "kept.pdf")
    with qtbot.waitSignal(dialog.print_did_finish):
        dialog.save_button.click()
    assert "副本" not in pdf_text((tmp_path / "kept.pdf").read_bytes())  # the failed try did not count
    assert [(e.outcome, e.copy_no, e.target) for e in history(context, collected.id)] == [
        ("failed", 0, LASER), ("saved", 1, "PDF 文件")]
    assert "现在不可用" in history(context, collected.id)[0].error


@pytest.mark.qt_log_ignore("QPainter::begin")  # Qt says so itself when the printer refuses the job
def test_a_printer_that_refuses_the_job(qtbot, gui, context, collected, tmp_path):
    launcher = PrintLauncher(gui.runner, FilePrinters(tmp_path / "unplugged" / "spool"))
    launcher.set_service(context.printing(), context.intake().load)
    dialog = launcher.print_case("receipt", collected.id, gui.window)
    dialog.print_now()
    assert "无法开始打印" in dialog.message.text() and dialog.isVisible()
    (entry,) = history(context, collected.id)
    assert (entry.outcome, entry.copy_no) == ("failed", 0) and "无法开始打印" in entry.error


# -- the pages -------------------------------------------------------------------------------------
def test_case_detail_prints_the_receipt_and_offers_the_notice_only_when_something_is_missing(
        qtbot, gui, context, collected):
    show(qtbot, gui, "cases")
    page = gui.cases_page
    page.show_case(collected.id)
    detail = page.detail
    assert not detail.print_receipt_button.isHidden() and detail.print_receipt_button.isEnabled()
    assert not detail.print_notice_button.isEnabled()  # every material was received
    assert "无需" in detail.print_notice_button.toolTip()
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    dialog = gui.printing.dialog
    assert dialog is not None and dialog.rendered.issue.request.kind == "receipt"
    assert dialog.rendered.issue.request.key == collected.receipt_no
    dialog.reject()
    qtbot.keyClick(page.table, Qt.Key.Key_P,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert gui.printing.dialog is None  # nothing missing: no notice


def test_a_draft_with_missing_materials_prints_its_notice_from_review_and_detail(qtbot, gui, context):
    show(qtbot, gui)
    page = gui.intake_page
    page.add_item(NATIONAL)
    fill_applicant(page)
    receive_all(page, skip=("户口簿",))
    page.autosaver.flush()
    page.go_to_step("review")
    assert page.review.notice_box.isVisible() and page.review.notice_print_button.isVisible()
    page.review.notice_print_button.click()
    dialog = gui.printing.dialog
    assert dialog.rendered.issue.request.kind == "notice" and "户口簿" in pdf_text(dialog.rendered.data)
    dialog.reject()
    gui.window.show_page("cases")
    gui.cases_page.show_case(page.case.id)
    assert gui.cases_page.detail.print_notice_button.isEnabled()
    assert gui.cases_page.detail.print_receipt_button.isHidden()


def collect_on_screen(qtbot, gui):
    """A case collected through the intake page (Ctrl+Enter's slot); returns the page."""
    show(qtbot, gui)
    page = gui.intake_page
    page.add_item(NATIONAL)
    fill_applicant(page)
    receive_all(page)
    page.confirm()
    assert page.stack.currentWidget() is page.receipt_scroll
    return page


def test_confirming_an_intake_offers_the_receipt_at_once(qtbot, gui, context, tmp_path, monkeypatch):
    page = collect_on_screen(qtbot, gui)
    dialog = gui.printing.dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.rendered.issue.request.key == page.case.receipt_no and not dialog.rendered.issue.reprint
    assert QApplication.focusWidget() is dialog.print_button or dialog.print_button.isDefault()
    save_to(monkeypatch, tmp_path / "r.pdf")
    with qtbot.waitSignal(dialog.print_did_finish):
        qtbot.keyClick(dialog.print_button, Qt.Key.Key_Return)  # one key
    assert (tmp_path / "r.pdf").exists()
    qtbot.keyClick(page.receipt.next_button, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    again = gui.printing.dialog
    assert again is not None and again.rendered.issue.reprint  # Ctrl+P again: a 副本, reason asked
    assert not again.reason_box.isHidden()
    again.reject()


def test_no_print_dialog_when_the_offer_is_switched_off(qtbot, make_gui, context):
    context.settings.set("print.offer_after_intake", False)
    gui = make_gui(context)
    page = collect_on_screen(qtbot, gui)
    assert gui.printing.dialog is None
    assert page.receipt.print_button.isEnabled()


def test_dialog_class_is_the_launchers(gui):
    assert gui.printing.engine() is engine and PrintDialog.__name__ == "PrintDialog"
