"""Mailing (capability 5): the waybill-number pool, parcels grouped by 办理地 department, tracking
numbers on cases, and result legs. Qt-free; the store side is ``offline_cache.mail``.

**Grouping.** A case's items are routed by the department code pinned from the guide at intake
(``CaseItem.department_code``). A parcel goes to one department, so a case whose items go to two
departments (多地联办) appears in two parcels, each listing only that department's items and the
paper materials those items need. A material shared by items of both departments (一次提交,
e.g. the 户口簿 copy) is listed in *both* parcels and flagged ``shared``: each 办理地 decides on
paper of its own, so the clerk must put a copy in each (the service says so in its warnings)
rather than the one sheet silently going to one of them. Only paper travels: 原件核验 and 复印件;
电子证照, 容缺后补, 未收 and 不适用 lines stay off the parcel.

**Pool.** Numbers come only from the platform (``refill``), asked for under a request id written
down first, so a lost answer is asked again and never doubles the pool. The pool is *low* when
the free numbers fall to ``mail.pool_low_water``; a refill asks for ``mail.pool_refill`` more
(the sync pass does it by itself, see ``mail_sync``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from counter_client.domain import receipt
from counter_client.domain.case import Case
from counter_client.errors import UserError
from counter_client.platform_api import mail as mail_api
from counter_client.platform_api.delivery import DeliveryClient
from counter_client.services.catalogue import CatalogueService
from offline_cache.cases import CaseStore
from offline_cache.mail import RESULT, Leg, MailStore, Parcel, ParcelCase, ParcelRefused, PoolState, SentMaterial
from offline_cache.statuses import DONE, Statuses

log = logging.getLogger(__name__)

PAPER_FORMS = ("原件核验", "复印件")
NO_MAIL_MODES = ("全程网办帮办",)
DEFAULT_LOW_WATER = 20
DEFAULT_REFILL = 50


@dataclass(frozen=True)
class MailPolicy:
    """The pool settings (``mail.pool_low_water``, ``mail.pool_refill``, ``mail.number_kind``)."""

    low_water: int = DEFAULT_LOW_WATER
    refill: int = DEFAULT_REFILL
    kind: str = "s10"


@dataclass(frozen=True)
class PoolStatus:
    free: int
    used: int
    low_water: int
    pending_request: str | None = None

    @property
    def empty(self) -> bool:
        return self.free == 0

    @property
    def low(self) -> bool:
        return self.free <= self.low_water

    @property
    def warning(self) -> str:
        """A sentence for the clerk when the pool needs attention, else ``""``."""
        if self.empty:
            return "邮件号已用完：联网同步后才能打印新的面单。"
        if self.low:
            return f"邮件号即将用完（剩余 {self.free} 个）：请尽快联网同步以领取新的邮件号。"
        return ""

    def as_dict(self) -> dict:
        return {"free": self.free, "used": self.used, "low_water": self.low_water, "low": self.low,
                "empty": self.empty, "pending_request": self.pending_request, "warning": self.warning}


@dataclass(frozen=True)
class NewParcel:
    parcel: Parcel
    warnings: list[str] = field(default_factory=list)


def pool_status(store: MailStore, policy: MailPolicy) -> PoolStatus:
    state: PoolState = store.pool_state()
    return PoolStatus(state.free, state.used, policy.low_water, state.pending_request)


def refill_pool(store: MailStore, client: DeliveryClient, policy: MailPolicy, force: bool = False) -> int:
    """Numbers from the platform when the pool is low, an earlier request is unanswered, or
    ``force``; returns how many were added. An unanswered request is asked again with its id."""
    status = pool_status(store, policy)
    if not (force or status.low or status.pending_request):
        return 0
    request_id, count, kind = store.pool_request(policy.refill, policy.kind)
    block = mail_api.allocate(client, request_id, count, kind)
    added, refused = store.add_numbers(request_id, list(block.numbers), block.allocated_at)
    if refused:
        log.warning("pool request %s: %d number(s) failed the waybill check and were not kept",
                    request_id[:8], len(refused))
    log.info("waybill pool: %d number(s) added (request %s)", added, request_id[:8])
    return added


class MailService:
    """Pool, parcels and legs of this terminal (one instance per thread that uses it)."""

    def __init__(self, cases: CaseStore, catalogue: CatalogueService, clerk: str,
                 policy: MailPolicy | None = None):
        self.cases = cases
        self.catalogue = catalogue
        self.clerk = clerk
        self.policy = policy or MailPolicy()
        self.store = MailStore(cases.store)

    # -- the pool ------------------------------------------------------------------------------------
    def pool_status(self) -> PoolStatus:
        return pool_status(self.store, self.policy)

    def refill(self, client: DeliveryClient, force: bool = False) -> int:
        """Ask the platform for numbers when the pool is low (or ``force``); returns how many were
        added."""
        return refill_pool(self.store, client, self.policy, force)

    # -- grouping -------------------------------------------------------------------------------------
    def load(self, receipt_no: str) -> Case:
        """The case of a typed or scanned receipt number (grouped forms accepted)."""
        try:
            number = receipt.parse(receipt_no).text
        except receipt.ReceiptError as exc:
            raise UserError(f"收件编号“{receipt_no}”有误：{exc.message}", "bad receipt number") from None
        case = self.cases.by_receipt(number)
        if case is None:
            raise UserError(f"没有收件编号为 {receipt_no} 的办件。", "unknown receipt number")
        return case

    def departments_of(self, case: Case) -> list[str]:
        """The department codes a case's paper goes to, in item order."""
        return list(dict.fromkeys(i.department_code for i in case.items if i.department_code))

    def parcel_lines(self, case: Case, department_code: str) -> ParcelCase:
        """What of ``case`` goes to ``department_code``: its items there and their paper materials
        (``ParcelRefused`` when nothing of it travels there)."""
        receipt = case.receipt_no
        if case.state != "collected":
            state = "已作废" if case.state == "void" else "尚未收件"
            raise ParcelRefused(f"办件 {receipt or case.id} {state}，不能装包寄出。", f"case is {case.state}")
        if case.mode in NO_MAIL_MODES:
            raise ParcelRefused(f"办件 {receipt} 为全程网办帮办，材料已在网上提交，无需寄送。", "online case")
        items = [i.code for i in case.items if i.department_code == department_code]
        if not items:
            raise ParcelRefused(f"办件 {receipt} 没有由部门 {department_code} 办理的事项，不能寄往该部门。",
                                "no item for this department")
        elsewhere = {i.code for i in case.items if i.department_code != department_code}
        materials = tuple(
            SentMaterial(m.name, m.form, m.pages or len(m.scans), m.originals if m.form == "原件核验" else max(1, m.copies),
                         shared=bool(elsewhere & set(m.items)))
            for m in case.materials
            if m.form in PAPER_FORMS and (not m.items or set(items) & set(m.items)))
        if not materials:
            raise ParcelRefused(f"办件 {receipt} 没有需要寄往该部门的纸质材料（原件或复印件）。", "no paper to send")
        return ParcelCase(case.id, receipt, tuple(items), materials)

    def group(self, receipts: Iterable[str]) -> dict[str, list[ParcelCase]]:
        """Cases by the department their paper goes to (a case may be in several groups)."""
        groups: dict[str, list[ParcelCase]] = {}
        for receipt_no in receipts:
            case = self.load(receipt_no)
            for code in self.departments_of(case):
                try:
                    groups.setdefault(code, []).append(self.parcel_lines(case, code))
                except ParcelRefused:
                    continue
        return {k: v for k, v in groups.items() if v}

    def department_name(self, code: str, case: Case | None = None) -> str:
        department = self.catalogue.department(code)
        if department is not None:
            return department.name
        for item in case.items if case else ():
            if item.department_code == code and item.department:
                return item.department
        return code

    # -- parcels --------------------------------------------------------------------------------------
    def create_parcel(self, department_code: str, receipts: list[str]) -> NewParcel:
        """A parcel of ``receipts`` to ``department_code`` under the next number of the pool."""
        department_code = department_code.strip()
        receipts = [r.strip() for r in receipts if r.strip()]
        if not receipts:
            raise UserError("请至少指定一个收件编号。", "parcel without receipts")
        if len(set(receipts)) != len(receipts):
            raise UserError("收件编号有重复，请检查。", "duplicate receipts")
        cases = [self.load(r) for r in receipts]
        lines = [self.parcel_lines(c, department_code) for c in cases]
        name = self.department_name(department_code, cases[0])
        parcel = self.store.create_parcel(department_code, name, lines, self.clerk)
        warnings = [f"办件 {line.receipt_no} 的“{m.name}”也用于寄往其他部门的事项：请另备一份（复印件）放入对应包裹。"
                    for line in lines for m in line.materials if m.shared]
        status = self.pool_status()
        if status.warning:
            warnings.append(status.warning)
        log.info("parcel %s made: %d case(s), department %s", parcel.id, len(lines), department_code)
        return NewParcel(parcel, warnings)

    def parcel(self, parcel_id: str) -> Parcel:
        parcel = self.store.parcel(parcel_id.strip())
        if parcel is None:
            raise UserError(f"没有编号为 {parcel_id} 的包裹。", "unknown parcel id")
        return parcel

    def parcels(self) -> list[Parcel]:
        return self.store.parcels()

    # -- legs -----------------------------------------------------------------------------------------
    def legs(self, receipt_no: str) -> list[Leg]:
        return self.store.legs(receipt_no)

    def record_result_legs(self) -> int:
        """Result legs from the status feed's 结果已寄出 events (idempotent)."""
        added = self.store.record_result_legs()
        if added:
            log.info("%d result leg(s) recorded from the status feed", added)
        return added

    def mail_result(self, receipt_no: str, item_code: str) -> Leg:
        """This hall mails a result on to the applicant under a number of its pool."""
        case = self.load(receipt_no)
        if item_code not in {i.code for i in case.items}:
            raise UserError(f"办件 {receipt_no} 中没有编码为 {item_code} 的事项。", "unknown item code")
        if case.state != "collected":
            raise UserError(f"办件 {receipt_no} {'已作废' if case.state == 'void' else '尚未收件'}，不能寄出办理结果。",
                            f"mail result of a {case.state} case")
        if case.delivery.method != "邮寄" or not case.delivery.address.strip():
            raise UserError(f"办件 {receipt_no} 的送达方式不是邮寄或没有登记邮寄地址，不能寄出办理结果。",
                            "delivery is not by mail")
        status = Statuses(self.cases.store).item_statuses(case.receipt_no).get(item_code)
        if status != DONE:  # 结果已寄出: the 办理地 mailed it itself
            raise UserError(f"该事项尚未办结（办理地的最新状态：{status or '尚无'}），不能寄出办理结果。",
                            f"mail result of an item in state {status!r}")
        if any(leg.kind == RESULT and leg.item_code == item_code for leg in self.store.legs(case.receipt_no)):
            raise UserError("该事项的办理结果已经寄出（见办件的寄递记录），不能重复寄出。", "result already mailed")
        return self.store.mail_result(case.id, case.receipt_no, item_code, self.clerk)
