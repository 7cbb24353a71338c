"""offline_cache.db: pragmas, migrations up and refused down, a connection per thread."""

from __future__ import annotations

import sqlite3
import threading

import pytest
import sqlite_utils

from counter_client.domain.errors import StoreError
from offline_cache.db import Store


def _migrations(count: int) -> sqlite_utils.Migrations:
    m = sqlite_utils.Migrations("probe")

    @m()
    def m001_create(db):
        db.execute("CREATE TABLE thing (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")

    if count >= 2:
        @m()
        def m002_add_column(db):
            db.execute("ALTER TABLE thing ADD COLUMN colour TEXT NOT NULL DEFAULT 'blue'")

    return m


def test_pragmas(tmp_path):
    store = Store(tmp_path / "a.db", _migrations(1))
    db = store.db
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    store.close()


def test_older_schema_upgrades_and_keeps_data(tmp_path):
    path = tmp_path / "a.db"
    old = Store(path, _migrations(1))
    with old.write() as db:
        db.execute("INSERT INTO thing(name) VALUES ('kept')")
    old.close()
    new = Store(path, _migrations(2))
    assert new.db.execute("SELECT name, colour FROM thing").fetchall() == [("kept", "blue")]
    assert new.schema_version() == ["m001_create", "m002_add_column"]
    new.close()


def test_newer_schema_is_refused_untouched(tmp_path):
    path = tmp_path / "a.db"
    Store(path, _migrations(2)).close()
    before = path.read_bytes()
    with pytest.raises(StoreError) as info:
        Store(path, _migrations(1))
    assert "更新版本" in info.value.message
    assert "m002_add_column" in info.value.log
    assert path.read_bytes() == before


def test_not_a_database(tmp_path):
    path = tmp_path / "a.db"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError) as info:
        Store(path, _migrations(1))
    assert "损坏" in info.value.message


def test_connection_per_thread(tmp_path):
    store = Store(tmp_path / "a.db", _migrations(1))
    mine = store.db
    assert store.db is mine
    other: list = []
    t = threading.Thread(target=lambda: other.append(store.db))
    t.start()
    t.join()
    assert other[0] is not mine
    store.close()


def test_write_rolls_back_on_error(tmp_path):
    store = Store(tmp_path / "a.db", _migrations(1))
    with pytest.raises(RuntimeError):
        with store.write() as db:
            db.execute("INSERT INTO thing(name) VALUES ('x')")
            raise RuntimeError("boom")
    assert store.db.execute("SELECT count(*) FROM thing").fetchone()[0] == 0
    store.close()


def test_a_full_disk_is_a_clear_error_for_every_write_and_a_bug_is_not_hidden(tmp_path):
    """Whatever is being written (a case, a setting, the outbox), a storage that refuses comes out
    as StoreError with a Chinese message, and the data already there is intact."""
    store = Store(tmp_path / "a.db", _migrations(1))
    with store.write() as db:
        db.execute("INSERT INTO thing (name) VALUES ('kept')")
    db = store.db
    db.execute("VACUUM")  # no free pages left inside the file
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own size limit: a real SQLITE_FULL
    with pytest.raises(StoreError) as full:
        with store.write() as db:
            db.conn.executemany("INSERT INTO thing (name) VALUES (?)", [("x" * 2000,) for _ in range(50)])
    assert "磁盘空间不足" in full.value.message and "full" in full.value.log
    assert [r[0] for r in store.db.execute("SELECT name FROM thing")] == ["kept"]
    assert not store.db.conn.in_transaction

    with pytest.raises(sqlite3.OperationalError, match="no such table"):  # a wrong statement stays a bug
        with store.write() as db:
            db.execute("INSERT INTO missing_table (a) VALUES (1)")
    store.db.execute("PRAGMA max_page_count = 1073741823")
    with store.write() as db:  # room again: writing works as before
        db.execute("INSERT INTO thing (name) VALUES ('later')")
    assert store.db.execute("SELECT count(*) FROM thing").fetchone()[0] == 2
    store.close()
