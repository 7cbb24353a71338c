"""The outbox: what must reach the platform, with durable delivery states.

States (platform.md, sync rule 2)::

    queued ──> sending ──> acked
                  │  └──> rejected        (the platform refused it for good: conflict, invalid)
                  ├──> retry_wait         (network trouble, 5xx, 429: try again at next_attempt_at)
                  └──> in_doubt           (sent, no answer: ask the platform before any resend)
    held                                  (a supervisor put it aside; nothing is sent)

An item found in ``sending`` when the outbox opens was interrupted by a crash or a kill: it
becomes ``in_doubt``, never silently ``queued`` again. Only one sender works at a time (rule 6):
the sender holds an operating-system lock on a file beside the database (``filelock``: ``flock``
on POSIX, ``LockFileEx`` on Windows) for the whole pass. The kernel drops it the moment the
sender's process dies, so after a crash or a power cut the next pass starts at once, while a
sender that is alive, however slow, is never raced. (The ``sender_lease`` table of m003, a row
with an expiry, made the next pass wait up to two minutes after a crash; it is no longer used.)
Nothing here is ever deleted before it is acknowledged
(rule 10). The outbox lives in the cases file (``synchronous=FULL``).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

import sqlite_utils
from filelock import FileLock, Timeout

from .crypto import Cipher, field_context
from .db import Store, StoreError

log = logging.getLogger(__name__)

STATES = ("queued", "sending", "acked", "in_doubt", "retry_wait", "rejected", "held")
STATE_LABELS = {"queued": "待上传", "sending": "上传中", "acked": "已送达", "in_doubt": "待确认",
                "retry_wait": "等待重试", "rejected": "被退回", "held": "暂停"}
DUE_STATES = ("queued", "in_doubt", "retry_wait")


def migrate(migrations: sqlite_utils.Migrations) -> None:
    """Register the outbox tables with the cases file's migrations."""

    @migrations(name="m003_outbox")
    def m003_outbox(db: sqlite_utils.Database) -> None:
        db.execute("CREATE TABLE outbox (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, key TEXT NOT NULL UNIQUE,"
                   " case_id TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
                   " created_at REAL NOT NULL, updated_at REAL NOT NULL, next_attempt_at REAL NOT NULL DEFAULT 0,"
                   " last_error TEXT NOT NULL DEFAULT '', last_error_log TEXT NOT NULL DEFAULT '',"
                   " payload_hash TEXT NOT NULL DEFAULT '', acked_at REAL, ack TEXT NOT NULL DEFAULT '{}',"
                   " held_by TEXT NOT NULL DEFAULT '')")
        db.execute("CREATE INDEX outbox_due ON outbox(state, next_attempt_at)")
        db.execute("CREATE TABLE sender_lease (id INTEGER PRIMARY KEY CHECK (id = 1), owner TEXT NOT NULL,"
                   " expires_at REAL NOT NULL)")

    @migrations(name="m004_outbox_body")
    def m004_outbox_body(db: sqlite_utils.Database) -> None:
        """The exact body sent the first time (sealed: it holds personal data), resent unchanged
        after a doubt, so the platform sees an identical replay rather than a conflict."""
        db.execute("ALTER TABLE outbox ADD COLUMN body BLOB")


def enqueue_in(db: sqlite_utils.Database, kind: str, key: str, case_id: str, now: float | None = None) -> None:
    """Queue inside the caller's transaction (a case is collected and queued in one commit)."""
    now = time.time() if now is None else now
    db.execute("INSERT INTO outbox (kind, key, case_id, state, created_at, updated_at) VALUES (?, ?, ?, 'queued', ?, ?)"
               " ON CONFLICT(key) DO NOTHING", [kind, key, case_id, now, now])


@dataclass(frozen=True)
class OutboxItem:
    id: int
    kind: str  # case | supplement
    key: str  # receipt number, or the supplement id
    case_id: str
    state: str
    attempts: int
    created_at: float
    next_attempt_at: float
    last_error: str
    payload_hash: str
    acked_at: float | None

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]


_COLUMNS = "id, kind, key, case_id, state, attempts, created_at, next_attempt_at, last_error, payload_hash, acked_at"


class Outbox:
    """Delivery states of queued items (one instance per thread that uses it)."""

    def __init__(self, store: Store, cipher: Cipher | None = None, clock=time.time):
        self.store = store
        self.cipher = cipher
        self._clock = clock
        # one lock per Outbox: each sender (a thread's engine, a CLI process) builds its own.
        # thread_local=False: the worker thread that takes it may not be the one that frees it at shutdown
        self._sender = FileLock(store.path.with_name(store.path.name + ".sender-lock"), thread_local=False)

    # -- the body sent ------------------------------------------------------------------------------
    def body(self, item_id: int, key: str) -> bytes | None:
        """The body fixed for this item at its first send (``None``: not built yet)."""
        row = self.store.db.execute("SELECT body FROM outbox WHERE id = ?", [item_id]).fetchone()
        if row is None or row[0] is None:
            return None
        return self._cipher().decrypt(row[0], field_context("outbox", "body", key))

    def fix_body(self, item_id: int, key: str, body: bytes, payload_hash: str) -> bytes:
        """Keep ``body`` as the one to send, unless one is kept already (returned instead)."""
        sealed = self._cipher().encrypt(body, field_context("outbox", "body", key))
        with self.store.write() as db:
            row = db.execute("SELECT body FROM outbox WHERE id = ?", [item_id]).fetchone()
            if row is not None and row[0] is not None:
                return self._cipher().decrypt(row[0], field_context("outbox", "body", key))
            db.execute("UPDATE outbox SET body = ?, payload_hash = ? WHERE id = ?", [sealed, payload_hash, item_id])
        return body

    def _cipher(self) -> Cipher:
        if self.cipher is None:
            raise RuntimeError("this outbox was opened without a cipher")
        return self.cipher

    # -- queueing ----------------------------------------------------------------------------------
    def enqueue(self, kind: str, key: str, case_id: str) -> None:
        """Queue an item (idempotent: a key already queued stays as it is)."""
        with self.store.write() as db:
            enqueue_in(db, kind, key, case_id, self._clock())

    # -- the sender's side ---------------------------------------------------------------------------
    def recover(self) -> int:
        """Items left in ``sending`` by a crash become ``in_doubt``; returns how many."""
        with self.store.write() as db:
            cur = db.conn.execute("UPDATE outbox SET state = 'in_doubt', updated_at = ? WHERE state = 'sending'",
                                  [self._clock()])
            return cur.rowcount

    def acquire(self, owner: str) -> bool:
        """Take the single sender lock (again: a no-op for the sender holding it); False when another
        sender, in this process or another, holds it. ``owner`` names the sender in the log."""
        if self._sender.is_locked:
            return True
        try:
            self._sender.acquire(timeout=0)
        except Timeout:
            return False
        except OSError as exc:  # the data directory cannot hold the lock file (full, read-only)
            raise StoreError("无法开始同步：数据目录不可写（磁盘已满或无写权限）。",
                             f"sender lock {self._sender.lock_file}: {exc.__class__.__name__}: {exc}") from exc
        log.debug("sender lock taken by %s", owner)
        return True

    def release(self, owner: str) -> None:
        if self._sender.is_locked:
            self._sender.release(force=True)
            log.debug("sender lock released by %s", owner)

    def due(self, limit: int = 50) -> list[OutboxItem]:
        """Items to work on now, oldest first (in-doubt ones first: they block nothing but must be settled)."""
        rows = self.store.db.execute(
            f"SELECT {_COLUMNS} FROM outbox WHERE state IN ('queued', 'in_doubt', 'retry_wait') AND next_attempt_at <= ?"
            " ORDER BY CASE state WHEN 'in_doubt' THEN 0 ELSE 1 END, id LIMIT ?", [self._clock(), limit]).fetchall()
        return [OutboxItem(*r) for r in rows]

    def mark_sending(self, item_id: int, payload_hash: str) -> None:
        """Before the request that commits the item leaves: from here on a lost answer is doubt."""
        self._set(item_id, "sending", attempts_delta=1, payload_hash=payload_hash)

    def mark_acked(self, item_id: int, ack: dict) -> None:
        now = self._clock()
        with self.store.write() as db:
            db.execute("UPDATE outbox SET state = 'acked', acked_at = ?, updated_at = ?, ack = ?, last_error = '',"
                       " last_error_log = '' WHERE id = ?", [now, now, json.dumps(ack, ensure_ascii=False), item_id])

    def mark_retry(self, item_id: int, delay_s: float, message: str, log: str, in_doubt: bool = False) -> None:
        state = "in_doubt" if in_doubt else "retry_wait"
        self._set(item_id, state, next_attempt_at=self._clock() + max(0.0, delay_s), last_error=message,
                  last_error_log=log)

    def mark_held(self, item_id: int, by: str) -> None:
        """Set aside by the sender itself (a case voided before it was ever sent)."""
        self._set(item_id, "held", held_by=by)

    def mark_rejected(self, item_id: int, message: str, log: str) -> None:
        self._set(item_id, "rejected", last_error=message, last_error_log=log)

    def _set(self, item_id: int, state: str, attempts_delta: int = 0, **fields) -> None:
        sets = ["state = ?", "updated_at = ?", "attempts = attempts + ?"]
        values: list = [state, self._clock(), attempts_delta]
        for name, value in fields.items():
            sets.append(f"{name} = ?")
            values.append(value)
        with self.store.write() as db:
            db.execute(f"UPDATE outbox SET {', '.join(sets)} WHERE id = ?", values + [item_id])

    # -- the clerk's and supervisor's side ------------------------------------------------------------
    def retry_now(self, item_id: int) -> None:
        """Try again at the next pass (a rejected item stays rejected: it needs a decision)."""
        with self.store.write() as db:
            db.execute("UPDATE outbox SET next_attempt_at = 0, state = CASE state WHEN 'held' THEN 'queued'"
                       " ELSE state END, held_by = '' WHERE id = ? AND state IN ('retry_wait', 'in_doubt', 'queued',"
                       " 'held')", [item_id])

    def requeue(self, item_id: int, reason: str) -> None:
        """An acknowledged item the platform turns out not to hold (reconciliation): send it again,
        with the same body."""
        with self.store.write() as db:
            db.execute("UPDATE outbox SET state = 'queued', next_attempt_at = 0, acked_at = NULL, last_error = ?,"
                       " updated_at = ? WHERE id = ? AND state IN ('acked', 'rejected')", [reason, self._clock(), item_id])

    def hold(self, item_id: int, by: str) -> None:
        """Put an item aside (supervisor); an in-doubt item cannot be held: it must be settled."""
        with self.store.write() as db:
            db.execute("UPDATE outbox SET state = 'held', held_by = ?, updated_at = ? WHERE id = ?"
                       " AND state IN ('queued', 'retry_wait')", [by, self._clock(), item_id])

    # -- reading --------------------------------------------------------------------------------------
    def items(self, states: tuple[str, ...] = STATES, limit: int = 500) -> list[OutboxItem]:
        marks = ", ".join("?" * len(states))
        rows = self.store.db.execute(f"SELECT {_COLUMNS} FROM outbox WHERE state IN ({marks}) ORDER BY id DESC LIMIT ?",
                                     [*states, limit]).fetchall()
        return [OutboxItem(*r) for r in rows]

    def item(self, key: str) -> OutboxItem | None:
        row = self.store.db.execute(f"SELECT {_COLUMNS} FROM outbox WHERE key = ?", [key]).fetchone()
        return OutboxItem(*row) if row else None

    def counts(self) -> dict[str, int]:
        return dict(self.store.db.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall())

    def oldest_unsent_age(self) -> float | None:
        row = self.store.db.execute("SELECT min(created_at) FROM outbox WHERE state NOT IN ('acked', 'rejected')").fetchone()
        return None if row[0] is None else max(0.0, self._clock() - row[0])

    def cases_of_day(self, yymmdd: str) -> list[OutboxItem]:
        """Case items whose receipt number is of that day (characters 12-17 of the number)."""
        rows = self.store.db.execute(f"SELECT {_COLUMNS} FROM outbox WHERE kind = 'case' AND substr(key, 12, 6) = ?"
                                     " ORDER BY key", [yymmdd]).fetchall()
        return [OutboxItem(*r) for r in rows]

    def by_id(self, item_id: int) -> OutboxItem | None:
        row = self.store.db.execute(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", [item_id]).fetchone()
        return OutboxItem(*row) if row else None

    def acked_between(self, start: float, end: float) -> list[OutboxItem]:
        rows = self.store.db.execute(f"SELECT {_COLUMNS} FROM outbox WHERE state = 'acked' AND acked_at >= ? AND"
                                     " acked_at < ? ORDER BY acked_at", [start, end]).fetchall()
        return [OutboxItem(*r) for r in rows]
