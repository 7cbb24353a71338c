"""Writing the catalogue: one update as one transaction.

A refresh writes batches straight into the live tables inside one write transaction on its own
connection; readers on other connections keep seeing the previous catalogue (WAL snapshots)
until the update commits with its new version. Failure, cancellation or a killed process rolls
it back (or WAL recovery discards it), so the previous catalogue stays exactly as it was.
``prepare_batch`` computes the rows and search keys (CPU work that may run anywhere);
``CatalogueUpdate.put`` writes them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Iterable, NamedTuple, Sequence

from counter_client.domain.catalogue import Agreement, Department, Guide, Region
from counter_client.domain.errors import InvalidCatalogue
from counter_client.domain.search import char_tokens, compact, pinyin_keys, suffixes

from .catalogue_schema import FTS_COLUMNS, GUIDE_FIELDS, SHORT_COLUMNS, mode_bits, set_meta
from .db import disk_error

if TYPE_CHECKING:
    from .catalogue import CatalogueStore

WAL_AUTOCHECKPOINT_PAGES = 1000  # SQLite's default


@dataclass(frozen=True)
class UpdateSummary:
    version: int
    changed: int
    removed: int
    guide_count: int


@dataclass(frozen=True)
class PreparedBatch:
    """A validated batch turned into rows, ready to write (built on any thread, no database)."""

    codes: tuple[str, ...]
    rows: tuple[tuple, ...]  # (guide row, trigram row, per-character row, alias keys)


class _TextKeys(NamedTuple):
    """Every search key of one name, alias or department name."""

    compact: str  # normalised, no punctuation: exact/prefix matches and the trigram index
    chars: str  # per-character tokens: the one- and two-character index
    pinyin: str
    initials: str
    initial_suffixes: str  # suffix tokens of the initials: substring search by prefix


@lru_cache(maxsize=1 << 16)
def _keys(text: str) -> _TextKeys:
    """Search keys of a text; memoised, as names and departments repeat across thousands of guides."""
    pinyin, initials = pinyin_keys(text)
    return _TextKeys(compact(text), char_tokens(text), pinyin, initials, suffixes(initials))


@lru_cache(maxsize=1 << 16)
def _department_keys(text: str) -> tuple[str, str]:
    """(compact form, per-character tokens) of a department name (no pinyin: departments are
    searched by their Chinese names)."""
    return compact(text), char_tokens(text)


def stored_bodies(guides: Sequence[Guide]) -> dict[str, bytes]:
    """Code -> the guide as stored (its canonical JSON); a download thread can do this while the
    writing thread works."""
    return {g.code: g.to_json() for g in guides}


def prepare_batch(guides: Sequence[Guide], hashes: dict[str, str],
                  departments: dict[str, str] | None = None,
                  bodies: dict[str, bytes] | None = None) -> PreparedBatch:
    """Compute every row and search key of a batch; the CPU-heavy half of writing a batch.

    Rows come in relevance order (national-list items first, short names first). ``bodies``
    (from ``stored_bodies``) may be computed elsewhere beforehand.
    """
    departments = departments or {}
    bodies = bodies if bodies is not None else stored_bodies(guides)
    ordered = sorted(guides, key=lambda g: (not g.national_list, len(g.name)))
    rows = []
    for g in ordered:
        name = _keys(g.name)
        aliases = [_keys(a) for a in g.aliases]
        dept = departments.get(g.implementer.department_code) or g.implementer.name
        dept_key, dept_chars = _department_keys(dept)
        guide_row = (
            g.code, g.basic_code, g.impl_code, g.version, hashes.get(g.code) or g.content_hash(), g.name,
            name.compact, g.item_type, g.implementer.department_code, dept, g.handling_region,
            int(g.national_list), mode_bits(g.modes), name.pinyin, name.initials, bodies[g.code],
        )
        fts = (
            name.compact,
            " ".join(a.compact for a in aliases),
            " ".join([name.pinyin] + [a.pinyin for a in aliases]),
            " ".join([name.initials] + [a.initials for a in aliases]),
            dept_key,
        )
        short = (
            " ".join([name.chars] + [a.chars for a in aliases]),
            " ".join([name.initial_suffixes] + [a.initial_suffixes for a in aliases]),
            dept_chars,
        )
        rows.append((guide_row, fts, short, tuple({a.compact for a in aliases})))
    return PreparedBatch(tuple(g.code for g in ordered), tuple(rows))


class CatalogueUpdate:
    """One update of the catalogue as one write transaction; use on one thread only.

    Leaving the ``with`` block commits only if ``finish`` was called; an exception, or leaving
    without ``finish``, rolls everything back.
    """

    def __init__(self, catalogue: "CatalogueStore"):
        self.catalogue = catalogue
        self._db = catalogue.store.db
        self._seen: set[str] = set()
        self._changed = 0
        self._removed = 0
        self._finished: UpdateSummary | None = None
        self._touched_reference = False
        self._next_id: int | None = None

    def __enter__(self) -> "CatalogueUpdate":
        # The commit of a large update would copy the whole WAL back into the file before
        # returning (auto-checkpoint); the new catalogue is durable and visible without that,
        # so the copy is left to the next write or to the last connection's close.
        self._db.conn.execute("PRAGMA wal_autocheckpoint = 0")
        self._db.conn.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        conn = self._db.conn
        if exc_type is None and self._finished is not None:
            try:
                conn.execute("COMMIT")
            except sqlite3.OperationalError as err:
                conn.execute("ROLLBACK")
                raise disk_error(err) from err
            if self._touched_reference:
                self.catalogue._forget_caches()
        else:
            conn.execute("ROLLBACK")
        conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")

    def put_guides(self, guides: Sequence[Guide], hashes: dict[str, str],
                   departments: dict[str, str] | None = None) -> None:
        """Insert or replace one validated batch; a code seen twice in one update is refused."""
        self.put(prepare_batch(guides, hashes, departments))

    def put(self, batch: PreparedBatch) -> None:
        """Write a prepared batch (SQLite releases the GIL while it works: the next batch can be
        downloaded and validated on another thread meanwhile)."""
        for code in batch.codes:
            if code in self._seen:
                raise InvalidCatalogue(
                    f"目录数据有误：事项编码 {code} 重复出现，本次更新已放弃，继续使用原目录。",
                    f"duplicate guide code in catalogue payload: {code}")
            self._seen.add(code)
        xm = self._db.conn.executemany
        self._delete(list(batch.codes))
        if self._next_id is None:
            self._next_id = self._db.conn.execute("SELECT coalesce(max(id), 0) + 1 FROM guide").fetchone()[0]
        ids = range(self._next_id, self._next_id + len(batch.rows))
        self._next_id += len(batch.rows)
        xm(f"INSERT INTO guide (id, {', '.join(GUIDE_FIELDS)}) VALUES (?{', ?' * len(GUIDE_FIELDS)})",
           [(gid,) + row[0] for gid, row in zip(ids, batch.rows)])
        xm(f"INSERT INTO guide_fts (rowid, {', '.join(FTS_COLUMNS)}) VALUES (?{', ?' * len(FTS_COLUMNS)})",
           [(gid,) + row[1] for gid, row in zip(ids, batch.rows)])
        xm(f"INSERT INTO guide_fts_short (rowid, {', '.join(SHORT_COLUMNS)}) VALUES (?{', ?' * len(SHORT_COLUMNS)})",
           [(gid,) + row[2] for gid, row in zip(ids, batch.rows)])
        xm("INSERT INTO guide_alias (guide_id, alias_key) VALUES (?, ?)",
           [(gid, alias) for gid, row in zip(ids, batch.rows) for alias in row[3]])
        self._changed += len(batch.codes)

    def remove(self, codes: Iterable[str]) -> None:
        codes = [c for c in codes if c not in self._seen]
        self._removed += self._delete(codes)

    def _delete(self, codes: list[str]) -> int:
        removed = 0
        x = self._db.conn.execute
        for i in range(0, len(codes), 500):
            chunk = codes[i:i + 500]
            marks = ", ".join("?" * len(chunk))
            ids = [r[0] for r in x(f"SELECT id FROM guide WHERE code IN ({marks})", chunk)]
            if not ids:
                continue
            id_marks = ", ".join("?" * len(ids))
            x(f"DELETE FROM guide_fts WHERE rowid IN ({id_marks})", ids)
            x(f"DELETE FROM guide_fts_short WHERE rowid IN ({id_marks})", ids)
            x(f"DELETE FROM guide WHERE id IN ({id_marks})", ids)  # cascades to aliases
            removed += len(ids)
        return removed

    def department_names(self) -> dict[str, str]:
        """Department code -> name as this update sees them (its own writes included)."""
        return dict(self._db.conn.execute("SELECT code, name FROM department").fetchall())

    def replace_departments(self, departments: Sequence[Department]) -> None:
        x = self._db.conn.execute
        x("DELETE FROM department")
        self._db.conn.executemany("INSERT INTO department VALUES (?, ?, ?, ?)",
                                  [(d.code, d.name, d.region_code, d.to_json().decode("utf-8")) for d in departments])
        # a renamed department: the name kept in guide rows follows
        x("UPDATE guide SET department_name = (SELECT name FROM department d WHERE d.code = guide.department_code) "
          "WHERE department_name != coalesce((SELECT name FROM department d WHERE d.code = guide.department_code), "
          "department_name)")

    def replace_agreements(self, agreements: Sequence[Agreement]) -> None:
        self._db.conn.execute("DELETE FROM agreement")
        self._db.conn.executemany("INSERT INTO agreement VALUES (?, ?, ?)",
                                  [(a.id, a.name, a.to_json().decode("utf-8")) for a in agreements])
        self._touched_reference = True

    def replace_regions(self, regions: Sequence[Region]) -> None:
        self._db.conn.execute("DELETE FROM region")
        self._db.conn.executemany("INSERT INTO region VALUES (?, ?, ?, ?)",
                                  [(r.code, r.name, r.parent, r.level) for r in regions])
        self._touched_reference = True

    def finish(self, catalogue_version: int, meta: dict[str, str | int | None] | None = None) -> UpdateSummary:
        """Record the new version; the transaction commits when the ``with`` block ends."""
        values = dict(meta or {})
        values["catalogue_version"] = catalogue_version
        set_meta(self._db, values)
        count = self._db.conn.execute("SELECT count(*) FROM guide").fetchone()[0]
        self._finished = UpdateSummary(catalogue_version, self._changed, self._removed, count)
        return self._finished
