"""Accounts, login, lockout, token expiry/refresh/logout, and that every sync endpoint wants a
token: against a real platform process."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from tests.integration.test_refplatform_support import (
    HALL,
    OTHER_HALL,
    PASSWORD,
    TIMEOUT,
    TRAINING_PASSWORD,
    Caller,
    add_account,
    assert_problem,
    login,
    token_for,
)

pytestmark = pytest.mark.integration

FIXTURE_TRAINING = Path(__file__).resolve().parents[1] / "fixtures" / "refplatform" / "training"
SHA = "0" * 64
RECEIPT = "5113241020126112500017"  # any well-formed path; the token check comes first

PROTECTED = [
    ("POST", "/auth/refresh", None),
    ("POST", "/auth/logout", None),
    ("POST", "/blobs/check", {"sha256": [SHA]}),
    ("HEAD", f"/blobs/{SHA}", None),
    ("PATCH", f"/blobs/{SHA}", None),
    ("PUT", f"/cases/{RECEIPT}", {}),
    ("GET", f"/cases/{RECEIPT}", None),
    ("PUT", f"/cases/{RECEIPT}/supplements/s1", {}),
    ("GET", "/status?cursor=0", None),
    ("GET", "/reconciliation?date=2026-11-25", None),
    ("POST", "/training/advance", None),
]


@pytest.fixture(scope="module")
def server(platform_server_module, small_catalogue):
    return platform_server_module(catalogue=small_catalogue)


def _added(server, account: str, **options) -> None:
    done = add_account(server, account, **options)
    assert done.returncode == 0, done.stderr


def test_account_add_then_login_returns_token_and_profile(server):
    _added(server, "clerk-li", name="李收件")
    before = datetime.now(timezone.utc)
    response = login(server, "clerk-li", terminal=3)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"token", "expires_at", "account", "name", "roles", "hall_code", "region_code"}
    assert (body["account"], body["name"], body["roles"]) == ("clerk-li", "李收件", ["clerk"])
    assert (body["hall_code"], body["region_code"]) == (HALL, "511324")
    assert len(body["token"]) >= 40
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert before + timedelta(hours=11.9) < expires < before + timedelta(hours=12.1)
    assert Caller(server, body["token"]).request("GET", "/status").status_code == 200
    assert token_for(server, "clerk-li") != body["token"]  # a fresh random token per login


def test_tokens_and_passwords_are_not_stored_in_clear(server):
    _added(server, "clerk-store")
    token = token_for(server, "clerk-store")
    database = (server.data_dir / "platform.sqlite3").read_bytes()
    wal = server.data_dir / "platform.sqlite3-wal"
    stored = database + (wal.read_bytes() if wal.exists() else b"")
    assert token.encode() not in stored and PASSWORD.encode() not in stored
    assert b"scrypt$" in stored


@pytest.mark.parametrize("password, why", [
    ("short1", "at least"), ("abcdefghij", "letters and digits"), ("1234567890", "letters and digits"),
])
def test_account_add_enforces_the_password_rules(server, password, why):
    done = add_account(server, f"weak-{len(password)}-{password[:2]}", password=password)
    assert done.returncode == 2
    assert "password refused" in done.stderr


def test_account_add_refuses_duplicates_and_bad_halls(server):
    _added(server, "clerk-dup")
    assert add_account(server, "clerk-dup").returncode == 2
    assert add_account(server, "clerk-badhall", hall="991234567").returncode == 2
    assert add_account(server, "clerk-nocounty", hall="119999001").returncode == 2


def test_wrong_password_is_401_and_five_in_a_row_lock_the_account(server):
    _added(server, "clerk-lock")
    for _ in range(4):
        assert_problem(login(server, "clerk-lock", "wrongpass1"), 401, "invalid_credentials")
    locked = assert_problem(login(server, "clerk-lock", "wrongpass1"), 423, "account_locked")
    assert locked["locked_until"]
    right = login(server, "clerk-lock")
    assert_problem(right, 423, "account_locked")  # even the right password, while locked
    assert 800 < int(right.headers["Retry-After"]) <= 900

    listing = server.cli("account", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    assert {a["account"]: a["locked"] for a in json.loads(listing.stdout)}["clerk-lock"] is True
    assert server.cli("account", "unlock", "clerk-lock").returncode == 0
    assert login(server, "clerk-lock").status_code == 200


def test_a_success_resets_the_failure_count(server):
    _added(server, "clerk-reset")
    for _ in range(4):
        assert login(server, "clerk-reset", "wrongpass1").status_code == 401
    assert login(server, "clerk-reset").status_code == 200
    for _ in range(4):
        assert login(server, "clerk-reset", "wrongpass1").status_code == 401
    assert login(server, "clerk-reset").status_code == 200


def test_unknown_account_looks_like_a_wrong_password(server):
    assert_problem(login(server, "nobody-here"), 401, "invalid_credentials")


def test_login_from_another_halls_terminal_is_403(server):
    _added(server, "clerk-hall")
    body = assert_problem(login(server, "clerk-hall", hall=OTHER_HALL), 403, "wrong_hall")
    assert body["hall_code"] == HALL


def test_invalid_login_body_is_422(server):
    response = requests.post(server.api + "/auth/login", json={"account": "x", "password": "y",
                                                                "terminal": {"hall_code": "12", "terminal": 0}},
                             timeout=TIMEOUT)
    fields = {e["field"] for e in assert_problem(response, 422, "validation_failed")["errors"]}
    assert fields == {"terminal.hall_code", "terminal.terminal"}


def test_refresh_gives_a_new_token_and_logout_revokes_it(server):
    _added(server, "clerk-refresh")
    old = token_for(server, "clerk-refresh", terminal=4)
    refreshed = Caller(server, old).request("POST", "/auth/refresh")
    assert refreshed.status_code == 200, refreshed.text
    new = refreshed.json()["token"]
    assert new != old and refreshed.json()["account"] == "clerk-refresh"
    assert Caller(server, old).request("GET", "/status").status_code == 200  # grace for a lost answer
    caller = Caller(server, new)
    assert caller.request("GET", "/status").status_code == 200
    assert caller.request("POST", "/auth/logout").status_code == 204
    assert_problem(caller.request("GET", "/status"), 401, "token_invalid")
    assert_problem(caller.request("POST", "/auth/logout"), 401, "token_invalid")


@pytest.mark.parametrize("method, path, body", PROTECTED, ids=[f"{m} {p}" for m, p, _ in PROTECTED])
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-real-token", "Basic dXNlcjpwYXNz"])
def test_every_sync_endpoint_refuses_without_a_valid_token(server, method, path, body, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = requests.request(method, server.api + path, json=body, headers=headers, timeout=TIMEOUT)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    if method != "HEAD":
        assert_problem(response, 401, "token_invalid")


def test_probe_and_catalogue_stay_open(server):
    assert requests.get(server.api + "/ping", timeout=TIMEOUT).status_code == 204
    assert requests.get(server.api + "/catalogue/manifest", timeout=TIMEOUT).status_code == 200


def test_training_endpoint_is_absent_outside_training_mode(server):
    _added(server, "clerk-notraining")
    caller = Caller(server, token_for(server, "clerk-notraining"))
    assert_problem(caller.request("POST", "/training/advance"), 404, "not_found")


def test_reference_platform_has_no_training_accounts(server):
    assert_problem(login(server, "training-clerk", TRAINING_PASSWORD), 401, "invalid_credentials")


def test_lockout_ends_and_tokens_expire(platform_server, small_catalogue):
    server = platform_server(catalogue=small_catalogue, extra_args=["--token-ttl", "1.5", "--lockout-seconds", "1"])
    _added(server, "clerk-short")
    for _ in range(5):
        login(server, "clerk-short", "wrongpass1")
    assert_problem(login(server, "clerk-short"), 423, "account_locked")
    time.sleep(1.1)
    response = login(server, "clerk-short")
    assert response.status_code == 200, response.text
    caller = Caller(server, response.json()["token"])
    assert caller.request("GET", "/status").status_code == 200
    time.sleep(1.6)
    expired = assert_problem(caller.request("GET", "/status"), 401, "token_expired")
    assert expired["detail"]
    assert_problem(caller.request("POST", "/auth/refresh"), 401, "token_expired")
    # after the lock expired, the count starts again: four more failures do not lock
    for _ in range(4):
        assert login(server, "clerk-short", "wrongpass1").status_code == 401
    assert login(server, "clerk-short").status_code == 200


def test_training_platform_creates_the_training_accounts(platform_server):
    server = platform_server(training=FIXTURE_TRAINING)
    for account, role in (("training-clerk", "clerk"), ("training-helper", "helper"),
                          ("training-supervisor", "supervisor")):
        response = login(server, account, TRAINING_PASSWORD, terminal=1)
        assert response.status_code == 200, response.text
        assert response.json()["roles"] == [role] and response.json()["hall_code"] == HALL
    assert server.stop() == 0
    again = platform_server(data_dir=server.data_dir)  # a restart neither duplicates nor resets them
    assert login(again, "training-clerk", TRAINING_PASSWORD).status_code == 200
