"""收件凭证: the slip the applicant takes home, A4 or A5.

What it carries (issue 5): hall, window, clerk, date and time; the receipt number as a Code 128
barcode and in large grouped text; a QR code of the status look-up address; the applicant with
the ID number masked (first 6, last 4), the agent and the helper mode where present; each item
with its 办理地 department, mode, promised time limit and due date (未核实 when the calendar
could not confirm it); each material with how it was received and its pages; the result
delivery; the 12345 hotline and each 办理地's complaint channel; signature lines.

The window collects (收件) and never accepts: the word 受理 appears nowhere on this slip (a test
checks the extracted text), because the legal clock starts at the 办理地.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Mapping

from reportlab.lib.pagesizes import A4, A5
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Spacer

from counter_client.domain.case import Case
from counter_client.domain.receipt import parse as parse_receipt
from counter_client.errors import UserError

from . import barcodes, fields, flow, pdf
from . import text as t
from .fonts import MONO

PAGE_SIZES = {"A4": A4, "A5": A5}
HOTLINE = "12345"
TITLE = "收件凭证"
PageSize = Literal["A4", "A5"]


@dataclass(frozen=True)
class ReceiptContext:
    """What the receipt needs beyond the case: where, who, when, and how it is marked.

    ``status_url`` is the full look-up address put in the QR code (see ``status_url``);
    ``complaint_channels`` maps an item code to its 办理地's complaint channel as printed text
    (from the guide's 投诉 channel or the department's 投诉电话)."""

    hall_name: str
    window: str
    clerk: str
    printed_at: datetime
    status_url: str = ""
    complaint_channels: Mapping[str, str] = field(default_factory=dict)
    hall_phone: str = ""
    hotline: str = HOTLINE
    training: bool = False
    copy: bool = False
    copy_note: str = ""


def status_url(base: str, receipt_no: str) -> str:
    """The look-up address of a receipt: ``{base}/status/{receipt}`` (``base`` without the
    trailing slash), or ``base`` with ``{receipt}`` replaced when it contains it."""
    if "{receipt}" in base:
        return base.replace("{receipt}", receipt_no)
    return f"{base.rstrip('/')}/status/{receipt_no}"


def receipt_pdf(case: Case, ctx: ReceiptContext, *, size: PageSize = "A4") -> bytes:
    """The 收件凭证 of a collected ``case`` as PDF bytes (deterministic for the same input)."""
    if case.state != "collected" or not case.receipt_no:
        state = "已作废" if case.state == "void" else "尚未收件"
        raise UserError(f"该办件{state}，没有可打印的收件凭证。", f"receipt of a {case.state} case {case.id}")
    if size not in PAGE_SIZES:
        raise ValueError(f"unknown receipt size {size!r}")
    number = parse_receipt(case.receipt_no).text
    pagesize = PAGE_SIZES[size]
    scale = flow.A4_SCALE if size == "A4" else flow.A5_SCALE
    width = pagesize[0] - 2 * scale.margin
    story = [
        _Header(number, ctx, case, scale),
        Spacer(1, scale.body * 0.9),
        *_where(case, ctx, width, scale),
        *_parties(case, width, scale),
        *_items(case, width, scale),
        *_materials(case, width, scale),
        *_delivery(case, width, scale),
        *_notes(case, ctx, width, scale),
        KeepTogether([flow.signatures(["申请人（代办人）签字", "收件人员签字"], width, scale)]),
    ]
    meta = pdf.Meta(title=f"{TITLE} {number}", created=ctx.printed_at, subject=ctx.hall_name, author=ctx.clerk)
    marks = pdf.Marks(training=ctx.training, copy=ctx.copy, copy_note=ctx.copy_note)
    grouped = fields.grouped_receipt(number)
    footer = f"{TITLE} {grouped} · 打印于 {fields.moment(ctx.printed_at)} · {ctx.hall_name}"
    return flow.build(story, pagesize, scale.margin, meta, _decorate(pagesize, scale, marks, footer, grouped),
                      top=scale.margin + (4 * mm if ctx.copy else 0), bottom=scale.margin + 3 * mm)


def _decorate(pagesize, scale: flow.Scale, marks: pdf.Marks, footer: str, grouped: str) -> pdf.Decorate:
    w, h = pagesize

    def decorate(c, number: int, total: int) -> None:
        pdf.page_footer(c, w, scale.margin, number, total, footer, size=scale.small * 0.95)
        if number > 1:  # a continuation page still says whose slip it is
            size = scale.small
            y = h - scale.margin * 0.6
            run = f"{TITLE}（续）　收件编号 {grouped}"
            t.draw(c, scale.margin, y, run, size, color=pdf.GREY,
                   box=t.Box(scale.margin, y - size, w - 2 * scale.margin, size * 2))
        if marks.copy:
            pdf.draw_copy_stamp(c, w - scale.margin, h - scale.margin * 0.45, marks.copy_note,
                                size=scale.heading * 1.05)
        if marks.training:
            pdf.draw_watermark(c, w, h)

    return decorate


class _Header(Flowable):
    """Title, hall and mode; the receipt number large and as Code 128; the QR code at the right."""

    def __init__(self, number: str, ctx: ReceiptContext, case: Case, scale: flow.Scale):
        super().__init__()
        self.number = number
        self.ctx = ctx
        self.case = case
        self.s = scale
        a4 = scale is flow.A4_SCALE
        self.qr = (30 if a4 else 22) * mm if ctx.status_url else 0.0
        self.bar_h = (13 if a4 else 12) * mm
        self.module_pref = (0.40 if a4 else 0.34) * mm
        self.block = self.s.title * 1.1 + self.s.body * 1.7 + self.s.small * 1.6 + self.s.number * 1.3 + self.bar_h
        self._w = 0.0

    def wrap(self, availWidth, availHeight):
        self._w = availWidth
        return availWidth, max(self.block, self.qr + self.s.small * 2.2) + self.s.pad

    def draw(self):
        c, s = self.canv, self.s
        w = self._w
        _, h = self.wrap(w, 0)
        left_w = w - (self.qr + 6 * mm if self.qr else 0)
        box = t.Box(0, 0, left_w, h)
        y = h - s.title * 0.85
        t.draw(c, 0, y, TITLE, s.title, bold=True, box=box)
        tag = f"跨省通办 · {self.case.mode}"
        t.draw(c, t.width(TITLE, s.title) + s.title * 0.6, y, t.ellipsize(tag, s.body, left_w * 0.6), s.body,
               color=pdf.GREY, box=box)
        y -= s.body * 1.7
        t.draw(c, 0, y, t.ellipsize(self.ctx.hall_name, s.body, left_w), s.body, box=box)
        y -= s.small * 1.7
        t.draw(c, 0, y, "收件编号", s.small, color=pdf.GREY, box=box)
        y -= s.number * 1.05
        t.draw(c, 0, y, fields.grouped_receipt(self.number), s.number, font=MONO, bold=True, box=box)
        module = barcodes.module_for(self.number, left_w, preferred=self.module_pref)
        # the bars' quiet zone starts at x=0 so the symbol's left edge lines up with the text
        barcodes.draw_code128(c, -barcodes.QUIET_MODULES * module, 0, self.number, module=module,
                              height=self.bar_h)
        if self.qr:
            x = w - self.qr
            barcodes.draw_qr(c, x, h - self.qr, self.ctx.status_url, self.qr)
            cap = t.Box(x - 4 * mm, 0, self.qr + 4 * mm, h - self.qr)
            t.draw(c, x + self.qr / 2, h - self.qr - s.small * 1.0, "扫码查询办理进度", s.small, align="center",
                   color=pdf.GREY, box=cap)


def _where(case: Case, ctx: ReceiptContext, width: float, s: flow.Scale) -> list:
    row = [("收件窗口", ctx.window), ("收件人员", ctx.clerk),
           ("收件时间", fields.moment(case.collected_at) or fields.DASH)]
    return [flow.kv_rows([row], width, s, columns=3, label_width=_label_width(s))]


def _label_width(s: flow.Scale) -> float:
    return (17 if s is flow.A4_SCALE else 13) * mm


def _parties(case: Case, width: float, s: flow.Scale) -> list:
    a = case.applicant
    rows: list[list[tuple[str, str]]] = []
    if a.kind == "enterprise":
        rows += [[("申请单位", a.name), ("证件", fields.party_id(a))],
                 [("经办人", a.contact or fields.DASH), ("联系电话", fields.phone(a.phone))]]
    else:
        rows += [[("申请人", a.name), ("证件", fields.party_id(a))], [("联系电话", fields.phone(a.phone))]]
    if case.agent is not None:
        g = case.agent
        name = f"{g.name}（{g.relation}）" if g.relation.strip() else g.name
        rows += [[("代办人", name), ("证件", fields.party_id(g))], [("联系电话", fields.phone(g.phone))]]
    helper = case.helper
    extra: list[tuple[str, str]] = []
    if helper.mode != "无":
        who = helper.name.strip() or fields.DASH
        if helper.staff_no.strip():
            who += f"（工号 {helper.staff_no.strip()}）"
        extra.append((f"{helper.mode}员", who))
    if case.mode == "全程网办帮办" and helper.platform_app_no.strip():
        extra.append(("网上申办编号", helper.platform_app_no.strip()))
    # the helper shares the last row when it has room
    if extra and len(rows[-1]) == 1:
        rows[-1].append(extra.pop(0))
    if extra:
        rows.append(extra)
    return [flow.Heading("申请人", s), flow.kv_rows(rows, width, s, label_width=_label_width(s))]


def _widths(width: float, mm_a4: tuple[float, ...], first_min: float = 8 * mm) -> list[float]:
    """Column widths designed for the 180 mm A4 body, scaled to ``width``, the first (序号)
    column never narrower than ``first_min`` (the rest give way proportionally)."""
    k = width / (180 * mm)
    widths = [w * k * mm for w in mm_a4]
    if widths[0] < first_min:
        extra = first_min - widths[0]
        rest = sum(widths[1:])
        widths = [first_min] + [w - extra * w / rest for w in widths[1:]]
    return widths


def _items(case: Case, width: float, s: flow.Scale) -> list:
    widths = _widths(width, (9, 62, 52, 24, 33))
    names = ("序号", "申请事项", "办理地部门", "承诺时限", "预计办结")
    head = [flow.cell(x, s, size=s.small, color=pdf.GREY) for x in names]
    rows = [head]
    for i, item in enumerate(case.items, start=1):
        name = [flow.cell(item.name, s), flow.cell(f"事项编码 {item.code}", s, size=s.small * 0.92, color=pdf.GREY)]
        if item.sub_status.strip():
            name.append(flow.cell(f"当前状态：{item.sub_status}", s, size=s.small * 0.92, color=pdf.GREY))
        rows.append([flow.cell(str(i), s, align="center"), name, flow.cell(item.department or item.department_code, s),
                     flow.cell(fields.time_limit(item), s), flow.cell(fields.due(item), s)])
    note = flow.Text("预计办结日期按承诺时限以工作日推算，实际以办理地部门通知为准；"
                     "标“未核实”的日期所在年份的节假日安排尚未确认。",
                     s.small, color=pdf.GREY, space_before=s.pad)
    return [flow.Heading(f"申请事项（{len(case.items)} 项）", s),
            flow.table(rows, widths, flow.grid_style(s), repeat=1),
            note]


def _materials(case: Case, width: float, s: flow.Scale) -> list:
    widths = _widths(width, (9, 80, 30, 17, 44))
    head = [flow.cell(x, s, size=s.small, color=pdf.GREY) for x in ("序号", "材料名称", "收取方式", "页数", "备注")]
    rows = [head]
    received = [m for m in case.materials if m.form not in ("未收", "不适用")]
    for i, m in enumerate(received, start=1):
        notes = [fields.item_numbers(case, m)]
        if m.form == "电子证照" and m.elicence_ref.strip():
            notes.append(f"证照编号 {m.elicence_ref.strip()}")
        if m.form == "容缺后补":
            notes.append("请按约定时间补交")
        rows.append([flow.cell(str(i), s, align="center"), flow.cell(m.name, s), flow.cell(m.form, s),
                     flow.cell(fields.pages(m), s, align="right"),
                     flow.cell("；".join(n for n in notes if n), s, size=s.small)])
    if not received:
        rows.append(["", flow.cell("（无纸质或电子材料）", s, color=pdf.GREY), "", "", ""])
    total_pages = sum(m.pages or len(m.scans) for m in received if m.form in ("原件核验", "复印件"))
    title = f"收取材料（{len(received)} 项，纸质 {total_pages} 页）"
    return [flow.Heading(title, s), flow.table(rows, widths, flow.grid_style(s), repeat=1)]


def _delivery(case: Case, width: float, s: flow.Scale) -> list:
    return [flow.Heading("结果送达", s), flow.Text(fields.delivery(case), s.body)]


def _notes(case: Case, ctx: ReceiptContext, width: float, s: flow.Scale) -> list:
    lines = [
        "本凭证仅证明本窗口已收到您的申请材料（收件），申请由办理地部门依法审查并作出决定，办理进度以办理地部门反馈为准。",
        "请妥善保管本凭证，凭收件编号" + ("或扫描上方二维码" if ctx.status_url else "")
        + "查询办理进度；需要补正材料时，本窗口将及时通知您。",
    ]
    if any(m.form == "容缺后补" for m in case.materials):
        lines.append("标为“容缺后补”的材料请按约定时间补交，逾期未补交可能影响办理。")
    channels = []
    for i, item in enumerate(case.items, start=1):
        channel = ctx.complaint_channels.get(item.code, "").strip()
        if channel:
            prefix = f"事项 {i}：" if len(case.items) > 1 else ""
            channels.append(f"{prefix}{channel}")
    complaint = f"咨询投诉：{ctx.hotline} 政务服务便民热线"
    if ctx.hall_phone.strip():
        complaint += f"；本窗口电话 {ctx.hall_phone.strip()}"
    if channels:
        complaint += "；办理地投诉渠道：" + "；".join(channels)
    lines.append(complaint)
    body = [flow.Text(f"{i}. {line}", s.small, color=pdf.INK, leading=s.small * 1.45)
            for i, line in enumerate(lines, 1)]
    return [KeepTogether([flow.Heading("温馨提示", s), *body])]


__all__ = ["ReceiptContext", "receipt_pdf", "status_url"]
