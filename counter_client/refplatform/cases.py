"""Cases the platform has received, their per-item statuses, the status feed and supplements.

The receipt number is the idempotency key: a case is stored once, with the SHA-256 of the
canonical JSON of the whole request body (``canonical_json``); the same body again gets the
stored answer, a different one a conflict. A case is committed only when every blob it lists is
complete and verified (blobs first, record last).

Statuses are per item (a 多地联办 case has one route per 办理地) and only move forward along
``TRANSITIONS``; every change is an event with a growing ``seq``, which is the status feed's
cursor. 已接收 is the state a case is stored in; it is not an event.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from counter_client.refplatform import utc_iso
from counter_client.refplatform.store import PlatformStore

RECEIVED = "已接收"
ACCEPTED = "受理"
REFUSED = "不予受理"
SUPPLEMENT = "补正"
DONE = "办结"
MAILED = "结果已寄出"
STATUSES = (ACCEPTED, REFUSED, SUPPLEMENT, DONE, MAILED)
FINAL = frozenset({REFUSED, MAILED})  # 办结 is final too when the result is not mailed
TRANSITIONS: dict[str, frozenset[str]] = {
    RECEIVED: frozenset({ACCEPTED, REFUSED, SUPPLEMENT}),
    SUPPLEMENT: frozenset({ACCEPTED, REFUSED}),  # 受理 only through an accepted supplement
    ACCEPTED: frozenset({DONE}),
    DONE: frozenset({MAILED}),
    REFUSED: frozenset(),
    MAILED: frozenset(),
}
MAILING_METHODS = ("邮寄", "收件地代领")  # the result travels by post: to the applicant or to the hall
NO_MAIL_MODES = ("全程网办帮办",)  # online: results are delivered online, nothing is mailed


class StatusRefused(ValueError):
    """A status change that would move an item backwards or skip a step."""


class CaseConflict(Exception):
    def __init__(self, stored_hash: str, received_hash: str):
        super().__init__(stored_hash)
        self.stored_hash = stored_hash
        self.received_hash = received_hash


class BlobsMissing(Exception):
    def __init__(self, missing: list[str]):
        super().__init__(missing)
        self.missing = missing


class SizeMismatch(Exception):
    """Attachments whose announced size is not the verified blob's: ``[(index, size)]``."""

    def __init__(self, wrong: list[tuple[int, int]]):
        super().__init__(wrong)
        self.wrong = wrong


class CaseClosed(Exception):
    """A supplement for a case whose every item is final."""


def canonical_json(value: Any) -> bytes:
    """The form the payload hash is taken over: keys sorted, no whitespace, UTF-8 (not escaped)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def payload_hash(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()


def check_transition(current: str, new: str) -> None:
    if new not in TRANSITIONS.get(current, frozenset()):
        raise StatusRefused(f"status {new} cannot follow {current}")


@dataclass(frozen=True)
class Attachment:
    sha256: str
    size: int
    material: str
    page: int


@dataclass(frozen=True)
class NewCase:
    receipt_no: str
    hall_code: str
    terminal: int
    receipt_day: str
    payload_hash: str
    body: str
    account: str
    mode: str
    delivery_method: str
    device_time: str
    clock_offset_s: float
    items: list[tuple[str, str]]  # (code, handling_region)
    attachments: list[Attachment] = field(default_factory=list)


def _answer(receipt_no: str, payload_hash_: str, accepted_at: str) -> dict[str, str]:
    return {"receipt_no": receipt_no, "payload_hash": payload_hash_, "accepted_at": accepted_at, "status": RECEIVED}


def _check_blobs(store: PlatformStore, attachments: list[Attachment]) -> None:
    lengths = {}
    for sha256 in dict.fromkeys(a.sha256 for a in attachments):
        row = store.conn.execute("SELECT length FROM blobs WHERE sha256 = ? AND complete = 1", (sha256,)).fetchone()
        if row is not None:
            lengths[sha256] = row[0]
    missing = [sha for sha in dict.fromkeys(a.sha256 for a in attachments) if sha not in lengths]
    if missing:
        raise BlobsMissing(missing)
    wrong = [(i, lengths[a.sha256]) for i, a in enumerate(attachments) if a.size != lengths[a.sha256]]
    if wrong:
        raise SizeMismatch(wrong)


def _insert_attachments(store: PlatformStore, receipt_no: str, supplement_id: str,
                        attachments: list[Attachment]) -> None:
    store.conn.executemany(
        "INSERT INTO attachments (receipt_no, supplement_id, position, sha256, size, material, page)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(receipt_no, supplement_id, i, a.sha256, a.size, a.material, a.page) for i, a in enumerate(attachments)],
    )


def put_case(store: PlatformStore, case: NewCase) -> tuple[bool, dict[str, str]]:
    """Store ``case``; returns (created, answer). Raises CaseConflict, BlobsMissing, SizeMismatch."""
    with store.write():
        row = store.conn.execute(
            "SELECT payload_hash, accepted_at FROM cases WHERE receipt_no = ?", (case.receipt_no,)
        ).fetchone()
        if row is not None:
            if row[0] != case.payload_hash:
                raise CaseConflict(row[0], case.payload_hash)
            return False, _answer(case.receipt_no, row[0], row[1])
        _check_blobs(store, case.attachments)
        accepted_at = utc_iso()
        store.conn.execute(
            "INSERT INTO cases (receipt_no, hall_code, terminal, receipt_day, payload_hash, body, account,"
            " accepted_at, mode, delivery_method, device_time, clock_offset_s)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (case.receipt_no, case.hall_code, case.terminal, case.receipt_day, case.payload_hash, case.body,
             case.account, accepted_at, case.mode, case.delivery_method, case.device_time, case.clock_offset_s),
        )
        store.conn.executemany(
            "INSERT INTO case_items (receipt_no, position, item_code, handling_region, status) VALUES (?, ?, ?, ?, ?)",
            [(case.receipt_no, i, code, region, RECEIVED) for i, (code, region) in enumerate(case.items)],
        )
        _insert_attachments(store, case.receipt_no, "", case.attachments)
    return True, _answer(case.receipt_no, case.payload_hash, accepted_at)


def case_hall(store: PlatformStore, receipt_no: str) -> str | None:
    row = store.conn.execute("SELECT hall_code FROM cases WHERE receipt_no = ?", (receipt_no,)).fetchone()
    return row[0] if row else None


def _event(row) -> dict[str, Any]:
    seq, receipt_no, item_code, status, at, reason, needed, tracking_no = row
    return {"seq": seq, "receipt_no": receipt_no, "item_code": item_code, "status": status, "at": at,
            "reason": reason, "needed": json.loads(needed), "tracking_no": tracking_no}


_EVENT_COLUMNS = "seq, receipt_no, item_code, status, at, reason, needed, tracking_no"


def _attachments(store: PlatformStore, receipt_no: str, supplement_id: str) -> list[dict[str, Any]]:
    rows = store.conn.execute(
        "SELECT a.sha256, a.size, a.material, a.page, b.length, b.verified_at FROM attachments a"
        " JOIN blobs b ON b.sha256 = a.sha256 WHERE a.receipt_no = ? AND a.supplement_id = ? ORDER BY a.position",
        (receipt_no, supplement_id),
    ).fetchall()
    return [{"sha256": sha, "size": size, "material": material, "page": page, "verified_sha256": sha,
             "verified_size": length, "verified_at": verified_at}
            for sha, size, material, page, length, verified_at in rows]


def get_case(store: PlatformStore, receipt_no: str) -> dict[str, Any] | None:
    """The platform's record of a case (no personal data: the payload stays on the platform)."""
    with store.read():
        row = store.conn.execute(
            "SELECT receipt_no, hall_code, terminal, payload_hash, accepted_at, account, device_time,"
            " clock_offset_s FROM cases WHERE receipt_no = ?",
            (receipt_no,),
        ).fetchone()
        if row is None:
            return None
        receipt, hall, terminal, hash_, accepted_at, account, device_time, offset = row
        items = [{"code": code, "handling_region": region, "status": status}
                 for code, region, status in store.conn.execute(
                     "SELECT item_code, handling_region, status FROM case_items WHERE receipt_no = ? ORDER BY position",
                     (receipt_no,))]
        supplements = [
            {"supplement_id": sid, "payload_hash": sh, "accepted_at": at, "attachments": _attachments(store, receipt, sid)}
            for sid, sh, at in store.conn.execute(
                "SELECT supplement_id, payload_hash, accepted_at FROM supplements WHERE receipt_no = ?"
                " ORDER BY accepted_at, supplement_id", (receipt_no,))
        ]
        timeline = [{"seq": None, "receipt_no": receipt, "item_code": item["code"], "status": RECEIVED,
                     "at": accepted_at, "reason": None, "needed": [], "tracking_no": None} for item in items]
        timeline += [_event(r) for r in store.conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM status_events WHERE receipt_no = ? ORDER BY seq", (receipt_no,))]
        return {
            "receipt_no": receipt, "hall_code": hall, "terminal": terminal, "account": account,
            "payload_hash": hash_, "accepted_at": accepted_at, "device_time": device_time, "clock_offset_s": offset,
            "status": summary_status([i["status"] for i in items]), "items": items,
            "attachments": _attachments(store, receipt, ""), "supplements": supplements, "timeline": timeline,
        }


def summary_status(statuses: list[str]) -> str:
    """One status for a whole case: the least advanced of its items (补正 wins: it needs action)."""
    if not statuses:
        return RECEIVED
    if SUPPLEMENT in statuses:
        return SUPPLEMENT
    order = (RECEIVED, ACCEPTED, DONE, MAILED, REFUSED)
    return min(statuses, key=order.index)


def status_feed(store: PlatformStore, hall_code: str, cursor: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    rows = store.conn.execute(
        f"SELECT {_EVENT_COLUMNS} FROM status_events WHERE hall_code = ? AND seq > ? ORDER BY seq LIMIT ?",
        (hall_code, cursor, limit),
    ).fetchall()
    events = [_event(r) for r in rows]
    return events, (events[-1]["seq"] if events else cursor)


def set_status(store: PlatformStore, receipt_no: str, item_code: str, status: str, *, reason: str | None = None,
               needed: list[str] | None = None, tracking_no: str | None = None) -> dict[str, Any]:
    """Move one item to ``status`` (raises ``StatusRefused`` for a step back) and record the event."""
    with store.write():
        row = store.conn.execute(
            "SELECT i.status, c.hall_code FROM case_items i JOIN cases c ON c.receipt_no = i.receipt_no"
            " WHERE i.receipt_no = ? AND i.item_code = ?",
            (receipt_no, item_code),
        ).fetchone()
        if row is None:
            raise KeyError(f"{receipt_no}/{item_code}")
        current, hall = row
        check_transition(current, status)
        store.conn.execute("UPDATE case_items SET status = ? WHERE receipt_no = ? AND item_code = ?",
                           (status, receipt_no, item_code))
        at = utc_iso()
        cursor = store.conn.execute(
            "INSERT INTO status_events (receipt_no, hall_code, item_code, status, at, reason, needed, tracking_no)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (receipt_no, hall, item_code, status, at, reason, json.dumps(needed or [], ensure_ascii=False),
             tracking_no),
        )
        return {"seq": cursor.lastrowid, "receipt_no": receipt_no, "item_code": item_code, "status": status,
                "at": at, "reason": reason, "needed": list(needed or []), "tracking_no": tracking_no}


SUPPLEMENT_RECEIVED_REASON = "已收到补正材料，予以受理"


def put_supplement(store: PlatformStore, receipt_no: str, supplement_id: str, hash_: str, body: str, account: str,
                   attachments: list[Attachment]) -> tuple[bool, dict[str, str]]:
    """Store a supplement; items waiting for one (补正) move to 受理. Returns (created, answer)."""
    with store.write():
        row = store.conn.execute(
            "SELECT payload_hash, accepted_at FROM supplements WHERE receipt_no = ? AND supplement_id = ?",
            (receipt_no, supplement_id),
        ).fetchone()
        if row is not None:
            if row[0] != hash_:
                raise CaseConflict(row[0], hash_)
            return False, _supplement_answer(receipt_no, supplement_id, row[0], row[1])
        statuses = dict(store.conn.execute(
            "SELECT item_code, status FROM case_items WHERE receipt_no = ? ORDER BY position", (receipt_no,)))
        if all(s in FINAL or s == DONE for s in statuses.values()):
            raise CaseClosed()
        _check_blobs(store, attachments)
        accepted_at = utc_iso()
        store.conn.execute(
            "INSERT INTO supplements (receipt_no, supplement_id, payload_hash, body, account, accepted_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (receipt_no, supplement_id, hash_, body, account, accepted_at),
        )
        _insert_attachments(store, receipt_no, supplement_id, attachments)
        for item_code, status in statuses.items():
            if status == SUPPLEMENT:
                set_status(store, receipt_no, item_code, ACCEPTED, reason=SUPPLEMENT_RECEIVED_REASON)
    return True, _supplement_answer(receipt_no, supplement_id, hash_, accepted_at)


def _supplement_answer(receipt_no: str, supplement_id: str, hash_: str, accepted_at: str) -> dict[str, str]:
    return {"receipt_no": receipt_no, "supplement_id": supplement_id, "payload_hash": hash_,
            "accepted_at": accepted_at, "status": RECEIVED}


def reconciliation(store: PlatformStore, hall_code: str, terminal: int, day: str) -> list[dict[str, Any]]:
    rows = store.conn.execute(
        "SELECT c.receipt_no, c.payload_hash, c.accepted_at,"
        " (SELECT COUNT(*) FROM attachments a WHERE a.receipt_no = c.receipt_no AND a.supplement_id = '')"
        " FROM cases c WHERE c.hall_code = ? AND c.terminal = ? AND c.receipt_day = ? ORDER BY c.receipt_no",
        (hall_code, terminal, day),
    ).fetchall()
    return [{"receipt_no": r, "payload_hash": h, "accepted_at": a, "attachments": n} for r, h, a, n in rows]


def all_cases(store: PlatformStore) -> list[dict[str, Any]]:
    """Every case's record, for the operator CLI."""
    receipts = [r[0] for r in store.conn.execute("SELECT receipt_no FROM cases ORDER BY receipt_no")]
    return [record for record in (get_case(store, r) for r in receipts) if record is not None]
