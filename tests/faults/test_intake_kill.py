"""SIGKILL the intake service at random moments while it edits, autosaves, stores scans and
confirms cases: after every kill the store opens, every case loads (no half-written row), every
scan a case refers to verifies, the last acknowledged edit is there, receipt numbers are never
handed out twice, and no temporary file of the blob store is left behind.

The child process runs the Qt-free ``IntakeService`` exactly as the window's autosave does
(``save_draft`` after each edit, ``add_scan`` then a save, ``confirm``) and prints an
acknowledgement line after each call returns. Parent and child share the data key through
``tests.keyring_memory.ProcessSharedKeyring`` (a JSON file in the test's directory).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.faults.sync_support import SHARED_KEYRING, shared_keyring  # noqa: F401 (a fixture)

pytestmark = pytest.mark.faults

KILLS = int(os.environ.get("INTAKE_KILLS", "12"))
ROOT = Path(__file__).resolve().parents[2]
NATIONAL = "G440305000001"


# -- the child ----------------------------------------------------------------------------------------
def child(data_dir: str, seed: int) -> None:
    """Edit, autosave, scan and confirm cases until killed; acknowledge each completed call."""
    from counter_client.context import build_context
    from counter_client.domain.case import Party

    rng = random.Random(seed)
    context = build_context(data_dir)
    service = context.intake()

    def ack(*parts) -> None:
        sys.stdout.write(" ".join(str(p) for p in parts) + "\n")
        sys.stdout.flush()

    ack("READY")
    while True:
        case = service.new_case()
        case = service.add_item(case, NATIONAL)
        case.applicant = Party(name="张三", id_number="11010519491231002X", phone="13800138000")
        for n in range(rng.randint(3, 12)):
            case.applicant.address = f"edit-{n}"
            service.save_draft(case)
            ack("SAVE", case.id, n)
            if rng.random() < 0.4:
                key = rng.choice(case.materials).key
                case = service.add_scan(case, key, rng.randbytes(rng.randint(20_000, 400_000)))
                service.save_draft(case)
                sha = next(m for m in case.materials if m.key == key).scans[-1]
                ack("SCAN", case.id, sha)
        for m in case.materials:
            case = service.set_material(case, m.key, form="原件核验", pages=max(1, len(m.scans)))
        collected = service.confirm(case)
        ack("COLLECTED", collected.id, collected.receipt_no)


# -- the parent ---------------------------------------------------------------------------------------


def prepare(data: Path) -> None:
    from counter_client.context import build_context
    from tests.gui.conftest import fill_catalogue, sample_guides

    context = build_context(data)
    try:
        fill_catalogue(context, sample_guides())
        context.intake()  # creates the installation id and its key in the shared keyring
    finally:
        context.close()


def run_until_killed(data: Path, seed: int, rng: random.Random) -> list[list[str]]:
    env = dict(os.environ, PYTHON_KEYRING_BACKEND=SHARED_KEYRING, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.Popen([sys.executable, "-m", "tests.faults.test_intake_kill", "child", str(data), str(seed)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        for raw in proc.stdout:
            if raw.endswith(b"\n"):  # a line cut by the kill was never acknowledged
                lines.append(raw.decode("utf-8").strip())
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if not ready.wait(30):
        proc.kill()
        raise AssertionError("child did not start: " + proc.stderr.read().decode("utf-8", "replace")[-2000:])
    time.sleep(rng.uniform(0.05, 1.5))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    reader.join(5)
    stderr = proc.stderr.read().decode("utf-8", "replace")
    assert "Traceback" not in stderr, stderr[-3000:]
    return [line.split() for line in lines]


def check_store(data: Path, acks: list[list[str]], receipts_seen: set[str]) -> tuple[int, int]:
    from counter_client.settings import Settings
    from offline_cache.blobs import TEMP_SUFFIX, BlobStore
    from offline_cache.cases import CaseStore, installation_id
    from offline_cache.cases import open_store as open_cases
    from offline_cache.crypto import Cipher
    from offline_cache.keys import load_data_keys, new_installation_id

    left_by_kill = [p for p in (data / "scans").rglob("*") if p.name.endswith(".tmp")]
    store = open_cases(data / "cases.sqlite3")
    try:
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        cipher = Cipher(load_data_keys(installation_id(store, new_installation_id)),
                        Settings.load(data / "config" / "settings.json").get("security.cipher"))
        cases = CaseStore(store, cipher)
        blobs = BlobStore(data / "scans", cipher, min_free_bytes=0)  # opening removes a dead writer's temp files
        assert not [p for p in (data / "scans").rglob("*") if p.name.endswith(TEMP_SUFFIX)]
        ids = [r[0] for r in store.db.execute("SELECT id FROM case_record")]
        loaded = {case_id: cases.load(case_id) for case_id in ids}  # every row decrypts and parses
        for case in loaded.values():
            assert case is not None and case.state in ("draft", "collected")
        for sha in cases.referenced_scans():
            blobs.verify(sha)
        receipts = [c.receipt_no for c in loaded.values() if c.state == "collected"]
        assert len(receipts) == len(set(receipts)), "a receipt number was handed out twice"
        for kind, *rest in acks:
            if kind == "COLLECTED":
                case_id, number = rest
                assert loaded[case_id].state == "collected" and loaded[case_id].receipt_no == number
                receipts_seen.add(number)
        last_save = next((a for a in reversed(acks) if a[0] == "SAVE"), None)
        if last_save is not None:
            case = loaded[last_save[1]]
            n = int(last_save[2])
            # the acknowledged edit, or the next one (written, killed before its acknowledgement)
            assert case.state == "collected" or case.applicant.address in (f"edit-{n}", f"edit-{n + 1}"), (
                last_save, case.applicant.address)
        for kind, case_id, sha in (a for a in acks if a[0] == "SCAN"):
            case = loaded[case_id]
            assert any(sha in m.scans for m in case.materials), f"acknowledged scan {sha[:8]} lost"
        assert receipts_seen <= set(receipts)
        return len(ids), len(receipts), len(left_by_kill)
    finally:
        store.close()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_kill_during_intake(tmp_path, shared_keyring):
    data = tmp_path / "data"
    prepare(data)
    rng = random.Random(int(os.environ.get("FAULT_SEED", "11")))
    receipts_seen: set[str] = set()
    outcomes = []
    for kill in range(KILLS):
        acks = run_until_killed(data, rng.randrange(1 << 30), rng)
        outcomes.append((len(acks), *check_store(data, acks[1:], receipts_seen)))
    assert len(outcomes) >= 10
    assert sum(1 for acks, *_ in outcomes if acks > 1) >= KILLS // 2, f"most kills came before any work: {outcomes}"
    assert outcomes[-1][2] > 0, f"no case was ever collected: {outcomes}"
    print(f"kills: {outcomes}")


if __name__ == "__main__" and len(sys.argv) >= 4 and sys.argv[1] == "child":
    child(sys.argv[2], int(sys.argv[3]))
