"""Waybill-number pools and parcel manifests, the platform's side.

**Pools.** A terminal asks for ``count`` numbers under a request id it minted; the platform
stands in for the carrier and hands out the next block of its own sequence: S10 numbers
``EM`` + 8-digit serial + check digit + ``CN`` (the training simulator's result numbers use
``EA``, so the two never meet), or 13-digit domestic numbers ``11`` + 11 digits. A number is
given to one terminal only (``waybill_numbers.waybill_no`` is the primary key and the sequence
only moves forward, in the same transaction). The same request id again returns the same
block; the same id with another size or kind is a conflict.

**Parcels.** A parcel manifest names its waybill number, the 办理地 department, and per case the
receipt number and the materials sent. It is stored once per (terminal, parcel id) with the
SHA-256 of its canonical JSON, like a case: identical replay gets the first answer, another body
a conflict. The number must have been allocated to the same terminal and not be used by another
parcel; every case must be one the platform holds for this hall (cases are delivered first).

**Legs.** A result this hall mails on to the applicant (收件地代领 turned into mail) travels
under a number of the same pool: stored once per tracking number with its payload hash (replay
→ the first answer, another body → conflict), the number marked used (``result:`` + receipt
number) so no parcel can take it afterwards, and the case must be one of this hall's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from counter_client.domain.waybill import s10_check_digit
from counter_client.refplatform import utc_iso
from counter_client.refplatform.cases import CaseConflict
from counter_client.refplatform.store import PlatformStore

S10_SERVICE = "EM"  # the pool's EMS service indicator (the simulator's result numbers use EA)
S10_COUNTRY = "CN"
DOMESTIC_PREFIX = "11"
KINDS = ("s10", "domestic")
MAX_BLOCK = 500


class AllocationConflict(Exception):
    """The request id was used before for another size or kind."""


class PoolExhausted(Exception):
    """The platform's own number range is used up."""


class WaybillNotAllocated(Exception):
    """The number was not given to this terminal."""


class WaybillUsed(Exception):
    def __init__(self, parcel_id: str):
        super().__init__(parcel_id)
        self.parcel_id = parcel_id


class CasesMissing(Exception):
    def __init__(self, missing: list[str]):
        super().__init__(missing)
        self.missing = missing


@dataclass(frozen=True)
class Terminal:
    hall_code: str
    terminal: int
    account: str


def number(kind: str, serial: int) -> str:
    if kind == "s10":
        digits = f"{serial:08d}"
        return f"{S10_SERVICE}{digits}{s10_check_digit(digits)}{S10_COUNTRY}"
    return f"{DOMESTIC_PREFIX}{serial:011d}"


def _limit(kind: str) -> int:
    return 10 ** 8 if kind == "s10" else 10 ** 11


def allocate(store: PlatformStore, who: Terminal, request_id: str, count: int,
             kind: str) -> tuple[bool, dict[str, Any]]:
    """Allocate ``count`` numbers to the terminal, or return the block of an earlier request with
    the same id. Returns (created, answer)."""
    with store.write():
        row = store.conn.execute(
            "SELECT kind, count, allocated_at FROM waybill_allocations WHERE hall_code = ? AND terminal = ?"
            " AND request_id = ?", (who.hall_code, who.terminal, request_id)).fetchone()
        if row is not None:
            if (row[0], row[1]) != (kind, count):
                raise AllocationConflict(f"request {request_id} was for {row[1]} {row[0]}")
            return False, _block(store, who, request_id, row[0], row[2])
        key = f"waybill_next_{kind}"
        serial = int(store.meta(key) or 1)
        if serial + count > _limit(kind):
            raise PoolExhausted(kind)
        allocated_at = utc_iso()
        store.conn.execute(
            "INSERT INTO waybill_allocations (hall_code, terminal, request_id, kind, count, account, allocated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)", (who.hall_code, who.terminal, request_id, kind, count, who.account,
                                              allocated_at))
        store.conn.executemany(
            "INSERT INTO waybill_numbers (waybill_no, hall_code, terminal, request_id, position) VALUES (?, ?, ?, ?, ?)",
            [(number(kind, serial + i), who.hall_code, who.terminal, request_id, i) for i in range(count)])
        store.conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET"
                           " value = excluded.value", (key, str(serial + count)))
        return True, _block(store, who, request_id, kind, allocated_at)


def _block(store: PlatformStore, who: Terminal, request_id: str, kind: str, allocated_at: str) -> dict[str, Any]:
    numbers = [r[0] for r in store.conn.execute(
        "SELECT waybill_no FROM waybill_numbers WHERE hall_code = ? AND terminal = ? AND request_id = ?"
        " ORDER BY position", (who.hall_code, who.terminal, request_id))]
    return {"request_id": request_id, "kind": kind, "hall_code": who.hall_code, "terminal": who.terminal,
            "allocated_at": allocated_at, "numbers": numbers}


@dataclass(frozen=True)
class NewParcel:
    parcel_id: str
    waybill_no: str
    department_code: str
    payload_hash: str
    body: str
    receipts: list[tuple[str, int]]  # (receipt_no, number of materials sent)


def put_parcel(store: PlatformStore, who: Terminal, parcel: NewParcel) -> tuple[bool, dict[str, Any]]:
    """Store a parcel manifest; returns (created, answer). Raises CaseConflict, WaybillNotAllocated,
    WaybillUsed, CasesMissing."""
    with store.write():
        row = store.conn.execute(
            "SELECT payload_hash, accepted_at FROM parcels WHERE hall_code = ? AND terminal = ? AND parcel_id = ?",
            (who.hall_code, who.terminal, parcel.parcel_id)).fetchone()
        if row is not None:
            if row[0] != parcel.payload_hash:
                raise CaseConflict(row[0], parcel.payload_hash)
            return False, _answer(parcel, row[0], row[1])
        _claim_number(store, who, parcel.waybill_no)
        missing = [r for r, _ in parcel.receipts if store.conn.execute(
            "SELECT 1 FROM cases WHERE receipt_no = ? AND hall_code = ?", (r, who.hall_code)).fetchone() is None]
        if missing:
            raise CasesMissing(missing)
        accepted_at = utc_iso()
        store.conn.execute(
            "INSERT INTO parcels (hall_code, terminal, parcel_id, waybill_no, department_code, payload_hash, body,"
            " account, accepted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (who.hall_code, who.terminal, parcel.parcel_id, parcel.waybill_no, parcel.department_code,
             parcel.payload_hash, parcel.body, who.account, accepted_at))
        store.conn.executemany(
            "INSERT INTO parcel_cases (hall_code, terminal, parcel_id, position, receipt_no, materials)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(who.hall_code, who.terminal, parcel.parcel_id, i, r, n) for i, (r, n) in enumerate(parcel.receipts)])
        store.conn.execute("UPDATE waybill_numbers SET parcel_id = ? WHERE waybill_no = ?",
                           (parcel.parcel_id, parcel.waybill_no))
    return True, _answer(parcel, parcel.payload_hash, accepted_at)


def _answer(parcel: NewParcel, hash_: str, accepted_at: str) -> dict[str, Any]:
    return {"parcel_id": parcel.parcel_id, "waybill_no": parcel.waybill_no, "payload_hash": hash_,
            "accepted_at": accepted_at}


@dataclass(frozen=True)
class NewLeg:
    tracking_no: str
    receipt_no: str
    item_code: str
    kind: str
    payload_hash: str
    body: str


def _claim_number(store: PlatformStore, who: Terminal, waybill_no: str) -> None:
    owner = store.conn.execute("SELECT hall_code, terminal, parcel_id FROM waybill_numbers WHERE waybill_no = ?",
                               (waybill_no,)).fetchone()
    if owner is None or (owner[0], owner[1]) != (who.hall_code, who.terminal):
        raise WaybillNotAllocated(waybill_no)
    if owner[2] is not None:
        raise WaybillUsed(owner[2])


def put_leg(store: PlatformStore, who: Terminal, leg: NewLeg) -> tuple[bool, dict[str, Any]]:
    """Store a mail leg of this terminal; returns (created, answer). Raises CaseConflict,
    WaybillNotAllocated, WaybillUsed, CasesMissing."""
    with store.write():
        row = store.conn.execute("SELECT payload_hash, accepted_at, hall_code, terminal FROM mail_legs"
                                 " WHERE tracking_no = ?", (leg.tracking_no,)).fetchone()
        if row is not None:
            if (row[2], row[3]) != (who.hall_code, who.terminal):
                raise WaybillUsed(f"result:{leg.receipt_no}")
            if row[0] != leg.payload_hash:
                raise CaseConflict(row[0], leg.payload_hash)
            return False, _leg_answer(leg.tracking_no, leg.receipt_no, row[0], row[1])
        _claim_number(store, who, leg.tracking_no)
        if store.conn.execute("SELECT 1 FROM cases WHERE receipt_no = ? AND hall_code = ?",
                              (leg.receipt_no, who.hall_code)).fetchone() is None:
            raise CasesMissing([leg.receipt_no])
        accepted_at = utc_iso()
        store.conn.execute(
            "INSERT INTO mail_legs (tracking_no, hall_code, terminal, receipt_no, item_code, kind, payload_hash, body,"
            " account, accepted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (leg.tracking_no, who.hall_code, who.terminal, leg.receipt_no, leg.item_code, leg.kind, leg.payload_hash,
             leg.body, who.account, accepted_at))
        store.conn.execute("UPDATE waybill_numbers SET parcel_id = ? WHERE waybill_no = ?",
                           (f"result:{leg.receipt_no}", leg.tracking_no))
    return True, _leg_answer(leg.tracking_no, leg.receipt_no, leg.payload_hash, accepted_at)


def _leg_answer(tracking_no: str, receipt_no: str, hash_: str, accepted_at: str) -> dict[str, Any]:
    return {"tracking_no": tracking_no, "receipt_no": receipt_no, "payload_hash": hash_, "accepted_at": accepted_at}


def get_leg(store: PlatformStore, who: Terminal, tracking_no: str) -> dict[str, Any] | None:
    row = store.conn.execute("SELECT receipt_no, payload_hash, accepted_at FROM mail_legs WHERE tracking_no = ?"
                             " AND hall_code = ? AND terminal = ?", (tracking_no, who.hall_code, who.terminal)).fetchone()
    return _leg_answer(tracking_no, *row) if row else None


def get_parcel(store: PlatformStore, who: Terminal, parcel_id: str) -> dict[str, Any] | None:
    row = store.conn.execute(
        "SELECT parcel_id, waybill_no, department_code, payload_hash, accepted_at FROM parcels WHERE hall_code = ?"
        " AND terminal = ? AND parcel_id = ?", (who.hall_code, who.terminal, parcel_id)).fetchone()
    if row is None:
        return None
    return {"parcel_id": row[0], "waybill_no": row[1], "department_code": row[2], "payload_hash": row[3],
            "accepted_at": row[4]}


def all_parcels(store: PlatformStore) -> dict[str, Any]:
    """Everything the platform holds about mail, for the operator CLI: parcels with their cases and
    materials, and per terminal how many numbers were allocated and used."""
    parcels = []
    for hall, terminal, pid, waybill, dept, hash_, body, account, at in store.conn.execute(
            "SELECT hall_code, terminal, parcel_id, waybill_no, department_code, payload_hash, body, account,"
            " accepted_at FROM parcels ORDER BY accepted_at, parcel_id").fetchall():
        document = json.loads(body)
        parcels.append({"parcel_id": pid, "hall_code": hall, "terminal": terminal, "waybill_no": waybill,
                        "department_code": dept, "payload_hash": hash_, "account": account, "accepted_at": at,
                        "cases": document.get("cases", [])})
    pools = [{"hall_code": h, "terminal": t, "allocated": n, "used": u} for h, t, n, u in store.conn.execute(
        "SELECT hall_code, terminal, count(*), count(parcel_id) FROM waybill_numbers GROUP BY hall_code, terminal"
        " ORDER BY hall_code, terminal")]
    legs = [{"tracking_no": t, "hall_code": h, "terminal": n, "receipt_no": r, "item_code": i, "kind": k,
             "payload_hash": p, "accepted_at": at} for t, h, n, r, i, k, p, at in store.conn.execute(
        "SELECT tracking_no, hall_code, terminal, receipt_no, item_code, kind, payload_hash, accepted_at FROM mail_legs"
        " ORDER BY accepted_at, tracking_no")]
    return {"parcels": parcels, "pools": pools, "legs": legs}
