"""The clerk's side of mailing, Qt-free: what the 寄递 page and the case detail show and do.

- **待寄**: collected cases whose paper for a 办理地 department is in no parcel yet, grouped by
  that department (a 多地联办 case appears under each of its departments), with the materials
  that travel and the ones shared with another department (a copy goes in each parcel);
- **邮包**: the parcels of this terminal with their state in the outbox (sent to the platform
  or not, and why not);
- **the pool**: free numbers, and ``refill`` — one request to the platform under the clerk's
  login (in training the training account), the same call as ``counter-client pool --refill``;
  the sync pass also refills by itself when the pool runs low (``mail_sync.after_pass``);
- **a case's mail**: its legs, and the items whose result this hall may mail on to the applicant
  (delivery 邮寄 with an address, the item 办结 at the 办理地, no result leg for it yet);
- the print requests of waybills and manifests (``printouts.MailDocuments``, made on first use:
  reportlab loads on the runner at the first print, not when the store opens).

Every method may block on SQLite or HTTP: the GUI calls them on the task runner. Like the sync
desk, it holds no connection of its own (the stores give each thread its own).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from counter_client.domain.case import Case
from counter_client.platform_api.delivery import DeliveryClient
from counter_client.services.mail import NO_MAIL_MODES, PAPER_FORMS, MailService, NewParcel, PoolStatus
from counter_client.services.printing import DocumentRequest
from offline_cache.mail import RESULT, Leg, Parcel, ParcelRefused, PoolEmpty, SentMaterial
from offline_cache.outbox import Outbox

log = logging.getLogger(__name__)

PENDING_LIMIT = 500
DONE = "办结"
NO_NUMBER = ("本机的邮件号已用完，无法生成包裹和面单。请点击“领取邮件号”（须联网并已登录平台），"
             "或点击“同步”；仍不行请联系平台管理员。已勾选的办件没有改动。")
NO_NUMBER_RESULT = ("本机的邮件号已用完，无法寄出办理结果。请到“寄递”页点击“领取邮件号”（须联网并已登录平台），"
                    "或联系平台管理员。")


@dataclass(frozen=True)
class PendingCase:
    """One case waiting to be packed for one department."""

    case_id: str
    receipt_no: str
    applicant: str  # decrypted for display only
    collected_at: str
    items: tuple[str, ...]  # names of its items routed to this department
    materials: tuple[SentMaterial, ...]

    @property
    def shared(self) -> bool:
        return any(m.shared for m in self.materials)


@dataclass(frozen=True)
class PendingGroup:
    department_code: str
    department_name: str
    cases: tuple[PendingCase, ...]


@dataclass(frozen=True)
class ParcelRow:
    """A parcel with its delivery to the platform ('' state: not queued, e.g. before the outbox)."""

    parcel: Parcel
    state: str = ""
    last_error: str = ""

    @property
    def sent(self) -> bool:
        return self.state == "acked"


@dataclass(frozen=True)
class MailView:
    pool: PoolStatus
    groups: list[PendingGroup]
    parcels: list[ParcelRow]


@dataclass(frozen=True)
class CaseMail:
    """A case's legs, and the items whose result this hall may mail on now (code, name)."""

    legs: tuple[Leg, ...] = ()
    result_items: tuple[tuple[str, str], ...] = ()
    parcels: dict[str, str] = field(default_factory=dict)  # parcel id -> department name

    def pool_result_legs(self) -> list[Leg]:
        return [leg for leg in self.legs if leg.kind == RESULT and leg.source == "pool"]


@dataclass
class MailDesk:
    """Mail for the GUI (see the module docstring)."""

    mail: MailService
    make_documents: Callable[[], Any]  # -> printouts.MailDocuments
    make_client: Callable[[], DeliveryClient]
    login_service: Callable[[], Any]  # -> LoginService
    outbox: Outbox = field(init=False)
    _documents: Any = field(init=False, default=None)

    def __post_init__(self) -> None:
        cases = self.mail.cases
        self.outbox = Outbox(cases.store, cases.cipher)

    # -- reading -------------------------------------------------------------------------------------
    def pool_status(self) -> PoolStatus:
        return self.mail.pool_status()

    def view(self) -> MailView:
        return MailView(self.pool_status(), self.pending(), self.parcels())

    def pending(self, limit: int = PENDING_LIMIT) -> list[PendingGroup]:
        """The 待寄 groups, by department name."""
        mail = self.mail
        by_code: dict[str, list[PendingCase]] = {}
        names: dict[str, str] = {}
        loaded: dict[str, Case | None] = {}
        for case_id, receipt_no, code in mail.store.unparcelled(PAPER_FORMS, NO_MAIL_MODES, limit):
            if case_id not in loaded:
                loaded[case_id] = mail.cases.load(case_id)
            case = loaded[case_id]
            if case is None:
                continue
            try:
                lines = mail.parcel_lines(case, code)
            except ParcelRefused:
                continue  # nothing of it travels there (e.g. only electronic materials for that item)
            if code not in names:
                names[code] = mail.department_name(code, case)
            items = tuple(i.name for i in case.items if i.code in lines.items)
            by_code.setdefault(code, []).append(
                PendingCase(case.id, receipt_no, case.applicant.name, case.collected_at or "", items, lines.materials))
        groups = [PendingGroup(code, names[code], tuple(cases)) for code, cases in by_code.items()]
        return sorted(groups, key=lambda g: (g.department_name, g.department_code))

    def parcels(self) -> list[ParcelRow]:
        rows = []
        for parcel in self.mail.parcels():
            item = self.outbox.item(parcel.id)
            rows.append(ParcelRow(parcel, item.state if item else "", item.last_error if item else ""))
        return rows

    def parcel(self, parcel_id: str) -> ParcelRow:
        parcel = self.mail.parcel(parcel_id)
        item = self.outbox.item(parcel.id)
        return ParcelRow(parcel, item.state if item else "", item.last_error if item else "")

    def case_mail(self, case: Case, item_statuses: dict[str, str] | None = None) -> CaseMail:
        """The legs of a collected case and the items whose result may be mailed on now."""
        if not case.receipt_no:
            return CaseMail()
        legs = tuple(self.mail.legs(case.receipt_no))
        parcels = {}
        for leg in legs:
            if leg.parcel_id and leg.parcel_id not in parcels:
                parcel = self.mail.store.parcel(leg.parcel_id)
                parcels[leg.parcel_id] = parcel.department_name if parcel else ""
        statuses = item_statuses or {}
        with_result = {leg.item_code for leg in legs if leg.kind == RESULT}
        d = case.delivery
        can_mail = case.state == "collected" and d.method == "邮寄" and bool(d.address.strip())
        items = tuple((i.code, i.name) for i in case.items
                      if can_mail and statuses.get(i.code) == DONE and i.code not in with_result)
        return CaseMail(legs, items, parcels)

    # -- doing ---------------------------------------------------------------------------------------
    def create_parcel(self, department_code: str, receipts: list[str]) -> NewParcel:
        """A parcel of ``receipts`` under the next number of the pool; an empty pool writes nothing
        and says what to do in the window."""
        try:
            return self.mail.create_parcel(department_code, receipts)
        except PoolEmpty as exc:
            raise PoolEmpty(NO_NUMBER, exc.log) from None

    def mail_result(self, receipt_no: str, item_code: str) -> Leg:
        try:
            leg = self.mail.mail_result(receipt_no, item_code)
        except PoolEmpty as exc:
            raise PoolEmpty(NO_NUMBER_RESULT, exc.log) from None
        log.info("result of an item mailed on under a pool number")
        return leg

    def refill(self) -> int:
        """Ask the platform for more numbers now (the clerk's 领取邮件号); returns how many came.
        Needs the platform and a login (``AuthRequired`` says so); an answer lost on the way is
        asked for again under the same request id, here or by the next sync pass."""
        client = self.make_client()
        try:
            self.login_service().authorise(client)
            return self.mail.refill(client, force=True)
        finally:
            client.close()

    # -- printing ------------------------------------------------------------------------------------
    @property
    def documents(self) -> Any:
        if self._documents is None:
            self._documents = self.make_documents()
        return self._documents

    def waybill_request(self, waybill_no: str, size: str | None = None) -> DocumentRequest:
        return self.documents.waybill_request(waybill_no, size)

    def manifest_request(self, parcel_id: str) -> DocumentRequest:
        return self.documents.manifest_request(parcel_id)


__all__ = ["CaseMail", "MailDesk", "MailView", "ParcelRow", "PendingCase", "PendingGroup"]
