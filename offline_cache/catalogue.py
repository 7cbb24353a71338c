"""The offline item-guide catalogue: reading and search (updates: ``catalogue_update``).

Updates are one write transaction each (``catalogue_update``); readers keep the previous
catalogue until an update commits. The catalogue is its own database file, so a long update
never holds up the writes of intake. Schema and migrations: ``catalogue_schema``.

Search answers in tiers so that it can stop early on large catalogues: exact name/alias/code
hits, then prefixes (B-tree ranges on name, codes, pinyin and initials), then substrings through
two FTS5 indexes: a trigram index for queries of three or more characters, and a per-character
index (Chinese characters as single tokens, initials as suffix tokens with a prefix index) for
one- and two-character queries, which trigrams cannot answer. Every tier is an index look-up with
a LIMIT, never a scan of the table. Each batch is inserted in relevance order (national-list
items first, short names first), so the rowid order of the FTS results is a sensible ranking.
Guide bodies are stored as canonical JSON (compressing them cost a fifth of a full refresh's
time for a smaller file; rows written compressed by the first development builds still read).
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass

from counter_client.domain.catalogue import (
    HANDLING_MODES,
    Agreement,
    Department,
    Guide,
    Region,
    scope_of,
)
from counter_client.domain.search import (
    SearchFilters,
    SearchHit,
    char_tokens,
    compact,
    fts_phrase,
    normalize,
)

from .catalogue_schema import (
    MIGRATIONS,
    guide_body,
    mode_bits,
    modes_of,
    save_calendar_year,
    set_meta,
)
from .catalogue_update import (
    CatalogueUpdate,
    PreparedBatch,
    UpdateSummary,
    prepare_batch,
    stored_bodies,
)
from .db import Store

__all__ = ["CatalogueInfo", "CatalogueStore", "CatalogueUpdate", "PreparedBatch", "UpdateSummary",
           "open_catalogue", "prepare_batch", "stored_bodies"]

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


def open_catalogue(path) -> "CatalogueStore":
    return CatalogueStore(Store(path, MIGRATIONS, synchronous="NORMAL"))


@dataclass(frozen=True)
class CatalogueInfo:
    """What the status bar and ``catalogue refresh`` report."""

    version: int | None
    guide_count: int
    refreshed_at: str | None
    platform: str | None
    regions_version: str | None


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
            set_meta(db, values)

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
        return Guide.from_json(guide_body(row[0])) if row else None

    def guide_hash(self, code: str) -> str | None:
        row = self.store.db.execute("SELECT hash FROM guide WHERE code = ?", [code]).fetchone()
        return row[0] if row else None

    def department(self, code: str) -> Department | None:
        row = self.store.db.execute("SELECT body FROM department WHERE code = ?", [code]).fetchone()
        return Department.from_json(row[0]) if row else None

    def departments(self) -> list[Department]:
        rows = self.store.db.execute("SELECT body FROM department ORDER BY region_code, name").fetchall()
        return [Department.from_json(r[0]) for r in rows]

    def departments_in_use(self) -> list[tuple[str, str, int, str]]:
        """(code, name, guide count, 办理地 code) of departments that implement at least one guide."""
        return self.store.db.execute(
            "SELECT department_code, department_name, count(*), min(handling_region) FROM guide "
            "GROUP BY department_code ORDER BY department_name").fetchall()

    def regions_in_use(self) -> list[str]:
        """Distinct 办理地 codes of the guides (for the region filter)."""
        return [r[0] for r in self.store.db.execute(
            "SELECT DISTINCT handling_region FROM guide ORDER BY handling_region")]

    def agreements(self) -> list[Agreement]:
        with self._cache_lock:
            if self._agreements is None:
                rows = self.store.db.execute("SELECT body FROM agreement ORDER BY id").fetchall()
                self._agreements = [Agreement.from_json(r[0]) for r in rows]
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

    # -- search --------------------------------------------------------------------------------
    def calendar_years(self) -> dict[int, dict]:
        """Year -> the platform's calendar of that year ({holidays, workdays, source, verified})."""
        return {year: json.loads(body) for year, body in self.store.db.execute("SELECT year, body FROM calendar_year")}

    def save_calendar_year(self, year: int, body: dict) -> None:
        with self.store.write() as db:
            save_calendar_year(db, year, body)

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
            params.append(mode_bits([f.mode]))
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
                                  modes=modes_of(modes), national_list=bool(national),
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


