"""SIGKILL a catalogue refresh at random moments: the catalogue on disk is always either the old
one or the new one, complete and searchable, never a mixture."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from counter_client.platform_api.client import PlatformClient
from counter_client.services.catalogue import CatalogueService
from offline_cache.catalogue import open_catalogue

pytestmark = [pytest.mark.faults, pytest.mark.integration]

KILLS = int(os.environ.get("REFRESH_KILLS", "8"))
GUIDES = 3000


def catalogue_state(path):
    store = open_catalogue(path)
    try:
        db = store.store.db
        for table in ("guide_fts", "guide_fts_short"):
            db.execute(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        info = store.info()
        fts_rows = db.execute("SELECT count(*) FROM guide_fts").fetchone()[0]
        assert fts_rows == info.guide_count
        return info.version, info.guide_count, info.platform
    finally:
        store.close()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_kill_during_refresh(tmp_path, platform_server, platform_cli):
    big = tmp_path / "big.json"
    assert platform_cli("generate-catalogue", "--guides", str(GUIDES), "--out", str(big), "--seed", "3").returncode == 0
    training = platform_server()
    target = platform_server(catalogue=big)
    db_path = tmp_path / "client" / "catalogue.sqlite3"
    store = open_catalogue(db_path)
    CatalogueService(store).refresh(PlatformClient(training.url))
    store.close()
    current, other = training, target
    expected = {training.url: catalogue_state(db_path)[:2], target.url: None}
    rng = random.Random(int(os.environ.get("FAULT_SEED", "7")))
    outcomes = []
    for _ in range(KILLS):
        before = catalogue_state(db_path)
        proc = subprocess.Popen([sys.executable, "-m", "counter_client", "--data-dir", str(tmp_path / "client"),
                                 "--platform", other.url, "catalogue", "refresh"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 3.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        state = catalogue_state(db_path)
        if state[2] == current.url:
            assert state == before, f"mixed catalogue after kill: {state} vs {before}"
            outcomes.append("old")
        else:  # the refresh committed before the kill: then it is complete
            assert state[2] == other.url, state
            if expected[other.url] is not None:
                assert state[:2] == expected[other.url]
            expected[other.url] = state[:2]
            assert other is training or state[1] == GUIDES
            outcomes.append("new")
            current, other = other, current
    # whatever happened, a refresh now completes and gives exactly the target catalogue
    store = open_catalogue(db_path)
    result = CatalogueService(store).refresh(PlatformClient(target.url))
    assert store.info().guide_count == GUIDES
    assert "old" in outcomes, "no kill landed inside a refresh"
    assert store.search("公积金")
    store.close()
    assert outcomes, "no kill happened"
    print(f"kills: {outcomes}, final refresh: {result.mode}")
