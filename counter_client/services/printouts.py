"""The documents of a case or parcel as PDF bytes, filled from the stores, the catalogue and the
hall's settings (the CLI's ``print`` commands; the GUI's printing can use the same).

- sender of a waybill: the hall (``hall.name``, ``mail.sender_*``) with its carrier customer
  number (``mail.customer_no``);
- receiver: the 办理地 department from the catalogue (name, 收件人, phone, address, postcode)
  for a parcel of materials, the applicant's delivery address for a result this hall mails on;
- phones are masked by the documents themselves (隐私面单); training printouts are watermarked.

A print after the first of the same document is a copy: marked 副本 with when it was printed,
and recorded (a case event for receipts and notices, a counter on the parcel for waybills and
manifests).
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Callable

from counter_client.documents.manifest import ManifestContext, manifest_pdf
from counter_client.documents.notice import NoticeContext, notice_pdf
from counter_client.documents.receipt import ReceiptContext, receipt_pdf, status_url
from counter_client.documents.waybill import Contact, WaybillData, waybill_pdf
from counter_client.domain.case import Case
from counter_client.domain.waybill import parse as parse_tracking
from counter_client.errors import UserError
from counter_client.services.catalogue import CatalogueService
from counter_client.services.mail import MailService
from counter_client.settings import Settings
from offline_cache.mail import RESULT

log = logging.getLogger(__name__)

LABEL_SIZES = ("100x150", "76x130", "100x180")
RECEIPT_PRINTED, NOTICE_PRINTED = "打印收件凭证", "打印一次性告知书"


class Printouts:
    """Builds each printed document of this hall (Qt-free; one instance per thread)."""

    def __init__(self, mail: MailService, catalogue: CatalogueService, settings: Settings,
                 now: Callable[[], datetime] = lambda: datetime.now().astimezone()):
        self.mail = mail
        self.cases = mail.cases
        self.catalogue = catalogue
        self.settings = settings
        self._now = now

    @property
    def _hall(self) -> dict:
        return self.settings.hall()

    def _copy_note(self, moment: datetime) -> str:
        return f"补打 {moment:%Y-%m-%d %H:%M}"

    def _previous_prints(self, case: Case, action: str) -> int:
        return sum(1 for e in self.cases.events(case.id) if e.action == action)

    # -- case documents -------------------------------------------------------------------------------
    def receipt(self, receipt_no: str, size: str = "A4") -> bytes:
        case = self.mail.load(receipt_no)
        moment = self._now()
        copy = self._previous_prints(case, RECEIPT_PRINTED) > 0
        channels = {}
        for item in case.items:
            department = self.catalogue.department(item.department_code)
            if department is not None and department.complaint_phone:
                channels[item.code] = f"{department.name} 投诉电话 {department.complaint_phone}"
        base = self.settings.get("platform.url")
        ctx = ReceiptContext(hall_name=self._hall["hall.name"], window=self._hall["hall.window"],
                             clerk=self.mail.clerk, printed_at=moment,
                             status_url=status_url(base, case.receipt_no) if base else "",
                             complaint_channels=channels, hall_phone=self.settings.get("mail.sender_phone"),
                             training=self.settings.training, copy=copy,
                             copy_note=self._copy_note(moment) if copy else "")
        data = receipt_pdf(case, ctx, size=size)
        self.cases.add_event(case.id, self.mail.clerk, RECEIPT_PRINTED, {"copy": copy, "size": size})
        return data

    def notice(self, receipt_no: str) -> bytes:
        case = self.mail.load(receipt_no)
        moment = self._now()
        copy = self._previous_prints(case, NOTICE_PRINTED) > 0
        ctx = NoticeContext(hall_name=self._hall["hall.name"], window=self._hall["hall.window"],
                            clerk=self.mail.clerk, printed_at=moment, hall_phone=self.settings.get("mail.sender_phone"),
                            hall_address=self.settings.get("mail.sender_address"), training=self.settings.training,
                            copy=copy, copy_note=self._copy_note(moment) if copy else "")
        data = notice_pdf(case, ctx)
        self.cases.add_event(case.id, self.mail.clerk, NOTICE_PRINTED, {"copy": copy})
        return data

    # -- mail documents -------------------------------------------------------------------------------
    def _sender(self) -> Contact:
        get = self.settings.get
        return Contact(name=self._hall["hall.name"], phone=get("mail.sender_phone"), address=get("mail.sender_address"),
                       postcode=get("mail.sender_postcode"))

    def _department(self, code: str, fallback_name: str) -> Contact:
        department = self.catalogue.department(code)
        if department is None:
            return Contact(name=fallback_name or code)
        return Contact(name=department.name, phone=department.phone, address=department.address,
                       postcode=department.postcode, contact=department.recipient)

    def waybill(self, waybill_no: str, size: str = "100x150") -> bytes:
        if size not in LABEL_SIZES:
            raise UserError(f"面单尺寸应为 {'、'.join(LABEL_SIZES)} 之一，收到“{size}”。", f"bad label size {size!r}")
        number = parse_tracking(waybill_no).text  # a WaybillError says what is wrong with the number
        moment = self._now()
        parcel = self.mail.store.parcel_by_waybill(number)
        if parcel is not None:
            copy = self.mail.store.count_print(parcel.id, "waybill") > 0
            data = WaybillData(tracking_no=number, sender=self._sender(),
                               receiver=self._department(parcel.department_code, parcel.department_name),
                               date=date.fromisoformat(parcel.created_at[:10]),
                               customer_no=self.settings.get("mail.customer_no"), payment="月结",
                               receipt_nos=parcel.receipt_nos, remarks="内含申请材料原件，请勿折叠",
                               training=self.settings.training, copy=copy,
                               copy_note=self._copy_note(moment) if copy else "")
            return waybill_pdf(data, size)  # type: ignore[arg-type]
        legs = [leg for leg in self.mail.store.legs_by_tracking(number) if leg.kind == RESULT and leg.source == "pool"]
        if legs:
            case = self.mail.load(legs[0].receipt_no)
            d = case.delivery
            receiver = Contact(name=d.recipient or case.applicant.name, phone=d.phone or case.applicant.phone,
                               address=d.address)
            data = WaybillData(tracking_no=number, sender=self._sender(), receiver=receiver,
                               date=date.fromisoformat(legs[0].created_at[:10]),
                               customer_no=self.settings.get("mail.customer_no"), contents="证照", payment="月结",
                               receipt_nos=(case.receipt_no,), training=self.settings.training)
            return waybill_pdf(data, size)  # type: ignore[arg-type]
        if any(n == number for n, _state, _at, _p in self.mail.store.numbers("free")):
            raise UserError(f"邮件号 {number} 尚未使用（还没有包裹用它），没有可打印的面单。",
                            "waybill number still free")
        raise UserError(f"本机没有使用邮件号 {number} 的包裹或寄件记录。", "unknown waybill number")

    def manifest(self, parcel_id: str) -> bytes:
        parcel = self.mail.parcel(parcel_id)
        cases = [self.mail.load(c.receipt_no) for c in parcel.cases]
        department = self.catalogue.department(parcel.department_code)
        moment = self._now()
        copy = self.mail.store.count_print(parcel.id, "manifest") > 0
        ctx = ManifestContext(parcel_id=parcel.id, tracking_no=parcel.waybill_no, hall_name=self._hall["hall.name"],
                              department=parcel.department_name, printed_at=moment,
                              hall_code=self._hall["hall.township_code"], clerk=self.mail.clerk,
                              department_code=parcel.department_code,
                              department_address=department.address if department else "",
                              training=self.settings.training, copy=copy,
                              copy_note=self._copy_note(moment) if copy else "")
        return manifest_pdf(cases, ctx)


__all__ = ["LABEL_SIZES", "Printouts"]
