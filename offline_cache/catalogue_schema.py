"""The catalogue file's schema and migrations, and the row encodings shared by reading and
writing (column lists, handling-mode bits, stored guide bodies, the meta table)."""

from __future__ import annotations

import json
import zlib
from typing import Iterable

import sqlite_utils

from counter_client.domain.catalogue import HANDLING_MODES

MIGRATIONS = sqlite_utils.Migrations("catalogue")

GUIDE_COLUMNS = """
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
MATERIAL_COLUMNS = """
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
FTS_COLUMNS = ("f_name", "f_aliases", "f_pinyin", "f_initials", "f_department")
SHORT_COLUMNS = ("s_chars", "s_initials", "s_department")
GUIDE_FIELDS = ("code", "basic_code", "impl_code", "version", "hash", "name", "name_key",
                 "item_type", "department_code", "department_name", "handling_region",
                 "national_list", "modes", "pinyin", "initials", "body")

SCHEMA_V1 = [
    "CREATE TABLE catalogue_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    f"CREATE TABLE guide (id INTEGER PRIMARY KEY, {GUIDE_COLUMNS})",
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
    f" {MATERIAL_COLUMNS}, PRIMARY KEY (guide_id, position)) WITHOUT ROWID",
    "CREATE VIRTUAL TABLE guide_fts USING fts5(" + ", ".join(FTS_COLUMNS)
    + ", tokenize='trigram', detail='full')",
    "CREATE VIRTUAL TABLE guide_fts_short USING fts5(" + ", ".join(SHORT_COLUMNS)
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
    for statement in SCHEMA_V1:
        db.execute(statement)


@MIGRATIONS()
def m002_materials_only_in_guide_body(db: sqlite_utils.Database) -> None:
    """Materials are read from the guide body; a second copy in rows cost a quarter of the
    time of a full refresh and nothing searches them."""
    db.execute("DROP TABLE material")


@MIGRATIONS()
def m003_calendar_years(db: sqlite_utils.Database) -> None:
    """Working-day calendars the platform supplies for years the holiday library does not cover."""
    db.execute("CREATE TABLE calendar_year (year INTEGER PRIMARY KEY, body TEXT NOT NULL)")


def mode_bits(modes: Iterable[str]) -> int:
    return sum(1 << HANDLING_MODES.index(m) for m in modes)


def modes_of(bits: int) -> tuple[str, ...]:
    return tuple(m for i, m in enumerate(HANDLING_MODES) if bits & (1 << i))


def guide_body(blob: bytes) -> bytes:
    return zlib.decompress(blob) if blob[:1] == b"x" else blob




def set_meta(db: sqlite_utils.Database, values: dict[str, str | int | None]) -> None:
    """Upsert ``catalogue_meta`` keys (``None`` values are skipped)."""
    for key, value in values.items():
        if value is None:
            continue
        db.execute("INSERT INTO catalogue_meta(key, value) VALUES (?, ?) "
                   "ON CONFLICT(key) DO UPDATE SET value = excluded.value", [key, str(value)])


def save_calendar_year(db: sqlite_utils.Database, year: int, body: dict) -> None:
    """Insert or replace the platform's calendar of ``year``."""
    db.execute("INSERT INTO calendar_year VALUES (?, ?) ON CONFLICT(year) DO UPDATE SET body = excluded.body",
               [year, json.dumps(body, ensure_ascii=False)])
