"""The outbox's durable states: queued -> sending -> acked | in_doubt | retry_wait | rejected,
held; crash recovery turns sending into in-doubt; one sender at a time by an OS file lock."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from offline_cache.cases import open_store
from offline_cache.outbox import Outbox


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def box(tmp_path):
    clock = Clock()
    store = open_store(tmp_path / "cases.sqlite3")
    outbox = Outbox(store, clock=clock)
    outbox.clock = clock
    yield outbox
    store.close()


def test_lifecycle(box):
    box.enqueue("case", "R1", "c1")
    box.enqueue("case", "R1", "c1")  # idempotent
    [item] = box.due()
    assert item.state == "queued" and item.attempts == 0 and item.label == "待上传"
    box.mark_sending(item.id, "h1")
    assert box.due() == [] and box.item("R1").state == "sending"
    box.mark_retry(item.id, 30, "网络中断，稍后自动重试", "ConnectionError")
    assert box.due() == []
    box.clock.now += 31
    [again] = box.due()
    assert again.state == "retry_wait" and again.attempts == 1 and again.last_error == "网络中断，稍后自动重试"
    box.mark_sending(again.id, "h1")
    box.mark_acked(again.id, {"payload_hash": "h1"})
    done = box.item("R1")
    assert done.state == "acked" and done.acked_at == box.clock.now and done.last_error == ""
    assert box.oldest_unsent_age() is None


def test_crash_in_sending_becomes_in_doubt_never_queued(box, tmp_path):
    box.enqueue("case", "R1", "c1")
    item = box.due()[0]
    box.mark_sending(item.id, "h1")
    box.store.close()
    reopened = Outbox(open_store(tmp_path / "cases.sqlite3"), clock=box.clock)
    assert reopened.recover() == 1
    [doubt] = reopened.due()
    assert doubt.state == "in_doubt" and doubt.payload_hash == "h1"


def test_in_doubt_comes_first(box):
    for key in ("R1", "R2", "R3"):
        box.enqueue("case", key, key)
    third = box.item("R3")
    box.mark_retry(third.id, 0, "", "", in_doubt=True)
    assert [i.key for i in box.due()] == ["R3", "R1", "R2"]


def test_rejected_and_held_are_not_due(box):
    box.enqueue("case", "R1", "c1")
    box.enqueue("case", "R2", "c2")
    box.mark_rejected(box.item("R1").id, "平台拒收：同一收件编号内容不同", "409 conflict")
    box.hold(box.item("R2").id, "supervisor-1")
    assert box.due() == []
    assert box.counts() == {"rejected": 1, "held": 1}
    box.retry_now(box.item("R2").id)
    assert [i.key for i in box.due()] == ["R2"]
    box.retry_now(box.item("R1").id)  # a rejection needs a decision, not a retry
    assert box.item("R1").state == "rejected"


def test_one_sender_at_a_time(box):
    other = Outbox(box.store, clock=box.clock)  # another sender: another thread's engine, or a CLI
    assert box.acquire("gui")
    assert not other.acquire("cli")
    assert box.acquire("gui")  # taken again by its holder: still its own
    box.release("gui")
    assert other.acquire("cli")
    other.release("cli")
    senders = [Outbox(box.store, clock=box.clock) for _ in range(5)]  # kept: a dropped Outbox frees its lock
    results = []
    threads = [threading.Thread(target=lambda s=s, n=n: results.append(s.acquire(f"t{n}")))
               for n, s in enumerate(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1


HOLD_AND_WAIT = """
import sys, time
from offline_cache.cases import open_store
from offline_cache.outbox import Outbox
box = Outbox(open_store(sys.argv[1]))
print("held" if box.acquire("child") else "refused", flush=True)
time.sleep(60)
"""


def test_a_killed_senders_lock_is_free_at_once(box):
    """Rule 6 after a crash: the kernel frees the dead sender's lock, so the next pass need not wait."""
    child = subprocess.Popen([sys.executable, "-c", HOLD_AND_WAIT, str(box.store.path)], stdout=subprocess.PIPE,
                             text=True, cwd=Path(__file__).resolve().parents[2])
    try:
        assert child.stdout.readline().strip() == "held"
        assert not box.acquire("gui")  # a live sender, however idle, is never raced
    finally:
        child.kill()
        child.wait()
    assert box.acquire("gui")
    box.release("gui")


def test_collecting_a_case_queues_it_in_the_same_commit(tmp_path):
    import datetime as dt

    from counter_client.services.catalogue import CatalogueService
    from counter_client.services.intake import IntakeService
    from offline_cache.blobs import BlobStore
    from offline_cache.cases import CaseStore, installation_id
    from offline_cache.catalogue import open_catalogue
    from offline_cache.crypto import Cipher
    from offline_cache.keys import load_data_keys, new_installation_id
    from tests import factories as f
    from tests.unit.test_intake import GUIDES, HALL, ready  # noqa: F401 - reuse the intake fixture's data

    catalogue = open_catalogue(tmp_path / "catalogue.sqlite3")
    f.load(catalogue, GUIDES, regions=f.regions(), agreements=[f.agreement()], departments=[f.department()])
    store = open_store(tmp_path / "cases.sqlite3")
    cipher = Cipher(load_data_keys(installation_id(store, new_installation_id)))
    intake = IntakeService(CaseStore(store, cipher), BlobStore(tmp_path / "scans", cipher, min_free_bytes=0),
                           CatalogueService(catalogue, "511324"), HALL,
                           now=lambda: dt.datetime(2026, 9, 28, 10, tzinfo=dt.timezone.utc))
    case = intake.confirm(ready(intake, intake.add_item(intake.new_case(), "SB-440305")))
    [item] = Outbox(store).due()
    assert (item.kind, item.key, item.case_id) == ("case", case.receipt_no, case.id)
    store.close()
    catalogue.close()
