"""How case fields read on paper: dates, parties with masked numbers, received forms, time limits.

One place, so the receipt, the notice and the manifest say the same thing the same way.
"""

from __future__ import annotations

from datetime import date, datetime

from counter_client.domain.case import Case, CaseItem, MaterialEntry, Party
from counter_client.domain.identity import TYPE_LABELS
from counter_client.domain.receipt import ReceiptError, format_grouped

from .masking import mask_id, mask_phone

DASH = "—"
FORM_NOTES = {
    "原件核验": "原件已核验",
    "复印件": "复印件",
    "电子证照": "电子证照替代",
    "容缺后补": "容缺后补（待补交）",
    "不适用": "不适用",
    "未收": "未收",
}


def moment(value: str | datetime | None) -> str:
    """``2025-11-25 09:30`` from an ISO timestamp (seconds and zone dropped); raw text otherwise."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    try:
        return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return value


def day(value: str | date | None) -> str:
    if not value:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return value


def grouped_receipt(receipt_no: str) -> str:
    """The receipt number in reading groups, or as stored when it does not parse."""
    try:
        return format_grouped(receipt_no)
    except ReceiptError:
        return receipt_no


def id_type_label(party: Party) -> str:
    if party.kind == "enterprise":
        return TYPE_LABELS.get("credit_code", "统一社会信用代码")
    return TYPE_LABELS.get(party.id_type, "证件")


def party_id(party: Party) -> str:
    """``居民身份证 110105********002X``; a credit code is public and shown whole."""
    if not party.id_number.strip():
        return DASH
    number = party.id_number.strip() if party.kind == "enterprise" else mask_id(party.id_number)
    return f"{id_type_label(party)} {number}"


def phone(value: str) -> str:
    return mask_phone(value) if value.strip() else DASH


def time_limit(item: CaseItem) -> str:
    if item.promised_days is None:
        return "以办理地部门为准"
    return f"{item.promised_days} 个{item.promised_unit}"


def due(item: CaseItem) -> str:
    if not item.due_date:
        return DASH
    text = day(item.due_date)
    return text if item.due_verified else f"{text}\n（未核实）"


def requirement(m: MaterialEntry) -> str:
    """What the material must be (the window's wording), with the acceptance standard after."""
    head = m.requirement()
    return f"{head}\n{m.standard.strip()}" if m.standard.strip() else head


def pages(m: MaterialEntry) -> str:
    if m.form in ("电子证照", "容缺后补", "未收", "不适用"):
        return DASH
    n = m.pages or len(m.scans)
    return f"{n} 页" if n else DASH


def item_numbers(case: Case, m: MaterialEntry) -> str:
    """``事项 1、2`` when the case has several items, else empty."""
    if len(case.items) < 2:
        return ""
    index = {item.code: i for i, item in enumerate(case.items, start=1)}
    numbers = sorted(index[c] for c in m.items if c in index)
    return "事项 " + "、".join(str(n) for n in numbers) if numbers else ""


def delivery(case: Case) -> str:
    d = case.delivery
    if d.method == "邮寄":
        who = "，".join(p for p in (d.recipient.strip(), mask_phone(d.phone) if d.phone.strip() else "") if p)
        return f"邮寄送达：{who}；{d.address.strip() or DASH}"
    if d.method == "收件地代领":
        return "收件地代领：办结后到本窗口领取"
    return "窗口领取：办结后到办理地部门窗口领取"
