"""材料交接单 (parcel manifest), A4: every case and material in one parcel to one 办理地 department,
with counts and handover signature lines.

The header (parcel, tracking number as Code 128, from the hall, to the department) is repeated
on every page together with the table's column heads, and each page is numbered 第 n 页 共 N 页,
so a page that comes loose still says which parcel it belongs to.

A case of several items (多地联办) may route items to several departments: only the items of
``ctx.department_code`` and the materials they need are listed (all of them when no item of the
case names the department, so nothing is silently left out).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Spacer

from counter_client.domain.case import Case, MaterialEntry
from counter_client.domain.waybill import parse as parse_tracking
from counter_client.errors import UserError

from . import barcodes, fields, flow, pdf
from . import text as t
from .fonts import MONO

TITLE = "跨省通办材料交接单"
IN_PARCEL = ("原件核验", "复印件")
HEADER_H = 40 * mm


@dataclass(frozen=True)
class ManifestContext:
    """The parcel and both ends of the handover."""

    parcel_id: str
    tracking_no: str
    hall_name: str
    department: str
    printed_at: datetime
    hall_code: str = ""
    clerk: str = ""
    department_code: str = ""
    department_address: str = ""
    training: bool = False
    copy: bool = False
    copy_note: str = ""


@dataclass(frozen=True)
class _CaseLines:
    case: Case
    items: list
    materials: list[MaterialEntry]

    @property
    def paper_pages(self) -> int:
        return sum(m.pages or len(m.scans) for m in self.materials if m.form in IN_PARCEL)


def _select(case: Case, department_code: str) -> _CaseLines:
    items = [i for i in case.items if i.department_code == department_code] if department_code else []
    if not items:
        items = list(case.items)
    codes = {i.code for i in items}
    materials = [m for m in case.materials
                 if m.form not in ("未收", "不适用") and (not m.items or codes & set(m.items))]
    return _CaseLines(case, items, materials)


def copies(m: MaterialEntry) -> str:
    if m.form == "原件核验":
        return f"原件 {max(1, m.originals)}"
    if m.form == "复印件":
        return f"复印件 {max(1, m.copies)}"
    return fields.DASH


def manifest_pdf(cases: Sequence[Case], ctx: ManifestContext) -> bytes:
    """The 材料交接单 of a parcel holding ``cases`` as PDF bytes."""
    if not cases:
        raise UserError("包裹中还没有办件，不能打印交接单。", f"empty parcel {ctx.parcel_id}")
    number = parse_tracking(ctx.tracking_no).text
    s = flow.A4_SCALE
    width = A4[0] - 2 * s.margin
    groups = [_select(c, ctx.department_code) for c in cases]
    # the counts and the signatures stay together: a signature page always says what was signed for
    story = [_table(groups, width, s), Spacer(1, s.body * 0.6),
             KeepTogether([*_summary(groups, s), *_handover(ctx, width, s)])]
    meta = pdf.Meta(title=f"材料交接单 {ctx.parcel_id}", created=ctx.printed_at, subject=ctx.department,
                    author=ctx.clerk)
    footer = f"材料交接单 · {ctx.parcel_id} · 邮件号 {number} · 打印于 {fields.moment(ctx.printed_at)}"
    marks = pdf.Marks(training=ctx.training, copy=ctx.copy, copy_note=ctx.copy_note)

    def decorate(c, page: int, total: int) -> None:
        _header(c, ctx, number, s, page, total)
        pdf.page_footer(c, A4[0], s.margin, page, total, footer, size=s.small * 0.95)
        if marks.training:
            pdf.draw_watermark(c, *A4)

    return flow.build(story, A4, s.margin, meta, decorate, top=s.margin + HEADER_H, bottom=s.margin + 3 * mm)


def _header(c, ctx: ManifestContext, number: str, s: flow.Scale, page: int, total: int) -> None:
    """Title, barcode of the tracking number, from/to: the same on every page."""
    left = s.margin
    right = A4[0] - s.margin
    top = A4[1] - s.margin
    area = t.Box(left, top - HEADER_H + 3 * mm, right - left, HEADER_H - 3 * mm)
    module = barcodes.MIN_MODULE * 1.1
    bw = barcodes.code128_width(number, module)
    bar_h = 12 * mm
    bx = right - bw + barcodes.QUIET_MODULES * module  # the bars' right quiet zone hangs into the margin
    barcodes.draw_code128(c, bx, top - bar_h, number, module=module, height=bar_h)
    num_box = t.Box(right - bw + 2 * barcodes.QUIET_MODULES * module, top - bar_h - s.body * 1.5,
                    bw - 2 * barcodes.QUIET_MODULES * module, s.body * 1.4)
    t.draw_in(c, num_box, f"邮件号 {number}", size=s.body, min_size=6, font=MONO, align="center", max_lines=1,
              valign="middle")
    title_box = t.Box(left, top - s.title * 1.25, right - left - bw - 4 * mm, s.title * 1.25)
    t.draw_in(c, title_box, TITLE, size=s.title, min_size=10, bold=True, max_lines=1)
    sub = f"交接单号 {ctx.parcel_id}" + (f"　（续页 {page}/{total}）" if page > 1 else "")
    t.draw_in(c, t.Box(left, title_box.y - s.body * 1.6, title_box.w, s.body * 1.5), sub, size=s.body, min_size=6,
              color=pdf.GREY, max_lines=1)
    if ctx.copy:
        pdf.draw_copy_stamp(c, right - bw - 6 * mm, top + 1 * mm, ctx.copy_note, size=s.heading)
    # from / to in two columns under the title
    grid_top = top - 21 * mm
    col = (right - left) / 2
    rows = [
        (("寄出单位", f"{ctx.hall_name}" + (f"（{ctx.hall_code}）" if ctx.hall_code else "")),
         ("接收单位", f"{ctx.department}" + (f"（{ctx.department_code}）" if ctx.department_code else ""))),
        (("经办人", ctx.clerk or fields.DASH), ("接收地址", ctx.department_address or fields.DASH)),
    ]
    y = grid_top
    row_h = s.body * 1.9
    for a, b in rows:
        for i, (key, value) in enumerate((a, b)):
            x = left + i * col
            t.draw_in(c, t.Box(x, y - row_h, 16 * mm, row_h), key, size=s.small, min_size=5.5, color=pdf.GREY,
                      max_lines=1, valign="middle")
            t.draw_in(c, t.Box(x + 16 * mm, y - row_h, col - 18 * mm, row_h), value, size=s.body, min_size=5.5,
                      max_lines=2, valign="middle", leading=1.15)
        y -= row_h
    c.saveState()
    c.setStrokeColor(pdf.INK)
    c.setLineWidth(1.0)
    c.line(left, area.y, right, area.y)
    c.restoreState()


def _table(groups: list[_CaseLines], width: float, s: flow.Scale):
    k = width / (180 * mm)
    widths = [w * k * mm for w in (13, 85, 25, 21, 16, 20)]
    head = [flow.cell(x, s, size=s.small, color=pdf.GREY, align=a) for x, a in
            (("序号", "center"), ("材料名称", "left"), ("收取方式", "left"), ("份数", "left"), ("页数", "right"),
             ("接收核对", "center"))]
    rows: list = [head]
    style = flow.grid_style(s)
    for n, g in enumerate(groups, start=1):
        r = len(rows)
        c = g.case
        a = c.applicant
        who = f"申请人 {a.name}" + (f"（{fields.party_id(a)}）" if a.id_number.strip() else "")
        if c.agent is not None:
            who += f"　代办人 {c.agent.name}"
        items = "；".join(f"{i.name}" for i in g.items)
        count = f"材料 {len(g.materials)} 项，纸质 {g.paper_pages} 页"
        rows.append([flow.cell(str(n), s, bold=True, align="center"),
                     [flow.cell(f"收件编号 {fields.grouped_receipt(c.receipt_no) or c.id}", s, bold=True, font=MONO),
                      flow.cell(who, s, size=s.small),
                      flow.cell(f"事项：{items}　（{count}）", s, size=s.small)],
                     "", "", "", ""])
        style += [("SPAN", (1, r), (-1, r)), ("BACKGROUND", (0, r), (-1, r), pdf.SHADE)]
        if not g.materials:
            rows.append(["", flow.cell("（本件无随件材料）", s, color=pdf.GREY), "", "", "", ""])
        for i, m in enumerate(g.materials, start=1):
            pages = str(m.pages or len(m.scans)) if m.form in IN_PARCEL else fields.DASH
            count = copies(m) if m.form in IN_PARCEL else ("不随件" if m.form == "电子证照" else "待补交")
            rows.append([flow.cell(f"{n}.{i}", s, align="center", color=pdf.GREY), flow.cell(m.name, s),
                         flow.cell(m.form, s, size=s.small), flow.cell(count, s, size=s.small),
                         flow.cell(pages, s, align="right"),
                         flow.CheckBox(s.body) if m.form in IN_PARCEL else ""])
    return flow.table(rows, widths, style, repeat=1)


def _summary(groups: list[_CaseLines], s: flow.Scale) -> list:
    materials = [m for g in groups for m in g.materials]
    paper = [m for m in materials if m.form in IN_PARCEL]
    pages = sum(g.paper_pages for g in groups)
    e = sum(1 for m in materials if m.form == "电子证照")
    later = sum(1 for m in materials if m.form == "容缺后补")
    parts = [f"本包共 {len(groups)} 件办件，材料 {len(materials)} 项", f"随件纸质材料 {len(paper)} 项 {pages} 页"]
    if e:
        parts.append(f"电子证照 {e} 项（不随件，已随电子件推送）")
    if later:
        parts.append(f"容缺后补 {later} 项（待补交后另行寄送）")
    return [flow.Text("；".join(parts) + "。", s.body, bold=True),
            flow.Text("接收单位请逐项核对，在“接收核对”栏打 ✓；如有短缺或破损，请在备注中注明并及时告知寄出单位。",
                      s.small, color=pdf.GREY, space_before=s.pad)]


def _handover(ctx: ManifestContext, width: float, s: flow.Scale) -> list:
    notes = flow.Text("备注：" + "＿" * 40, s.body, space_before=s.body * 1.2)
    names = ["移交人（寄出窗口）签字", "承运人（揽收）签字", "接收人（办理地部门）签字"]
    return [notes, flow.signatures(names, width, s)]


__all__ = ["ManifestContext", "manifest_pdf"]
