"""Rules of the sync side that need no platform: back-off with jitter and Retry-After, statuses
applied forward only and idempotently, supplements queued with their scans kept referenced, the
body kept sealed, the login token kept out of every file."""

from __future__ import annotations

import random
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from counter_client.platform_api.client import retry_after_seconds
from counter_client.services.sync import SyncEngine, SyncPolicy, _Window, case_body
from offline_cache.cases import open_store
from offline_cache.crypto import Cipher
from offline_cache.keys import DataKeys
from offline_cache.outbox import Outbox
from offline_cache.statuses import Event, Statuses, SupplementMaterial

RECEIPT = "511324102012611250001X"


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "cases.sqlite3")
    yield s
    s.close()


def engine_for_backoff(policy: SyncPolicy, seed: int = 1) -> SyncEngine:
    engine = SyncEngine.__new__(SyncEngine)  # only the back-off arithmetic is exercised
    engine.policy = policy
    engine._rng = random.Random(seed)
    return engine


@given(attempts=st.integers(min_value=1, max_value=60), seed=st.integers(0, 2**32))
def test_backoff_grows_is_jittered_and_capped(attempts, seed):
    policy = SyncPolicy(backoff_base_s=5.0, backoff_cap_s=900.0)
    delay = engine_for_backoff(policy, seed).backoff(attempts)
    ceiling = min(900.0, 5.0 * 2 ** (attempts - 1))
    assert ceiling / 2 <= delay <= ceiling


def test_backoff_spreads_terminals_apart():
    policy = SyncPolicy()
    delays = {round(engine_for_backoff(policy, seed).backoff(3), 3) for seed in range(20)}
    assert len(delays) > 15  # twenty terminals coming back together do not retry in lockstep


def test_retry_after_is_honoured_with_a_little_jitter():
    engine = engine_for_backoff(SyncPolicy())
    assert 120.0 <= engine.backoff(1, retry_after=120.0) <= 132.0


@pytest.mark.parametrize(("header", "expected"), [("30", 30.0), ("", None), ("soon", None), ("999999", 86400.0)])
def test_retry_after_header_forms(header, expected):
    assert retry_after_seconds(header) == expected


def test_retry_after_as_http_date():
    from email.utils import formatdate

    value = retry_after_seconds(formatdate(time.time() + 90, usegmt=True))
    assert 85 <= value <= 91


def test_chunk_size_shrinks_after_a_413_and_stays_apart_from_the_preference():
    policy = SyncPolicy(chunk_bytes=8 * 2**20)
    assert policy.chunk() == 8 * 2**20
    policy.max_request_bytes = 2 * 2**20
    assert policy.chunk() == 2 * 2**20 and policy.chunk_bytes == 8 * 2**20


def test_window_streams_exactly_its_size():
    import io

    stream = io.BytesIO(bytes(range(256)) * 100)
    first, second = _Window(stream, 1000), _Window(stream, 500)
    assert len(first) == 1000 and b"".join(first) == (bytes(range(256)) * 100)[:1000]
    assert second.read() == (bytes(range(256)) * 100)[1000:1500] and second.read() == b""


def event(seq, status, code="A", receipt=RECEIPT, **extra) -> Event:
    return Event(seq, receipt, code, status, f"2026-11-25T10:{seq:02d}:00+08:00", **extra)


def test_statuses_move_forward_only_and_pages_apply_once(store):
    statuses = Statuses(store)
    changed = statuses.apply([event(1, "补正", needed=("户口簿",), reason="缺材料"), event(2, "受理", code="B")], 2)
    assert [e.seq for e in changed] == [1, 2] and statuses.cursor() == 2
    assert statuses.apply([event(1, "补正"), event(2, "受理", code="B")], 2) == []  # the same page again
    assert statuses.apply([event(3, "已接收")], 3) == []  # backwards: kept for the record, not applied
    assert statuses.item_statuses(RECEIPT) == {"A": "补正", "B": "受理"}
    assert [e.applied for e in statuses.timeline(RECEIPT)] == [True, True, False]
    statuses.apply([event(4, "受理"), event(5, "办结", code="B"), event(6, "结果已寄出", code="B",
                                                                     tracking_no="EA123456785CN")], 6)
    assert statuses.item_statuses(RECEIPT) == {"A": "受理", "B": "结果已寄出"}
    assert statuses.cursor() == 6
    assert statuses.apply([], 4) == [] and statuses.cursor() == 6  # a cursor never goes back


def test_what_needs_the_clerk_until_seen_or_superseded(store):
    statuses = Statuses(store)
    statuses.apply([event(1, "补正", needed=("户口簿",)), event(2, "不予受理", code="B", reason="不属于受理范围")], 2)
    assert [(e.item_code, e.status) for e in statuses.needing_clerk()] == [("A", "补正"), ("B", "不予受理")]
    statuses.apply([event(3, "受理")], 3)  # the supplement was accepted
    assert [e.item_code for e in statuses.needing_clerk()] == ["B"]
    statuses.mark_seen(RECEIPT)
    assert statuses.needing_clerk() == []


def test_a_supplement_is_queued_with_its_scans_referenced(store):
    from offline_cache.cases import CaseStore

    statuses = Statuses(store)
    supplement = statuses.add_supplement("case-1", RECEIPT, "李收件", [SupplementMaterial("户口簿", 2, ("a" * 64, "b" * 64))])
    [item] = Outbox(store).due()
    assert (item.kind, item.key, item.case_id) == ("supplement", supplement.id, "case-1")
    assert statuses.supplement(supplement.id).materials[0].scans == ("a" * 64, "b" * 64)
    cases = CaseStore(store, Cipher(DataKeys.generate()))
    assert {"a" * 64, "b" * 64} <= cases.referenced_scans()  # a retention sweep keeps them


def test_the_body_sent_is_kept_sealed_and_fixed_once(store, tmp_path):
    cipher = Cipher(DataKeys.generate())
    outbox = Outbox(store, cipher)
    outbox.enqueue("case", RECEIPT, "case-1")
    [item] = outbox.due()
    body = '{"applicant":{"name":"欧阳明轩","id_number":"11010519491231002X"}}'.encode()
    assert outbox.fix_body(item.id, item.key, body, "h1") == body
    assert outbox.fix_body(item.id, item.key, b"another body", "h2") == body  # the first one stays
    assert outbox.body(item.id, item.key) == body
    store.checkpoint()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert "欧阳明轩".encode() not in raw and b"11010519491231002X" not in raw


def test_case_body_is_canonical_and_names_every_scan(tmp_path):
    import msgspec

    from counter_client.domain.case import Case, CaseItem, MaterialEntry, Party
    from offline_cache.blobs import BlobStore

    blobs = BlobStore(tmp_path / "scans", Cipher(DataKeys.generate()), min_free_bytes=0)
    a, b = blobs.put(b"page one"), blobs.put(b"page two!")
    case = Case(id="c1", state="collected", receipt_no=RECEIPT, collected_at="2026-11-25T09:30:00+08:00",
                applicant=Party(name="张三", id_number="11010519491231002X"),
                items=[CaseItem(code="X", name="事项", version=2, basic_code="B", handling_region="440300",
                                department_code="D")],
                materials=[MaterialEntry(key="k", name="居民身份证", items=["X"], form="原件核验", pages=2,
                                         scans=[a.sha256, b.sha256])])
    body = case_body(case, blobs, 1.23456)
    data = msgspec.json.decode(body)
    assert body == case_body(case, blobs, 1.23456)  # deterministic
    assert data["attachments"] == [{"sha256": a.sha256, "size": 8, "material": "居民身份证", "page": 1},
                                   {"sha256": b.sha256, "size": 9, "material": "居民身份证", "page": 2}]
    assert data["device_time"] == case.collected_at and data["clock_offset_s"] == 1.235
    assert b": " not in body and "张三".encode() in body  # canonical form, UTF-8 not escaped


def test_the_token_lives_in_the_keyring_only(tmp_path):
    from counter_client.platform_api.delivery import LoginAnswer
    from counter_client.services.intake import Terminal
    from counter_client.services.login import LoginService
    from offline_cache.cases import CaseStore
    from tests.keyring_memory import MemoryKeyring

    MemoryKeyring.clear()
    store = open_store(tmp_path / "cases.sqlite3")
    cases = CaseStore(store, Cipher(DataKeys.generate()))
    login = LoginService(cases, Terminal("511324102", 1, "李收件", "511324"), "https://platform.example")
    secret = "tok-" + "9" * 40
    profile = login._keep(LoginAnswer(token=secret, expires_at="2099-01-01T00:00:00Z", account="li",
                                      name="李收件", roles=["clerk"], hall_code="511324102", region_code="511324"))
    assert profile.account == "li" and login.logged_in()
    assert secret in MemoryKeyring.secrets.values()
    store.checkpoint()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert secret.encode() not in raw
    login.refused()
    assert not login.logged_in() and secret not in MemoryKeyring.secrets.values()
    store.close()
