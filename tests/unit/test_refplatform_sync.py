"""The reference platform's sync side without a server: passwords, tokens, lockout, the status
rules, canonical JSON, S10 numbers, the blob store and the schema upgrade, on real SQLite files."""

from __future__ import annotations

import hashlib
import sqlite3
from collections import Counter
from datetime import date

import pytest

from counter_client.domain.receipt import mint
from counter_client.refplatform import accounts, cases, simulation
from counter_client.refplatform.blobs import BlobStore, HashMismatch, OffsetMismatch
from counter_client.refplatform.bootstrap import ensure_loaded
from counter_client.refplatform.config import PlatformConfig
from counter_client.refplatform.store import SCHEMA_VERSION, PlatformStore

HALL = "511324102"


@pytest.fixture(scope="module")
def loaded_dir(tmp_path_factory):
    """A data directory loaded once (regions are what takes time); tests copy nothing from it,
    they only add rows under their own keys."""
    path = tmp_path_factory.mktemp("platform")
    ensure_loaded(path, training=tmp_path_factory.mktemp("empty-training"))
    return path


@pytest.fixture
def store(loaded_dir):
    store = PlatformStore(loaded_dir)
    yield store
    store.close()


@pytest.mark.parametrize("serial, number", [("12345678", "EA123456785CN"), ("47110815", "EE471108151FR")])
def test_s10_check_digit_matches_the_published_examples(serial, number):
    assert simulation.s10_check_digit(serial) == number[10]


def test_s10_special_remainders():
    # sum mod 11 == 1 -> 10 -> 0; sum mod 11 == 0 -> 11 -> 5
    assert simulation.s10_check_digit("00000000") == "5"
    assert simulation.s10_check_digit("00000008") == "0"  # 8*7 = 56, 56 mod 11 = 1
    for serial in ("00000000", "00000008", "00000003", "99999999", "12345678"):
        total = sum(int(d) * w for d, w in zip(serial, simulation.S10_WEIGHTS)) % 11
        expected = {10: "0", 11: "5"}.get(11 - total, str(11 - total))
        assert simulation.s10_check_digit(serial) == expected
    assert simulation.s10_number(12345678) == "EA123456785CN"


def test_password_rules():
    assert accounts.password_problem("short1")
    assert accounts.password_problem("onlyletters")
    assert accounts.password_problem("1234567890")
    assert accounts.password_problem("１２３４５６７８ab")  # full-width digits are not digits here
    assert accounts.password_problem("peixun2026") is None


def test_password_hash_is_salted_and_verifies_in_constant_time_compare():
    first, second = accounts.hash_password("chuangkou2026"), accounts.hash_password("chuangkou2026")
    assert first != second and first.startswith("scrypt$32768$8$1$")
    assert accounts.verify_password("chuangkou2026", first)
    assert not accounts.verify_password("chuangkou2027", first)
    assert not accounts.verify_password("chuangkou2026", "md5$whatever")
    assert not accounts.verify_password("chuangkou2026", "scrypt$garbage")


def test_lockout_counts_failures_in_a_row_and_expires(store):
    config = PlatformConfig(lockout_s=60)
    accounts.add_account(store, "unit-lock", role="clerk", hall_code=HALL, name="测试", password="chuangkou2026",
                         scrypt_n=2**10)
    now = 1_000_000.0
    for _ in range(4):
        with pytest.raises(accounts.LoginRefused, match="invalid_credentials"):
            accounts.login(store, config, "unit-lock", "wrong-pass1", HALL, 1, now=now)
    with pytest.raises(accounts.LoginRefused) as locked:
        accounts.login(store, config, "unit-lock", "wrong-pass1", HALL, 1, now=now)
    assert locked.value.code == "account_locked" and locked.value.locked_until == now + 60
    with pytest.raises(accounts.LoginRefused, match="account_locked"):
        accounts.login(store, config, "unit-lock", "chuangkou2026", HALL, 1, now=now + 59)
    issued = accounts.login(store, config, "unit-lock", "chuangkou2026", HALL, 1, now=now + 61)
    assert accounts.get_account(store, "unit-lock").failures == 0
    session = accounts.authenticate(store, issued.token, now=now + 62)
    assert (session.account, session.terminal, session.hall_code) == ("unit-lock", 1, HALL)


def test_tokens_expire_refresh_with_grace_and_revoke(store):
    config = PlatformConfig(token_ttl_s=100)
    accounts.add_account(store, "unit-token", role="helper", hall_code=HALL, name="测试", password="chuangkou2026",
                         scrypt_n=2**10)
    now = 2_000_000.0
    issued = accounts.login(store, config, "unit-token", "chuangkou2026", HALL, 7, now=now)
    with pytest.raises(accounts.TokenRefused, match="token_expired"):
        accounts.authenticate(store, issued.token, now=now + 100)
    with pytest.raises(accounts.TokenRefused, match="token_invalid"):
        accounts.authenticate(store, issued.token + "x", now=now)
    fresh = accounts.refresh(store, config, issued.session, now=now + 10)
    assert accounts.authenticate(store, issued.token, now=now + 10 + accounts.REFRESH_GRACE_S - 1)
    with pytest.raises(accounts.TokenRefused, match="token_expired"):
        accounts.authenticate(store, issued.token, now=now + 10 + accounts.REFRESH_GRACE_S)
    assert accounts.authenticate(store, fresh.token, now=now + 105).terminal == 7
    accounts.logout(store, fresh.session)
    with pytest.raises(accounts.TokenRefused, match="token_invalid"):
        accounts.authenticate(store, fresh.token, now=now + 20)


def test_canonical_json_is_sorted_compact_and_unescaped():
    assert cases.canonical_json({"b": 1, "a": {"d": [1, 2], "c": "张三"}}) == '{"a":{"c":"张三","d":[1,2]},"b":1}'.encode()
    assert cases.payload_hash({"x": 0.25}) == hashlib.sha256(b'{"x":0.25}').hexdigest()
    with pytest.raises(ValueError):
        cases.canonical_json({"x": float("nan")})


@pytest.mark.parametrize("current, new", [
    ("办结", "受理"), ("结果已寄出", "办结"), ("不予受理", "受理"), ("受理", "补正"), ("已接收", "办结"),
    ("受理", "受理"), ("已接收", "结果已寄出"),
])
def test_status_never_moves_backwards_or_skips(current, new):
    with pytest.raises(cases.StatusRefused):
        cases.check_transition(current, new)


def _stored_case(store, sequence: int) -> str:
    receipt_no = mint(HALL, 9, date(2026, 11, 25), sequence)
    body = {"receipt_no": receipt_no, "payload": {"materials": [{"name": "户口簿"}]}}
    new = cases.NewCase(receipt_no=receipt_no, hall_code=HALL, terminal=9, receipt_day="2026-11-25",
                        payload_hash=cases.payload_hash(body), body=cases.canonical_json(body).decode(),
                        account="unit", mode="异地代收代办", delivery_method="邮寄", device_time="2026-11-25T09:00:00Z",
                        clock_offset_s=0.0, items=[("ITEM-A", "440300"), ("ITEM-B", "110105")])
    created, answer = cases.put_case(store, new)
    assert created and answer["status"] == "已接收"
    assert cases.put_case(store, new) == (False, answer)
    return receipt_no


def test_set_status_refuses_a_step_back_and_records_nothing(store):
    receipt_no = _stored_case(store, 1)
    cases.set_status(store, receipt_no, "ITEM-A", "受理")
    cases.set_status(store, receipt_no, "ITEM-A", "办结")
    with pytest.raises(cases.StatusRefused):
        cases.set_status(store, receipt_no, "ITEM-A", "受理")
    record = cases.get_case(store, receipt_no)
    assert [i["status"] for i in record["items"]] == ["办结", "已接收"]
    assert [t["status"] for t in record["timeline"] if t["item_code"] == "ITEM-A"] == ["已接收", "受理", "办结"]
    assert record["status"] == "已接收"  # the least advanced item


def test_simulation_outcomes_are_deterministic_and_mixed():
    receipts = [mint(HALL, 1, date(2026, 11, 25), s) for s in range(1, 601)]
    outcomes = Counter(simulation.outcome(r, "ITEM") for r in receipts)
    assert set(outcomes) == {"受理", "补正", "不予受理"}
    assert outcomes["受理"] > outcomes["补正"] > outcomes["不予受理"] > 20
    assert [simulation.outcome(r, "ITEM") for r in receipts[:50]] == [simulation.outcome(r, "ITEM") for r in receipts[:50]]


def test_blob_store_offsets_are_the_bytes_on_disk(store, loaded_dir):
    blobs = BlobStore(loaded_dir)
    data = b"0123456789" * 100
    sha = hashlib.sha256(data).hexdigest()
    state, fh = blobs.open_for_append(store, sha, 0, len(data))
    fh.write(data[:300])
    assert blobs.finish_chunk(store, state, fh).offset == 300
    assert BlobStore(loaded_dir).state(store, sha).offset == 300  # a new process sees the same
    with pytest.raises(OffsetMismatch) as wrong:
        blobs.open_for_append(store, sha, 200, None)
    assert wrong.value.offset == 300
    state, fh = blobs.open_for_append(store, sha, 300, None)
    fh.write(data[300:])
    done = blobs.finish_chunk(store, state, fh)
    assert done.complete and blobs.complete_path(sha).read_bytes() == data
    assert blobs.disk_hash(sha) == (sha, len(data))

    bogus = hashlib.sha256(b"other").hexdigest()
    state, fh = blobs.open_for_append(store, bogus, 0, 3)
    fh.write(b"abc")
    with pytest.raises(HashMismatch):
        blobs.finish_chunk(store, state, fh)
    assert blobs.state(store, bogus) is None and not blobs.partial_path(bogus).exists()


def test_a_schema_1_directory_is_upgraded_in_place(tmp_path):
    path = tmp_path / "old"
    path.mkdir()
    with sqlite3.connect(path / "platform.sqlite3") as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("INSERT INTO meta VALUES ('schema_version', '1'), ('instance_id', 'abc')")
    store = PlatformStore(path)
    try:
        assert store.meta("schema_version") == str(SCHEMA_VERSION) and store.meta("instance_id") == "abc"
        tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"guides", "accounts", "tokens", "blobs", "cases", "status_events", "supplements"} <= tables
    finally:
        store.close()
