"""The platform itself in trouble while the client syncs.

* The platform process is killed (SIGKILL) in the middle of a large blob PATCH and started again
  on the same data directory and port: the client's pass ends with a message, the item waits (its
  record never went out), and the next pass resumes the upload from the bytes the platform kept —
  not from 0, not from the last whole chunk — and the blob is verified.
* The platform's database is locked by another connection (``BEGIN IMMEDIATE``): the platform
  answers 500, the client keeps its items waiting — the one whose record was on its way when the
  lock came is *in doubt* — each with a Chinese message, and delivers every case once when the
  database is free again, asking about the doubtful one first.

The platform runs with a 0.5 s SQLite busy timeout instead of its 30 s (``store.BUSY_TIMEOUT_S``,
set by a two-line wrapper around its CLI), so that a locked database answers within a test's
patience; everything else is the platform as shipped.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys

import pytest

import tests.integration.conftest as integration
from tests.faults.sync_support import (
    KIB,
    MIB,
    is_chinese,
    make_rig,  # noqa: F401 - fixture
    partial_uploads,
    shared_keyring,  # noqa: F401 - fixture
    wait_for,
    zygote,
)

pytestmark = [pytest.mark.faults, pytest.mark.integration,
              pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and fork")]

CASES = r"^/api/v1/cases/\d{21}[\dX]$"
SHORT_BUSY = ("import sys; import counter_client.refplatform.store as store; store.BUSY_TIMEOUT_S = 0.5; "
              "from counter_client.refplatform.cli import main; sys.exit(main())")


@pytest.fixture
def platforms(monkeypatch):
    """Start platforms ourselves (one is killed on purpose: the shared fixture would call that a
    failure); each still running at the end must stop cleanly."""
    monkeypatch.setattr(integration, "PLATFORM", [sys.executable, "-c", SHORT_BUSY])
    started = []

    def start(data_dir, port: int = 0):
        server = integration.start_platform(data_dir, extra_args=["--simulate-every", "0", "--port", str(port)])
        started.append(server)
        return server

    yield start
    codes = [server.stop() for server in started if server.process.poll() is None]
    assert codes == [0] * len(codes)


def run_sync(rig, out):
    """Start ``counter-client sync --json`` (forked); returns a function that waits for its report."""
    pid = zygote().start(rig.client.argv("sync", "--json"), out, rig.client.child_env)

    def report() -> tuple[int, dict]:
        code = os.waitstatus_to_exitcode(zygote().wait(pid))
        text = out.read_text(encoding="utf-8")
        errors = out.with_name(out.name + ".err").read_text(encoding="utf-8")
        assert "Traceback" not in errors, errors
        return code, json.loads(text)

    return report


def test_the_platform_killed_during_a_large_patch_and_restarted(make_rig, platforms, tmp_path):
    chunk = 8 * MIB
    data = tmp_path / "platform"
    server = platforms(data)
    port = int(server.url.rsplit(":", 1)[1])
    rig = make_rig(cases=1, sizes=[3 * chunk + 4321, 60 * KIB], chunk_mb=8, server=server)
    [receipt] = rig.client.expected
    big, size = rig.client.expected[receipt][0]
    partial = data / "blobs" / "partial" / big

    def mid_patch() -> bool:  # bytes of a chunk arrived, the chunk is not whole yet
        try:
            held = partial.stat().st_size
        except FileNotFoundError:
            return False
        return 0 < held < size and held % chunk != 0

    finish = run_sync(rig, tmp_path / "sync.out")
    assert wait_for(mid_patch, 60, interval=0.0002), "never caught the platform in the middle of a PATCH"
    server.process.kill()
    server.process.wait()
    code, report = finish()
    assert code == 1 and report["delivered"] == 0 and is_chinese(report["stopped"]), report
    item = rig.client.outbox()[receipt]
    assert item["state"] == "retry_wait" and is_chinese(item["last_error"]), item
    kept = partial_uploads(data)[big]
    assert 0 < kept < size and kept % chunk != 0, kept  # what the dead platform had written of the chunk

    rig.server = platforms(data, port=port)  # the same data and address: the client is not told anything
    assert rig.server.url == server.url
    rig.client.time_passes()
    missing = rig.bytes_missing()
    assert missing == size - kept + 60 * KIB
    resumed = rig.sync()
    assert resumed.delivered == 1 and resumed.remaining == 0, resumed
    assert resumed.bytes_sent == missing, "the upload did not resume from the bytes the platform kept"
    held = rig.finish()
    assert held[receipt]["attachments"][0]["verified_sha256"] == big


def test_the_platforms_database_locked(make_rig, platforms, tmp_path):
    server = platforms(tmp_path / "platform")
    rig = make_rig(cases=2, sizes=[600 * KIB, 50 * KIB], server=server)
    first_case, second_case = rig.client.expected
    lock = sqlite3.connect(server.data_dir / "platform.sqlite3", isolation_level=None, timeout=10)
    try:
        lock.execute("BEGIN IMMEDIATE")  # another writer holds the database: the platform cannot write
        blocked = rig.sync()
        assert blocked.delivered == 0 and blocked.waiting == 2 and blocked.rejected == 0, blocked
        items = rig.client.outbox()
        assert {k: i["state"] for k, i in items.items()} == {first_case: "retry_wait", second_case: "retry_wait"}
        assert all(is_chinese(i["last_error"]) for i in items.values()), items
        lock.execute("ROLLBACK")

        # free again, until the first case's record is on its way: then locked once more
        rig.proxy.add_rule("PUT", CASES, "latency", seconds=0.8, nth=1)
        rig.client.time_passes()
        finish = run_sync(rig, tmp_path / "sync.out")
        assert wait_for(lambda: rig.proxy.count("PUT") >= 1, 60, interval=0.005)
        lock.execute("BEGIN IMMEDIATE")
        _, report = finish()
        assert report["delivered"] == 0 and report["in_doubt"] == 1 and report["rejected"] == 0, report
        items = rig.client.outbox()
        assert items[first_case]["state"] == "in_doubt", items  # the platform might have stored it
        assert items[second_case]["state"] == "retry_wait", items
        assert all(is_chinese(i["last_error"]) for i in items.values()), items
        assert rig.held() == {}
        lock.execute("ROLLBACK")
    finally:
        lock.close()

    rig.proxy.clear()
    rig.proxy.reset_counts()
    rig.client.time_passes()
    recovered = rig.sync()
    assert recovered.delivered == 2 and recovered.remaining == 0, recovered
    about_first = [(s.method, s.path) for s in rig.proxy.requests if first_case in s.path]
    assert about_first[0] == ("GET", f"/api/v1/cases/{first_case}"), about_first  # asked before sending again
    assert [m for m, _ in about_first].count("PUT") == 1
    rig.finish()
