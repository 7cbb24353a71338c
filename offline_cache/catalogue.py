"""The offline item-guide catalogue: schema, atomic updates, and search.

An update is one write transaction (``CatalogueStore.update()``) on the refreshing thread's
connection: batches are written straight into the live tables as they arrive, and readers on
other connections keep seeing the previous catalogue (SQLite WAL snapshots) until the update
commits with its new version. A refresh that fails validation, is cancelled, loses the network
or dies with the process rolls back (or is discarded by WAL recovery), leaving the previous
catalogue exactly as it was. The catalogue is its own database file, so this long write never
holds up the writes of intake.

Search answers in tiers so that it can stop early on large catalogues: exact name/alias/code
hits, then prefixes (B-tree ranges on name, codes, pinyin and initials), then substrings through
two FTS5 indexes: a trigram index for queries of three or more characters, and a per-character
index (Chinese characters as single tokens, initials as suffix tokens with a prefix index) for
one- and two-character queries, which trigrams cannot answer. Every tier is an index look-up with
a LIMIT, never a scan of the table. Each batch is inserted in relevance order (national-list
items first, short names first), so the rowid order of the FTS results is a sensible ranking.
Guide bodies are stored as zlib-compressed canonical JSON.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import zlib
from dataclasses import dataclass
from typing import Iterable, Sequence

import sqlite_utils

from counter_client.domain.catalogue import (
    HANDLING_MODES,
    Agreement,
    Department,
    Guide,
    Region,
    scope_of,
)
from counter_client.domain.errors import InvalidCatalogue
from counter_client.domain.search import (
    SearchFilters,
    SearchHit,
    char_tokens,
    compact,
    fts_phrase,
    normalize,
    pinyin_keys,
    suffixes,
)

from .db import Store

log = logging.getLogger(__name__)

MIGRATIONS = sqlite_utils.Migrations("catalogue")
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000

_GUIDE_COLUMNS = """
    code TEXT NOT NULL UNIQUE,
    basic_code TEXT NOT NULL,
    impl_code TEXT NOT NULL,
    version INTEGER NOT NULL,
    hash TEXT NOT NULL,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    item_type TEXT NOT NULL,
    department_code TEXT NOT NULL,
    department_name TEXT NOT NULL,
    handling_region TEXT NOT NULL,
    national_list INTEGER NOT NULL,
    modes INTEGER NOT NULL,
    pinyin TEXT NOT NULL,
    initials TEXT NOT NULL,
    body BLOB NOT NULL
"""
_MATERIAL_COLUMNS = """
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    type INTEGER NOT NULL,
    originals INTEGER NOT NULL,
    copies INTEGER NOT NULL,
    form TEXT NOT NULL,
    paper TEXT NOT NULL,
    necessity INTEGER NOT NULL,
    source INTEGER NOT NULL,
    source_note TEXT NOT NULL,
    standard TEXT NOT NULL,
    notes TEXT NOT NULL,
    blank_form TEXT NOT NULL,
    sample TEXT NOT NULL
"""
_FTS_COLUMNS = ("f_name", "f_aliases", "f_pinyin", "f_initials", "f_department")
_SHORT_COLUMNS = ("s_chars", "s_initials", "s_department")
_MATERIAL_FIELDS = ("name", "type", "originals", "copies", "form", "paper", "necessity", "source",
                    "source_note", "standard", "notes", "blank_form", "sample")
_GUIDE_FIELDS = ("code", "basic_code", "impl_code", "version", "hash", "name", "name_key",
                 "item_type", "department_code", "department_name", "handling_region",
                 "national_list", "modes", "pinyin", "initials", "body")

_SCHEMA_V1 = [
    "CREATE TABLE catalogue_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    f"CREATE TABLE guide (id INTEGER PRIMARY KEY, {_GUIDE_COLUMNS})",
    "CREATE INDEX guide_name ON guide(name_key)",
    "CREATE INDEX guide_code_upper ON guide(upper(code))",
    "CREATE INDEX guide_basic_upper ON guide(upper(basic_code))",
    "CREATE INDEX guide_impl_upper ON guide(upper(impl_code))",
    "CREATE INDEX guide_initials ON guide(initials)",
    "CREATE INDEX guide_pinyin ON guide(pinyin)",
    "CREATE INDEX guide_region ON guide(handling_region)",
    "CREATE INDEX guide_department ON guide(department_code)",
    "CREATE TABLE guide_alias (guide_id INTEGER NOT NULL REFERENCES guide(id) ON DELETE CASCADE,"
    " alias_key TEXT NOT NULL, PRIMARY KEY (alias_key, guide_id)) WITHOUT ROWID",
    "CREATE INDEX guide_alias_guide ON guide_alias(guide_id)",
    f"CREATE TABLE material (guide_id INTEGER NOT NULL REFERENCES guide(id) ON DELETE CASCADE,"
    f" {_MATERIAL_COLUMNS}, PRIMARY KEY (guide_id, position)) WITHOUT ROWID",
    "CREATE VIRTUAL TABLE guide_fts USING fts5(" + ", ".join(_FTS_COLUMNS)
    + ", tokenize='trigram', detail='full')",
    "CREATE VIRTUAL TABLE guide_fts_short USING fts5(" + ", ".join(_SHORT_COLUMNS)
    + ", tokenize=\"unicode61 remove_diacritics 0\", prefix='1 2')",
    "CREATE TABLE department (code TEXT PRIMARY KEY, name TEXT NOT NULL, region_code TEXT NOT NULL,"
    " body TEXT NOT NULL)",
    "CREATE TABLE agreement (id TEXT PRIMARY KEY, name TEXT NOT NULL, body TEXT NOT NULL)",
    "CREATE TABLE region (code TEXT PRIMARY KEY, name TEXT NOT NULL, parent TEXT NOT NULL,"
    " level INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE INDEX region_parent ON region(parent)",
]


@MIGRATIONS()
def m001_catalogue(db: sqlite_utils.Database) -> None:
    for statement in _SCHEMA_V1:
        db.execute(statement)


def open_catalogue(path) -> "CatalogueStore":
    return CatalogueStore(Store(path, MIGRATIONS, synchronous="NORMAL"))


def _mode_bits(modes: Iterable[str]) -> int:
    return sum(1 << HANDLING_MODES.index(m) for m in modes)


def _modes_of(bits: int) -> tuple[str, ...]:
    return tuple(m for i, m in enumerate(HANDLING_MODES) if bits & (1 << i))


@dataclass(frozen=True)
class CatalogueInfo:
    """What the status bar and ``catalogue refresh`` report."""

    version: int | None
    guide_count: int
    refreshed_at: str | None
    platform: str | None
    regions_version: str | None


@dataclass(frozen=True)
class UpdateSummary:
    version: int
    changed: int
    removed: int
    guide_count: int


class CatalogueStore:
    """Repository of the catalogue file."""

    def __init__(self, store: Store):
        self.store = store
        self._cache_lock = threading.Lock()
        self._agreements: list[Agreement] | None = None
        self._region_names: dict[str, tuple[str, str, int]] | None = None

    def close(self) -> None:
        self.store.close()

    # -- meta ----------------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        row = self.store.db.execute("SELECT value FROM catalogue_meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_meta(self, **values: str) -> None:
        with self.store.write() as db:
            self._set_meta(db, values)

    @staticmethod
    def _set_meta(db: sqlite_utils.Database, values: dict[str, str | int | None]) -> None:
        for key, value in values.items():
            if value is None:
                continue
            db.execute("INSERT INTO catalogue_meta(key, value) VALUES (?, ?) "
                       "ON CONFLICT(key) DO UPDATE SET value = excluded.value", [key, str(value)])

    def version(self) -> int | None:
        value = self.meta("catalogue_version")
        return int(value) if value is not None else None

    def info(self) -> CatalogueInfo:
        count = self.store.db.execute("SELECT count(*) FROM guide").fetchone()[0]
        return CatalogueInfo(self.version(), count, self.meta("refreshed_at"), self.meta("platform"),
                             self.meta("regions_version"))

    def local_hashes(self) -> dict[str, str]:
        return dict(self.store.db.execute("SELECT code, hash FROM guide").fetchall())

    # -- updating ------------------------------------------------------------------------------
    def update(self) -> "CatalogueUpdate":
        """A catalogue update: ``with store.update() as u: u.put_guides(...); u.finish(...)``."""
        return CatalogueUpdate(self)

    def _forget_caches(self) -> None:
        with self._cache_lock:
            self._agreements = None
            self._region_names = None

    # -- reading -------------------------------------------------------------------------------
    def guide(self, code: str) -> Guide | None:
        row = self.store.db.execute("SELECT body FROM guide WHERE code = ?", [code]).fetchone()
        if row is None:
            row = self.store.db.execute(
                "SELECT body FROM guide WHERE upper(code) = upper(?) LIMIT 1", [code]).fetchone()
        return Guide.model_validate_json(_body(row[0])) if row else None

    def guide_hash(self, code: str) -> str | None:
        row = self.store.db.execute("SELECT hash FROM guide WHERE code = ?", [code]).fetchone()
        return row[0] if row else None

    def department(self, code: str) -> Department | None:
        row = self.store.db.execute("SELECT body FROM department WHERE code = ?", [code]).fetchone()
        return Department.model_validate_json(row[0]) if row else None

    def departments(self) -> list[Department]:
        rows = self.store.db.execute("SELECT body FROM department ORDER BY region_code, name").fetchall()
        return [Department.model_validate_json(r[0]) for r in rows]

    def departments_in_use(self) -> list[tuple[str, str, int]]:
        """(code, name, guide count) of departments that implement at least one guide."""
        return self.store.db.execute(
            "SELECT department_code, department_name, count(*) FROM guide "
            "GROUP BY department_code ORDER BY department_name").fetchall()

    def regions_in_use(self) -> list[str]:
        """Distinct 办理地 codes of the guides (for the region filter)."""
        return [r[0] for r in self.store.db.execute(
            "SELECT DISTINCT handling_region FROM guide ORDER BY handling_region")]

    def agreements(self) -> list[Agreement]:
        with self._cache_lock:
            if self._agreements is None:
                rows = self.store.db.execute("SELECT body FROM agreement ORDER BY id").fetchall()
                self._agreements = [Agreement.model_validate_json(r[0]) for r in rows]
            return self._agreements

    def region(self, code: str) -> Region | None:
        row = self.store.db.execute("SELECT code, name, parent, level FROM region WHERE code = ?",
                                    [code]).fetchone()
        return Region(code=row[0], name=row[1], parent=row[2], level=row[3]) if row else None

    def region_children(self, parent: str) -> list[Region]:
        rows = self.store.db.execute(
            "SELECT code, name, parent, level FROM region WHERE parent = ? ORDER BY code", [parent])
        return [Region(code=r[0], name=r[1], parent=r[2], level=r[3]) for r in rows]

    def region_count(self) -> int:
        return self.store.db.execute("SELECT count(*) FROM region").fetchone()[0]

    def region_full_name(self, code: str) -> str:
        """``440305`` -> ``广东省深圳市南山区``; unknown codes come back as the code itself."""
        names = self._region_table()
        parts: list[str] = []
        seen = 0
        while code and code in names and seen < 4:
            name, parent, _level = names[code]
            if name not in ("市辖区", "县") and not (parts and parts[-1] == name):
                parts.append(name)
            code = parent
            seen += 1
        return "".join(reversed(parts)) if parts else code

    def _region_table(self) -> dict[str, tuple[str, str, int]]:
        with self._cache_lock:
            if self._region_names is None:
                rows = self.store.db.execute(
                    "SELECT code, name, parent, level FROM region WHERE level <= 3").fetchall()
                self._region_names = {r[0]: (r[1], r[2], r[3]) for r in rows}
            return self._region_names

    def materials(self, code: str) -> list[dict]:
        rows = self.store.db.execute(
            "SELECT m.* FROM material m JOIN guide g ON g.id = m.guide_id WHERE g.code = ? "
            "ORDER BY m.position", [code])
        cols = [d[0] for d in rows.description]
        return [dict(zip(cols, r)) for r in rows.fetchall()]

    # -- search --------------------------------------------------------------------------------
    def agreements_covering(self, hall_region: str, handling_region: str, basic_code: str) -> list[str]:
        return [a.name for a in self.agreements() if a.covers(hall_region, handling_region, basic_code)]

    def search(self, query: str, filters: SearchFilters = SearchFilters(), limit: int = DEFAULT_LIMIT,
               hall_region: str | None = None) -> list[SearchHit]:
        """Ranked hits for what the clerk typed (see the module docstring for the tiers)."""
        limit = max(1, min(int(limit), MAX_LIMIT))
        where, params = self._filter_sql(filters)
        q = normalize(query)
        key = compact(q)
        found: dict[int, tuple] = {}

        def take(sql: str, args: list, match: str) -> bool:
            need = limit - len(found)
            if need <= 0:
                return True
            rows = self.store.db.execute(sql + f" LIMIT {need}", args + params).fetchall()
            for row in rows:
                if row[0] not in found:
                    found[row[0]] = row + (match,)
            return len(found) >= limit

        sel = ("SELECT g.id, g.code, g.name, g.version, g.basic_code, g.department_code, "
               "g.department_name, g.handling_region, g.modes, g.national_list, g.item_type FROM ")
        if not key:
            take(sel + f"guide g WHERE 1 {where} ORDER BY g.id", [], "browse")
            return self._hits(found, hall_region or filters.collectable_at)

        upper = q.replace(" ", "").upper()  # codes keep their hyphens and dots
        ascii_q = key.isascii()
        # tier 1: exact name, alias or code
        done = take(sel + f"guide g WHERE g.name_key = ? {where}", [key], "exact")
        if not done:
            done = take(sel + "guide g JOIN guide_alias a ON a.guide_id = g.id "
                        f"WHERE a.alias_key = ? {where}", [key], "exact")
        if not done and ascii_q:
            for col in ("code", "impl_code", "basic_code"):
                done = take(sel + f"guide g WHERE upper(g.{col}) = ? {where}", [upper], "exact")
                if done:
                    break
        # tier 2: prefixes (B-tree ranges)
        if not done:
            done = take(sel + f"guide g WHERE g.name_key >= ? AND g.name_key < ? {where} ORDER BY g.name_key",
                        [key, key + "\U0010ffff"], "prefix")
        if not done and ascii_q:
            for col in ("code", "impl_code", "basic_code"):
                done = take(sel + f"guide g WHERE upper(g.{col}) >= ? AND upper(g.{col}) < ? {where} "
                            f"ORDER BY upper(g.{col})", [upper, upper + "\x7f"], "prefix")
                if done:
                    break
            for col in ("initials", "pinyin"):
                if done:
                    break
                done = take(sel + f"guide g WHERE g.{col} >= ? AND g.{col} < ? {where} ORDER BY g.{col}",
                            [key, key + "\x7f"], "prefix")
        # tier 3: substrings through FTS, name-like columns first, then department and codes
        if not done:
            terms = [compact(t) for t in q.split(" ") if compact(t)]
            for fts_query, table in self._substring_queries(terms, primary=True):
                if take(sel + f"{table} f JOIN guide g ON g.id = f.rowid WHERE {table} MATCH ? {where} "
                        "ORDER BY f.rowid", [fts_query], "substring"):
                    break
            else:
                for fts_query, table in self._substring_queries(terms, primary=False):
                    if take(sel + f"{table} f JOIN guide g ON g.id = f.rowid WHERE {table} MATCH ? {where} "
                            "ORDER BY f.rowid", [fts_query], "substring"):
                        break
        return self._hits(found, hall_region or filters.collectable_at)

    @staticmethod
    def _substring_queries(terms: list[str], primary: bool) -> list[tuple[str, str]]:
        """FTS5 queries for the terms: trigram when every term has 3+ characters, else the
        per-character index (only name/initials/department columns exist there)."""
        if not terms:
            return []
        if all(len(t) >= 3 for t in terms):
            cols = "{f_name f_aliases f_pinyin f_initials}" if primary else "f_department"
            return [(" AND ".join(f"{cols} : {fts_phrase(t)}" for t in terms), "guide_fts")]
        parts = []
        for t in terms:
            if t.isascii():
                col = "s_initials" if primary else None
                if col is None:
                    return []
                parts.append(f"{col} : {fts_phrase(t)} *")
            else:
                col = "s_chars" if primary else "s_department"
                parts.append(f"{col} : {fts_phrase(char_tokens(t))}")
        return [(" AND ".join(parts), "guide_fts_short")]

    def _filter_sql(self, f: SearchFilters) -> tuple[str, list]:
        sql: list[str] = []
        params: list = []
        if f.department_code:
            sql.append("g.department_code = ?")
            params.append(f.department_code)
        if f.region:
            scope = scope_of(f.region)
            sql.append(f"substr(g.handling_region, 1, {len(scope)}) = ?")
            params.append(scope)
        if f.mode:
            if f.mode not in HANDLING_MODES:
                raise ValueError(f"unknown mode {f.mode!r}")
            sql.append("(g.modes & ?) != 0")
            params.append(_mode_bits([f.mode]))
        if f.item_type:
            sql.append("g.item_type = ?")
            params.append(f.item_type)
        if f.collectable_at:
            alternatives = ["g.national_list = 1"]
            for a in self.agreements():
                if not any(f.collectable_at.startswith(p) for p in a.hall_regions):
                    continue
                regions = " OR ".join(f"substr(g.handling_region, 1, {len(p)}) = ?" for p in a.handling_regions)
                params.extend(a.handling_regions)
                clause = f"({regions})"
                if a.basic_codes:
                    clause += f" AND g.basic_code IN ({', '.join('?' * len(a.basic_codes))})"
                    params.extend(a.basic_codes)
                alternatives.append(f"({clause})")
            sql.append("(" + " OR ".join(alternatives) + ")")
        return ("AND " + " AND ".join(sql)) if sql else "", params

    def _hits(self, found: dict[int, tuple], hall_region: str | None) -> list[SearchHit]:
        hits = []
        for row in found.values():
            (_id, code, name, version, basic_code, dept_code, dept_name, region, modes,
             national, item_type, match) = row
            agreements = tuple(self.agreements_covering(hall_region, region, basic_code)) if hall_region else ()
            hits.append(SearchHit(code=code, name=name, version=version, basic_code=basic_code,
                                  department_code=dept_code, department=dept_name,
                                  handling_region=region,
                                  handling_region_name=self.region_full_name(region),
                                  modes=_modes_of(modes), national_list=bool(national),
                                  item_type=item_type, match=match, agreements=agreements))
        return hits

    def like_scan(self, query: str, limit: int = DEFAULT_LIMIT) -> list[str]:
        """The naive baseline the benchmarks compare against: LIKE over every searchable column."""
        pattern = f"%{compact(query)}%"
        rows = self.store.db.execute(
            "SELECT code FROM guide WHERE name_key LIKE ?1 OR pinyin LIKE ?1 OR initials LIKE ?1 "
            "OR code LIKE ?1 OR department_name LIKE ?1 OR id IN "
            "(SELECT guide_id FROM guide_alias WHERE alias_key LIKE ?1) LIMIT ?2", [pattern, limit])
        return [r[0] for r in rows]


@dataclass(frozen=True)
class PreparedBatch:
    """A validated batch turned into rows, ready to write (built on any thread, no database)."""

    codes: tuple[str, ...]
    rows: tuple[tuple, ...]  # (guide row with uncompressed body, trigram row, per-char row, aliases, materials)


def prepare_batch(guides: Sequence[Guide], hashes: dict[str, str],
                  departments: dict[str, str] | None = None) -> PreparedBatch:
    """Compute every row and search key of a batch; the CPU-heavy half of writing a batch.

    Rows come in relevance order (national-list items first, short names first).
    """
    departments = departments or {}
    ordered = sorted(guides, key=lambda g: (not g.national_list, len(g.name)))
    rows = []
    for g in ordered:
        pinyin, initials = pinyin_keys(g.name)
        alias_keys = [pinyin_keys(a) for a in g.aliases]
        dept = departments.get(g.implementer.department_code) or g.implementer.name
        name_key = compact(g.name)
        guide_row = (
            g.code, g.basic_code, g.impl_code, g.version, hashes.get(g.code) or g.content_hash(), g.name,
            name_key, g.item_type, g.implementer.department_code, dept, g.handling_region,
            int(g.national_list), _mode_bits(g.modes), pinyin, initials, g.model_dump_json().encode("utf-8"),
        )
        fts = (
            name_key,
            " ".join(compact(a) for a in g.aliases),
            " ".join([pinyin] + [p for p, _ in alias_keys]),
            " ".join([initials] + [i for _, i in alias_keys]),
            compact(dept),
        )
        short = (
            char_tokens(g.name + " " + " ".join(g.aliases)),
            " ".join(suffixes(i) for i in [initials] + [i for _, i in alias_keys]),
            char_tokens(dept),
        )
        aliases = tuple({compact(a) for a in g.aliases})
        materials = tuple((pos,) + tuple(getattr(m, f) for f in _MATERIAL_FIELDS)
                          for pos, m in enumerate(g.materials))
        rows.append((guide_row, fts, short, aliases, materials))
    return PreparedBatch(tuple(g.code for g in ordered), tuple(rows))


def _body(blob: bytes) -> bytes:
    return zlib.decompress(blob)


class CatalogueUpdate:
    """One update of the catalogue as one write transaction; use on one thread only.

    Leaving the ``with`` block commits only if ``finish`` was called; an exception, or leaving
    without ``finish``, rolls everything back.
    """

    def __init__(self, catalogue: CatalogueStore):
        self.catalogue = catalogue
        self._db = catalogue.store.db
        self._seen: set[str] = set()
        self._changed = 0
        self._removed = 0
        self._finished: UpdateSummary | None = None
        self._touched_reference = False

    def __enter__(self) -> "CatalogueUpdate":
        self._db.conn.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        conn = self._db.conn
        if exc_type is None and self._finished is not None:
            try:
                conn.execute("COMMIT")
            except sqlite3.OperationalError as err:
                conn.execute("ROLLBACK")
                from .db import _disk_error

                raise _disk_error(err) from err
            if self._touched_reference:
                self.catalogue._forget_caches()
            try:  # give the WAL back to the file system now that the big write is over
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.OperationalError:
                pass
        else:
            conn.execute("ROLLBACK")

    def put_guides(self, guides: Sequence[Guide], hashes: dict[str, str],
                   departments: dict[str, str] | None = None) -> None:
        """Insert or replace one validated batch; a code seen twice in one update is refused."""
        self.put(prepare_batch(guides, hashes, departments))

    def put(self, batch: PreparedBatch) -> None:
        """Write a prepared batch (compression and SQLite release the GIL: the next batch can be
        prepared on another thread meanwhile)."""
        for code in batch.codes:
            if code in self._seen:
                raise InvalidCatalogue(
                    f"目录数据有误：事项编码 {code} 重复出现，本次更新已放弃，继续使用原目录。",
                    f"duplicate guide code in catalogue payload: {code}")
            self._seen.add(code)
        x = self._db.conn.execute
        xm = self._db.conn.executemany
        self._delete(list(batch.codes))
        insert_guide = f"INSERT INTO guide ({', '.join(_GUIDE_FIELDS)}) VALUES ({', '.join('?' * len(_GUIDE_FIELDS))})"
        insert_fts = f"INSERT INTO guide_fts (rowid, {', '.join(_FTS_COLUMNS)}) VALUES (?{', ?' * len(_FTS_COLUMNS)})"
        insert_short = (f"INSERT INTO guide_fts_short (rowid, {', '.join(_SHORT_COLUMNS)}) "
                        f"VALUES (?{', ?' * len(_SHORT_COLUMNS)})")
        insert_material = f"INSERT INTO material VALUES (?, ?{', ?' * len(_MATERIAL_FIELDS)})"
        for guide_row, fts, short, aliases, materials in batch.rows:
            row = guide_row[:-1] + (zlib.compress(guide_row[-1], 1),)
            gid = x(insert_guide, row).lastrowid
            x(insert_fts, (gid,) + fts)
            x(insert_short, (gid,) + short)
            if aliases:
                xm("INSERT INTO guide_alias (guide_id, alias_key) VALUES (?, ?)", [(gid, a) for a in aliases])
            if materials:
                xm(insert_material, [(gid,) + m for m in materials])
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
            x(f"DELETE FROM guide WHERE id IN ({id_marks})", ids)  # cascades to aliases, materials
            removed += len(ids)
        return removed

    def department_names(self) -> dict[str, str]:
        """Department code -> name as this update sees them (its own writes included)."""
        return dict(self._db.conn.execute("SELECT code, name FROM department").fetchall())

    def replace_departments(self, departments: Sequence[Department]) -> None:
        x = self._db.conn.execute
        x("DELETE FROM department")
        self._db.conn.executemany("INSERT INTO department VALUES (?, ?, ?, ?)",
                                  [(d.code, d.name, d.region_code, d.model_dump_json()) for d in departments])
        # a renamed department: the name kept in guide rows follows
        x("UPDATE guide SET department_name = (SELECT name FROM department d WHERE d.code = guide.department_code) "
          "WHERE department_name != coalesce((SELECT name FROM department d WHERE d.code = guide.department_code), "
          "department_name)")

    def replace_agreements(self, agreements: Sequence[Agreement]) -> None:
        self._db.conn.execute("DELETE FROM agreement")
        self._db.conn.executemany("INSERT INTO agreement VALUES (?, ?, ?)",
                                  [(a.id, a.name, a.model_dump_json()) for a in agreements])
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
        CatalogueStore._set_meta(self._db, values)
        count = self._db.conn.execute("SELECT count(*) FROM guide").fetchone()[0]
        self._finished = UpdateSummary(catalogue_version, self._changed, self._removed, count)
        return self._finished
