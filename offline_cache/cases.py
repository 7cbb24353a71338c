"""Cases on disk: drafts and collected cases, their history, receipt sequences, look-ups.

The cases file is the one that must never lose anything: ``synchronous=FULL``, and every save is
one short transaction (a crash keeps the previous revision or the new one). Personal data
(applicant, agent, helper, delivery: names, ID numbers, phones, addresses) is one encrypted
field bound to its case; the rest (items, checklist, states) stays readable for lists and
filters. Exact-match look-up by ID number, phone or name goes through keyed hashes
(``Cipher.lookup_hash``), so the file holds no plaintext of any of them. Events record who did
what and when, never personal data.

Receipt numbers are minted inside the transaction that marks the case collected, from a per-day
sequence of this terminal, so a number is never handed out twice, even across a crash.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Iterable

import msgspec
import sqlite_utils

from counter_client.domain.case import Case
from counter_client.domain.errors import StoreError

from . import mail, outbox, printlog, statuses
from .crypto import KIND_ID_NUMBER, KIND_NAME, KIND_PHONE, Cipher, field_context
from .db import Store

log = logging.getLogger(__name__)

MIGRATIONS = sqlite_utils.Migrations("cases")
LIST_LIMIT = 500
PERSONAL_FIELDS = ("applicant", "agent", "helper", "delivery")

_SCHEMA_V1 = [
    "CREATE TABLE installation (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE receipt_sequence (day TEXT PRIMARY KEY, last INTEGER NOT NULL)",
    "CREATE TABLE case_record (id TEXT PRIMARY KEY, receipt_no TEXT UNIQUE, state TEXT NOT NULL,"
    " mode TEXT NOT NULL, day TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
    " collected_at TEXT, clerk TEXT NOT NULL, revision INTEGER NOT NULL, personal BLOB NOT NULL,"
    " body TEXT NOT NULL)",
    "CREATE INDEX case_day ON case_record(day, state)",
    "CREATE INDEX case_state ON case_record(state, updated_at)",
    "CREATE TABLE case_item (case_id TEXT NOT NULL REFERENCES case_record(id) ON DELETE CASCADE,"
    " position INTEGER NOT NULL, code TEXT NOT NULL, name TEXT NOT NULL, handling_region TEXT NOT NULL,"
    " PRIMARY KEY (case_id, position)) WITHOUT ROWID",
    "CREATE INDEX case_item_code ON case_item(code)",
    "CREATE TABLE case_lookup (kind TEXT NOT NULL, hash TEXT NOT NULL,"
    " case_id TEXT NOT NULL REFERENCES case_record(id) ON DELETE CASCADE,"
    " PRIMARY KEY (kind, hash, case_id)) WITHOUT ROWID",
    "CREATE INDEX case_lookup_case ON case_lookup(case_id)",
    "CREATE TABLE case_scan (case_id TEXT NOT NULL REFERENCES case_record(id) ON DELETE CASCADE,"
    " sha256 TEXT NOT NULL, PRIMARY KEY (case_id, sha256)) WITHOUT ROWID",
    "CREATE INDEX case_scan_sha ON case_scan(sha256)",
    "CREATE TABLE case_event (id INTEGER PRIMARY KEY, case_id TEXT NOT NULL, at TEXT NOT NULL,"
    " clerk TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL)",
    "CREATE INDEX case_event_case ON case_event(case_id, id)",
]


@MIGRATIONS()
def m001_cases(db: sqlite_utils.Database) -> None:
    for statement in _SCHEMA_V1:
        db.execute(statement)


@MIGRATIONS()
def m002_consultations(db: sqlite_utils.Database) -> None:
    """Consultations recorded at the window (an item this hall may not collect for, a question)."""
    db.execute("CREATE TABLE consultation (id INTEGER PRIMARY KEY, at TEXT NOT NULL, clerk TEXT NOT NULL,"
               " item_code TEXT NOT NULL, item_name TEXT NOT NULL, handling_region TEXT NOT NULL, note BLOB NOT NULL)")


outbox.migrate(MIGRATIONS)
statuses.migrate(MIGRATIONS)
mail.migrate(MIGRATIONS)  # m006_mail: the waybill pool, parcels, mail legs
printlog.migrate(MIGRATIONS)  # m007_print_log


def open_store(path: str | Path) -> Store:
    """The cases file (durable writes); the cipher comes after, from the installation id in it."""
    return Store(path, MIGRATIONS, synchronous="FULL")


def installation_id(store: Store, create: Callable[[], str]) -> str:
    """This installation's id (names its data key in the OS keyring); made once."""
    row = store.db.execute("SELECT value FROM installation WHERE key = 'installation_id'").fetchone()
    if row:
        return row[0]
    with store.write() as db:
        row = db.execute("SELECT value FROM installation WHERE key = 'installation_id'").fetchone()
        if row:
            return row[0]
        value = create()
        db.execute("INSERT INTO installation VALUES ('installation_id', ?)", [value])
        return value


@dataclass(frozen=True)
class CaseRow:
    """One line of the case list."""

    id: str
    receipt_no: str
    state: str
    mode: str
    day: str
    created_at: str
    collected_at: str
    items: tuple[str, ...]
    applicant: str  # decrypted for display only, never stored in the clear


@dataclass(frozen=True)
class CaseEvent:
    at: str
    clerk: str
    action: str
    detail: dict


@dataclass(frozen=True)
class CaseFilter:
    day: str | None = None  # YYYY-MM-DD
    state: str | None = None
    item_code: str | None = None
    applicant_id: str | None = None  # exact ID number
    phone: str | None = None  # exact phone
    name: str | None = None  # exact name
    limit: int = LIST_LIMIT


def now_iso() -> str:
    """Local time with its offset: the first ten characters are the local date (the case's day)."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


class CaseStore:
    """Repository of cases over the cases file, with personal data sealed by ``cipher``."""

    def __init__(self, store: Store, cipher: Cipher):
        self.store = store
        self.cipher = cipher
        self._personal = msgspec.json.Encoder()

    def close(self) -> None:
        self.store.close()

    # -- installation ---------------------------------------------------------------------------
    def setting(self, key: str) -> str | None:
        row = self.store.db.execute("SELECT value FROM installation WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_setting(self, key: str, value: str) -> None:
        with self.store.write() as db:
            db.execute("INSERT INTO installation VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                       [key, value])

    # -- writing --------------------------------------------------------------------------------
    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    def save(self, case: Case, clerk: str, action: str = "保存草稿", detail: dict | None = None) -> int:
        """Write ``case`` (insert or replace) with an event; returns the new revision."""
        with self.store.write() as db:
            return self._save(db, case, clerk, action, detail or {})

    def collect(self, case: Case, clerk: str, day: date, mint: Callable[[int], str],
                prepare: Callable[[Case, str], Case] | None = None) -> Case:
        """Mark ``case`` collected with the next receipt number of ``day``, in one transaction.

        ``mint(sequence)`` makes the number; ``prepare(case, receipt_no)`` may fill in what
        depends on it (due dates, collected time) before the case is written."""
        with self.store.write() as db:
            key = day.isoformat()
            row = db.execute("SELECT last FROM receipt_sequence WHERE day = ?", [key]).fetchone()
            sequence = (row[0] if row else 0) + 1
            receipt_no = mint(sequence)  # raises when the day's sequence is exhausted
            db.execute("INSERT INTO receipt_sequence VALUES (?, ?) ON CONFLICT(day) DO UPDATE SET last = excluded.last",
                       [key, sequence])
            existing = db.execute("SELECT state FROM case_record WHERE id = ?", [case.id]).fetchone()
            if existing and existing[0] != "draft":
                raise StoreError("该办件已收件或已作废，不能重复确认。", f"case {case.id} is {existing[0]}, not a draft")
            collected = msgspec.structs.replace(case, state="collected", receipt_no=receipt_no,
                                                collected_at=case.collected_at or now_iso())
            if prepare is not None:
                collected = prepare(collected, receipt_no)
            self._save(db, collected, clerk, "确认收件", {"receipt_no": receipt_no})
            outbox.enqueue_in(db, "case", receipt_no, collected.id)  # collected and queued in one commit
        return collected

    def add_event(self, case_id: str, clerk: str, action: str, detail: dict | None = None) -> None:
        """Record something that happened to a case without changing it (e.g. a clock warning)."""
        with self.store.write() as db:
            db.execute("INSERT INTO case_event (case_id, at, clerk, action, detail) VALUES (?, ?, ?, ?, ?)",
                       [case_id, now_iso(), clerk, action, json.dumps(detail or {}, ensure_ascii=False)])

    def void(self, case_id: str, reason: str, clerk: str) -> Case:
        with self.store.write() as db:
            case = self._load(db, case_id)
            if case is None:
                raise StoreError("找不到该办件。", f"void: no case {case_id}")
            if case.state == "void":
                return case
            voided = msgspec.structs.replace(case, state="void", void_reason=reason)
            self._save(db, voided, clerk, "作废", {"from": case.state})
            return voided

    def delete_draft(self, case_id: str) -> None:
        """Drop an abandoned draft (never a collected case)."""
        with self.store.write() as db:
            db.execute("DELETE FROM case_record WHERE id = ? AND state = 'draft'", [case_id])

    def _save(self, db: sqlite_utils.Database, case: Case, clerk: str, action: str, detail: dict) -> int:
        x = db.conn.execute
        row = x("SELECT revision, created_at FROM case_record WHERE id = ?", [case.id]).fetchone()
        revision = (row[0] if row else 0) + 1
        created = row[1] if row else (case.created_at or now_iso())
        if not case.created_at:
            case = msgspec.structs.replace(case, created_at=created)
        personal = {name: getattr(case, name) for name in PERSONAL_FIELDS}
        sealed = self.cipher.encrypt(self._personal.encode(personal), field_context("case_record", "personal", case.id))
        body = msgspec.to_builtins(case)
        for name in PERSONAL_FIELDS:
            body.pop(name, None)
        day = (case.collected_at or created)[:10]
        x("INSERT INTO case_record (id, receipt_no, state, mode, day, created_at, updated_at, collected_at, clerk,"
          " revision, personal, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET"
          " receipt_no = excluded.receipt_no, state = excluded.state, mode = excluded.mode, day = excluded.day,"
          " updated_at = excluded.updated_at, collected_at = excluded.collected_at, revision = excluded.revision,"
          " personal = excluded.personal, body = excluded.body",
          [case.id, case.receipt_no or None, case.state, case.mode, day, created, now_iso(),
           case.collected_at or None, clerk, revision, sealed, json.dumps(body, ensure_ascii=False)])
        x("DELETE FROM case_item WHERE case_id = ?", [case.id])
        db.conn.executemany("INSERT INTO case_item VALUES (?, ?, ?, ?, ?)",
                            [(case.id, i, it.code, it.name, it.handling_region) for i, it in enumerate(case.items)])
        x("DELETE FROM case_lookup WHERE case_id = ?", [case.id])
        db.conn.executemany("INSERT OR IGNORE INTO case_lookup VALUES (?, ?, ?)",
                            [(kind, h, case.id) for kind, h in self._lookups(case)])
        x("DELETE FROM case_scan WHERE case_id = ?", [case.id])
        db.conn.executemany("INSERT OR IGNORE INTO case_scan VALUES (?, ?)",
                            [(case.id, sha) for m in case.materials for sha in m.scans])
        x("INSERT INTO case_event (case_id, at, clerk, action, detail) VALUES (?, ?, ?, ?, ?)",
          [case.id, now_iso(), clerk, action, json.dumps(detail, ensure_ascii=False)])
        return revision

    def _lookups(self, case: Case) -> Iterable[tuple[str, str]]:
        h = self.cipher.lookup_hash
        for party in (case.applicant, case.agent):
            if party is None:
                continue
            for kind, value in ((KIND_ID_NUMBER, party.id_number), (KIND_PHONE, party.phone),
                                (KIND_NAME, party.name)):
                if value.strip():
                    try:
                        yield kind, h(kind, value)
                    except ValueError:  # nothing left after normalisation (e.g. a phone of dashes)
                        continue

    # -- reading --------------------------------------------------------------------------------
    def load(self, case_id: str) -> Case | None:
        return self._load(self.store.db, case_id)

    def _load(self, db: sqlite_utils.Database, case_id: str) -> Case | None:
        row = db.execute("SELECT personal, body FROM case_record WHERE id = ?", [case_id]).fetchone()
        if row is None:
            return None
        personal = json.loads(self.cipher.decrypt(row[0], field_context("case_record", "personal", case_id)))
        body = json.loads(row[1])
        body.update({k: v for k, v in personal.items() if v is not None or k == "agent"})
        return msgspec.convert(body, Case)

    def by_receipt(self, receipt_no: str) -> Case | None:
        row = self.store.db.execute("SELECT id FROM case_record WHERE receipt_no = ?", [receipt_no]).fetchone()
        return self.load(row[0]) if row else None

    def drafts(self) -> list[str]:
        return [r[0] for r in self.store.db.execute(
            "SELECT id FROM case_record WHERE state = 'draft' ORDER BY updated_at DESC")]

    def events(self, case_id: str) -> list[CaseEvent]:
        rows = self.store.db.execute("SELECT at, clerk, action, detail FROM case_event WHERE case_id = ? ORDER BY id",
                                     [case_id]).fetchall()
        return [CaseEvent(at, clerk, action, json.loads(detail)) for at, clerk, action, detail in rows]

    def list(self, f: CaseFilter = CaseFilter()) -> list[CaseRow]:
        """Cases matching ``f``, newest first; applicant names decrypted for these rows only."""
        where, params = ["1"], []
        if f.day:
            where.append("c.day = ?")
            params.append(f.day)
        if f.state:
            where.append("c.state = ?")
            params.append(f.state)
        if f.item_code:
            where.append("c.id IN (SELECT case_id FROM case_item WHERE code = ?)")
            params.append(f.item_code)
        for kind, value in ((KIND_ID_NUMBER, f.applicant_id), (KIND_PHONE, f.phone), (KIND_NAME, f.name)):
            if value and value.strip():
                try:
                    digest = self.cipher.lookup_hash(kind, value)
                except ValueError:
                    return []
                where.append("c.id IN (SELECT case_id FROM case_lookup WHERE kind = ? AND hash = ?)")
                params += [kind, digest]
        rows = self.store.db.execute(
            "SELECT c.id, c.receipt_no, c.state, c.mode, c.day, c.created_at, c.collected_at, c.personal,"
            " (SELECT group_concat(name, '、') FROM case_item i WHERE i.case_id = c.id) FROM case_record c"
            f" WHERE {' AND '.join(where)} ORDER BY c.updated_at DESC LIMIT ?", params + [max(1, f.limit)]).fetchall()
        out = []
        for cid, receipt, state, mode, day, created, collected, sealed, items in rows:
            personal = json.loads(self.cipher.decrypt(sealed, field_context("case_record", "personal", cid)))
            name = (personal.get("applicant") or {}).get("name", "")
            out.append(CaseRow(cid, receipt or "", state, mode, day, created, collected or "",
                               tuple(items.split("、")) if items else (), name))
        return out

    def record_consultation(self, clerk: str, item_code: str, item_name: str, handling_region: str,
                            note: str) -> int:
        """A consultation about an item (the note may name the person: it is sealed)."""
        with self.store.write() as db:
            cur = db.conn.execute("INSERT INTO consultation (at, clerk, item_code, item_name, handling_region, note)"
                                  " VALUES (?, ?, ?, ?, ?, x'')", [now_iso(), clerk, item_code, item_name, handling_region])
            row_id = cur.lastrowid
            db.conn.execute("UPDATE consultation SET note = ? WHERE id = ?",
                            [self.cipher.encrypt(note.encode("utf-8"), field_context("consultation", "note", row_id)),
                             row_id])
            return row_id

    def consultations(self, day: str | None = None) -> list[dict]:
        rows = self.store.db.execute(
            "SELECT id, at, clerk, item_code, item_name, handling_region, note FROM consultation"
            + (" WHERE substr(at, 1, 10) = ?" if day else "") + " ORDER BY id DESC", [day] if day else []).fetchall()
        return [{"id": r[0], "at": r[1], "clerk": r[2], "item_code": r[3], "item_name": r[4], "handling_region": r[5],
                 "note": self.cipher.decrypt(r[6], field_context("consultation", "note", r[0])).decode("utf-8")}
                for r in rows]

    def count(self) -> int:
        return self.store.db.execute("SELECT count(*) FROM case_record").fetchone()[0]

    def referenced_scans(self) -> set[str]:
        """Scans some case or supplement still uses."""
        return {r[0] for r in self.store.db.execute(
            "SELECT sha256 FROM case_scan UNION SELECT sha256 FROM supplement_scan")}
