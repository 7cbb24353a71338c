"""一次性告知书: everything missing or wrong in the intake checklist, told once and completely
(行政许可法 Art. 32), on one A4 page a person can act on.

The lines come from ``domain.case.notice``: required materials not received (未收), materials
that failed 形式审查 (不合格, with the clerk's reasons) and those promised later (容缺后补, with
the date by which to bring them). Each line says what is wrong and the requirement it fails
(type and number of copies, necessity, the guide's acceptance standard). Problems outside the
checklist (an agent without authorization …) can be added as plain lines.

The type shrinks a step or two to keep a long list on one page; only a list that still does not
fit flows onto a second page (numbered, header repeated).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Sequence

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Spacer

from counter_client.domain.case import Case, MaterialEntry, notice
from counter_client.errors import UserError

from . import fields, flow, pdf
from . import text as t

TITLE = "一次性告知书"
HOTLINE = "12345"
SCALES = (flow.A4_SCALE,
          flow.Scale(body=8.8, small=7.4, heading=9.8, title=19, number=15, margin=14 * mm, pad=1.4 * mm),
          flow.Scale(body=8.0, small=6.9, heading=9.0, title=18, number=14, margin=13 * mm, pad=1.1 * mm))


@dataclass(frozen=True)
class NoticeContext:
    """Where and by whom the notice is given, and how it is marked.

    ``supplement_by`` is the date by which 容缺后补 materials must be brought (none: "按约定时间");
    ``other_problems`` are lines outside the material checklist, in Chinese."""

    hall_name: str
    window: str
    clerk: str
    printed_at: datetime
    hall_phone: str = ""
    hall_address: str = ""
    supplement_by: date | None = None
    other_problems: Sequence[str] = ()
    hotline: str = HOTLINE
    training: bool = False
    copy: bool = False
    copy_note: str = ""


def notice_lines(case: Case) -> list[MaterialEntry]:
    """The checklist lines the notice lists (the domain rule, in checklist order)."""
    return notice(case)


def notice_pdf(case: Case, ctx: NoticeContext) -> bytes:
    """The 一次性告知书 of ``case`` (a draft or a collected case) as PDF bytes."""
    lines = notice_lines(case)
    if not lines and not ctx.other_problems:
        raise UserError("清单中没有缺少或不合格的材料，无需出具一次性告知书。", f"empty notice for case {case.id}")
    data = b""
    for scale in SCALES:
        data = _build(case, ctx, lines, scale)
        if flow.page_count(data) == 1:
            break
    return data


def _reference(case: Case) -> str:
    return fields.grouped_receipt(case.receipt_no) if case.receipt_no else case.id


def _build(case: Case, ctx: NoticeContext, lines: list[MaterialEntry], s: flow.Scale) -> bytes:
    width = A4[0] - 2 * s.margin
    story = [
        _Title(s, _reference(case), "收件编号" if case.receipt_no else "办件编号"),
        Spacer(1, s.body * 0.8),
        *_opening(case, ctx, width, s),
        *_table(case, ctx, lines, width, s),
        *_closing(ctx, lines, width, s),
    ]
    meta = pdf.Meta(title=f"{TITLE} {_reference(case)}", created=ctx.printed_at, subject=ctx.hall_name,
                    author=ctx.clerk)
    footer = f"{TITLE} · {ctx.hall_name} · {_reference(case)} · 打印于 {fields.moment(ctx.printed_at)}"
    marks = pdf.Marks(training=ctx.training, copy=ctx.copy, copy_note=ctx.copy_note)

    def decorate(c, number: int, total: int) -> None:
        pdf.page_footer(c, A4[0], s.margin, number, total, footer, size=s.small * 0.95)
        if marks.copy:
            pdf.draw_copy_stamp(c, A4[0] - s.margin, A4[1] - s.margin * 0.45, marks.copy_note, size=s.heading)
        if marks.training:
            pdf.draw_watermark(c, *A4)

    return flow.build(story, A4, s.margin, meta, decorate, top=s.margin + (4 * mm if ctx.copy else 0),
                      bottom=s.margin + 3 * mm)


class _Title(Flowable):
    def __init__(self, s: flow.Scale, reference: str, label: str):
        super().__init__()
        self.s = s
        self.reference = reference
        self.label = label
        self._w = 0.0

    def wrap(self, availWidth, availHeight):
        self._w = availWidth
        return availWidth, self.s.title * 1.25 + self.s.small * 1.8

    def draw(self):
        c, s = self.canv, self.s
        _, h = self.wrap(self._w, 0)
        box = t.Box(0, 0, self._w, h)
        t.draw(c, self._w / 2, h - s.title, TITLE, s.title, bold=True, align="center", char_space=s.title * 0.15,
               box=box)
        ref = f"{self.label}：{self.reference}"
        t.draw(c, self._w, s.small * 0.4, ref, s.small, align="right", color=pdf.GREY, box=box)
        t.draw(c, 0, s.small * 0.4, "跨省通办 · 材料补齐补正告知", s.small, color=pdf.GREY, box=box)
        c.setStrokeColor(pdf.INK)
        c.setLineWidth(1.0)
        c.line(0, 0, self._w, 0)


def _opening(case: Case, ctx: NoticeContext, width: float, s: flow.Scale) -> list:
    a = case.applicant
    who = a.name.strip() or "申请人"
    if a.id_number.strip():
        who += f"（{fields.party_id(a)}）"
    when = fields.moment(case.created_at) or fields.moment(ctx.printed_at)
    when_day = when[:10] if when else ""
    y, m, d = (when_day.split("-") + ["", "", ""])[:3] if when_day else ("", "", "")
    day_text = f"{int(y)}年{int(m)}月{int(d)}日" if when_day else "近日"
    body = (f"您于{day_text}在{ctx.hall_name}申请办理下列事项。经形式审查，您提交的申请材料尚不齐全或者不符合法定形式。"
            "根据《中华人民共和国行政许可法》第三十二条的规定，现将需要补齐、补正的全部内容一次性告知如下。")
    out: list = [flow.Text(f"{who}：", s.heading, bold=True, space_after=s.body * 0.4),
                 flow.Text("　　" + body, s.body, leading=s.body * 1.6, space_after=s.body * 0.5)]
    for i, item in enumerate(case.items, start=1):
        out.append(flow.Text(f"事项 {i}：{item.name}（办理地部门：{item.department or item.department_code}）", s.body,
                             leading=s.body * 1.45))
    return out


def _problem(m: MaterialEntry, ctx: NoticeContext) -> tuple[str, bool]:
    """What is wrong with the line, and whether it is a rejection (shown bold)."""
    if m.review == "不合格":
        reasons = "；".join(r.strip() for r in m.review_reasons if r.strip()) or "不符合要求"
        return f"不合格：{reasons}。请补正后重新提交", True
    if m.form == "容缺后补":
        when = f"请于 {ctx.supplement_by.isoformat()} 前补交" if ctx.supplement_by else "请按约定时间补交"
        return f"容缺后补：{when}", False
    return "未提交：请补齐", True


def _table(case: Case, ctx: NoticeContext, lines: list[MaterialEntry], width: float, s: flow.Scale) -> list:
    k = width / (180 * mm)
    multi = len(case.items) > 1
    cols = (9, 50, 52, 69) if not multi else (9, 44, 46, 61, 20)
    widths = [w * k * mm for w in cols]
    names = ["序号", "材料名称", "需要您做的", "应符合的要求"] + (["涉及事项"] if multi else [])
    rows = [[flow.cell(n, s, size=s.small, color=pdf.GREY) for n in names]]
    for i, m in enumerate(lines, start=1):
        problem, strong = _problem(m, ctx)
        row = [flow.cell(str(i), s, align="center"), flow.cell(m.name, s, bold=True),
               flow.cell(problem, s, bold=strong), flow.cell(fields.requirement(m), s, size=s.small)]
        if multi:
            row.append(flow.cell(fields.item_numbers(case, m), s, size=s.small))
        rows.append(row)
    start = len(lines) + 1
    for j, other in enumerate(ctx.other_problems, start=start):
        row = [flow.cell(str(j), s, align="center"), flow.cell("其他", s, bold=True), flow.cell(other, s, bold=True),
               flow.cell("", s)]
        if multi:
            row.append("")
        rows.append(row)
    total = len(lines) + len(ctx.other_problems)
    missing = sum(1 for m in lines if m.review != "不合格" and m.form != "容缺后补")
    wrong = sum(1 for m in lines if m.review == "不合格")
    later = sum(1 for m in lines if m.review != "不合格" and m.form == "容缺后补")
    summary = "，".join(x for x in (f"缺少 {missing} 项" if missing else "", f"需补正 {wrong} 项" if wrong else "",
                                   f"容缺后补 {later} 项" if later else "",
                                   f"其他 {len(ctx.other_problems)} 项" if ctx.other_problems else "") if x)
    return [flow.Heading(f"需要补齐、补正的内容（共 {total} 项：{summary}）", s),
            flow.table(rows, widths, flow.grid_style(s), repeat=1)]


def _closing(ctx: NoticeContext, lines: list[MaterialEntry], width: float, s: flow.Scale) -> list:
    texts = ["请按上表备齐、补正材料后，携带本告知书到本窗口继续办理。"
             "以上为需补齐、补正的全部内容，窗口不再另行要求其他材料。"]
    if any(m.form == "容缺后补" for m in lines):
        when = f"于 {ctx.supplement_by.isoformat()} 前" if ctx.supplement_by else "按约定时间"
        texts.append(f"标为“容缺后补”的材料请{when}补交，逾期未补交的，申请将无法继续办理。")
    contact = [f"窗口地址：{ctx.hall_address.strip()}" if ctx.hall_address.strip() else "",
               f"窗口电话：{ctx.hall_phone.strip()}" if ctx.hall_phone.strip() else "",
               f"咨询投诉：{ctx.hotline} 政务服务便民热线"]
    texts.append("；".join(x for x in contact if x) + "。")
    body = [flow.Text(x, s.body, leading=s.body * 1.5, space_before=s.body * 0.3) for x in texts]
    seal = flow.Text(f"{ctx.hall_name}（{ctx.window}）　　经办人：{ctx.clerk}　　{fields.moment(ctx.printed_at)[:10]}",
                     s.body, align="right", space_before=s.body * 0.8)
    signatures = flow.signatures(["申请人（代办人）签收", "窗口人员签字"], width, s)
    return [Spacer(1, s.body * 0.4), *body, KeepTogether([seal, signatures])]


__all__ = ["NoticeContext", "notice_lines", "notice_pdf"]
