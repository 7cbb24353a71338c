"""The sync engine: one pass delivers what is due in the outbox and pulls statuses back.

The rules of ``platform.md`` as code:

1. the receipt number is the key end to end (the supplement's own id for a supplement);
2. an item whose send got no real answer becomes *in doubt*; before any resend the platform is
   asked by key (``GET /cases/{receipt}``) — held with our hash: acknowledged; not held: send;
3. blobs first, resumed from the platform's offset, the record last;
4. only a real 2xx counts: answers are validated, an acknowledgement must carry the hash of the
   body we sent (``platform_api.delivery``);
5. back-off with jitter on network errors and 5xx, ``Retry-After`` honoured, a 413 shrinks the
   chunk size (the learned maximum is kept apart from the preferred chunk size);
6. one sender at a time (the outbox's sender lock, freed by the OS when its process dies);
7. the status feed by cursor, applied idempotently and never backwards (``offline_cache.statuses``);
9. each body records the device time and the clock offset learned at the last contact;
10. nothing local is deleted here.

The body of an item is built once, at its first send, sealed in the outbox and resent byte for
byte afterwards: the platform then sees an identical replay, never a conflict.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from counter_client.domain.case import Case
from counter_client.errors import AuthRequired, NetworkUnavailable, PlatformError, StoreError, UserError
from counter_client.platform_api.delivery import BadAnswer, DeliveryClient
from counter_client.services.login import LoginService
from offline_cache.blobs import BlobStore
from offline_cache.cases import CaseStore
from offline_cache.outbox import Outbox, OutboxItem
from offline_cache.statuses import Event, Statuses, Supplement

log = logging.getLogger(__name__)

MIB = 1024 * 1024
DEFAULT_CHUNK_BYTES = 8 * MIB  # preferred size of one PATCH
MIN_CHUNK_BYTES = 64 * 1024
BACKOFF_BASE_S = 5.0
BACKOFF_CAP_S = 15 * 60.0
MAX_CHECK = 500  # hashes per POST /blobs/check
FEED_PAGE = 200
MAX_FEED_PAGES = 50  # per pass; the rest next time
SKIP_PIECE = MIB
MAIL_KINDS = ("parcel", "leg")  # outbox kinds delivered by services/mail_sync.py
CLOCK_FAR_S = 300.0  # a device clock further off than this is flagged on the case

Progress = Callable[[int, int, str], None]


@dataclass
class SyncPolicy:
    chunk_bytes: int = DEFAULT_CHUNK_BYTES  # preferred chunk size (a setting)
    max_request_bytes: int | None = None  # learned from a 413; never grows back within a run
    backoff_base_s: float = BACKOFF_BASE_S
    backoff_cap_s: float = BACKOFF_CAP_S
    batch: int = 50  # items per pass

    def chunk(self) -> int:
        limit = self.max_request_bytes or self.chunk_bytes
        return max(MIN_CHUNK_BYTES, min(self.chunk_bytes, limit))


@dataclass
class SyncReport:
    """What one pass did (counts), and why it stopped early if it did (a message for the clerk)."""

    delivered: int = 0  # acknowledged in this pass (first time or identical replay)
    confirmed: int = 0  # of which settled by asking the platform about an in-doubt send
    waiting: int = 0  # put back to wait (network trouble, 5xx, 429)
    in_doubt: int = 0
    rejected: int = 0
    held: int = 0
    blobs_sent: int = 0
    blobs_present: int = 0  # already on the platform: not sent again
    bytes_sent: int = 0
    statuses: int = 0  # status changes applied
    needs_clerk: list[Event] = field(default_factory=list)  # every open 补正 / 不予受理, old or new
    changed: list[Event] = field(default_factory=list)  # the status changes applied in this pass
    requests: int = 0
    remaining: int = 0  # items not yet acknowledged after the pass
    stopped: str = ""
    login_required: bool = False
    busy: bool = False  # another sender holds the sender lock
    pool_added: int = 0  # waybill numbers received (services/mail_sync.py)

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("needs_clerk", "changed")}
        out["needs_clerk"] = [{"receipt_no": e.receipt_no, "item_code": e.item_code, "status": e.status,
                               "reason": e.reason, "needed": list(e.needed)} for e in self.needs_clerk]
        out["changed"] = [{"receipt_no": e.receipt_no, "item_code": e.item_code, "status": e.status, "at": e.at,
                           "tracking_no": e.tracking_no} for e in self.changed]
        return out


class Stop(Exception):
    """End the pass: the connection is gone or the token refused."""


class _Window:
    """``size`` bytes of a stream as a request body with a known length (streamed, never held)."""

    def __init__(self, stream, size: int):
        self._stream, self._left, self.len = stream, size, size

    def __len__(self) -> int:
        return self.len

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        n = self._left if n is None or n < 0 else min(n, self._left)
        data = self._stream.read(n)
        self._left -= len(data)
        return data

    def __iter__(self):
        while chunk := self.read(MIB):
            yield chunk


def case_body(case: Case, blobs: BlobStore, clock_offset_s: float) -> bytes:
    """The PUT body of a collected case: the case as held here (personal parts included: the
    platform needs them), its attachment manifest, the device time and clock offset (rule 9)."""
    payload = {
        "receipt_no": case.receipt_no, "state": "collected", "mode": case.mode,
        "applicant": _party(case.applicant),
        "agent": _party(case.agent) if case.agent else None,
        "helper": {"mode": case.helper.mode, "name": case.helper.name, "staff_no": case.helper.staff_no,
                   "platform_app_no": case.helper.platform_app_no},
        "items": [{"code": i.code, "name": i.name, "version": i.version, "basic_code": i.basic_code,
                   "handling_region": i.handling_region, "department_code": i.department_code,
                   "promised_days": i.promised_days, "promised_unit": i.promised_unit, "due_date": i.due_date,
                   "collectable_by": list(i.collectable_by)} for i in case.items],
        "materials": [{"name": m.name, "key": m.key, "items": list(m.items), "form": m.form, "pages": m.pages,
                       "review": m.review, "review_reasons": list(m.review_reasons),
                       "elicence_ref": m.elicence_ref, "necessity": m.necessity} for m in case.materials],
        "delivery": {"method": case.delivery.method, "address": case.delivery.address,
                     "recipient": case.delivery.recipient, "phone": case.delivery.phone},
        "identity_checked": case.identity_checked, "credit_checked": case.credit_checked,
        "collected_at": case.collected_at,
    }
    attachments = [{"sha256": sha, "size": blobs.size(sha), "material": m.name, "page": page}
                   for m in case.materials for page, sha in enumerate(m.scans, start=1)]
    return encode_body({"receipt_no": case.receipt_no, "payload": payload, "attachments": attachments,
                    "device_time": case.collected_at, "clock_offset_s": round(clock_offset_s, 3)})


def supplement_body(supplement: Supplement, blobs: BlobStore) -> bytes:
    materials = [{"name": m.name, "pages": m.pages} for m in supplement.materials]
    attachments = [{"sha256": sha, "size": blobs.size(sha), "material": m.name, "page": page}
                   for m in supplement.materials for page, sha in enumerate(m.scans, start=1)]
    return encode_body({"materials": materials, "attachments": attachments})


def _party(p) -> dict[str, Any]:
    return {"kind": p.kind, "name": p.name, "id_type": p.id_type, "id_number": p.id_number, "phone": p.phone,
            "address": p.address, "contact": p.contact, "relation": p.relation}


def encode_body(value: Any) -> bytes:
    """Canonical JSON (keys sorted, no spaces, UTF-8): the platform hashes the same form."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


class SyncEngine:
    """Delivers the outbox of one terminal to the platform; one ``run_once`` is one pass.

    Build one per thread that syncs (the stores give each thread its own connection; the client
    is made per pass by ``make_client``, so each pass has its own ``requests`` session)."""

    def __init__(self, cases: CaseStore, blobs: BlobStore, login: LoginService,
                 make_client: Callable[[], DeliveryClient], clock_offset: Callable[[], float] = lambda: 0.0,
                 policy: SyncPolicy | None = None, rng: random.Random | None = None, clock=time.time,
                 mail_policy=None):
        self.cases = cases
        self.mail_policy = mail_policy  # services.mail.MailPolicy: refill the waybill pool when low
        self.blobs = blobs
        self.login = login
        self.make_client = make_client
        self.clock_offset = clock_offset
        self.policy = policy or SyncPolicy()
        self.outbox = Outbox(cases.store, cases.cipher, clock=clock)
        self.statuses = Statuses(cases.store, clock=clock)
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._rng = rng or random.Random()
        self._clock = clock
        self._cancelled: Callable[[], bool] = lambda: False
        # what this pass learned about the platform's blobs: sha -> bytes held (HELD = complete).
        # One POST /blobs/check covers every item of the pass; a blob sent for one case is not
        # checked again for the next one. A 409 blobs_missing forgets what it names.
        self._blob_state: dict[str, int] = {}
        self._pass_blobs: list[tuple[str, int]] = []

    # -- one pass ---------------------------------------------------------------------------------------
    def run_once(self, progress: Progress | None = None, cancelled: Callable[[], bool] | None = None,
                 pull: bool = True) -> SyncReport:
        report = SyncReport()
        progress = progress or (lambda done, total, text: None)
        cancelled = cancelled or (lambda: False)
        self._cancelled = cancelled  # checked between items and between the chunks of a blob
        try:
            acquired = self.outbox.acquire(self.owner)
        except StoreError as exc:  # the disk is full: nothing can be recorded, so nothing is sent
            log.error("sync pass not started: %s", exc.log)
            report.stopped = exc.message
            return report
        if not acquired:
            report.busy = True
            report.stopped = "另一个同步正在进行，本次跳过。"
            return report
        client: DeliveryClient | None = None
        try:
            recovered = self.outbox.recover()
            if recovered:
                log.warning("%d item(s) were being sent when the last sender stopped: now in doubt", recovered)
            client = self.make_client()
            try:
                self.login.authorise(client)
            except AuthRequired as exc:
                report.login_required, report.stopped = True, exc.message
                return report
            except NetworkUnavailable as exc:
                report.stopped = exc.message
                return report
            self._deliver_due(client, report, progress, cancelled)
            if pull and not report.stopped and not cancelled():
                self._pull(client, report, progress)
            if not cancelled():  # mail: result legs, pool refill (services/mail_sync.py)
                from counter_client.services.mail_sync import after_pass

                after_pass(self, client, report, self.mail_policy)
        except StoreError as exc:  # disk full, damaged scan: the pass ends, nothing is lost
            log.error("sync pass stopped: %s", exc.log)
            report.stopped = exc.message
        finally:
            if client is not None:
                report.requests = client.requests_made
                client.close()
            report.remaining = sum(n for state, n in self.outbox.counts().items() if state != "acked")
            self.outbox.release(self.owner)
        log.info("sync pass: %s", {k: v for k, v in report.as_dict().items() if k not in ("needs_clerk", "changed") and v})
        return report

    def _deliver_due(self, client: DeliveryClient, report: SyncReport, progress: Progress,
                     cancelled: Callable[[], bool]) -> None:
        due = self.outbox.due(self.policy.batch)
        bodies = self._bodies(due)
        self._blob_state = {}
        # asked together by the first item that uploads: a failure of that request is that item's
        self._pass_blobs = [blob for body in bodies.values() if body for blob in _attachments(body)]
        for done, item in enumerate(due):
            if cancelled():
                return
            progress(done, len(due), f"正在上传 {item.key}")
            try:
                self._deliver(client, item, report, bodies.get(item.id))
            except Stop:
                return
        progress(len(due), len(due), "")

    def _bodies(self, due: list[OutboxItem]) -> dict[int, bytes | None]:
        """The body of each due item (built and sealed now if it never was), so that one blob check
        covers the pass. In-doubt items are left out: they ask the platform first and may need no body."""
        bodies: dict[int, bytes | None] = {}
        for item in due:
            if item.state == "in_doubt" or item.kind in MAIL_KINDS:  # mail carries no blobs
                continue
            try:
                bodies[item.id] = self._body(item)
            except StoreError as exc:  # met again, and reported, when the item's turn comes
                log.warning("%s %s: body not built ahead: %s", item.kind, item.key, exc.log)
        return bodies

    # -- one item ---------------------------------------------------------------------------------------
    def _deliver(self, client: DeliveryClient, item: OutboxItem, report: SyncReport,
                 body: bytes | None = None) -> None:
        if item.kind in MAIL_KINDS:  # mail has its own module (sent after the cases it names are acked)
            from counter_client.services.mail_sync import deliver_mail

            return deliver_mail(self, client, item, report)
        try:
            if item.state == "in_doubt" and self._settle_doubt(client, item, report):
                return
            body = body if body is not None else self._body(item)
            if body is None:
                self.outbox.mark_held(item.id, "作废")
                report.held += 1
                return
            payload_hash = hashlib.sha256(body).hexdigest()
            for _ in range(2):  # a second round when the platform lost a blob in between
                self._upload_blobs(client, body, report)
                self.outbox.mark_sending(item.id, payload_hash)
                try:
                    put = (client.put_case(item.key, body) if item.kind == "case"
                           else client.put_supplement(self._receipt_of(item), item.key, body))
                except PlatformError as exc:
                    if exc.status == 409 and exc.code == "blobs_missing":
                        missing = exc.extra.get("missing", [])
                        log.warning("%s: platform misses %d blob(s); uploading again", item.key, len(missing))
                        self._forget_blobs(body, missing)
                        continue
                    raise
                self.outbox.mark_acked(item.id, put.ack)
                report.delivered += 1
                log.info("%s %s delivered (%s)", item.kind, item.key, "new" if put.created else "replay")
                return
            self.wait(item, report, None, "平台仍缺少材料文件，稍后重试。", f"{item.key}: blobs still missing")
        except (NetworkUnavailable, PlatformError) as exc:
            self.failed(item, report, exc)

    def failed(self, item: OutboxItem, report: SyncReport, exc: NetworkUnavailable | PlatformError) -> None:
        """What a failed attempt leaves, the same for every kind of item (mail too): raises ``Stop``
        when the pass must end (login refused, no connection)."""
        if isinstance(exc, AuthRequired):  # refused before anything was done: in doubt only if it was before
            self.login.refused()
            self.outbox.mark_retry(item.id, 0, exc.message, exc.log or "", in_doubt=self._state(item) == "in_doubt")
            report.login_required, report.stopped = True, LOGIN_AGAIN
            raise Stop from None
        if isinstance(exc, NetworkUnavailable):  # no answer: if the record went out, it is in doubt
            self.wait(item, report, getattr(exc, "retry_after", None), exc.message, exc.log or "",
                      in_doubt=self._doubtful(item))
            report.stopped = exc.message
            raise Stop from None
        if isinstance(exc, BadAnswer):
            self.wait(item, report, None, exc.message, exc.log or "", in_doubt=self._doubtful(item))
        else:
            self._platform_error(item, exc, report)

    def _settle_doubt(self, client: DeliveryClient, item: OutboxItem, report: SyncReport) -> bool:
        """Ask before resending (rule 2). True when the platform's answer settled the item."""
        receipt = self._receipt_of(item)
        record = client.get_case(receipt)
        if item.kind == "case":
            held = (record.payload_hash, record.accepted_at) if record else None
        else:
            match = [s for s in (record.supplements if record else []) if s.supplement_id == item.key]
            held = (match[0].payload_hash, match[0].accepted_at) if match else None
        return self.settle(item, report, held, {"receipt_no": receipt})

    def settle(self, item: OutboxItem, report: SyncReport, held: tuple[str, str] | None,
               ack: dict[str, Any] | None = None) -> bool:
        """An in-doubt item after asking the platform: ``held`` is what it holds under the item's key
        (payload hash, accepted at) or ``None``. Same body: acknowledged; another: rejected loudly;
        nothing: False (send it). Used for every kind of item."""
        if held is None:
            log.info("%s %s was in doubt: the platform does not hold it; sending", item.kind, item.key)
            return False
        payload_hash, accepted_at = held
        if item.payload_hash and payload_hash != item.payload_hash:
            self.outbox.mark_rejected(item.id, CONFLICT, f"{item.kind} {item.key}: platform holds hash "
                                                         f"{payload_hash[:16]}, ours {item.payload_hash[:16]}")
            report.rejected += 1
            return True
        self.outbox.mark_acked(item.id, {**(ack or {"key": item.key}), "payload_hash": payload_hash,
                                         "accepted_at": accepted_at, "confirmed": True})
        report.delivered += 1
        report.confirmed += 1
        log.info("%s %s was in doubt: the platform holds it; acknowledged", item.kind, item.key)
        return True

    def _body(self, item: OutboxItem) -> bytes | None:
        kept = self.outbox.body(item.id, item.key)
        if kept is not None:
            return kept
        if item.kind == "case":
            case = self.cases.load(item.case_id)
            if case is None or case.state == "void":
                return None  # voided before it was ever sent: it goes nowhere
            offset = self.clock_offset()
            body = case_body(case, self.blobs, offset)
            if abs(offset) > CLOCK_FAR_S:  # rule 9: flag, never block
                log.warning("case %s: device clock %.0f s off the platform's", item.key, offset)
                self.cases.add_event(case.id, "系统", "时钟偏差",
                                     {"clock_offset_s": round(offset), "message": f"收件时本机时钟与平台相差约 "
                                      f"{abs(round(offset))} 秒，收件时间以平台核对为准"})
        else:
            supplement = self.statuses.supplement(item.key)
            if supplement is None:
                return None
            body = supplement_body(supplement, self.blobs)
        return self.outbox.fix_body(item.id, item.key, body, hashlib.sha256(body).hexdigest())

    def _receipt_of(self, item: OutboxItem) -> str:
        if item.kind == "case":
            return item.key
        supplement = self.statuses.supplement(item.key)
        if supplement is None:
            raise StoreError("找不到该补正材料记录。", f"no supplement {item.key}")
        return supplement.receipt_no

    def _state(self, item: OutboxItem) -> str:
        current = self.outbox.by_id(item.id)
        return current.state if current else item.state

    def _doubtful(self, item: OutboxItem) -> bool:
        """The record may have reached the platform: it was going out, or was in doubt already."""
        return self._state(item) in ("sending", "in_doubt")

    # -- blobs ----------------------------------------------------------------------------------------
    def _check_blobs(self, client: DeliveryClient, blobs: list[tuple[str, int]]) -> None:
        """Ask the platform once about every blob not yet known in this pass (500 per request)."""
        unknown = list(dict.fromkeys(sha for sha, _ in blobs if sha not in self._blob_state))
        sizes = dict(blobs)
        for start in range(0, len(unknown), MAX_CHECK):
            part = unknown[start:start + MAX_CHECK]
            check = client.check_blobs(part)
            held = set(check.held)
            for sha in part:
                self._blob_state[sha] = sizes[sha] if sha in held else int(check.partial.get(sha, 0))

    def _forget_blobs(self, body: bytes, missing: Any) -> None:
        named = {m for m in missing if isinstance(m, str)} if isinstance(missing, list) else set()
        for sha, _ in _attachments(body):
            if not named or sha in named:
                self._blob_state.pop(sha, None)

    def _upload_blobs(self, client: DeliveryClient, body: bytes, report: SyncReport) -> None:
        blobs = _attachments(body)
        shared, self._pass_blobs = self._pass_blobs, []
        if shared:
            try:
                self._check_blobs(client, shared + blobs)
            except PlatformError as exc:
                if not _refusal_of_the_request(exc):
                    raise  # network, 5xx, 429, login: the same for any request, this item meets it
                # refused for what it asked (another case's blobs, perhaps): ask about this item's alone
                log.warning("blob check for the pass refused (%s); checking %s alone", exc.log, body_key(body))
        self._check_blobs(client, blobs)  # a no-op for the blobs the pass already knows
        for sha, size in blobs:
            held = self._blob_state[sha]
            if held >= size:
                report.blobs_present += 1
                continue
            self._upload(client, sha, size, held, report)
            self._blob_state[sha] = size

    def _upload(self, client: DeliveryClient, sha: str, length: int, offset: int, report: SyncReport) -> None:
        """Send one blob from ``offset`` in chunks; the platform verifies the hash at the end."""
        restarts = 0
        while True:
            with self.blobs.open_stream(sha) as stream:
                _skip(stream, offset)
                while offset < length:
                    if self._cancelled():  # shutting down: the platform keeps what it has, resume later
                        raise Stop
                    size = min(self.policy.chunk(), length - offset)
                    try:
                        new = client.patch_blob(sha, offset, length, _Window(stream, size), size)
                    except PlatformError as exc:
                        offset = self._after_refused_chunk(exc, sha, offset, length, size)
                        break  # reopen the stream at the offset the platform holds
                    report.bytes_sent += new - offset
                    if new != offset + size:  # the platform holds something else: follow it
                        offset = new
                        break
                    offset = new
                else:
                    report.blobs_sent += 1
                    return
            restarts += 1
            if restarts > 20:
                raise PlatformError("材料文件多次上传未成功，稍后重试。", f"blob {sha[:12]}: too many restarts")

    def _after_refused_chunk(self, exc: PlatformError, sha: str, offset: int, length: int, size: int) -> int:
        if exc.code == "offset_mismatch" and isinstance(exc.extra.get("offset"), int):
            log.info("blob %s: platform holds %s bytes, not %s; resuming there", sha[:12], exc.extra["offset"], offset)
            return exc.extra["offset"]
        if exc.status == 413 and exc.code == "request_too_large":
            limit = exc.extra.get("max_bytes")
            smaller = max(MIN_CHUNK_BYTES, min(size // 2, limit if isinstance(limit, int) else size // 2))
            if smaller >= size:
                raise exc
            self.policy.max_request_bytes = smaller
            log.warning("blob %s: a %d-byte chunk was too large; chunks of %d from now on", sha[:12], size, smaller)
            return offset
        if exc.status == 460:
            self.blobs.verify(sha)  # raises when our own copy is damaged
            log.warning("blob %s: platform saw a hash mismatch; sending again from 0", sha[:12])
            return 0
        raise exc

    # -- errors --------------------------------------------------------------------------------------
    def _platform_error(self, item: OutboxItem, exc: PlatformError, report: SyncReport) -> None:
        status = exc.status or 0
        if status == 409 and exc.code == "conflict":
            self.outbox.mark_rejected(item.id, CONFLICT, exc.log or "")
            report.rejected += 1
        elif status in (400, 403, 404, 413, 422) and exc.code != "upload_busy":
            self.outbox.mark_rejected(item.id, _rejection(exc), exc.log or "")
            report.rejected += 1
        elif status in (423, 429, 503) and exc.retry_after is not None:
            self.wait(item, report, exc.retry_after, exc.message, exc.log or "")
        else:  # 5xx and the rest: the platform may have committed before failing
            self.wait(item, report, None, exc.message, exc.log or "", in_doubt=self._doubtful(item))

    def wait(self, item: OutboxItem, report: SyncReport, retry_after: float | None, message: str, detail: str,
              in_doubt: bool = False) -> None:
        current = self.outbox.by_id(item.id)
        attempts = current.attempts if current else item.attempts + 1
        delay = self.backoff(attempts, retry_after)
        self.outbox.mark_retry(item.id, delay, message, detail, in_doubt=in_doubt)
        if in_doubt:
            report.in_doubt += 1
        else:
            report.waiting += 1
        log.info("%s %s: %s; next try in %.0f s (%s)", item.kind, item.key, "in doubt" if in_doubt else "waiting",
                 delay, detail)

    def backoff(self, attempts: int, retry_after: float | None = None) -> float:
        """Exponential back-off with full jitter in its upper half; ``Retry-After`` when given."""
        if retry_after is not None:
            return retry_after * (1.0 + 0.1 * self._rng.random())
        ceiling = min(self.policy.backoff_cap_s, self.policy.backoff_base_s * 2 ** min(max(attempts - 1, 0), 16))
        return ceiling * (0.5 + 0.5 * self._rng.random())

    # -- statuses --------------------------------------------------------------------------------------
    def _pull(self, client: DeliveryClient, report: SyncReport, progress: Progress) -> None:
        try:
            for _ in range(MAX_FEED_PAGES):
                cursor = self.statuses.cursor()
                progress(0, 0, "正在获取办理状态")
                feed = client.status_feed(cursor, FEED_PAGE)
                events = [Event(e.seq, e.receipt_no, e.item_code, e.status, e.at, e.reason or "",
                                tuple(e.needed), e.tracking_no or "") for e in feed.events if e.seq is not None]
                changed = self.statuses.apply(events, feed.next_cursor)
                report.statuses += len(changed)
                report.changed.extend(changed)
                if not feed.events or feed.next_cursor == cursor:
                    break
        except (NetworkUnavailable, PlatformError) as exc:
            log.info("status pull stopped: %s", exc.log)
            if isinstance(exc, AuthRequired):
                self.login.refused()
                report.login_required = True
            report.stopped = report.stopped or exc.message
        report.needs_clerk = self.statuses.needing_clerk()


CONFLICT = "平台已有同一收件编号的办件，但内容与本机的不一致。已停止发送，请联系平台运维核对（不会重复提交）。"
LOGIN_AGAIN = "平台登录已失效，请重新登录后再同步。待上传的办件保持不变。"


def _refusal_of_the_request(exc: PlatformError) -> bool:
    """A 4xx that refuses the request's content (not login, rate or lock: those are the same for any)."""
    return (not isinstance(exc, (AuthRequired, BadAnswer)) and exc.status is not None
            and 400 <= exc.status < 500 and exc.status not in (401, 408, 423, 429))


def body_key(body: bytes) -> str:
    """The receipt number (or supplement) a sealed body is for, for log lines."""
    document = json.loads(body)
    return str(document.get("receipt_no") or "supplement")


def _attachments(body: bytes) -> list[tuple[str, int]]:
    """(sha256, size) of each attachment a sealed body names, in order, each once."""
    seen: dict[str, int] = {}
    for a in json.loads(body)["attachments"]:
        seen.setdefault(a["sha256"], a["size"])
    return list(seen.items())


def _rejection(exc: PlatformError) -> str:
    errors = exc.extra.get("errors")
    if isinstance(errors, list) and errors:
        fields = "；".join(f"{e.get('field', '')}：{e.get('message', '')}" for e in errors[:5] if isinstance(e, dict))
        return f"平台拒收：{exc.message}（{fields}）"
    return f"平台拒收：{exc.message}"


def _skip(stream, offset: int) -> None:
    left = offset
    while left > 0:
        data = stream.read(min(SKIP_PIECE, left))
        if not data:
            raise StoreError("本机的材料文件比记录的短，无法续传。", f"blob ended {left} bytes before offset {offset}")
        left -= len(data)


__all__ = ["SyncEngine", "SyncPolicy", "SyncReport", "UserError", "case_body", "supplement_body"]
