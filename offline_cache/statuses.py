"""What the platform says happened to our cases (the status feed) and the supplements (补正材料)
collected for them.

The feed is applied idempotently: each event is kept once by its ``seq``, the cursor moves in the
same transaction as the events it covers (a crash repeats a page, never skips one), and an item's
status only moves forward (sync rule 7): an event that would move it back is kept for the record
but not applied. Statuses and supplements hold no personal data (material names, reasons,
tracking numbers), so they are stored in the clear.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field

import sqlite_utils

from . import outbox
from .db import Store

RECEIVED, ACCEPTED, SUPPLEMENT, REFUSED, DONE, MAILED = "已接收", "受理", "补正", "不予受理", "办结", "结果已寄出"
# forward order; 不予受理 ends an item wherever it comes from (after 已接收 or 补正)
RANK = {RECEIVED: 0, SUPPLEMENT: 1, ACCEPTED: 2, DONE: 3, MAILED: 4, REFUSED: 5}
NEEDS_CLERK = frozenset({SUPPLEMENT, REFUSED})  # the applicant must be told / materials collected
CURSOR_KEY = "status_cursor"


def migrate(migrations: sqlite_utils.Migrations) -> None:
    @migrations(name="m005_statuses")
    def m005_statuses(db: sqlite_utils.Database) -> None:
        db.execute("CREATE TABLE status_event (seq INTEGER PRIMARY KEY, receipt_no TEXT NOT NULL,"
                   " item_code TEXT NOT NULL, status TEXT NOT NULL, at TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',"
                   " needed TEXT NOT NULL DEFAULT '[]', tracking_no TEXT NOT NULL DEFAULT '',"
                   " received_at REAL NOT NULL, applied INTEGER NOT NULL, seen INTEGER NOT NULL DEFAULT 0)")
        db.execute("CREATE INDEX status_event_receipt ON status_event(receipt_no, seq)")
        db.execute("CREATE TABLE item_status (receipt_no TEXT NOT NULL, item_code TEXT NOT NULL, status TEXT NOT NULL,"
                   " at TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (receipt_no, item_code))")
        db.execute("CREATE TABLE supplement (id TEXT PRIMARY KEY, case_id TEXT NOT NULL, receipt_no TEXT NOT NULL,"
                   " created_at REAL NOT NULL, clerk TEXT NOT NULL, materials TEXT NOT NULL)")
        db.execute("CREATE INDEX supplement_receipt ON supplement(receipt_no)")
        db.execute("CREATE TABLE supplement_scan (supplement_id TEXT NOT NULL REFERENCES supplement(id),"
                   " sha256 TEXT NOT NULL, PRIMARY KEY (supplement_id, sha256))")


@dataclass(frozen=True)
class Event:
    seq: int
    receipt_no: str
    item_code: str
    status: str
    at: str
    reason: str = ""
    needed: tuple[str, ...] = ()
    tracking_no: str = ""
    applied: bool = True


@dataclass(frozen=True)
class SupplementMaterial:
    name: str
    pages: int
    scans: tuple[str, ...] = ()  # sha256 of each page, in order


@dataclass(frozen=True)
class Supplement:
    id: str
    case_id: str
    receipt_no: str
    created_at: float
    clerk: str
    materials: tuple[SupplementMaterial, ...] = field(default_factory=tuple)


class Statuses:
    """The status feed as applied to our cases, and supplements (one instance per thread)."""

    def __init__(self, store: Store, clock=time.time):
        self.store = store
        self._clock = clock

    # -- the feed -----------------------------------------------------------------------------------
    def cursor(self) -> int:
        row = self.store.db.execute("SELECT value FROM installation WHERE key = ?", [CURSOR_KEY]).fetchone()
        return int(row[0]) if row else 0

    def apply(self, events: list[Event], next_cursor: int) -> list[Event]:
        """Keep a page of the feed and move the cursor, in one transaction; returns the events
        that changed an item (new and forward)."""
        changed: list[Event] = []
        now = self._clock()
        with self.store.write() as db:
            x = db.conn.execute
            for e in events:
                if x("SELECT 1 FROM status_event WHERE seq = ?", [e.seq]).fetchone():
                    continue  # a page seen before (a crash between the request and the commit)
                row = x("SELECT status FROM item_status WHERE receipt_no = ? AND item_code = ?",
                        [e.receipt_no, e.item_code]).fetchone()
                current = RANK.get(row[0], 0) if row else RANK[RECEIVED]
                forward = e.status in RANK and RANK[e.status] > current
                x("INSERT INTO status_event (seq, receipt_no, item_code, status, at, reason, needed, tracking_no,"
                  " received_at, applied) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  [e.seq, e.receipt_no, e.item_code, e.status, e.at, e.reason,
                   json.dumps(list(e.needed), ensure_ascii=False), e.tracking_no, now, int(forward)])
                if forward:
                    x("INSERT INTO item_status VALUES (?, ?, ?, ?, ?) ON CONFLICT(receipt_no, item_code) DO UPDATE"
                      " SET status = excluded.status, at = excluded.at, seq = excluded.seq",
                      [e.receipt_no, e.item_code, e.status, e.at, e.seq])
                    changed.append(e)
            x("INSERT INTO installation VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
              [CURSOR_KEY, str(max(next_cursor, self._cursor_in(db)))])
        return changed

    @staticmethod
    def _cursor_in(db: sqlite_utils.Database) -> int:
        row = db.execute("SELECT value FROM installation WHERE key = ?", [CURSOR_KEY]).fetchone()
        return int(row[0]) if row else 0

    # -- reading --------------------------------------------------------------------------------------
    def timeline(self, receipt_no: str) -> list[Event]:
        rows = self.store.db.execute(
            "SELECT seq, receipt_no, item_code, status, at, reason, needed, tracking_no, applied FROM status_event"
            " WHERE receipt_no = ? ORDER BY seq", [receipt_no]).fetchall()
        return [Event(r[0], r[1], r[2], r[3], r[4], r[5], tuple(json.loads(r[6])), r[7], bool(r[8])) for r in rows]

    def item_statuses(self, receipt_no: str) -> dict[str, str]:
        return dict(self.store.db.execute("SELECT item_code, status FROM item_status WHERE receipt_no = ?",
                                          [receipt_no]).fetchall())

    def case_statuses(self, receipt_nos: list[str]) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for start in range(0, len(receipt_nos), 500):
            part = receipt_nos[start:start + 500]
            marks = ", ".join("?" * len(part))
            for receipt, code, status in self.store.db.execute(
                    f"SELECT receipt_no, item_code, status FROM item_status WHERE receipt_no IN ({marks})", part):
                out.setdefault(receipt, {})[code] = status
        return out

    def needing_clerk(self) -> list[Event]:
        """Unseen 补正 and 不予受理 events still in force (the clerk must act or tell the applicant)."""
        rows = self.store.db.execute(
            "SELECT e.seq, e.receipt_no, e.item_code, e.status, e.at, e.reason, e.needed, e.tracking_no, e.applied"
            " FROM status_event e JOIN item_status s ON s.receipt_no = e.receipt_no AND s.item_code = e.item_code"
            " AND s.seq = e.seq WHERE e.seen = 0 AND e.status IN (?, ?) ORDER BY e.seq", sorted(NEEDS_CLERK)).fetchall()
        return [Event(r[0], r[1], r[2], r[3], r[4], r[5], tuple(json.loads(r[6])), r[7], bool(r[8])) for r in rows]

    def mark_seen(self, receipt_no: str) -> None:
        with self.store.write() as db:
            db.execute("UPDATE status_event SET seen = 1 WHERE receipt_no = ?", [receipt_no])

    # -- supplements ----------------------------------------------------------------------------------
    def add_supplement(self, case_id: str, receipt_no: str, clerk: str,
                       materials: list[SupplementMaterial]) -> Supplement:
        """Record a supplement and queue it, in one transaction."""
        supplement = Supplement(uuid.uuid4().hex, case_id, receipt_no, self._clock(), clerk, tuple(materials))
        data = [{"name": m.name, "pages": m.pages, "scans": list(m.scans)} for m in materials]
        with self.store.write() as db:
            db.execute("INSERT INTO supplement VALUES (?, ?, ?, ?, ?, ?)",
                       [supplement.id, case_id, receipt_no, supplement.created_at, clerk,
                        json.dumps(data, ensure_ascii=False)])
            db.conn.executemany("INSERT OR IGNORE INTO supplement_scan VALUES (?, ?)",
                                [(supplement.id, sha) for m in materials for sha in m.scans])
            outbox.enqueue_in(db, "supplement", supplement.id, case_id, supplement.created_at)
        return supplement

    def supplement(self, supplement_id: str) -> Supplement | None:
        row = self.store.db.execute("SELECT id, case_id, receipt_no, created_at, clerk, materials FROM supplement"
                                    " WHERE id = ?", [supplement_id]).fetchone()
        return _supplement(row) if row else None

    def supplements(self, receipt_no: str) -> list[Supplement]:
        rows = self.store.db.execute("SELECT id, case_id, receipt_no, created_at, clerk, materials FROM supplement"
                                     " WHERE receipt_no = ? ORDER BY created_at", [receipt_no]).fetchall()
        return [_supplement(r) for r in rows]

    def referenced_scans(self) -> set[str]:
        return {r[0] for r in self.store.db.execute("SELECT DISTINCT sha256 FROM supplement_scan")}


def _supplement(row) -> Supplement:
    materials = tuple(SupplementMaterial(m["name"], m["pages"], tuple(m["scans"])) for m in json.loads(row[5]))
    return Supplement(row[0], row[1], row[2], row[3], row[4], materials)
