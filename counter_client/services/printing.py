"""Printing (Qt-free): which PDF a print request makes, whether it is the original or a 副本, and
the print log.

A **document request** (``DocumentRequest``) names a document (kind and key), its paper size in
millimetres and a ``render`` function that makes its PDF marked as an original or as a copy.
``receipt_request`` and ``notice_request`` make the requests of a case's 收件凭证 and 一次性告知书;
the mail desk makes its waybill and manifest requests with ``document_request`` and prints them
through the same path (the print dialog, ``PrintService.save`` for files): that is the hook.

Original or copy: the first time a document is printed or saved as a PDF it is the original;
every later issue of the same document (same kind and key) is a 副本, stamped as such on the
paper, and needs a reason (one of ``REPRINT_REASONS``, "其他" with the clerk's own words). A PDF
file counts as an issue, because it can be printed anywhere: at most one unmarked original of a
slip ever exists. An attempt that fails (printer gone, file not written) is logged as failed and
does not count, so the next try is still the original.

The 一次性告知书 of a case is keyed by the case and by what it lists: printed again with the same
lines it is a 副本; after the checklist changed it is a new notice.

Qt printing itself (preview, printers, page size, the worker) is ``background/printing.py`` and
``ui/printing/``; they hand back an outcome that ``record`` writes down. Logs name kinds, copy
numbers and outcomes, never the people on the paper.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from counter_client.domain.case import Case
from counter_client.domain.receipt import format_grouped
from counter_client.errors import UserError
from counter_client.settings import Settings, atomic_write_bytes
from offline_cache.printlog import FAILED, PENDING, PRINTED, SAVED, PrintEntry, PrintLog

log = logging.getLogger(__name__)

RECEIPT, NOTICE, WAYBILL, MANIFEST = "receipt", "notice", "waybill", "manifest"
KINDS = (RECEIPT, NOTICE, WAYBILL, MANIFEST)
KIND_TITLES = {RECEIPT: "收件凭证", NOTICE: "一次性告知书", WAYBILL: "邮件面单", MANIFEST: "材料交接单"}
PRINTER_SETTING = "print.printer.{kind}"  # the printer last chosen for each kind of document
PDF_TARGET = "PDF 文件"  # the log's word for a document saved as a file
A4_MM = (210.0, 297.0)
A5_MM = (148.0, 210.0)
TRAINING_STATUS_BASE = "https://zwfw.example.gov.cn"  # training slips: a look-up address that leads nowhere real
DEFAULT_CLERK = "窗口人员"

OTHER = "other"
REPRINT_REASONS: dict[str, str] = {  # code -> the words on the paper and in the dialog
    "lost": "原件遗失",
    "unclear": "打印不清或卡纸",
    "extra": "申请人另需一份",
    OTHER: "其他",
}


@dataclass(frozen=True)
class CopyMarks:
    """How ``render`` marks the PDF: a copy (副本 stamp with ``note``) or the original; the
    moment it is printed."""

    copy: bool
    note: str
    printed_at: datetime


@dataclass(frozen=True)
class DocumentRequest:
    """One document to print: what it is, its paper and how to make its PDF."""

    kind: str  # one of KINDS
    key: str  # identifies the document in the log: receipt no, notice key, waybill no, parcel id
    title: str  # for the dialog and the file name, in Chinese
    page_mm: tuple[float, float]  # width, height of the paper (the PDF's own page size)
    render: Callable[[CopyMarks], bytes] = field(repr=False, compare=False)
    case_id: str = ""  # the case it belongs to (receipt, notice), for the case's print history

    @property
    def printer_setting(self) -> str:
        return PRINTER_SETTING.format(kind=self.kind)


def document_request(kind: str, key: str, title: str, page_mm: tuple[float, float],
                     render: Callable[[CopyMarks], bytes], case_id: str = "") -> DocumentRequest:
    """The hook for other documents (waybills, manifests): a checked ``DocumentRequest``."""
    if kind not in KINDS:
        raise ValueError(f"unknown document kind {kind!r}")
    if not key:
        raise ValueError("a document request needs a key")
    width, height = page_mm
    if not (10 <= width <= 500 and 10 <= height <= 1000):
        raise ValueError(f"implausible page size {page_mm!r} mm")
    return DocumentRequest(kind, key, title, (float(width), float(height)), render, case_id)


@dataclass(frozen=True)
class Issue:
    """A request about to be printed: the ``copy_no`` it will carry (1 the original, 2… a 副本)
    and the earlier issues of the same document."""

    request: DocumentRequest
    copy_no: int
    previous: tuple[PrintEntry, ...] = ()

    @property
    def reprint(self) -> bool:
        return self.copy_no > 1


@dataclass(frozen=True)
class Rendered:
    """The exact PDF shown in the preview and sent to the printer or the file."""

    issue: Issue
    data: bytes = field(repr=False)
    reason_code: str = ""
    printed_at: datetime | None = None


def reason_label(code: str) -> str:
    return REPRINT_REASONS.get(code, "")


def check_reason(issue: Issue, reason_code: str, reason: str) -> None:
    """A reprint needs a reason from the list; "其他" needs the clerk's words."""
    if not issue.reprint:
        return
    if reason_code not in REPRINT_REASONS:
        raise UserError(f"这份{KIND_TITLES.get(issue.request.kind, '文书')}已打印过，本次为第 {issue.copy_no} 份（副本），"
                        "请选择补打原因。", f"reprint of {issue.request.kind} without a reason")
    if reason_code == OTHER and not reason.strip():
        raise UserError("补打原因选择“其他”时，请写明具体原因。", "reprint reason 'other' without words")


def save_pdf(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` so that a crash leaves no half-written file
    (``settings.atomic_write_bytes``), into a folder that exists (a folder is never made here: the
    clerk chose it). Errors become a Chinese message."""
    target = Path(path)
    if target.suffix.lower() != ".pdf":
        target = target.with_name(target.name + ".pdf")
    try:
        if not target.parent.is_dir():
            raise FileNotFoundError(errno.ENOENT, "no such folder", str(target.parent))
        atomic_write_bytes(target, data)
    except OSError as exc:
        raise UserError(f"PDF 文件没有保存：{_os_reason(exc)}。请换一个文件夹（例如“文档”或 U 盘）重试。",
                        f"saving a PDF failed: {type(exc).__name__} errno={exc.errno}") from None
    return target


def _os_reason(exc: OSError) -> str:
    return {errno.ENOENT: "文件夹不存在", errno.EACCES: "没有写入该文件夹的权限", errno.EPERM: "没有写入该文件夹的权限",
            errno.EROFS: "该位置是只读的", errno.ENOSPC: "磁盘空间不足", errno.EISDIR: "该名称是一个文件夹"}.get(
        exc.errno, "写入失败")


class PrintService:
    """Requests, original-or-copy decisions and the print log of this terminal."""

    def __init__(self, log_: PrintLog, settings: Settings, catalogue: Any = None,
                 now: Callable[[], datetime] = lambda: datetime.now().astimezone()):
        self.log = log_
        self.settings = settings
        self.catalogue = catalogue
        self._now = now

    # -- who and where ----------------------------------------------------------------------------
    @property
    def clerk(self) -> str:
        return self.settings.hall()["clerk.name"] or DEFAULT_CLERK

    def printer_for(self, kind: str) -> str:
        """The printer last used for this kind of document ('' for none yet)."""
        return self.settings.get(PRINTER_SETTING.format(kind=kind))

    def remember_printer(self, kind: str, name: str) -> None:
        """Keep the printer chosen for this kind of document (saved to the settings file)."""
        key = PRINTER_SETTING.format(kind=kind)
        if self.settings.get(key) != name:
            self.settings.set(key, name)
            self.settings.save()

    # -- the case's documents ---------------------------------------------------------------------
    def receipt_request(self, case: Case, size: str | None = None) -> DocumentRequest:
        """The 收件凭证 of a collected case, on ``size`` (A4 or A5; default ``print.receipt_size``)."""
        from counter_client.documents.receipt import ReceiptContext, receipt_pdf, status_url

        if case.state != "collected" or not case.receipt_no:
            state = "已作废" if case.state == "void" else "尚未收件"
            raise UserError(f"该办件{state}，没有可打印的收件凭证。", f"receipt of a {case.state} case")
        size = size or self.settings.get("print.receipt_size")
        if size not in ("A4", "A5"):
            raise UserError(f"收件凭证的纸张应为 A4 或 A5，收到“{size}”。", f"bad receipt size {size!r}")
        hall = self.settings.hall()
        base = self.settings.get("print.status_url") or self.settings.get("platform.url") or TRAINING_STATUS_BASE
        channels = self._complaint_channels(case)
        training = self.settings.training

        def render(marks: CopyMarks) -> bytes:
            ctx = ReceiptContext(hall_name=hall["hall.name"], window=hall["hall.window"], clerk=self.clerk,
                                 printed_at=marks.printed_at, status_url=status_url(base, case.receipt_no),
                                 complaint_channels=channels, hall_phone=self.settings.get("hall.phone"),
                                 training=training, copy=marks.copy, copy_note=marks.note)
            return receipt_pdf(case, ctx, size=size)

        return document_request(RECEIPT, case.receipt_no, f"收件凭证 {format_grouped(case.receipt_no)}",
                                A4_MM if size == "A4" else A5_MM, render, case.id)

    def notice_request(self, case: Case) -> DocumentRequest:
        """The 一次性告知书 of a draft or collected case (UserError when nothing is missing)."""
        from counter_client.documents.notice import NoticeContext, notice_lines, notice_pdf

        lines = notice_lines(case)
        if not lines:
            raise UserError("清单中没有缺少或不合格的材料，无需出具一次性告知书。", "notice with nothing missing")
        hall = self.settings.hall()
        training = self.settings.training

        def render(marks: CopyMarks) -> bytes:
            ctx = NoticeContext(hall_name=hall["hall.name"], window=hall["hall.window"], clerk=self.clerk,
                                printed_at=marks.printed_at, hall_phone=self.settings.get("hall.phone"),
                                hall_address=self.settings.get("hall.address"), training=training,
                                copy=marks.copy, copy_note=marks.note)
            return notice_pdf(case, ctx)

        return document_request(NOTICE, notice_key(case), "一次性告知书", A4_MM, render, case.id)

    def _complaint_channels(self, case: Case) -> dict[str, str]:
        """Item code -> the 办理地's complaint channel as printed text (guide first, department second)."""
        out: dict[str, str] = {}
        if self.catalogue is None:
            return out
        for item in case.items:
            text = ""
            guide = self.catalogue.guide(item.code)
            if guide is not None:
                for channel in guide.channels:
                    if channel.kind == "投诉":
                        text = channel.phone or channel.online or channel.address
                        if text:
                            break
            if not text:
                department = self.catalogue.department(item.department_code)
                text = department.complaint_phone if department is not None else ""
            if text:
                out[item.code] = f"{item.department} 投诉电话 {text}" if text[:1].isdigit() else f"{item.department} {text}"
        return out

    # -- issuing ----------------------------------------------------------------------------------
    def prepare(self, request: DocumentRequest) -> Issue:
        """Original or 副本: how many times the document was issued before."""
        previous = tuple(e for e in self.log.for_document(request.kind, request.key) if e.issued)
        return Issue(request, len(previous) + 1, previous)

    def render(self, issue: Issue, reason_code: str = "") -> Rendered:
        """The PDF of ``issue`` as it will be printed (a reprint without a reason yet is stamped
        副本 all the same, so the preview is never mistaken for an original)."""
        moment = self._now()
        note = ""
        if issue.reprint:
            note = f"第{issue.copy_no}份 补打 {moment.strftime('%Y-%m-%d %H:%M')}"
            label = reason_label(reason_code)
            if label and reason_code != OTHER:
                note += f" · {label}"
        data = issue.request.render(CopyMarks(issue.reprint, note, moment))
        return Rendered(issue, data, reason_code if issue.reprint else "", moment)

    def begin(self, rendered: Rendered, target: str, *, copies: int = 1, reason: str = "") -> PrintEntry:
        """Write the issue down before the printer or the file gets it (outcome ``pending``): refused
        (``IssuedMeanwhile``) when the document was issued since the preview was made."""
        issue = rendered.issue
        check_reason(issue, rendered.reason_code, reason)
        entry = PrintEntry(kind=issue.request.kind, doc_key=issue.request.key, copy_no=issue.copy_no,
                           at=self._now().isoformat(timespec="seconds"), clerk=self.clerk, outcome=PENDING,
                           target=target, copies=max(1, int(copies)), case_id=issue.request.case_id,
                           reason_code=rendered.reason_code, reason=reason.strip() if issue.reprint else "")
        return self.log.begin(entry)

    def finish(self, pending: PrintEntry, outcome: str, error: str = "") -> PrintEntry:
        """What became of an issue begun: printed, saved as a file, or failed (the number is given back)."""
        entry = self.log.finish(pending, outcome, error)
        log.info("print log: %s copy %d %s (%s, %d copies)%s", entry.kind, pending.copy_no, outcome,
                 "pdf file" if entry.target == PDF_TARGET else "printer", entry.copies,
                 f" reason={entry.reason_code}" if entry.reason_code else "")
        return entry

    def save(self, rendered: Rendered, path: str | Path, reason: str = "") -> tuple[Path, PrintEntry]:
        """Save the PDF to ``path`` (atomically) and log it as issued; a failure is logged too."""
        pending = self.begin(rendered, PDF_TARGET, reason=reason)
        try:
            written = save_pdf(path, rendered.data)
        except UserError as exc:
            self.finish(pending, FAILED, exc.message)
            raise
        return written, self.finish(pending, SAVED)

    def issue_to_file(self, request: DocumentRequest, path: str | Path, reason_code: str = "",
                      reason: str = "") -> tuple[Path, PrintEntry]:
        """Prepare, render and save in one call (the command line)."""
        issue = self.prepare(request)
        check_reason(issue, reason_code, reason)
        return self.save(self.render(issue, reason_code), path, reason)

    def printed(self, rendered: Rendered, printer: str, copies: int = 1, reason: str = "") -> PrintEntry:
        """Begin and settle at once (a print already out, e.g. reported by another program)."""
        return self.finish(self.begin(rendered, printer, copies=copies, reason=reason), PRINTED)

    def failed(self, rendered: Rendered, target: str, error: str, copies: int = 1, reason: str = "") -> PrintEntry:
        """An attempt that failed before anything was begun (logged, never counted)."""
        issue = rendered.issue
        return self.log.record(PrintEntry(kind=issue.request.kind, doc_key=issue.request.key, copy_no=0,
                                          at=self._now().isoformat(timespec="seconds"), clerk=self.clerk,
                                          outcome=FAILED, target=target, copies=max(1, int(copies)),
                                          case_id=issue.request.case_id, reason_code=rendered.reason_code,
                                          reason=reason.strip() if issue.reprint else "", error=error))

    def history(self, case_id: str) -> list[PrintEntry]:
        return self.log.for_case(case_id)


def notice_key(case: Case) -> str:
    """The notice's identity: the case and a digest of what it lists (same lines: a 副本)."""
    from counter_client.documents.notice import notice_lines

    lines = [[m.key, m.form, m.review, list(m.review_reasons)] for m in notice_lines(case)]
    digest = hashlib.sha256(json.dumps(lines, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()[:12]
    return f"{case.id}:{digest}"


__all__ = ["A4_MM", "A5_MM", "CopyMarks", "DocumentRequest", "Issue", "KINDS", "KIND_TITLES", "PDF_TARGET",
           "PENDING", "PRINTED", "PrintService", "REPRINT_REASONS", "Rendered", "SAVED", "FAILED", "document_request",
           "notice_key", "save_pdf"]
