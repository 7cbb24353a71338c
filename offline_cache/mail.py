"""Mail on disk: the waybill-number pool of this terminal, parcels, and mail legs.

- **Pool.** Numbers the platform allocated to this terminal in advance (so labels print
  offline). Each is checked with ``domain.waybill.parse`` before it is kept, and the client
  never makes one up: a parcel can only take a number from here. An allocation is asked for
  under a request id written down *before* the request goes out (``pool_request``), so an
  answer lost on the way is asked for again with the same id and the platform returns the same
  block instead of a second one.
- **Parcels.** One parcel goes to one 办理地 department under one waybill number and lists, per
  case, the items routed there and the paper materials sent. Taking the number, writing the
  parcel, its materials legs, the case events and queueing it in the outbox happen in **one**
  transaction: after a crash either all of it is there or none of it, so a number is never
  consumed twice nor lost.
- **Legs.** A case's mail legs: ``materials`` (the originals to the 办理地, in a parcel of this
  hall) and ``result`` (the result travelling back to the applicant or to the hall), each with
  its tracking number. A result leg comes from the status feed (结果已寄出 carries the
  number) or from this hall mailing a result on with a number of its own pool.

Nothing here is personal data (department codes, receipt numbers, material names, tracking
numbers), so it is stored in the clear. The tables live in the cases file (``m006_mail``).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime

import sqlite_utils

from counter_client.domain.errors import StoreError, UserError
from counter_client.domain.waybill import WaybillError, parse as parse_tracking

from . import outbox
from .db import Store

MATERIALS, RESULT = "materials", "result"
LEG_KINDS = (MATERIALS, RESULT)
LEG_LABELS = {MATERIALS: "材料寄往办理地", RESULT: "办理结果寄回"}
FREE, USED = "free", "used"


def migrate(migrations: sqlite_utils.Migrations) -> None:
    """Register the mail tables with the cases file's migrations (after ``m005_statuses``)."""

    @migrations(name="m006_mail")
    def m006_mail(db: sqlite_utils.Database) -> None:
        db.execute("CREATE TABLE pool_request (request_id TEXT PRIMARY KEY, count INTEGER NOT NULL,"
                   " kind TEXT NOT NULL, created_at REAL NOT NULL, done_at REAL, received INTEGER NOT NULL DEFAULT 0)")
        db.execute("CREATE TABLE waybill_pool (waybill_no TEXT PRIMARY KEY, kind TEXT NOT NULL,"
                   " request_id TEXT NOT NULL, allocated_at TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'free',"
                   " parcel_id TEXT, used_at TEXT)")
        db.execute("CREATE INDEX waybill_pool_free ON waybill_pool(state, allocated_at, waybill_no)")
        db.execute("CREATE TABLE parcel (id TEXT PRIMARY KEY, department_code TEXT NOT NULL,"
                   " department_name TEXT NOT NULL, waybill_no TEXT NOT NULL UNIQUE REFERENCES waybill_pool(waybill_no),"
                   " created_at TEXT NOT NULL, clerk TEXT NOT NULL)")
        db.execute("CREATE TABLE parcel_case (parcel_id TEXT NOT NULL REFERENCES parcel(id), position INTEGER NOT NULL,"
                   " case_id TEXT NOT NULL, receipt_no TEXT NOT NULL, department_code TEXT NOT NULL,"
                   " items TEXT NOT NULL, materials TEXT NOT NULL, PRIMARY KEY (parcel_id, position),"
                   " UNIQUE (receipt_no, department_code))")
        db.execute("CREATE TABLE mail_leg (id INTEGER PRIMARY KEY, case_id TEXT NOT NULL, receipt_no TEXT NOT NULL,"
                   " kind TEXT NOT NULL, tracking_no TEXT NOT NULL, parcel_id TEXT, item_code TEXT NOT NULL DEFAULT '',"
                   " source TEXT NOT NULL, created_at TEXT NOT NULL, UNIQUE (receipt_no, kind, item_code, tracking_no))")
        db.execute("CREATE INDEX mail_leg_tracking ON mail_leg(tracking_no)")


class PoolEmpty(UserError):
    """No free waybill number: nothing was written."""


class ParcelRefused(UserError):
    """The parcel cannot be made as asked (a case already sent there, nothing to send …)."""


@dataclass(frozen=True)
class SentMaterial:
    """One material of a case as it travels in a parcel (paper only)."""

    name: str
    form: str  # 原件核验 | 复印件
    pages: int = 0
    copies: int = 1
    shared: bool = False  # also needed by items routed to another department


@dataclass(frozen=True)
class ParcelCase:
    case_id: str
    receipt_no: str
    items: tuple[str, ...]  # codes of the items routed to the parcel's department
    materials: tuple[SentMaterial, ...] = ()


@dataclass(frozen=True)
class Parcel:
    id: str
    department_code: str
    department_name: str
    waybill_no: str
    created_at: str
    clerk: str
    cases: tuple[ParcelCase, ...] = field(default_factory=tuple)

    @property
    def receipt_nos(self) -> tuple[str, ...]:
        return tuple(c.receipt_no for c in self.cases)


@dataclass(frozen=True)
class Leg:
    case_id: str
    receipt_no: str
    kind: str  # materials | result
    tracking_no: str
    parcel_id: str
    item_code: str
    source: str  # pool (a number of this terminal) | platform (reported by the 办理地)
    created_at: str

    @property
    def label(self) -> str:
        return LEG_LABELS[self.kind]


@dataclass(frozen=True)
class PoolState:
    free: int
    used: int
    pending_request: str | None  # an allocation asked for whose answer has not been kept yet
    oldest_free: str | None  # allocated_at of the next number to be used


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def new_parcel_id(when: datetime | None = None) -> str:
    """``P-YYYYMMDD-`` + 8 random hex characters: readable on the manifest, unique without a
    sequence (two terminals of a hall never collide in practice, and the platform keys parcels
    by terminal anyway)."""
    when = when or datetime.now().astimezone()
    return f"P-{when:%Y%m%d}-{uuid.uuid4().hex[:8].upper()}"


def _take_number(db: sqlite_utils.Database, user: str, when: str, what: str) -> str:
    """Mark the next free number used by ``user`` inside the caller's transaction; raises
    ``PoolEmpty`` (``what`` says what could not be done) when there is none."""
    row = db.execute("SELECT waybill_no FROM waybill_pool WHERE state = 'free' ORDER BY allocated_at, waybill_no"
                     " LIMIT 1").fetchone()
    if row is None:
        raise PoolEmpty(f"本机的邮件号已用完，{what}。请联网同步以领取新的邮件号（counter-client pool --refill），"
                        "或联系平台管理员。已录入的内容未改动。", "waybill pool empty")
    number = parse_tracking(row[0]).text  # checked again: only a carrier's number is ever printed
    if db.execute("UPDATE waybill_pool SET state = 'used', parcel_id = ?, used_at = ? WHERE waybill_no = ?"
                  " AND state = 'free'", [user, when, number]).rowcount != 1:
        raise StoreError("邮件号状态异常，请重试。", f"waybill {number} not free any more")
    return number


class MailStore:
    """Pool, parcels and legs over the cases file (one instance per thread that uses it)."""

    def __init__(self, store: Store, clock=time.time):
        self.store = store
        self._clock = clock

    # -- the pool ------------------------------------------------------------------------------------
    def pool_state(self) -> PoolState:
        db = self.store.db
        counts = dict(db.execute("SELECT state, count(*) FROM waybill_pool GROUP BY state").fetchall())
        pending = db.execute("SELECT request_id FROM pool_request WHERE done_at IS NULL ORDER BY created_at"
                             " LIMIT 1").fetchone()
        oldest = db.execute("SELECT min(allocated_at) FROM waybill_pool WHERE state = 'free'").fetchone()
        return PoolState(counts.get(FREE, 0), counts.get(USED, 0), pending[0] if pending else None, oldest[0])

    def pool_request(self, count: int, kind: str) -> tuple[str, int, str]:
        """The allocation to ask for: the one still unanswered (same id, same size: a lost answer
        is asked for again), else a new one written down before it is sent."""
        with self.store.write() as db:
            row = db.execute("SELECT request_id, count, kind FROM pool_request WHERE done_at IS NULL"
                             " ORDER BY created_at LIMIT 1").fetchone()
            if row:
                return row[0], row[1], row[2]
            request_id = uuid.uuid4().hex
            db.execute("INSERT INTO pool_request (request_id, count, kind, created_at) VALUES (?, ?, ?, ?)",
                       [request_id, count, kind, self._clock()])
            return request_id, count, kind

    def add_numbers(self, request_id: str, numbers: list[str], allocated_at: str) -> tuple[int, list[str]]:
        """Keep an allocation's numbers (each checked; a number held already is kept as it is)
        and close the request, in one transaction. Returns (added, refused numbers)."""
        good, refused = [], []
        for text in numbers:
            try:
                good.append(parse_tracking(text))
            except WaybillError:
                refused.append(text)
        with self.store.write() as db:
            before = db.execute("SELECT count(*) FROM waybill_pool").fetchone()[0]
            db.conn.executemany("INSERT OR IGNORE INTO waybill_pool (waybill_no, kind, request_id, allocated_at)"
                                " VALUES (?, ?, ?, ?)", [(n.text, n.kind, request_id, allocated_at) for n in good])
            added = db.execute("SELECT count(*) FROM waybill_pool").fetchone()[0] - before
            db.execute("UPDATE pool_request SET done_at = ?, received = received + ? WHERE request_id = ?",
                       [self._clock(), added, request_id])
        return added, refused

    def numbers(self, state: str | None = None) -> list[tuple[str, str, str, str | None]]:
        """(waybill_no, state, allocated_at, parcel_id) of the pool, oldest first."""
        sql = "SELECT waybill_no, state, allocated_at, parcel_id FROM waybill_pool"
        params: list = []
        if state:
            sql += " WHERE state = ?"
            params.append(state)
        return [tuple(r) for r in self.store.db.execute(sql + " ORDER BY allocated_at, waybill_no", params)]

    # -- parcels ---------------------------------------------------------------------------------------
    def create_parcel(self, department_code: str, department_name: str, cases: list[ParcelCase], clerk: str,
                      parcel_id: str | None = None) -> Parcel:
        """Take the next free number and make the parcel, its legs and case events, and queue it,
        all in one transaction. Raises ``PoolEmpty`` or ``ParcelRefused`` with nothing written."""
        if not cases:
            raise ParcelRefused("包裹中至少要有一个办件。", "parcel without cases")
        parcel_id = parcel_id or new_parcel_id()
        created = now_iso()
        with self.store.write() as db:
            x = db.conn.execute
            for c in cases:
                row = x("SELECT parcel_id FROM parcel_case WHERE receipt_no = ? AND department_code = ?",
                        [c.receipt_no, department_code]).fetchone()
                if row:
                    raise ParcelRefused(f"办件 {c.receipt_no} 寄往该部门的材料已在包裹 {row[0]} 中，不能重复装包。",
                                        f"case already in parcel {row[0]} for this department")
            number = _take_number(db, parcel_id, created, "无法生成包裹和面单")
            x("INSERT INTO parcel (id, department_code, department_name, waybill_no, created_at, clerk)"
              " VALUES (?, ?, ?, ?, ?, ?)", [parcel_id, department_code, department_name, number, created, clerk])
            for position, c in enumerate(cases):
                x("INSERT INTO parcel_case VALUES (?, ?, ?, ?, ?, ?, ?)",
                  [parcel_id, position, c.case_id, c.receipt_no, department_code, json.dumps(list(c.items)),
                   json.dumps([m.__dict__ for m in c.materials], ensure_ascii=False)])
                x("INSERT INTO mail_leg (case_id, receipt_no, kind, tracking_no, parcel_id, item_code, source,"
                  " created_at) VALUES (?, ?, ?, ?, ?, ?, 'pool', ?)",
                  [c.case_id, c.receipt_no, MATERIALS, number, parcel_id, department_code, created])
                x("INSERT INTO case_event (case_id, at, clerk, action, detail) VALUES (?, ?, ?, ?, ?)",
                  [c.case_id, created, clerk, "材料装包寄出",
                   json.dumps({"parcel_id": parcel_id, "tracking_no": number, "department_code": department_code,
                               "department": department_name, "items": list(c.items),
                               "materials": [m.name for m in c.materials]}, ensure_ascii=False)])
            outbox.enqueue_in(db, "parcel", parcel_id, cases[0].case_id, self._clock())
        return Parcel(parcel_id, department_code, department_name, number, created, clerk, tuple(cases))

    def parcel(self, parcel_id: str) -> Parcel | None:
        row = self.store.db.execute(
            "SELECT id, department_code, department_name, waybill_no, created_at, clerk FROM parcel WHERE id = ?", [parcel_id]).fetchone()
        return self._parcel(row) if row else None

    def parcel_by_waybill(self, waybill_no: str) -> Parcel | None:
        row = self.store.db.execute("SELECT id FROM parcel WHERE waybill_no = ?", [waybill_no]).fetchone()
        return self.parcel(row[0]) if row else None

    def parcels(self, limit: int = 500) -> list[Parcel]:
        rows = self.store.db.execute(
            "SELECT id, department_code, department_name, waybill_no, created_at, clerk FROM parcel"
            " ORDER BY created_at DESC, id LIMIT ?", [limit]).fetchall()
        return [self._parcel(r) for r in rows]

    def _parcel(self, row) -> Parcel:
        cases = tuple(
            ParcelCase(case_id, receipt, tuple(json.loads(items)), tuple(SentMaterial(**m) for m in json.loads(mats)))
            for case_id, receipt, items, mats in self.store.db.execute(
                "SELECT case_id, receipt_no, items, materials FROM parcel_case WHERE parcel_id = ? ORDER BY position",
                [row[0]]))
        return Parcel(row[0], row[1], row[2], row[3], row[4], row[5], cases)

    def unparcelled(self, paper_forms: tuple[str, ...], skip_modes: tuple[str, ...] = (),
                    limit: int = 500) -> list[tuple[str, str, str]]:
        """(case_id, receipt_no, department_code) of collected cases with paper (a material in one
        of ``paper_forms``) and an item routed to a department no parcel of this terminal holds
        the case for yet; oldest collection first. A coarse filter read from the cases' plain
        bodies: which materials go to which department is decided by ``MailService.parcel_lines``."""
        forms = ", ".join("?" * len(paper_forms))
        modes = ", ".join("?" * len(skip_modes)) or "''"
        rows = self.store.db.execute(
            "SELECT DISTINCT c.id, c.receipt_no, json_extract(i.value, '$.department_code') AS dept, c.collected_at"
            " FROM case_record c, json_each(c.body, '$.items') i"
            f" WHERE c.state = 'collected' AND c.receipt_no IS NOT NULL AND c.mode NOT IN ({modes})"
            " AND coalesce(json_extract(i.value, '$.department_code'), '') != ''"
            " AND NOT EXISTS (SELECT 1 FROM parcel_case p WHERE p.receipt_no = c.receipt_no"
            "                 AND p.department_code = json_extract(i.value, '$.department_code'))"
            " AND EXISTS (SELECT 1 FROM json_each(c.body, '$.materials') m"
            f"            WHERE json_extract(m.value, '$.form') IN ({forms}))"
            " ORDER BY c.collected_at, c.receipt_no, dept LIMIT ?",
            [*skip_modes, *paper_forms, limit]).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    # -- legs ------------------------------------------------------------------------------------------
    def legs(self, receipt_no: str) -> list[Leg]:
        rows = self.store.db.execute(
            "SELECT case_id, receipt_no, kind, tracking_no, coalesce(parcel_id, ''), item_code, source, created_at"
            " FROM mail_leg WHERE receipt_no = ? ORDER BY id", [receipt_no]).fetchall()
        return [Leg(*r) for r in rows]

    def result_leg(self, tracking_no: str) -> Leg | None:
        """The result leg this hall sends under one of its numbers."""
        legs = [leg for leg in self.legs_by_tracking(tracking_no) if leg.kind == RESULT and leg.source == "pool"]
        return legs[0] if legs else None

    def legs_by_tracking(self, tracking_no: str) -> list[Leg]:
        rows = self.store.db.execute(
            "SELECT case_id, receipt_no, kind, tracking_no, coalesce(parcel_id, ''), item_code, source, created_at"
            " FROM mail_leg WHERE tracking_no = ? ORDER BY id", [tracking_no]).fetchall()
        return [Leg(*r) for r in rows]

    def record_result_legs(self) -> int:
        """Result legs for every 结果已寄出 event of the status feed that carries a tracking
        number (idempotent: each event gives one leg, with a case event, once)."""
        added = 0
        with self.store.write() as db:
            x = db.conn.execute
            rows = x("SELECT e.receipt_no, e.item_code, e.tracking_no, e.at, c.id FROM status_event e"
                     " JOIN case_record c ON c.receipt_no = e.receipt_no WHERE e.tracking_no != ''"
                     " AND NOT EXISTS (SELECT 1 FROM mail_leg l WHERE l.receipt_no = e.receipt_no AND l.kind = ?"
                     " AND l.item_code = e.item_code AND l.tracking_no = e.tracking_no) ORDER BY e.seq",
                     [RESULT]).fetchall()
            for receipt, item_code, tracking, at, case_id in rows:
                created = now_iso()
                x("INSERT OR IGNORE INTO mail_leg (case_id, receipt_no, kind, tracking_no, parcel_id, item_code,"
                  " source, created_at) VALUES (?, ?, ?, ?, NULL, ?, 'platform', ?)",
                  [case_id, receipt, RESULT, tracking, item_code, created])
                x("INSERT INTO case_event (case_id, at, clerk, action, detail) VALUES (?, ?, ?, ?, ?)",
                  [case_id, created, "系统", "办理结果已寄出",
                   json.dumps({"tracking_no": tracking, "item_code": item_code, "reported_at": at},
                              ensure_ascii=False)])
                added += 1
        return added

    def mail_result(self, case_id: str, receipt_no: str, item_code: str, clerk: str) -> Leg:
        """This hall mails a result on to the applicant (收件地代领 turned into mail): a result leg
        under the next number of the pool, with a case event, queued for the platform (outbox kind
        ``leg``, keyed by the tracking number), in one transaction."""
        created = now_iso()
        with self.store.write() as db:
            x = db.conn.execute
            if x("SELECT 1 FROM mail_leg WHERE receipt_no = ? AND kind = ? AND item_code = ? AND source = 'pool'",
                 [receipt_no, RESULT, item_code]).fetchone():
                raise ParcelRefused(f"办件 {receipt_no} 的办理结果已由本窗口寄出，不能重复寄出。",
                                    "result already mailed by this hall")
            number = _take_number(db, f"R:{receipt_no}", created, "无法寄出办理结果")
            x("INSERT INTO mail_leg (case_id, receipt_no, kind, tracking_no, parcel_id, item_code, source, created_at)"
              " VALUES (?, ?, ?, ?, NULL, ?, 'pool', ?)", [case_id, receipt_no, RESULT, number, item_code, created])
            x("INSERT INTO case_event (case_id, at, clerk, action, detail) VALUES (?, ?, ?, ?, ?)",
              [case_id, created, clerk, "办理结果寄给申请人",
               json.dumps({"tracking_no": number, "item_code": item_code}, ensure_ascii=False)])
            outbox.enqueue_in(db, "leg", number, case_id, self._clock())
        return Leg(case_id, receipt_no, RESULT, number, "", item_code, "pool", created)
