"""The print log: every document this terminal printed or saved as PDF, and every attempt that
failed (who, when, which document, original or 副本 and why).

A document is identified by its kind (``receipt``, ``notice``, ``waybill``, ``manifest``) and
its key (the receipt number, the notice's key, the waybill number, the parcel id). The first
successful issue of a document is the original (``copy_no`` 1); each later one is a 副本 with a
reason. A failed attempt (the printer vanished, the file could not be written) is kept with
``copy_no`` 0 and its error, and never counts as an issue, so the next try is still the original.
An issue is written down *before* it happens (``begin``: outcome ``pending``, checked in the same
transaction against the copy number the preview showed) and settled after (``finish``): a power
cut between the spool and the log leaves a ``pending`` row that counts as issued, and two windows
printing the same document at once cannot both print an unmarked original.

The log lives in the cases file (its migration, ``m007_print_log``, is registered by
``cases.py`` after the mail tables). The clerk's free-text reason may name a person, so it is
sealed like a consultation note when the log has a cipher; the rest (kinds, keys, printer names,
reason codes) holds no personal data.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from counter_client.domain.errors import UserError

from .crypto import Cipher, field_context
from .db import Store

PRINTED, SAVED, FAILED, PENDING = "printed", "saved", "failed", "pending"
OUTCOMES = (PRINTED, SAVED, FAILED, PENDING)
# what (may have) put a document in someone's hands: a ``pending`` row is written before the printer
# or the file is written and settled after, so an issue cut short by a crash still counts
ISSUED = (PRINTED, SAVED, PENDING)


class IssuedMeanwhile(UserError):
    """The document was issued by someone else between the preview and the print."""


def migrate(migrations: sqlite_utils.Migrations) -> None:
    """Register the print log with the cases file's migrations."""

    @migrations(name="m007_print_log")
    def m007_print_log(db: sqlite_utils.Database) -> None:
        db.execute("CREATE TABLE print_log (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, doc_key TEXT NOT NULL,"
                   " case_id TEXT NOT NULL DEFAULT '', copy_no INTEGER NOT NULL, at TEXT NOT NULL,"
                   " clerk TEXT NOT NULL, outcome TEXT NOT NULL, target TEXT NOT NULL, copies INTEGER NOT NULL,"
                   " reason_code TEXT NOT NULL DEFAULT '', reason BLOB, error TEXT NOT NULL DEFAULT '')")
        db.execute("CREATE INDEX print_log_doc ON print_log(kind, doc_key, id)")
        db.execute("CREATE INDEX print_log_case ON print_log(case_id, id)")


@dataclass(frozen=True)
class PrintEntry:
    """One line of the log. ``copy_no``: 1 the original, 2… a 副本, 0 a failed attempt."""

    kind: str
    doc_key: str
    copy_no: int
    at: str  # local ISO time with offset
    clerk: str
    outcome: str
    target: str  # the printer's name, or the words for a PDF file
    copies: int = 1
    case_id: str = ""
    reason_code: str = ""
    reason: str = ""  # the clerk's own words (sealed on disk)
    error: str = ""  # why a failed attempt failed (the clerk's message)
    id: int = 0

    @property
    def issued(self) -> bool:
        return self.outcome in ISSUED


_COLUMNS = "id, kind, doc_key, case_id, copy_no, at, clerk, outcome, target, copies, reason_code, reason, error"


class PrintLog:
    """Repository of the print log over the cases file."""

    def __init__(self, store: Store, cipher: Cipher | None = None):
        self.store = store
        self.cipher = cipher

    def record(self, entry: PrintEntry) -> PrintEntry:
        """Add ``entry`` (one short transaction); returns it with its id."""
        if entry.outcome not in OUTCOMES:
            raise ValueError(f"unknown print outcome {entry.outcome!r}")
        with self.store.write() as db:
            cur = db.conn.execute(
                "INSERT INTO print_log (kind, doc_key, case_id, copy_no, at, clerk, outcome, target, copies,"
                " reason_code, reason, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
                [entry.kind, entry.doc_key, entry.case_id, entry.copy_no, entry.at, entry.clerk, entry.outcome,
                 entry.target, entry.copies, entry.reason_code, entry.error])
            row_id = cur.lastrowid
            if entry.reason:
                db.conn.execute("UPDATE print_log SET reason = ? WHERE id = ?", [self._seal(row_id, entry.reason), row_id])
        return PrintEntry(**{**entry.__dict__, "id": row_id})

    def begin(self, entry: PrintEntry) -> PrintEntry:
        """Write down an issue about to happen (``pending``), if the document was issued exactly
        ``entry.copy_no - 1`` times so far; else ``IssuedMeanwhile`` and nothing is written."""
        with self.store.write() as db:
            before = db.execute("SELECT count(*) FROM print_log WHERE kind = ? AND doc_key = ? AND outcome IN (?, ?, ?)",
                                [entry.kind, entry.doc_key, *ISSUED]).fetchone()[0]
            if before != entry.copy_no - 1:
                raise IssuedMeanwhile("这份文书刚刚已由本机打印或保存过。请关闭后重新打开打印窗口（将作为副本打印）。",
                                      f"{entry.kind} issued {before} time(s), the preview said {entry.copy_no - 1}")
        return self.record(PrintEntry(**{**entry.__dict__, "outcome": PENDING}))

    def finish(self, entry: PrintEntry, outcome: str, error: str = "") -> PrintEntry:
        """Settle a ``pending`` issue: printed, saved, or failed (a failure gives its number back)."""
        if outcome not in (PRINTED, SAVED, FAILED):
            raise ValueError(f"cannot finish with {outcome!r}")
        copy_no = 0 if outcome == FAILED else entry.copy_no
        with self.store.write() as db:
            db.execute("UPDATE print_log SET outcome = ?, copy_no = ?, error = ? WHERE id = ? AND outcome = ?",
                       [outcome, copy_no, error, entry.id, PENDING])
        return PrintEntry(**{**entry.__dict__, "outcome": outcome, "copy_no": copy_no, "error": error})

    def issued(self, kind: str, doc_key: str) -> int:
        """How many times the document was printed or saved (failed attempts do not count)."""
        return self.store.db.execute(
            "SELECT count(*) FROM print_log WHERE kind = ? AND doc_key = ? AND outcome IN (?, ?, ?)",
            [kind, doc_key, *ISSUED]).fetchone()[0]

    def for_document(self, kind: str, doc_key: str) -> list[PrintEntry]:
        rows = self.store.db.execute(f"SELECT {_COLUMNS} FROM print_log WHERE kind = ? AND doc_key = ? ORDER BY id",
                                     [kind, doc_key]).fetchall()
        return [self._entry(r) for r in rows]

    def for_case(self, case_id: str) -> list[PrintEntry]:
        """Every document printed for the case, oldest first."""
        rows = self.store.db.execute(f"SELECT {_COLUMNS} FROM print_log WHERE case_id = ? ORDER BY id",
                                     [case_id]).fetchall()
        return [self._entry(r) for r in rows]

    def _seal(self, row_id: int, text: str) -> bytes:
        data = text.encode("utf-8")
        return self.cipher.encrypt(data, field_context("print_log", "reason", row_id)) if self.cipher else data

    def _entry(self, row) -> PrintEntry:
        (row_id, kind, doc_key, case_id, copy_no, at, clerk, outcome, target, copies, reason_code, sealed,
         error) = row
        reason = ""
        if sealed:
            data = self.cipher.decrypt(sealed, field_context("print_log", "reason", row_id)) if self.cipher else sealed
            reason = bytes(data).decode("utf-8")
        return PrintEntry(kind, doc_key, copy_no, at, clerk, outcome, target, copies, case_id, reason_code, reason,
                          error, row_id)
