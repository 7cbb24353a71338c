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

import msgspec

from counter_client.domain.catalogue import Agreement, Department, Guide, Region
from counter_client.domain.errors import InvalidCatalogue
from counter_client.domain.search import char_tokens, compact, pinyin_keys, suffixes

from .catalogue_schema import FTS_COLUMNS, GUIDE_FIELDS, SHORT_COLUMNS, mode_bits, save_calendar_year, set_meta
from .db import disk_error

if TYPE_CHECKING:
    from .catalogue import CatalogueStore

WAL_AUTOCHECKPOINT_PAGES = 1000  # SQLite's default
FTS_ROWS_PER_WRITE = 2000  # guides indexed per FTS statement (see CatalogueUpdate._write_fts)


@dataclass(frozen=True)
class UpdateSummary:
    version: int
    changed: int
    removed: int
    guide_count: int


@dataclass(frozen=True)
class PreparedBatch:
    """A validated batch turned into rows, ready to write (built on any thread, no database).

    The rows of each table travel as one JSON array (``_ROWS``) and the guide bodies as one
    blob (a row holds where its body starts and how long it is), so that ``put`` writes each
    table of a batch with a single statement: SQLite then inserts the whole batch with the GIL
    released, instead of taking it back for every row while the next batch is being decoded
    on another thread. A batch holding what JSON cannot carry into SQLite (``rowwise``) is
    written a row at a time instead.
    """

    codes: tuple[str, ...]  # in row order: the first gets the lowest id
    guides: bytes  # JSON [[GUIDE_FIELDS without body..., body start (1-based), body length], ...]
    bodies: bytes  # the stored bodies, back to back
    fts: bytes  # JSON [[FTS_COLUMNS...], ...]
    short: bytes  # JSON [[SHORT_COLUMNS...], ...]
    aliases: bytes  # JSON [[row index, alias key], ...]
    rowwise: bool = False  # holds what JSON rows cannot carry into SQLite: written row by row


_ROWS = msgspec.json.Encoder()
_NUL = b"\\u0000"  # a NUL character in the JSON rows: json_extract() would end the text there
_INT64_MAX = (1 << 63) - 1  # a larger version is refused when bound, but would become a REAL from JSON


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


class _NameKeys(NamedTuple):
    """The search keys of a guide's name and aliases, as its rows hold them."""

    compact: str
    pinyin: str
    initials: str
    f_aliases: str
    f_pinyin: str
    f_initials: str
    s_chars: str
    s_initials: str
    alias_keys: tuple[str, ...]


@lru_cache(maxsize=1 << 12)
def _name_only_keys(name: str) -> _NameKeys:
    """Keys of a guide without aliases; memoised, as guides share a handful of names."""
    return _name_keys(name, ())


def _name_keys(name: str, aliases: tuple[str, ...]) -> _NameKeys:
    """Keys of a name with its aliases (not memoised: local aliases name one guide each)."""
    n = _keys(name)
    a = [_keys(alias) for alias in aliases]
    return _NameKeys(
        n.compact, n.pinyin, n.initials,
        " ".join(k.compact for k in a),
        " ".join([n.pinyin] + [k.pinyin for k in a]),
        " ".join([n.initials] + [k.initials for k in a]),
        " ".join([n.chars] + [k.chars for k in a]),
        " ".join([n.initial_suffixes] + [k.initial_suffixes for k in a]),
        tuple({k.compact for k in a}),
    )


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
    guide_rows, fts_rows, short_rows, alias_rows, blobs = [], [], [], [], []
    start = 1
    for index, g in enumerate(ordered):
        name = _name_keys(g.name, tuple(g.aliases)) if g.aliases else _name_only_keys(g.name)
        dept = departments.get(g.implementer.department_code) or g.implementer.name
        dept_key, dept_chars = _department_keys(dept)
        body = bodies[g.code]
        blobs.append(body)
        guide_rows.append((
            g.code, g.basic_code, g.impl_code, g.version, hashes.get(g.code) or g.content_hash(), g.name,
            name.compact, g.item_type, g.implementer.department_code, dept, g.handling_region,
            int(g.national_list), mode_bits(g.modes), name.pinyin, name.initials, start, len(body),
        ))
        start += len(body)
        fts_rows.append((name.compact, name.f_aliases, name.f_pinyin, name.f_initials, dept_key))
        short_rows.append((name.s_chars, name.s_initials, dept_chars))
        alias_rows.extend((index, alias) for alias in name.alias_keys)
    encode = _ROWS.encode
    tables = (encode(guide_rows), encode(fts_rows), encode(short_rows), encode(alias_rows))
    rowwise = any(_NUL in rows for rows in tables) or any(row[3] > _INT64_MAX for row in guide_rows)
    return PreparedBatch(tuple(g.code for g in ordered), tables[0], b"".join(blobs), *tables[1:], rowwise=rowwise)


def _from_rows(count: int) -> str:
    """The first ``count`` values of each row of ``json_each(?1)``."""
    return ", ".join(f"json_extract(value, '$[{i}]')" for i in range(count))


_BODY_FIELDS = len(GUIDE_FIELDS) - 1
assert GUIDE_FIELDS[-1] == "body"
# ?1: the rows as JSON, ?2: the id of the first row (ids follow the rows' order), ?3: the bodies
_INSERT_GUIDES = (
    f"INSERT INTO guide (id, {', '.join(GUIDE_FIELDS)}) SELECT ?2 + key, {_from_rows(_BODY_FIELDS)}, "
    f"substr(?3, json_extract(value, '$[{_BODY_FIELDS}]'), json_extract(value, '$[{_BODY_FIELDS + 1}]')) "
    "FROM json_each(?1)")
_INSERT_FTS = (f"INSERT INTO guide_fts (rowid, {', '.join(FTS_COLUMNS)}) "
               f"SELECT ?2 + key, {_from_rows(len(FTS_COLUMNS))} FROM json_each(?1)")
_INSERT_SHORT = (f"INSERT INTO guide_fts_short (rowid, {', '.join(SHORT_COLUMNS)}) "
                 f"SELECT ?2 + key, {_from_rows(len(SHORT_COLUMNS))} FROM json_each(?1)")
_INSERT_ALIASES = ("INSERT INTO guide_alias (guide_id, alias_key) "
                   "SELECT ?2 + json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?1)")
# the same, a row at a time (PreparedBatch.rowwise)
_INSERT_GUIDE_ROW = f"INSERT INTO guide (id, {', '.join(GUIDE_FIELDS)}) VALUES (?{', ?' * len(GUIDE_FIELDS)})"
_INSERT_FTS_ROW = f"INSERT INTO guide_fts (rowid, {', '.join(FTS_COLUMNS)}) VALUES (?{', ?' * len(FTS_COLUMNS)})"
_INSERT_SHORT_ROW = (f"INSERT INTO guide_fts_short (rowid, {', '.join(SHORT_COLUMNS)}) "
                     f"VALUES (?{', ?' * len(SHORT_COLUMNS)})")
_INSERT_ALIAS_ROW = "INSERT INTO guide_alias (guide_id, alias_key) VALUES (?, ?)"


def _joined(arrays: Iterable[bytes]) -> bytes:
    """JSON arrays (as bytes) joined into one array."""
    items = [a[1:-1] for a in arrays if a != b"[]"]
    return b"[" + b",".join(items) + b"]"


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
        self._fts_pending: list[tuple[bytes, bytes]] = []  # (fts, short) rows put, not yet indexed
        self._fts_first = 0  # id of the first of them
        self._fts_rows = 0

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
        x = self._db.conn.execute
        self._delete(list(batch.codes))
        if self._next_id is None:
            self._next_id = x("SELECT coalesce(max(id), 0) + 1 FROM guide").fetchone()[0]
        first = self._next_id
        self._next_id += len(batch.codes)
        if batch.rowwise:
            self._write_fts()  # the batches pending keep consecutive ids
            self._put_rowwise(batch, first)
        else:
            x(_INSERT_GUIDES, (batch.guides, first, batch.bodies))
            x(_INSERT_ALIASES, (batch.aliases, first))
            if not self._fts_pending:
                self._fts_first = first
            self._fts_pending.append((batch.fts, batch.short))
            self._fts_rows += len(batch.codes)
            if self._fts_rows >= FTS_ROWS_PER_WRITE:
                self._write_fts()
        self._changed += len(batch.codes)

    def _put_rowwise(self, batch: PreparedBatch, first: int) -> None:
        """Write a batch a row at a time, its values bound as they are."""
        xm = self._db.conn.executemany
        decode = msgspec.json.decode
        xm(_INSERT_GUIDE_ROW, [(first + i, *row[:-2], batch.bodies[row[-2] - 1:row[-2] - 1 + row[-1]])
                               for i, row in enumerate(decode(batch.guides))])
        xm(_INSERT_FTS_ROW, [(first + i, *row) for i, row in enumerate(decode(batch.fts))])
        xm(_INSERT_SHORT_ROW, [(first + i, *row) for i, row in enumerate(decode(batch.short))])
        xm(_INSERT_ALIAS_ROW, [(first + i, alias) for i, alias in decode(batch.aliases)])

    def _write_fts(self) -> None:
        """Index the guides put since the last call (their ids are consecutive).

        FTS5 writes what it has gathered as a new segment at the end of every statement that
        inserts several rows, and then merges segments; a statement per batch of 500 would
        double the segments (and the merging) of writing row by row, so several batches go
        into one statement.
        """
        if not self._fts_pending:
            return
        x = self._db.conn.execute
        x(_INSERT_FTS, (_joined(fts for fts, _ in self._fts_pending), self._fts_first))
        x(_INSERT_SHORT, (_joined(short for _, short in self._fts_pending), self._fts_first))
        self._fts_pending = []
        self._fts_rows = 0

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

    def save_calendar_year(self, year: int, body: dict) -> None:
        """The platform's working-day calendar of ``year``, written with this update."""
        save_calendar_year(self._db, year, body)

    def finish(self, catalogue_version: int, meta: dict[str, str | int | None] | None = None) -> UpdateSummary:
        """Record the new version; the transaction commits when the ``with`` block ends."""
        self._write_fts()
        values = dict(meta or {})
        values["catalogue_version"] = catalogue_version
        set_meta(self._db, values)
        count = self._db.conn.execute("SELECT count(*) FROM guide").fetchone()[0]
        self._finished = UpdateSummary(catalogue_version, self._changed, self._removed, count)
        return self._finished
