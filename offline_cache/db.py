"""Opening SQLite files: pragmas, versioned migrations, one connection per thread.

Every database file of the client is opened through ``Store``. A store owns one migration set
(``sqlite_utils.Migrations``); opening applies pending migrations, so a file from an older
version upgrades in place, and a file that records migrations this build does not know (written
by a newer client) is refused with a clear message instead of being damaged.

Connections are per thread (``threading.local``): SQLite connections must not be shared across
threads, and the GUI thread, the task pool and the sync worker each read and write. WAL lets
readers run while a writer commits, so searching never waits for a catalogue update.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlite_utils

from counter_client.domain.errors import StoreError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000


def _connect(path: Path, synchronous: str) -> sqlite_utils.Database:
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=True)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA temp_store = MEMORY")
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"无法打开本地数据库（{path.name}）：文件已损坏或不是数据库文件。请联系技术支持。",
            f"cannot open database {path}: {exc}",
        ) from exc
    return sqlite_utils.Database(conn)


class Store:
    """A SQLite file with its migrations, handing out one connection per thread."""

    def __init__(self, path: str | Path, migrations: sqlite_utils.Migrations,
                 synchronous: str = "NORMAL"):
        self.path = Path(path)
        self._migrations = migrations
        self._synchronous = synchronous
        self._local = threading.local()
        self._all: list[sqlite_utils.Database] = []
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._migrate()

    # -- connections -------------------------------------------------------------------------
    @property
    def db(self) -> sqlite_utils.Database:
        """This thread's connection (opened on first use)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = _connect(self.path, self._synchronous)
            self._local.db = db
            with self._lock:
                self._all.append(db)
        return db

    @contextmanager
    def write(self) -> Iterator[sqlite_utils.Database]:
        """A short write transaction (BEGIN IMMEDIATE: take the write lock up front).

        A write the storage refuses (disk full, I/O error, read-only file, locked past the busy
        timeout) comes out as ``StoreError`` with a message for the clerk, whatever the caller was
        writing. SQLite rolls a transaction back by itself on SQLITE_FULL, so nothing is rolled back
        twice, and the first error of a chain is the one reported. Other SQLite errors (a bug: no
        such table, a constraint) pass through unchanged."""
        db = self.db
        conn = db.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:  # whatever fails at commit is the storage's
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise disk_error(exc) from exc
        except sqlite3.OperationalError as exc:
            first = first_error(exc)
            if not is_storage_error(first):
                raise
            raise disk_error(first) from exc

    def checkpoint(self) -> None:
        """Copy the WAL back into the database file (housekeeping after a large write)."""
        try:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError as exc:  # readers still on an old snapshot: next time
            log.info("checkpoint deferred: %s", exc)

    def close(self) -> None:
        """Close every connection this store opened (call at shutdown, from any thread)."""
        with self._lock:
            for db in self._all:
                try:
                    db.conn.close()
                except sqlite3.ProgrammingError:
                    pass  # closed by its own thread already, or from another thread: harmless
            self._all.clear()
        self._local = threading.local()

    # -- schema --------------------------------------------------------------------------------
    def _migrate(self) -> None:
        db = _connect(self.path, self._synchronous)
        try:
            known = {m.name for m in self._migrations._migrations}
            try:
                applied = [m.name for m in self._migrations.applied(db)]
            except sqlite3.DatabaseError as exc:
                raise StoreError(
                    f"本地数据库（{self.path.name}）已损坏，无法读取。请联系技术支持。",
                    f"cannot read migrations of {self.path}: {exc}",
                ) from exc
            unknown = [name for name in applied if name not in known]
            if unknown:
                raise StoreError(
                    f"本地数据库（{self.path.name}）由更新版本的本程序创建，当前版本无法使用。"
                    "请安装最新版本后再打开。",
                    f"database {self.path} has migrations unknown to this build: {unknown}",
                )
            pending = [m.name for m in self._migrations.pending(db)]
            if pending:
                log.info("applying migrations %s to %s", pending, self.path.name)
                try:
                    self._migrations.apply(db)
                except sqlite3.OperationalError as exc:
                    raise disk_error(exc) from exc
        finally:
            db.conn.close()

    def schema_version(self) -> list[str]:
        return [m.name for m in self._migrations.applied(self.db)]


STORAGE_WORDS = ("full", "disk", "i/o", "readonly", "read-only", "locked", "busy")


def is_storage_error(exc: sqlite3.OperationalError) -> bool:
    """The storage refused (as opposed to a statement that is wrong)."""
    text = str(exc).lower()
    return any(word in text for word in STORAGE_WORDS)


def first_error(exc: sqlite3.OperationalError) -> sqlite3.OperationalError:
    """The earliest SQLite error in ``exc``'s chain (the one a failed ROLLBACK was handling)."""
    seen = exc
    while isinstance(seen.__context__, sqlite3.OperationalError):
        seen = seen.__context__
    return seen


def disk_error(exc: sqlite3.OperationalError) -> StoreError:
    text = str(exc).lower()
    if "full" in text or "disk" in text:
        return StoreError("磁盘空间不足，数据未能保存。请清理磁盘后重试，已录入的内容仍保留在屏幕上。",
                          f"disk error: {exc}")
    if "locked" in text or "busy" in text:
        return StoreError("本地数据库正忙，请稍后重试。", f"database busy: {exc}")
    return StoreError("本地数据库写入失败，请重试；若反复出现请联系技术支持。", f"write failed: {exc}")
