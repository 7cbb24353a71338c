"""The client's disk fills up while it pulls statuses back: the pass ends with a clear message
(not a crash), the status cursor does not move, the sender lock is given back, and once there is room
again the next pull gets the same events and keeps every one of them once.

Two ways to fill the disk: SQLite's own limit on the file's size (``PRAGMA max_page_count`` on the
very connection the engine writes with: a real SQLITE_FULL, raised in the middle of the write
transaction; runs everywhere), and — where this test may mount one (root) — a small tmpfs holding
the client's data directory, filled to the last byte while the status request is on its way
(the ``counter-client sync`` process then meets ENOSPC itself).
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import subprocess
import sys

import pytest

from tests.faults.sync_support import (
    KIB,
    MIB,
    make_rig,  # noqa: F401 - fixture
    shared_keyring,  # noqa: F401 - fixture
    wait_for,
    zygote,
)

pytestmark = [pytest.mark.faults, pytest.mark.integration]

CASES = 24  # three steps of the simulated 办理地 give ~70 events: more than the free room in any page
DISK_FULL = "磁盘空间不足"


def deliver_and_advance(rig, steps: int = 3) -> list[tuple[int, str, str, str]]:
    first = rig.sync()
    assert first.delivered == CASES and first.remaining == 0, first
    for _ in range(steps):
        done = rig.server.cli("simulate", "--steps", "1")
        assert done.returncode == 0, done.stderr
    feed = rig.feed()
    assert len(feed) >= CASES + CASES // 2, len(feed)
    return feed


def test_the_database_file_cannot_grow_during_a_status_pull(make_rig):
    rig = make_rig(cases=CASES, sizes=[8 * KIB], own_platform=True)
    feed = deliver_and_advance(rig)
    cursor = rig.client.status_cursor()
    db = rig.ctx.intake().cases.store.db  # this thread's connection: the one the engine will write with
    db.execute("VACUUM")  # no free pages left inside the file either
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    assert db.execute(f"PRAGMA max_page_count = {pages}").fetchone()[0] == pages

    full = rig.sync()  # must not raise
    assert full.statuses == 0 and DISK_FULL in full.stopped, full
    assert rig.client.status_cursor() == cursor and rig.client.status_events() == []
    assert rig.client.outbox() and {i["state"] for i in rig.client.outbox().values()} == {"acked"}

    db.execute("PRAGMA max_page_count = 1073741823")  # room again
    again = rig.sync()  # at once: the sender lock was given back
    assert not again.busy and not again.stopped and again.statuses > 0, again
    assert rig.client.status_events() == feed == rig.feed(rig.client.status_cursor())
    assert rig.sync().statuses == 0  # nothing twice
    rig.finish()


def _can_mount(path) -> bool:
    if sys.platform != "linux" or os.geteuid() != 0:
        return False
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(path)], capture_output=True,
                          check=False)
    if done.returncode != 0:
        return False
    subprocess.run(["umount", str(path)], check=True)
    return True


@pytest.fixture
def small_disk(tmp_path):
    """A 96 MiB tmpfs (the blob store wants 50 MiB free to take scans), unmounted afterwards."""
    disk = tmp_path / "disk"
    if not _can_mount(disk):
        pytest.skip("cannot mount a tmpfs here (needs root on Linux)")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", str(disk)], check=True)
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk) -> int:
    """Write to ``disk`` until it is full; the bytes written."""
    written = 0
    piece = b"\0" * MIB
    with open(disk / "filler", "wb", buffering=0) as fh:
        while True:
            try:
                written += fh.write(piece)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                if len(piece) == 1:
                    return written
                piece = piece[:len(piece) // 2]


def test_the_disk_fills_up_during_a_status_pull(make_rig, small_disk):
    rig = make_rig(cases=CASES, sizes=[8 * KIB], own_platform=True, data=small_disk / "client")
    feed = deliver_and_advance(rig)
    cursor = rig.client.status_cursor()
    rig.proxy.add_rule("GET", r"/status\?", "latency", seconds=1.0, times=1)  # the moment to fill the disk
    out = small_disk.parent / "sync.out"
    pulls = rig.proxy.count("GET", r"/status\?")
    pid = zygote().start(rig.client.argv("sync", "--json"), out, rig.client.child_env)
    assert wait_for(lambda: rig.proxy.count("GET", r"/status\?") > pulls, 30, interval=0.01)
    conn = sqlite3.connect(rig.client.data / "cases.sqlite3", isolation_level=None)
    try:  # the log of recent writes starts afresh: the pull's commit must take new room on the disk
        assert conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    finally:
        conn.close()
    assert fill(small_disk) > 0
    status = zygote().wait(pid)
    text, errors = out.read_text(encoding="utf-8"), out.with_name(out.name + ".err").read_text(encoding="utf-8")
    assert os.waitstatus_to_exitcode(status) == 1, text + errors
    report = json.loads(text)
    assert report["statuses"] == 0 and DISK_FULL in report["stopped"], report
    assert rig.client.status_cursor() == cursor and rig.client.status_events() == []

    (small_disk / "filler").unlink()
    rig.client.time_passes()  # a lease the full disk kept the pass from giving back runs out
    again = rig.client.cli_json("sync", "--json")
    assert again["statuses"] > 0 and not again["stopped"], again
    assert rig.client.status_events() == feed == rig.feed(rig.client.status_cursor())
    rig.finish()
