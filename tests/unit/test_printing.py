"""Printing below Qt: original or 副本, the reasons a reprint needs, the print log (who, when,
why, where, failed attempts), PDF files written atomically — on a real cases file (print log
migration included), real collected cases and real PDFs read back with pypdfium2."""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3

import pypdfium2 as pdfium
import pytest

from counter_client.documents import samples
from counter_client.documents.waybill import label_size_mm, waybill_pdf
from counter_client.errors import UserError
from counter_client.services import printing as p
from counter_client.settings import Settings
from offline_cache.printlog import PrintLog
from tests.unit.test_intake import ID_OK, intake, ready  # noqa: F401 - the intake fixture on real files

PT_PER_MM = 72 / 25.4
MOMENT = dt.datetime(2026, 9, 28, 11, 5, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def text_of(data: bytes) -> str:
    doc = pdfium.PdfDocument(data)
    try:
        return "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc))).replace("\r", "")
    finally:
        doc.close()


def size_mm(data: bytes) -> tuple[float, float]:
    doc = pdfium.PdfDocument(data)
    try:
        return tuple(round(v / PT_PER_MM, 1) for v in doc[0].get_size())
    finally:
        doc.close()


@pytest.fixture
def settings(tmp_path):
    return Settings(tmp_path / "settings.json")  # training: the training hall and clerk


@pytest.fixture
def service(intake, settings):
    cases = intake.cases
    return p.PrintService(PrintLog(cases.store, cases.cipher), settings, intake.catalogue, now=lambda: MOMENT)


@pytest.fixture
def collected(intake):
    """A collected case whose 参保缴费凭证 is promised later (so it also has a notice)."""
    case = intake.add_item(intake.new_case(), "YL-500103")
    case = ready(intake, case)
    key = next(m.key for m in case.materials if m.name == "参保缴费凭证")
    case = intake.set_material(case, key, form="容缺后补")
    return intake.confirm(case)


def test_print_log_migration_follows_the_case_migrations(intake):
    names = intake.cases.store.schema_version()
    assert names[-1] == "m007_print_log" and names.index("m005_statuses") < names.index("m007_print_log")


def test_first_print_is_the_original_the_second_a_copy_with_a_reason(service, collected):
    request = service.receipt_request(collected)
    assert request.kind == "receipt" and request.key == collected.receipt_no and request.page_mm == p.A4_MM
    issue = service.prepare(request)
    assert issue.copy_no == 1 and not issue.reprint
    first = service.render(issue)
    assert "收件凭证" in text_of(first.data) and "副本" not in text_of(first.data)
    assert size_mm(first.data) == (210.0, 297.0)
    entry = service.printed(first, "柜台激光打印机")
    assert (entry.copy_no, entry.outcome, entry.target, entry.clerk) == (1, "printed", "柜台激光打印机", "培训学员")
    assert entry.at == MOMENT.isoformat(timespec="seconds") and entry.case_id == collected.id

    again = service.prepare(service.receipt_request(collected))
    assert again.copy_no == 2 and again.reprint and again.previous[0].id == entry.id
    preview = service.render(again)  # before a reason is chosen the preview is already a 副本
    assert "副本" in text_of(preview.data)
    with pytest.raises(UserError) as info:
        service.printed(preview, "柜台激光打印机")
    assert "补打原因" in info.value.message
    rendered = service.render(again, "lost")
    text = text_of(rendered.data)
    assert "副本" in text and "原件遗失" in text and "第2份" in text
    second = service.printed(rendered, "柜台激光打印机", reason="申请人称凭证丢在车上")
    history = service.history(collected.id)
    assert [(e.copy_no, e.reason_code, e.reason) for e in history] == [(1, "", ""),
                                                                      (2, "lost", "申请人称凭证丢在车上")]
    assert second.clerk == "培训学员" and second.at


def test_the_reason_in_the_clerks_words_is_sealed_on_disk(service, collected, intake):
    issue = service.prepare(service.receipt_request(collected))
    service.printed(service.render(issue), "A4")
    again = service.render(service.prepare(service.receipt_request(collected)), "other")
    with pytest.raises(UserError) as info:
        service.printed(again, "A4", reason="  ")
    assert "写明" in info.value.message
    service.printed(again, "A4", reason="申请人张三要求寄给女儿")
    raw = sqlite3.connect(intake.cases.store.path).execute("SELECT reason FROM print_log WHERE reason IS NOT NULL")
    blobs = [bytes(r[0]) for r in raw]
    assert len(blobs) == 1 and "张三".encode() not in blobs[0]
    assert service.history(collected.id)[-1].reason == "申请人张三要求寄给女儿"


def test_a_failed_attempt_is_logged_and_the_next_try_is_still_the_original(service, collected):
    rendered = service.render(service.prepare(service.receipt_request(collected)))
    failed = service.failed(rendered, "柜台激光打印机", "打印机已断开")
    assert (failed.outcome, failed.copy_no, failed.error) == ("failed", 0, "打印机已断开")
    issue = service.prepare(service.receipt_request(collected))
    assert issue.copy_no == 1 and "副本" not in text_of(service.render(issue).data)


def test_saving_a_pdf_is_atomic_counts_as_an_issue_and_failures_are_logged(service, collected, tmp_path):
    rendered = service.render(service.prepare(service.receipt_request(collected)))
    (tmp_path / "out").mkdir()
    path, entry = service.save(rendered, tmp_path / "out" / "凭证")
    assert path.name == "凭证.pdf" and path.read_bytes() == rendered.data
    assert (entry.outcome, entry.target, entry.copy_no) == ("saved", p.PDF_TARGET, 1)
    assert [n for n in os.listdir(tmp_path / "out")] == ["凭证.pdf"]  # no temporary file left

    copy = service.render(service.prepare(service.receipt_request(collected)), "extra")
    with pytest.raises(UserError) as info:
        service.save(copy, tmp_path / "no-such-dir" / "x.pdf")
    assert "文件夹不存在" in info.value.message and not (tmp_path / "no-such-dir").exists()
    taken = tmp_path / "taken"
    (taken / "x.pdf").mkdir(parents=True)  # the rename fails after the data was written
    with pytest.raises(UserError) as info:
        service.save(copy, taken / "x.pdf")
    assert "该名称是一个文件夹" in info.value.message and os.listdir(taken) == ["x.pdf"]  # temporary file removed
    outcomes = [(e.outcome, e.copy_no) for e in service.history(collected.id)]
    assert outcomes == [("saved", 1), ("failed", 0), ("failed", 0)]


def test_receipt_size_follows_the_setting(service, collected, settings):
    settings.set("print.receipt_size", "A5")
    request = service.receipt_request(collected)
    assert request.page_mm == p.A5_MM
    assert size_mm(service.render(service.prepare(request)).data) == (148.0, 210.0)


def test_notice_of_a_draft_and_a_new_notice_when_the_checklist_changes(service, intake):
    draft = intake.add_item(intake.new_case(), "YL-500103")
    request = service.notice_request(draft)
    assert request.kind == "notice" and request.key.startswith(draft.id + ":") and request.case_id == draft.id
    rendered = service.render(service.prepare(request))
    assert "一次性告知书" in text_of(rendered.data) and "参保缴费凭证" in text_of(rendered.data)
    service.printed(rendered, "A4")
    assert service.prepare(service.notice_request(draft)).reprint  # same lines: a 副本
    key = next(m.key for m in draft.materials if m.name == "申请人居民身份证")
    changed = intake.set_material(draft, key, form="原件核验", pages=1)
    assert not service.prepare(service.notice_request(changed)).reprint  # fewer lines: a new notice
    done = ready(intake, draft)
    done = intake.set_material(done, next(m.key for m in done.materials if m.name == "参保缴费凭证"), form="不适用")
    with pytest.raises(UserError) as info:
        service.notice_request(done)
    assert "无需出具" in info.value.message


def test_a_draft_has_no_receipt(service, intake):
    with pytest.raises(UserError) as info:
        service.receipt_request(intake.new_case())
    assert "尚未收件" in info.value.message


def test_the_hook_prints_other_documents_the_same_way(service, tmp_path):
    data = samples.waybill()

    def render(marks: p.CopyMarks) -> bytes:
        from dataclasses import replace
        return waybill_pdf(replace(data, copy=marks.copy, copy_note=marks.note), "100x150")

    request = p.document_request("waybill", data.tracking_no, f"邮件面单 {data.tracking_no}", label_size_mm("100x150"),
                                 render)
    path, first = service.issue_to_file(request, tmp_path / "label.pdf")
    assert first.copy_no == 1 and size_mm(path.read_bytes()) == (100.0, 150.0)
    with pytest.raises(UserError):
        service.issue_to_file(request, tmp_path / "again.pdf")
    assert not (tmp_path / "again.pdf").exists()
    path, second = service.issue_to_file(request, tmp_path / "again.pdf", "unclear")
    assert second.copy_no == 2 and "副本" in text_of(path.read_bytes())
    with pytest.raises(ValueError):
        p.document_request("poster", "x", "x", (100, 150), render)


def test_printer_remembered_per_kind_of_document(service, settings):
    service.remember_printer("receipt", "柜台激光打印机")
    service.remember_printer("waybill", "标签打印机")
    reloaded = Settings.load(settings.path)
    assert reloaded.get("print.printer.receipt") == "柜台激光打印机"
    assert reloaded.get("print.printer.waybill") == "标签打印机" and reloaded.get("print.printer.notice") == ""


def test_log_lines_name_no_person(service, collected, caplog):
    with caplog.at_level(logging.INFO, logger="counter_client.services.printing"):
        rendered = service.render(service.prepare(service.receipt_request(collected)))
        service.printed(rendered, "柜台激光打印机")
        again = service.render(service.prepare(service.receipt_request(collected)), "other")
        service.printed(again, "A4", reason="张三要求")
    text = caplog.text
    assert "receipt copy 1 printed" in text and "receipt copy 2 printed" in text
    for secret in ("张三", ID_OK, collected.applicant.phone):
        assert secret not in text


def test_an_issue_is_written_down_before_it_happens(service, collected):
    """Two windows previewing the same receipt as the original: the second to print is refused
    (it would be a second unmarked original); an issue cut short by a crash still counts."""
    from offline_cache.printlog import IssuedMeanwhile

    here = service.render(service.prepare(service.receipt_request(collected)))
    there = service.render(service.prepare(service.receipt_request(collected)))
    assert here.issue.copy_no == there.issue.copy_no == 1
    pending = service.begin(here, "柜台激光打印机")  # the printer has it; the answer is not in yet
    assert pending.outcome == "pending"
    with pytest.raises(IssuedMeanwhile) as info:
        service.begin(there, "另一台打印机")
    assert "副本" in info.value.message
    # the process dies here: the pending row stays, counted as issued
    after = service.prepare(service.receipt_request(collected))
    assert after.copy_no == 2 and after.previous[0].outcome == "pending"
    done = service.finish(pending, "printed")  # (had it lived)
    assert (done.outcome, done.copy_no) == ("printed", 1)
    failed = service.finish(service.begin(service.render(after, "unclear"), "A4"), "failed", "卡纸")
    assert (failed.outcome, failed.copy_no) == ("failed", 0)  # a failure gives its number back
    assert service.prepare(service.receipt_request(collected)).copy_no == 2
