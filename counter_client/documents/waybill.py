"""Waybill labels (面单) for thermal label printers: 100×150 mm (default), 76×130 mm, and
100×180 mm in two parts (the label and a sender's stub below a tear line).

What a label carries (domain.md, mail): the tracking number as Code 128 at scanner grade
(module ≥ 0.33 mm, here 0.375 mm — three dots of a 203 dpi head — where it fits; bars ≥ 12 mm)
with the number as text below; the receiver (the 办理地 department, or the applicant for a
result mailed back); the sender (the hall with its carrier customer number); contents, weight,
payment, date; the receipt numbers in the remarks. Phone numbers are masked, first 3 and last 4
kept (隐私面单).

Every field is drawn into a fixed box with ``text.draw_in``: long names and addresses wrap, then
shrink, and at the smallest legible size are cut with an ellipsis. Nothing is drawn outside its
box (``text.tracing`` lets the tests check every draw). The tracking number is checked by
``domain.waybill.parse``: the client prints only numbers the carrier issued.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Literal, Sequence

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from counter_client.domain.waybill import parse as parse_tracking

from . import barcodes, fields, pdf
from . import text as t
from .fonts import MONO
from .masking import mask_phone

PAYMENTS = ("寄付", "到付", "月结")
LabelSize = Literal["100x150", "76x130", "100x180"]
DEFAULT_SIZE: LabelSize = "100x150"
MODULE = 0.375 * mm  # 3 dots at 203 dpi
MIN_TEXT = 5.5  # pt: the smallest size a field shrinks to on a thermal label


@dataclass(frozen=True)
class Contact:
    """A sender or receiver: an organisation or person, with an optional contact person."""

    name: str
    phone: str = ""
    address: str = ""
    postcode: str = ""
    contact: str = ""  # the person at the organisation (收件人 of a department's mail desk)


@dataclass(frozen=True)
class WaybillData:
    """Everything printed on one label. ``tracking_no`` comes from the carrier's pool."""

    tracking_no: str
    sender: Contact
    receiver: Contact
    date: date
    customer_no: str = ""  # the hall's carrier customer number (协议客户号)
    contents: str = "政务服务申请材料"
    weight_g: int | None = None
    payment: str = "寄付"
    pieces: int = 1
    receipt_nos: Sequence[str] = ()
    remarks: str = ""
    carrier: str = "EMS"
    carrier_name: str = "中国邮政速递物流"
    product: str = "标准快递"
    training: bool = False
    copy: bool = False
    copy_note: str = ""


@dataclass(frozen=True)
class _Spec:
    """Geometry of one label size, millimetres (fonts in points)."""

    width: float
    height: float
    stub: float  # height of the tear-off stub at the bottom (0: none)
    margin: float
    header: float
    barcode: float
    bar_height: float
    receiver: float
    sender: float
    info: float
    sign: float
    name_size: float
    address_size: float
    sender_size: float
    small: float
    number_size: float
    tag: float  # width of the 收/寄 column


SPECS: dict[str, _Spec] = {
    "100x150": _Spec(100, 150, 0, 2.5, 11, 27, 15, 35, 22, 12, 10, 12, 10.5, 8, 6.5, 13, 8),
    "76x130": _Spec(76, 130, 0, 2.0, 10, 24, 13, 31, 20, 11, 9, 10.5, 9, 7, 5.8, 11, 6.5),
    "100x180": _Spec(100, 180, 54, 2.5, 10, 25, 14, 31, 19, 11, 9, 11, 9.5, 7.5, 6.2, 12, 7.5),
}


def label_size_mm(size: str) -> tuple[float, float]:
    spec = SPECS[size]
    return spec.width, spec.height


def waybill_pdf(data: WaybillData, size: LabelSize = DEFAULT_SIZE) -> bytes:
    """The label of ``data`` at ``size`` as PDF bytes (one page, exactly the label's size)."""
    if size not in SPECS:
        raise ValueError(f"unknown label size {size!r}; use one of {', '.join(SPECS)}")
    if data.payment not in PAYMENTS:
        raise ValueError(f"payment must be one of {PAYMENTS}, got {data.payment!r}")
    number = parse_tracking(data.tracking_no).text  # WaybillError (a UserError) for a bad number
    spec = SPECS[size]
    w, h = spec.width * mm, spec.height * mm
    buffer = io.BytesIO()
    meta = pdf.Meta(title=f"面单 {number}", created=_noon(data.date), subject=data.sender.name)
    c = pdf.new_canvas(buffer, (w, h), meta)
    _Label(c, data, number, spec).draw()
    if data.training:
        pdf.draw_watermark(c, w, h)
    c.showPage()
    c.save()
    return buffer.getvalue()


def _fit_party(who: Contact, phone: str, width: float, height: float, name_size: float,
               address_size: float) -> tuple[t.Fitted, t.Fitted, float]:
    """Name (with the phone at the end of its first line) and address sharing one box.

    Preference order: the name on one line, shrunk by at most a quarter; else the name as large
    as possible over up to 3 lines (5 when small); the address as large as the room left allows,
    never cut while a smaller name would avoid it. Returns the name lines, the address lines and
    the width kept for the phone."""
    name = who.name.strip() or fields.DASH
    contact = who.contact.strip()
    address = who.address.strip() or fields.DASH
    if who.postcode.strip():
        address += f"（邮编 {who.postcode.strip()}）"

    def phone_w(size: float) -> float:
        return t.width(phone, size, MONO) + 2 * mm if phone else 0.0

    def attempt(size: float, max_lines: int) -> tuple[t.Fitted, t.Fitted, float] | None:
        name_w = width - phone_w(size)
        if name_w <= size:
            return None
        text = name
        if contact:  # the contact person stays in one piece: on the same line or the next
            joined = f"{name} {contact}"
            text = joined if len(t.wrap(joined, size, name_w)) == 1 else f"{name}\n{contact}"
        lines = t.wrap(text, size, name_w)
        if len(lines) > max_lines + (1 if "\n" in text else 0):
            return None
        name_fit = t.Fitted(size, size * 1.2, lines)
        room = height - name_fit.height
        if room <= 0:
            return None
        addr = t.fit(address, width, room, size=min(address_size, size), min_size=MIN_TEXT, leading=1.22)
        if addr.truncated:
            return None
        grow = addr.size + t.SHRINK_STEP  # then let the address grow into the room left
        while grow <= address_size:
            bigger = t.fit(address, width, room, size=grow, min_size=grow, leading=1.22)
            if bigger.truncated:
                break
            addr, grow = bigger, grow + t.SHRINK_STEP
        return name_fit, addr, phone_w(size)

    size = name_size
    while size >= max(MIN_TEXT, name_size * 0.75):
        found = attempt(size, 1)
        if found:
            return found
        size -= t.SHRINK_STEP
    size = name_size
    while size >= MIN_TEXT:
        found = attempt(size, 3 if size >= 8 else 5)
        if found:
            return found
        size -= t.SHRINK_STEP
    # nothing fits whole: the name takes at most 60 % of the box, the address what is left
    name_w = width - phone_w(MIN_TEXT)
    name_fit = t.fit(f"{name} {contact}".strip(), name_w, height * 0.6, size=MIN_TEXT, min_size=MIN_TEXT, leading=1.2)
    addr = t.fit(address, width, height - name_fit.height, size=MIN_TEXT, min_size=MIN_TEXT, leading=1.22)
    return name_fit, addr, phone_w(MIN_TEXT)


def _noon(day: date):
    from datetime import datetime, time

    return datetime.combine(day, time(12, 0))


class _Label:
    def __init__(self, c: Canvas, data: WaybillData, number: str, spec: _Spec):
        self.c = c
        self.d = data
        self.number = number
        self.s = spec
        self.w = spec.width * mm
        self.h = spec.height * mm
        self.m = spec.margin * mm

    # -- frame --------------------------------------------------------------------------------------
    def draw(self) -> None:
        s = self.s
        left, right = self.m, self.w - self.m
        top = self.h - self.m
        bottom = (s.stub * mm) + (self.m if s.stub else self.m)
        c = self.c
        c.setLineWidth(0.9)
        c.rect(left, bottom, right - left, top - bottom)
        y = top
        bands = [("header", s.header), ("barcode", s.barcode), ("receiver", s.receiver), ("sender", s.sender),
                 ("info", s.info)]
        boxes: dict[str, t.Box] = {}
        for name, height in bands:
            boxes[name] = t.Box(left, y - height * mm, right - left, height * mm)
            y -= height * mm
            c.line(left, y, right, y)
        sign = t.Box(left, bottom, right - left, s.sign * mm)
        c.line(left, sign.top, right, sign.top)
        boxes["remarks"] = t.Box(left, sign.top, right - left, y - sign.top)
        boxes["sign"] = sign
        self._header(boxes["header"])
        self._barcode(boxes["barcode"], s.bar_height * mm, MODULE, s.number_size)
        self._party(boxes["receiver"], "收", self.d.receiver, s.name_size, s.address_size, customer=False)
        self._party(boxes["sender"], "寄", self.d.sender, s.sender_size, s.sender_size * 0.92, customer=True)
        self._info(boxes["info"])
        self._remarks(boxes["remarks"])
        self._sign(boxes["sign"])
        if s.stub:
            self._stub(t.Box(left, self.m, right - left, s.stub * mm - 2 * self.m))

    # -- bands --------------------------------------------------------------------------------------
    def _header(self, box: t.Box) -> None:
        c, s = self.c, self.s
        inner = box.inset(1.5 * mm, 1.0 * mm)
        brand_size = min(inner.h * 0.72, 17)
        brand_w = t.width(self.d.carrier, brand_size)
        brand = t.Box(inner.x, inner.y, brand_w + 1, inner.h)
        t.draw_in(c, brand, self.d.carrier, size=brand_size, min_size=8, bold=True, valign="middle", max_lines=1)
        names = t.Box(brand.right + 1.5 * mm, inner.y, inner.w * 0.42, inner.h)
        t.draw_in(c, names, f"{self.d.carrier_name}\n{self.d.product}", size=s.small, min_size=MIN_TEXT,
                  valign="middle", leading=1.2)
        right = t.Box(names.right, inner.y, inner.right - names.right, inner.h)
        if self.d.copy:
            note = f"副本 COPY {self.d.copy_note}".strip()
            t.draw_in(c, right, f"{note}\n{self.d.date.isoformat()}", size=s.small + 1, min_size=MIN_TEXT, bold=True,
                      align="right", valign="middle", leading=1.2)
            c.setLineWidth(0.8)
        else:
            t.draw_in(c, right, f"{self.d.date.isoformat()}\n{self.d.payment}", size=s.small + 1, min_size=MIN_TEXT,
                      align="right", valign="middle", leading=1.2)

    def _barcode(self, box: t.Box, bar_height: float, preferred: float, number_size: float) -> None:
        c = self.c
        module = barcodes.module_for(self.number, box.w - 2 * mm, preferred=preferred)
        bw = barcodes.code128_width(self.number, module)
        text_h = number_size * 1.25
        gap = (box.h - bar_height - text_h) / 3
        y = box.top - gap - bar_height
        barcodes.draw_code128(c, box.x + (box.w - bw) / 2, y, self.number, module=module, height=bar_height)
        number_box = t.Box(box.x + 1 * mm, box.y + gap * 0.5, box.w - 2 * mm, y - box.y - gap * 0.5)
        t.draw_in(c, number_box, self.number, size=number_size, min_size=8, font=MONO, bold=True, align="center",
                  valign="middle", max_lines=1, char_space=number_size * 0.12)

    def _party(self, box: t.Box, tag: str, who: Contact, name_size: float, address_size: float, *,
               customer: bool) -> None:
        c, s = self.c, self.s
        tag_w = s.tag * mm
        c.setLineWidth(0.6)
        c.line(box.x + tag_w, box.y, box.x + tag_w, box.top)
        tag_box = t.Box(box.x, box.y, tag_w, box.h).inset(0.6 * mm, 1 * mm)
        t.draw_in(c, tag_box, tag, size=min(tag_w * 0.8, 20), min_size=8, bold=True, align="center", valign="middle",
                  max_lines=1)
        inner = t.Box(box.x + tag_w, box.y, box.w - tag_w, box.h).inset(1.5 * mm, 1.0 * mm)
        phone = mask_phone(who.phone) if who.phone.strip() else ""
        extra_h = (address_size * 1.3) if customer and self.d.customer_no.strip() else 0.0
        name_fit, addr_fit, phone_w = _fit_party(who, phone, inner.w, inner.h - extra_h - 0.8 * mm, name_size,
                                                 address_size)
        name_box = t.Box(inner.x, inner.top - name_fit.height, inner.w - phone_w, name_fit.height)
        t.draw_fitted(c, name_box, name_fit, bold=True)
        if phone:
            phone_box = t.Box(inner.right - phone_w, inner.top - name_fit.leading, phone_w, name_fit.leading)
            t.draw_in(c, phone_box, phone, size=name_fit.size, min_size=MIN_TEXT, font=MONO, bold=True,
                      align="right", max_lines=1)
        addr_top = inner.top - name_fit.height - 0.8 * mm
        addr_box = t.Box(inner.x, inner.y + extra_h, inner.w, addr_top - inner.y - extra_h)
        t.draw_fitted(c, addr_box, addr_fit)
        if extra_h:
            cust = t.Box(inner.x, inner.y, inner.w, extra_h)
            t.draw_in(c, cust, f"协议客户号 {self.d.customer_no.strip()}", size=address_size * 0.95, min_size=MIN_TEXT,
                      max_lines=1, valign="bottom")

    def _info(self, box: t.Box) -> None:
        c, s = self.c, self.s
        weight = f"{self.d.weight_g / 1000:.2f} kg" if self.d.weight_g else fields.DASH
        cells = [("内件", self.d.contents, 0.40), ("重量", weight, 0.22), ("付款方式", self.d.payment, 0.20),
                 ("件数", f"{self.d.pieces}", 0.18)]
        x = box.x
        for i, (key, value, share) in enumerate(cells):
            w = box.w * share
            cellbox = t.Box(x, box.y, w, box.h)
            if i:
                c.setLineWidth(0.5)
                c.line(x, box.y, x, box.top)
            inner = cellbox.inset(1.2 * mm, 0.8 * mm)
            key_box = t.Box(inner.x, inner.top - s.small * 1.1, inner.w, s.small * 1.1)
            t.draw_in(c, key_box, key, size=s.small, min_size=MIN_TEXT, color=pdf.GREY, max_lines=1)
            val_box = t.Box(inner.x, inner.y, inner.w, inner.h - key_box.h)
            t.draw_in(c, val_box, value, size=s.sender_size, min_size=MIN_TEXT, bold=True, valign="middle")
            x += w

    def _receipts_text(self, box: t.Box, size: float, prefix: str = "收件编号：") -> tuple[str, float]:
        """As many receipt numbers as fit, then 等 N 件."""
        numbers = [fields.grouped_receipt(r) for r in self.d.receipt_nos]
        if not numbers:
            return "", size
        n = len(numbers)
        for k in range(n, 0, -1):
            more = f" 等 {n} 件" if k < n else ""
            text = prefix + "、".join(numbers[:k]) + more
            fitted = t.fit(text, box.w, box.h, size=size, min_size=MIN_TEXT, font=MONO)
            if not fitted.truncated:
                return text, fitted.size
        return prefix + numbers[0] + f" 等 {n} 件", MIN_TEXT

    def _remarks(self, box: t.Box) -> None:
        c, s = self.c, self.s
        inner = box.inset(1.5 * mm, 1.0 * mm)
        head = t.Box(inner.x, inner.top - s.small * 1.15, inner.w, s.small * 1.15)
        t.draw_in(c, head, "备注", size=s.small, min_size=MIN_TEXT, color=pdf.GREY, max_lines=1)
        rest = t.Box(inner.x, inner.y, inner.w, inner.h - head.h - 0.5 * mm)
        remark = self.d.remarks.strip()
        remark_h = 0.0
        if remark:
            remark_h = min(rest.h * 0.35, s.small * 1.25 * 2)
        receipts_box = t.Box(rest.x, rest.y + remark_h, rest.w, rest.h - remark_h)
        text, size = self._receipts_text(receipts_box, s.sender_size * 0.95)
        if text:
            t.draw_in(c, receipts_box, text, size=size, min_size=MIN_TEXT, font=MONO, leading=1.2)
        if remark:
            t.draw_in(c, t.Box(rest.x, rest.y, rest.w, remark_h), remark, size=s.small, min_size=MIN_TEXT,
                      leading=1.2, valign="bottom")

    def _sign(self, box: t.Box) -> None:
        c, s = self.c, self.s
        inner = box.inset(1.5 * mm, 1.0 * mm)
        half = inner.w * 0.52
        t.draw_in(c, t.Box(inner.x, inner.y, half, inner.h), "收件人签收：", size=s.small + 0.5, min_size=MIN_TEXT,
                  valign="middle", max_lines=1)
        t.draw_in(c, t.Box(inner.x + half, inner.y, inner.w - half, inner.h), "签收时间：　　月　　日",
                  size=s.small + 0.5, min_size=MIN_TEXT, valign="middle", max_lines=1)

    def _stub(self, box: t.Box) -> None:
        """The sender's stub below a dashed tear line: number, barcode, who, what, when."""
        c, s = self.c, self.s
        tear_y = box.top + self.m
        c.saveState()
        c.setDash(3, 2)
        c.setLineWidth(0.6)
        c.line(0, tear_y, self.w, tear_y)
        c.restoreState()
        c.setLineWidth(0.9)
        c.rect(box.x, box.y, box.w, box.h)
        head_h = s.small * 1.6
        head = t.Box(box.x, box.top - head_h, box.w, head_h).inset(1.5 * mm, 0.5 * mm)
        copy = "【副本】" if self.d.copy else ""
        title = f"{copy}寄件人存根（沿虚线撕下留存） {self.d.carrier} {self.d.date.isoformat()}"
        t.draw_in(c, head, title, size=s.small,
                  min_size=MIN_TEXT, bold=True, valign="middle", max_lines=1)
        c.line(box.x, box.top - head_h, box.right, box.top - head_h)
        bars = t.Box(box.x, box.top - head_h - 20 * mm, box.w, 20 * mm)
        self._barcode(bars, 12 * mm, barcodes.MIN_MODULE, s.number_size * 0.8)
        c.line(box.x, bars.y, box.right, bars.y)
        rest = t.Box(box.x, box.y, box.w, bars.y - box.y).inset(1.5 * mm, 1.0 * mm)
        r = self.d.receiver
        receiver = f"收件：{r.name}{(' ' + r.contact) if r.contact.strip() else ''} {mask_phone(r.phone)}".rstrip()
        weight = f"{self.d.weight_g / 1000:.2f} kg" if self.d.weight_g else fields.DASH
        what = f"内件：{self.d.contents}　重量：{weight}　{self.d.payment}　{self.d.pieces} 件"
        line_h = rest.h / 4
        t.draw_in(c, t.Box(rest.x, rest.top - line_h, rest.w, line_h), receiver, size=s.small + 0.5,
                  min_size=MIN_TEXT, max_lines=1, valign="middle")
        t.draw_in(c, t.Box(rest.x, rest.top - 2 * line_h, rest.w, line_h), what, size=s.small + 0.5,
                  min_size=MIN_TEXT, max_lines=1, valign="middle")
        receipts = t.Box(rest.x, rest.y, rest.w, 2 * line_h)
        text, size = self._receipts_text(receipts, s.small + 0.5)
        if text:
            t.draw_in(c, receipts, text, size=size, min_size=MIN_TEXT, font=MONO, leading=1.2, valign="middle")


__all__ = ["Contact", "DEFAULT_SIZE", "PAYMENTS", "SPECS", "WaybillData", "label_size_mm", "waybill_pdf"]
