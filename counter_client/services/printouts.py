"""The mail documents as print requests: the waybill label of a parcel (or of a result this hall
mails on) and the parcel's 材料交接单, filled from the stores, the catalogue and the hall's settings.

- sender of a waybill: the hall (``hall.name``, ``hall.phone``, ``hall.address``,
  ``hall.postcode``) with its carrier customer number (``mail.customer_no``);
- receiver: the 办理地 department from the catalogue (name, 收件人, phone, address, postcode)
  for a parcel of materials, the applicant's delivery address for a result this hall mails on;
- phones are masked by the documents themselves (隐私面单); training printouts are watermarked.

Each builder returns a ``printing.DocumentRequest``: the print service decides original or 副本
from its print log (keyed by the waybill number, or the parcel id for a manifest), asks for a
reason on a reprint and records who printed what, when and where — the same path as the
receipt and the notice, in the GUI's print dialog and on the command line.
"""

from __future__ import annotations

import logging
from datetime import date

from counter_client.documents.manifest import ManifestContext, manifest_pdf
from counter_client.documents.waybill import Contact, WaybillData, waybill_pdf
from counter_client.domain.waybill import parse as parse_tracking
from counter_client.errors import UserError
from counter_client.services.catalogue import CatalogueService
from counter_client.services.mail import MailService
from counter_client.services.printing import A4_MM, MANIFEST, WAYBILL, CopyMarks, DocumentRequest, document_request
from counter_client.settings import Settings

log = logging.getLogger(__name__)

LABEL_SIZES = ("100x150", "76x130", "100x180")


def label_mm(size: str) -> tuple[float, float]:
    width, height = size.split("x")
    return float(width), float(height)


class MailDocuments:
    """Print requests for the waybills and manifests of this hall (Qt-free; one per thread)."""

    def __init__(self, mail: MailService, catalogue: CatalogueService, settings: Settings):
        self.mail = mail
        self.catalogue = catalogue
        self.settings = settings

    def _sender(self) -> Contact:
        get = self.settings.get
        return Contact(name=self.settings.hall()["hall.name"], phone=get("hall.phone"), address=get("hall.address"),
                       postcode=get("hall.postcode"))

    def _department(self, code: str, fallback_name: str) -> Contact:
        department = self.catalogue.department(code)
        if department is None:
            return Contact(name=fallback_name or code)
        return Contact(name=department.name, phone=department.phone, address=department.address,
                       postcode=department.postcode, contact=department.recipient)

    def waybill_request(self, waybill_no: str, size: str | None = None) -> DocumentRequest:
        """The label of a number this terminal used: a parcel of materials or a result leg."""
        size = size or self.settings.get("print.label_size")
        if size not in LABEL_SIZES:
            raise UserError(f"面单尺寸应为 {'、'.join(LABEL_SIZES)} 之一，收到“{size}”。", f"bad label size {size!r}")
        number = parse_tracking(waybill_no).text  # a WaybillError says what is wrong with the number
        training, customer_no = self.settings.training, self.settings.get("mail.customer_no")
        parcel = self.mail.store.parcel_by_waybill(number)
        if parcel is not None:
            receiver = self._department(parcel.department_code, parcel.department_name)
            created, receipts, contents, case_id = parcel.created_at, parcel.receipt_nos, "政务服务申请材料", ""
            remarks = "内含申请材料原件，请勿折叠"
        else:
            leg = self.mail.store.result_leg(number)
            if leg is None:
                if any(n == number for n, _state, _at, _p in self.mail.store.numbers("free")):
                    raise UserError(f"邮件号 {number} 尚未使用（还没有包裹用它），没有可打印的面单。",
                                    "waybill number still free")
                raise UserError(f"本机没有使用邮件号 {number} 的包裹或寄件记录。", "unknown waybill number")
            case = self.mail.load(leg.receipt_no)
            d = case.delivery
            receiver = Contact(name=d.recipient or case.applicant.name, phone=d.phone or case.applicant.phone,
                               address=d.address)
            created, receipts, contents, case_id = leg.created_at, (case.receipt_no,), "证照", case.id
            remarks = ""

        def render(marks: CopyMarks) -> bytes:
            data = WaybillData(tracking_no=number, sender=self._sender(), receiver=receiver,
                               date=date.fromisoformat(created[:10]), customer_no=customer_no, contents=contents,
                               payment="月结", receipt_nos=receipts, remarks=remarks, training=training,
                               copy=marks.copy, copy_note=marks.note)
            return waybill_pdf(data, size)  # type: ignore[arg-type]

        return document_request(WAYBILL, number, f"邮件面单 {number}", label_mm(size), render, case_id)

    def manifest_request(self, parcel_id: str) -> DocumentRequest:
        """The 材料交接单 of one parcel: every case and material in it, with signature lines."""
        parcel = self.mail.parcel(parcel_id)
        cases = [self.mail.load(c.receipt_no) for c in parcel.cases]
        department = self.catalogue.department(parcel.department_code)
        hall = self.settings.hall()
        training = self.settings.training

        def render(marks: CopyMarks) -> bytes:
            ctx = ManifestContext(parcel_id=parcel.id, tracking_no=parcel.waybill_no, hall_name=hall["hall.name"],
                                  department=parcel.department_name, printed_at=marks.printed_at,
                                  hall_code=hall["hall.township_code"], clerk=self.mail.clerk,
                                  department_code=parcel.department_code,
                                  department_address=department.address if department else "",
                                  training=training, copy=marks.copy, copy_note=marks.note)
            return manifest_pdf(cases, ctx)

        return document_request(MANIFEST, parcel.id, f"材料交接单 {parcel.id}", A4_MM, render)


__all__ = ["LABEL_SIZES", "MailDocuments", "label_mm"]
