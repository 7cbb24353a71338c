"""The platform's own SQLite store: catalogue versions, guides, departments, agreements, regions;
since schema 2 also accounts and tokens, blob uploads, cases, their statuses and supplements;
since schema 3 waybill pools and parcels (the SQL of those lives with their logic in ``accounts``,
``blobs``, ``cases`` and ``mail``; the tables here).

One ``PlatformStore`` wraps one connection and is used by one thread (``StorePool`` gives each
server thread its own). WAL lets ``counter-platform catalogue touch`` write while the server reads;
the server sees the change on its next request because every request reads the versions afresh.

Change tracking: each guide row carries ``changed_in``, the catalogue version that last changed
it, and a removed guide stays as a tombstone (``removed = 1``), so the delta since V is "rows with
``changed_in > V``". Tombstones older than the retained window are pruned and the window's floor
(``log_floor``) moves up; a client below the floor has to do a full sync.

Guides are stored as their canonical JSON text (``Guide.to_json()``), validated once on
the way in, so the batch endpoint can serve them by joining strings.
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

from counter_client.domain.catalogue import Agreement, Department, Guide, Region, guide_hash
from counter_client.refplatform import utc_iso

log = logging.getLogger(__name__)

DB_FILENAME = "platform.sqlite3"
SCHEMA_VERSION = 3
BUSY_TIMEOUT_S = 30.0  # a `catalogue import` of 200,000 guides holds the write lock for a while
CHANGE_LOG_RETAINED_VERSIONS = 500  # deltas are offered for this many catalogue versions back
WRITE_CHUNK = 1000  # rows per executemany during an import
TOUCH_MARKER = re.compile(r"（本指南于\d{4}-\d{2}-\d{2}修订，目录版本\d+）$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS catalogue_versions (
    version INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    note TEXT NOT NULL,
    changed INTEGER NOT NULL,
    removed INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS guides (
    code TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    hash TEXT NOT NULL,
    body TEXT NOT NULL,
    changed_in INTEGER NOT NULL,
    removed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS guides_changed_in ON guides (changed_in);
CREATE TABLE IF NOT EXISTS departments (position INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS agreements (position INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS regions (position INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, body TEXT NOT NULL);
"""

# Schema 2: the sync side of the contract. A data directory of schema 1 is upgraded in place.
_SCHEMA_2 = """
CREATE TABLE IF NOT EXISTS accounts (
    account TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    roles TEXT NOT NULL,             -- JSON list
    hall_code TEXT NOT NULL,
    region_code TEXT NOT NULL,
    password TEXT NOT NULL,          -- scrypt$N$r$p$salt$hash (base64)
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until REAL NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY,     -- SHA-256 of the token: the token itself is never stored
    account TEXT NOT NULL REFERENCES accounts (account) ON DELETE CASCADE,
    hall_code TEXT NOT NULL,
    terminal INTEGER NOT NULL,
    issued_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS tokens_expires_at ON tokens (expires_at);
CREATE TABLE IF NOT EXISTS blobs (
    sha256 TEXT PRIMARY KEY,
    length INTEGER NOT NULL,
    complete INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    verified_at TEXT
);
CREATE TABLE IF NOT EXISTS cases (
    receipt_no TEXT PRIMARY KEY,
    hall_code TEXT NOT NULL,
    terminal INTEGER NOT NULL,
    receipt_day TEXT NOT NULL,       -- the day in the receipt number, ISO
    payload_hash TEXT NOT NULL,
    body TEXT NOT NULL,              -- the canonical JSON the hash is taken over
    account TEXT NOT NULL,
    accepted_at TEXT NOT NULL,
    mode TEXT NOT NULL,
    delivery_method TEXT NOT NULL,
    device_time TEXT NOT NULL,
    clock_offset_s REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS cases_terminal_day ON cases (hall_code, terminal, receipt_day);
CREATE TABLE IF NOT EXISTS case_items (
    receipt_no TEXT NOT NULL REFERENCES cases (receipt_no),
    position INTEGER NOT NULL,
    item_code TEXT NOT NULL,
    handling_region TEXT NOT NULL,
    status TEXT NOT NULL,
    PRIMARY KEY (receipt_no, item_code)
);
CREATE TABLE IF NOT EXISTS supplements (
    receipt_no TEXT NOT NULL REFERENCES cases (receipt_no),
    supplement_id TEXT NOT NULL,
    payload_hash TEXT NOT NULL,
    body TEXT NOT NULL,
    account TEXT NOT NULL,
    accepted_at TEXT NOT NULL,
    PRIMARY KEY (receipt_no, supplement_id)
);
CREATE TABLE IF NOT EXISTS attachments (
    receipt_no TEXT NOT NULL REFERENCES cases (receipt_no),
    supplement_id TEXT NOT NULL,     -- '' for the case's own attachments
    position INTEGER NOT NULL,
    sha256 TEXT NOT NULL REFERENCES blobs (sha256),
    size INTEGER NOT NULL,
    material TEXT NOT NULL,
    page INTEGER NOT NULL,
    PRIMARY KEY (receipt_no, supplement_id, position)
);
CREATE TABLE IF NOT EXISTS status_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    receipt_no TEXT NOT NULL REFERENCES cases (receipt_no),
    hall_code TEXT NOT NULL,
    item_code TEXT NOT NULL,
    status TEXT NOT NULL,
    at TEXT NOT NULL,
    reason TEXT,
    needed TEXT NOT NULL DEFAULT '[]',  -- JSON list of material names (补正)
    tracking_no TEXT
);
CREATE INDEX IF NOT EXISTS status_events_hall ON status_events (hall_code, seq);
CREATE INDEX IF NOT EXISTS status_events_case ON status_events (receipt_no, seq);
"""

# Schema 3: mail. Waybill numbers allocated to terminals (idempotent by the terminal's request
# id), parcel manifests (which cases and materials travel under which number) and mail legs
# (a result this hall mails on to the applicant under one of its numbers).
_SCHEMA_3 = """
CREATE TABLE IF NOT EXISTS waybill_allocations (
    hall_code TEXT NOT NULL,
    terminal INTEGER NOT NULL,
    request_id TEXT NOT NULL,        -- the terminal's idempotency key
    kind TEXT NOT NULL,              -- s10 | domestic
    count INTEGER NOT NULL,
    account TEXT NOT NULL,
    allocated_at TEXT NOT NULL,
    PRIMARY KEY (hall_code, terminal, request_id)
);
CREATE TABLE IF NOT EXISTS waybill_numbers (
    waybill_no TEXT PRIMARY KEY,     -- never given to two terminals
    hall_code TEXT NOT NULL,
    terminal INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    parcel_id TEXT
);
CREATE INDEX IF NOT EXISTS waybill_numbers_request ON waybill_numbers (hall_code, terminal, request_id, position);
CREATE TABLE IF NOT EXISTS parcels (
    hall_code TEXT NOT NULL,
    terminal INTEGER NOT NULL,
    parcel_id TEXT NOT NULL,
    waybill_no TEXT NOT NULL UNIQUE REFERENCES waybill_numbers (waybill_no),
    department_code TEXT NOT NULL,
    payload_hash TEXT NOT NULL,
    body TEXT NOT NULL,
    account TEXT NOT NULL,
    accepted_at TEXT NOT NULL,
    PRIMARY KEY (hall_code, terminal, parcel_id)
);
CREATE TABLE IF NOT EXISTS parcel_cases (
    hall_code TEXT NOT NULL,
    terminal INTEGER NOT NULL,
    parcel_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    receipt_no TEXT NOT NULL REFERENCES cases (receipt_no),
    materials INTEGER NOT NULL,
    PRIMARY KEY (hall_code, terminal, parcel_id, position)
);
CREATE INDEX IF NOT EXISTS parcel_cases_receipt ON parcel_cases (receipt_no);
CREATE TABLE IF NOT EXISTS mail_legs (  -- a result this hall mails on to the applicant, under a pool number
    tracking_no TEXT PRIMARY KEY REFERENCES waybill_numbers (waybill_no),
    hall_code TEXT NOT NULL,
    terminal INTEGER NOT NULL,
    receipt_no TEXT NOT NULL REFERENCES cases (receipt_no),
    item_code TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload_hash TEXT NOT NULL,
    body TEXT NOT NULL,
    account TEXT NOT NULL,
    accepted_at TEXT NOT NULL
);
"""
_UPGRADES = {2: _SCHEMA_2, 3: _SCHEMA_3}  # schema version -> the DDL that reaches it from the one before


class PlatformStoreError(Exception):
    """The platform database cannot be used (missing, newer schema, not loaded)."""


@dataclass(frozen=True)
class CatalogueState:
    """Every version number the API derives its answers and ETags from, read in one snapshot."""

    instance_id: str  # random per database: ETags never collide across a re-created data dir
    catalogue_version: int
    generated_at: str
    log_floor: int
    departments_version: int
    departments_hash: str
    agreements_version: int
    agreements_hash: str
    regions_version: str
    regions_source: str
    regions_hash: str


@dataclass(frozen=True)
class ImportReport:
    catalogue_version: int
    bumped: bool
    added: int
    changed: int
    removed: int
    unchanged: int
    departments_version: int
    agreements_version: int


class CatalogueSource(Protocol):
    """Guides streamed once; ``departments`` and ``agreements`` complete after ``guides()`` ends."""

    departments: list[Department]
    agreements: list[Agreement]

    def guides(self) -> Iterator[Guide]: ...


def db_path(data_dir: Path) -> Path:
    return Path(data_dir) / DB_FILENAME


def _list_digest(bodies: Iterable[str]) -> str:
    return hashlib.sha256(("[" + ",".join(bodies) + "]").encode("utf-8")).hexdigest()


class PlatformStore:
    """One connection to the platform database; use it from one thread only."""

    def __init__(self, data_dir: Path, *, create: bool = True):
        path = db_path(data_dir)
        if not path.exists():
            if not create:
                raise PlatformStoreError(f"no platform database at {path}")
            Path(data_dir).mkdir(parents=True, exist_ok=True)
        # check_same_thread=False only so that StorePool can close every connection at shutdown.
        self._conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
        self._depth = 0
        self._conn.execute("PRAGMA journal_mode=WAL")
        # FULL: an acknowledged case or login state must survive a power cut, not only a crash.
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._ensure_schema()

    # ---- transactions ----

    @contextmanager
    def write(self) -> Iterator[None]:
        """A write transaction (BEGIN IMMEDIATE); nested uses join the outer one."""
        with self._transaction("BEGIN IMMEDIATE"):
            yield

    @contextmanager
    def read(self) -> Iterator[None]:
        """A read snapshot, so that versions and rows read together agree."""
        with self._transaction("BEGIN"):
            yield

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._conn.execute(begin)
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self._conn.execute("ROLLBACK")
            raise
        self._depth = 0
        self._conn.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()

    @property
    def conn(self) -> sqlite3.Connection:
        """The connection, for the sync-side modules (``accounts``, ``blobs``, ``cases``)."""
        return self._conn

    def _ensure_schema(self) -> None:
        # Read first: a server thread opening its connection must not wait for the write lock
        # that a long `catalogue import` may be holding.
        found = self._schema_version()
        if found is None or found < SCHEMA_VERSION:
            with self.write():
                found = self._schema_version()
                if found is None:
                    self._run(_SCHEMA)
                    for version in sorted(_UPGRADES):
                        self._run(_UPGRADES[version])
                    self._set_meta(schema_version=str(SCHEMA_VERSION), instance_id=secrets.token_hex(6))
                elif found < SCHEMA_VERSION:
                    self._run(_SCHEMA)  # idempotent: whatever the old schema lacked of its own tables
                    for version in range(found + 1, SCHEMA_VERSION + 1):
                        self._run(_UPGRADES[version])
                        log.info("platform database upgraded to schema %d", version)
                    self._set_meta(schema_version=str(SCHEMA_VERSION))
            found = self._schema_version()
        if found != SCHEMA_VERSION:
            raise PlatformStoreError(f"platform database schema {found} is not the supported {SCHEMA_VERSION}")

    def _run(self, script: str) -> None:
        for statement in script.split(";"):
            if statement.strip():
                self._conn.execute(statement)

    def _schema_version(self) -> int | None:
        try:
            value = self._meta("schema_version")
        except sqlite3.OperationalError:  # no meta table yet
            return None
        return int(value) if value is not None else None

    # ---- meta ----

    def _meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, **values: object) -> None:
        self._conn.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [(k, str(v)) for k, v in values.items()],
        )

    def meta(self, key: str) -> str | None:
        return self._meta(key)

    def set_meta(self, **values: object) -> None:
        with self.write():
            self._set_meta(**values)

    def mode(self) -> str:
        """``training`` when loaded from the training data (training accounts, the simulated
        办理地, ``/training/advance``), else ``reference``."""
        return self._meta("mode") or "reference"

    def loaded(self) -> bool:
        """True once a catalogue (possibly empty) and the regions have been loaded."""
        return self._meta("catalogue_version") is not None

    def state(self) -> CatalogueState:
        meta = dict(self._conn.execute("SELECT key, value FROM meta").fetchall())
        if "catalogue_version" not in meta:
            raise PlatformStoreError("the platform database holds no catalogue yet")
        version = int(meta["catalogue_version"])
        row = self._conn.execute("SELECT created_at FROM catalogue_versions WHERE version = ?", (version,)).fetchone()
        return CatalogueState(
            instance_id=meta["instance_id"],
            catalogue_version=version,
            generated_at=row[0] if row else "",
            log_floor=int(meta["log_floor"]),
            departments_version=int(meta.get("departments_version", 0)),
            departments_hash=meta.get("departments_hash", ""),
            agreements_version=int(meta.get("agreements_version", 0)),
            agreements_hash=meta.get("agreements_hash", ""),
            regions_version=meta.get("regions_version", ""),
            regions_source=meta.get("regions_source", ""),
            regions_hash=meta.get("regions_hash", ""),
        )

    # ---- reads ----

    def manifest_entries(self) -> list[tuple[str, int, str]]:
        return self._conn.execute(
            "SELECT code, version, hash FROM guides WHERE removed = 0 ORDER BY code"
        ).fetchall()

    def changes_since(self, since: int) -> tuple[list[tuple[str, int, str]], list[str]]:
        rows = self._conn.execute(
            "SELECT code, version, hash, removed FROM guides WHERE changed_in > ? ORDER BY code", (since,)
        ).fetchall()
        changed = [(code, version, hash_) for code, version, hash_, removed in rows if not removed]
        return changed, [code for code, _, _, removed in rows if removed]

    def guide_bodies(self, codes: list[str]) -> dict[str, bytes]:
        """Canonical JSON of the live guides among ``codes``, as UTF-8 bytes (no decode/encode
        round trip: a 500-guide batch is then mostly a bytes join)."""
        if not codes:
            return {}
        marks = ",".join("?" * len(codes))
        return dict(
            self._conn.execute(
                f"SELECT code, CAST(body AS BLOB) FROM guides WHERE removed = 0 AND code IN ({marks})", codes
            )
        )

    def bodies(self, table: str) -> list[str]:
        """The stored JSON texts of ``departments``, ``agreements`` or ``regions``, in load order."""
        if table not in ("departments", "agreements", "regions"):
            raise ValueError(table)
        return [r[0] for r in self._conn.execute(f"SELECT body FROM {table} ORDER BY position")]

    # ---- writes ----

    def replace_regions(self, regions: Iterable[Region], version: str, source: str) -> None:
        with self.write():
            bodies = [(i, r.code, r.to_json().decode("utf-8")) for i, r in enumerate(regions)]
            digest = _list_digest(b for _, _, b in bodies)
            if digest == self._meta("regions_hash") and version == self._meta("regions_version"):
                return
            self._conn.execute("DELETE FROM regions")
            self._conn.executemany("INSERT INTO regions (position, code, body) VALUES (?, ?, ?)", bodies)
            self._set_meta(regions_version=version, regions_source=source, regions_hash=digest)
            log.info("regions replaced: %d rows, version %s", len(bodies), version)

    def replace_catalogue(self, source: CatalogueSource, note: str, *, initial: bool = False) -> ImportReport:
        """Make the catalogue equal to ``source`` in one transaction.

        Guides whose canonical JSON changed (or are new) are stamped with a new catalogue version,
        guides absent from the source become tombstones, departments and agreements are replaced.
        Nothing changed: no new version (importing the same file twice bumps nothing). ``initial``
        always creates version 1, even for an empty catalogue.
        """
        with self.write():
            current = int(self._meta("catalogue_version") or 0)
            if initial and current:
                raise PlatformStoreError("the platform database already holds a catalogue")
            new_version = current + 1
            existing = {
                code: (hash_, removed)
                for code, hash_, removed in self._conn.execute("SELECT code, hash, removed FROM guides")
            }
            seen: set[str] = set()
            added = changed = unchanged = 0
            pending: list[tuple[str, int, str, str, int]] = []
            for guide in source.guides():
                body = guide.to_json().decode("utf-8")
                digest = guide_hash(body.encode("utf-8"))
                seen.add(guide.code)
                before = existing.get(guide.code)
                if before == (digest, 0):
                    unchanged += 1
                    continue
                if before is None or before[1]:
                    added += 1
                else:
                    changed += 1
                pending.append((guide.code, guide.version, digest, body, new_version))
                if len(pending) >= WRITE_CHUNK:
                    self._upsert_guides(pending)
                    pending.clear()
            self._upsert_guides(pending)
            gone = [(new_version, code) for code, (_, removed) in existing.items() if not removed and code not in seen]
            self._conn.executemany("UPDATE guides SET removed = 1, body = '', changed_in = ? WHERE code = ?", gone)
            bumped = bool(added or changed or gone) or initial
            if bumped:
                self._new_catalogue_version(new_version, note, added + changed, len(gone))
            departments_version = self._replace_list(
                "departments", "code", [(d.code, d.to_json().decode("utf-8")) for d in source.departments]
            )
            agreements_version = self._replace_list(
                "agreements", "id", [(a.id, a.to_json().decode("utf-8")) for a in source.agreements]
            )
            return ImportReport(
                catalogue_version=new_version if bumped else current,
                bumped=bumped,
                added=added,
                changed=changed,
                removed=len(gone),
                unchanged=unchanged,
                departments_version=departments_version,
                agreements_version=agreements_version,
            )

    def touch(self, count: int, seed: int | None = None, today: date | None = None) -> ImportReport:
        """Revise ``count`` live guides (``version`` + 1 and a revision note in the conditions
        text) in one new catalogue version: the delta tests' and benchmarks' change generator."""
        rng = random.Random(seed)
        stamp = (today or date.today()).isoformat()
        with self.write():
            current = int(self._meta("catalogue_version") or 0)
            if not current:
                raise PlatformStoreError("the platform database holds no catalogue yet")
            codes = [r[0] for r in self._conn.execute("SELECT code FROM guides WHERE removed = 0 ORDER BY code")]
            picked = sorted(rng.sample(codes, min(count, len(codes))))
            new_version = current + 1
            rows = []
            for code in picked:
                body = self._conn.execute("SELECT body FROM guides WHERE code = ?", (code,)).fetchone()[0]
                data = Guide.from_json(body).to_dict()
                data["version"] += 1
                data["updated"] = stamp
                data["conditions"] = (
                    TOUCH_MARKER.sub("", data["conditions"]) + f"（本指南于{stamp}修订，目录版本{new_version}）"
                )
                guide = Guide.from_dict(data)
                text = guide.to_json().decode("utf-8")
                rows.append((code, guide.version, guide_hash(text.encode("utf-8")), text, new_version))
            if rows:
                self._upsert_guides(rows)
                self._new_catalogue_version(new_version, f"touch {len(rows)}", len(rows), 0)
            state = self.state()
            return ImportReport(
                catalogue_version=state.catalogue_version,
                bumped=bool(rows),
                added=0,
                changed=len(rows),
                removed=0,
                unchanged=len(codes) - len(rows),
                departments_version=state.departments_version,
                agreements_version=state.agreements_version,
            )

    def prune_change_log(self, retained_versions: int) -> int:
        """Drop tombstones older than ``retained_versions`` versions back; returns the new floor."""
        with self.write():
            current = int(self._meta("catalogue_version") or 0)
            floor = int(self._meta("log_floor") or 1)
            new_floor = current - retained_versions
            if new_floor <= floor:
                return floor
            self._conn.execute("DELETE FROM guides WHERE removed = 1 AND changed_in <= ?", (new_floor,))
            self._set_meta(log_floor=new_floor)
            log.info("change log pruned: deltas now available since version %d", new_floor)
            return new_floor

    def _upsert_guides(self, rows: list[tuple[str, int, str, str, int]]) -> None:
        self._conn.executemany(
            """INSERT INTO guides (code, version, hash, body, changed_in, removed) VALUES (?, ?, ?, ?, ?, 0)
               ON CONFLICT (code) DO UPDATE SET version = excluded.version, hash = excluded.hash,
               body = excluded.body, changed_in = excluded.changed_in, removed = 0""",
            rows,
        )

    def _new_catalogue_version(self, version: int, note: str, changed: int, removed: int) -> None:
        self._conn.execute(
            "INSERT INTO catalogue_versions (version, created_at, note, changed, removed) VALUES (?, ?, ?, ?, ?)",
            (version, utc_iso(), note, changed, removed),
        )
        self._set_meta(catalogue_version=version)
        if self._meta("log_floor") is None:
            self._set_meta(log_floor=version)
        log.info("catalogue version %d: %s (%d changed, %d removed)", version, note, changed, removed)
        self.prune_change_log(CHANGE_LOG_RETAINED_VERSIONS)

    def _replace_list(self, table: str, key: str, rows: list[tuple[str, str]]) -> int:
        """Replace departments or agreements; the version moves only when the content changed."""
        digest = _list_digest(body for _, body in rows)
        version = int(self._meta(f"{table}_version") or 0)
        if digest == self._meta(f"{table}_hash"):
            return version
        self._conn.execute(f"DELETE FROM {table}")
        self._conn.executemany(
            f"INSERT INTO {table} (position, {key}, body) VALUES (?, ?, ?)",
            [(i, k, body) for i, (k, body) in enumerate(rows)],
        )
        self._set_meta(**{f"{table}_version": version + 1, f"{table}_hash": digest})
        return version + 1


class StorePool:
    """One ``PlatformStore`` per thread, all closed together at shutdown."""

    def __init__(self, data_dir: Path):
        self._data_dir = Path(data_dir)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._stores: list[PlatformStore] = []

    def get(self) -> PlatformStore:
        store = getattr(self._local, "store", None)
        if store is None:
            store = PlatformStore(self._data_dir, create=False)
            self._local.store = store
            with self._lock:
                self._stores.append(store)
        return store

    def close_all(self) -> None:
        with self._lock:
            stores, self._stores = self._stores, []
        for store in stores:
            store.close()
        self._local = threading.local()
