"""Mail in the sync pass: delivering parcels (outbox kind ``parcel``) and the results this hall
mails on (kind ``leg``), and refilling the pool.

Kept out of ``services/sync.py`` so the engine stays about cases; the engine calls
``deliver_mail`` for a parcel or leg item and ``after_pass`` at the end of a pass, and this module
uses the engine's outbox, login and back-off so the delivery rules are the same:

- a parcel (or leg) goes only after every case it names is acknowledged (the platform checks its cases
  exist); until then it waits, with the reason shown in the queue;
- the body is built once, kept sealed in the outbox and resent byte for byte;
- a send whose answer was lost is *in doubt*: the platform is asked (``GET /parcels/{id}``,
  ``GET /mail/legs/{number}``) before anything is resent;
- ``waybill_used`` / ``waybill_not_allocated`` / ``conflict`` reject the parcel (a person must
  look), ``cases_missing`` waits.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Callable

from counter_client.errors import NetworkUnavailable, PlatformError
from counter_client.platform_api import mail as mail_api
from counter_client.platform_api.delivery import DeliveryClient
from counter_client.services import sync
from counter_client.services.mail import MailPolicy, refill_pool
from offline_cache.mail import Leg, MailStore, Parcel
from offline_cache.outbox import OutboxItem

log = logging.getLogger(__name__)

WAITING_FOR_CASES = "包裹中的办件尚未全部送达平台，送达后自动发送包裹信息。"
CASE_HELD = "办件 {receipt} 已暂停上传：恢复上传并送达后，寄递信息随之发送。"
CASE_REJECTED = "办件 {receipt} 被平台退回，寄递信息无法报送平台；请联系平台运维核对该办件（邮件号已随包裹寄出）。"
REFUSED_CODES = ("waybill_used", "waybill_not_allocated", "conflict")


def parcel_body(parcel: Parcel) -> bytes:
    """The PUT body of a parcel (canonical JSON, like a case's)."""
    return sync.encode_body({
        "parcel_id": parcel.id, "waybill_no": parcel.waybill_no, "department_code": parcel.department_code,
        "created_at": parcel.created_at, "clerk": parcel.clerk,
        "cases": [{"receipt_no": c.receipt_no, "items": list(c.items),
                   "materials": [{"name": m.name, "form": m.form, "pages": m.pages} for m in c.materials]}
                  for c in parcel.cases]})


def leg_body(leg: Leg) -> bytes:
    """The PUT body of a result this hall mails on under one of its numbers."""
    return sync.encode_body({"tracking_no": leg.tracking_no, "receipt_no": leg.receipt_no, "item_code": leg.item_code,
                         "kind": leg.kind, "created_at": leg.created_at})


@dataclass(frozen=True)
class _Mail:
    """One mail item as the delivery needs it: the cases it names, its body, its two requests."""

    what: str  # in log lines
    receipts: tuple[str, ...]
    body: Callable[[], bytes]
    put: Callable[[DeliveryClient, str, bytes], object]
    held: Callable[[DeliveryClient, str], tuple[str, str] | None]  # (payload hash, accepted at) or None


def _parcel(mail: MailStore, key: str) -> _Mail | None:
    parcel = mail.parcel(key)
    if parcel is None:
        return None

    def held(client: DeliveryClient, parcel_id: str) -> tuple[str, str] | None:
        record = mail_api.get_parcel(client, parcel_id)
        return (record.payload_hash, record.accepted_at) if record else None

    return _Mail("parcel", parcel.receipt_nos, lambda: parcel_body(parcel), mail_api.put_parcel, held)


def _leg(mail: MailStore, key: str) -> _Mail | None:
    leg = mail.result_leg(key)
    if leg is None:
        return None

    def held(client: DeliveryClient, tracking_no: str) -> tuple[str, str] | None:
        record = mail_api.get_leg(client, tracking_no)
        return (record.payload_hash, record.accepted_at) if record else None

    return _Mail("mail leg", (leg.receipt_no,), lambda: leg_body(leg),
                 mail_api.put_leg, held)


_KINDS = {"parcel": _parcel, "leg": _leg}


def deliver_mail(engine: sync.SyncEngine, client: DeliveryClient, item: OutboxItem,
                 report: sync.SyncReport) -> None:
    """One parcel or mail leg of the outbox (raises ``sync.Stop`` when the pass must end)."""
    found = _KINDS[item.kind](MailStore(engine.cases.store), item.key)
    if found is None:
        engine.outbox.mark_held(item.id, "寄递记录不存在")
        report.held += 1
        return
    if item.state != "in_doubt" and not _cases_sent(engine, item, report, found):
        return
    try:
        if item.state == "in_doubt" and engine.settle(item, report, found.held(client, item.key)):
            return
        body = engine.outbox.body(item.id, item.key)
        if body is None:
            body = found.body()
            body = engine.outbox.fix_body(item.id, item.key, body, hashlib.sha256(body).hexdigest())
        engine.outbox.mark_sending(item.id, hashlib.sha256(body).hexdigest())
        put = found.put(client, item.key, body)
        engine.outbox.mark_acked(item.id, put.ack)
        report.delivered += 1
        log.info("%s %s delivered (%s)", found.what, item.key, "new" if put.created else "replay")
    except (NetworkUnavailable, PlatformError) as exc:
        status, code = getattr(exc, "status", None), getattr(exc, "code", "")
        if status == 409 and code == "cases_missing":
            engine.wait(item, report, None, WAITING_FOR_CASES, exc.log or "")
        elif status == 409 and code in REFUSED_CODES:
            engine.outbox.mark_rejected(item.id, f"平台拒收寄递信息：{exc.message}", exc.log or "")
            report.rejected += 1
        else:
            engine.failed(item, report, exc)


def _cases_sent(engine: sync.SyncEngine, item: OutboxItem, report: sync.SyncReport, found: _Mail) -> bool:
    """Whether every case the item names is on the platform; if not, the item waits (with back-off)
    for them, or is refused for good when one of them never will be (rejected by the platform)."""
    states = {r: (engine.outbox.item(r).state if engine.outbox.item(r) else "") for r in found.receipts}
    rejected = [r for r, state in states.items() if state == "rejected"]
    if rejected:
        engine.outbox.mark_rejected(item.id, CASE_REJECTED.format(receipt=rejected[0]),
                                    f"{found.what} {item.key}: a case it names was rejected")
        report.rejected += 1
        return False
    held = [r for r, state in states.items() if state == "held"]
    unsent = [r for r, state in states.items() if state != "acked"]
    if held:
        engine.wait(item, report, None, CASE_HELD.format(receipt=held[0]), f"{found.what} {item.key}: a case is held")
    elif unsent:
        engine.wait(item, report, None, WAITING_FOR_CASES, f"{found.what} {item.key}: {len(unsent)} case(s) not acked")
    return not unsent


def after_pass(engine: sync.SyncEngine, client: DeliveryClient, report: sync.SyncReport,
               policy: MailPolicy | None) -> None:
    """Result legs from the statuses just pulled; then, if the pass went well, a pool refill when
    the pool is low (or an earlier allocation is still unanswered)."""
    mail = MailStore(engine.cases.store)
    added = mail.record_result_legs()
    if added:
        log.info("%d result leg(s) recorded from the status feed", added)
    if policy is None or report.stopped or report.login_required:
        return
    try:
        report.pool_added += refill_pool(mail, client, policy)
    except (NetworkUnavailable, PlatformError) as exc:  # the request id is kept: asked again next pass
        log.info("pool refill not done: %s", exc.log)
