"""Cases, supplements, the status feed, reconciliation, the simulated 办理地 and the operator's
``cases`` listing, against a real training platform process (its timer off: the tests advance it)."""

from __future__ import annotations

import hashlib
import json
import re
import time
from datetime import date
from pathlib import Path

import pytest
import requests

from counter_client.refplatform import simulation
from counter_client.refplatform.cases import TRANSITIONS
from tests.integration.test_refplatform_support import (
    HALL,
    OTHER_HALL,
    TRAINING_PASSWORD,
    Caller,
    add_account,
    assert_problem,
    canonical_hash,
    case_body,
    receipt,
    token_for,
)

pytestmark = pytest.mark.integration

FIXTURE_TRAINING = Path(__file__).resolve().parents[1] / "fixtures" / "refplatform" / "training"
ITEM = "PX0200000001-440300-01"
S10 = re.compile(r"^EA\d{9}CN$")


@pytest.fixture(scope="module")
def server(platform_server_module):
    return platform_server_module(training=FIXTURE_TRAINING, extra_args=["--simulate-every", "0"])


@pytest.fixture(scope="module")
def clerk(server):
    return Caller(server, token_for(server, "training-clerk", TRAINING_PASSWORD, terminal=1))


@pytest.fixture(scope="module")
def clerk2(server):
    return Caller(server, token_for(server, "training-clerk", TRAINING_PASSWORD, terminal=2))


def submit(caller, body: dict, blobs: dict[str, bytes] | None = None) -> requests.Response:
    for data in (blobs or {}).values():
        caller.upload(data)
    return caller.put_case(body)


def new_case(caller, sequence: int, **options) -> dict:
    blobs = {"申请人居民身份证": f"page of case {sequence} {options}".encode()}
    body = case_body(receipt(sequence, terminal=options.pop("terminal", 1), day=options.pop("day", date(2026, 11, 25))),
                     blobs, **options)
    response = submit(caller, body, blobs)
    assert response.status_code == 201, response.text
    return body


def feed(caller, cursor: int = 0, limit: int = 1000) -> dict:
    response = caller.request("GET", "/status", params={"cursor": cursor, "limit": limit})
    assert response.status_code == 200, response.text
    return response.json()


def events_of(caller, receipt_no: str) -> list[dict]:
    return [e for e in feed(caller)["events"] if e["receipt_no"] == receipt_no]


def advance(caller, steps: int = 1) -> list[dict]:
    response = caller.request("POST", "/training/advance", json={"steps": steps})
    assert response.status_code == 200, response.text
    return response.json()["events"]


def sequences_with(outcome: str, count: int, start: int) -> list[int]:
    found, sequence = [], start
    while len(found) < count:
        if simulation.outcome(receipt(sequence), ITEM) == outcome:
            found.append(sequence)
        sequence += 1
    return found


def test_case_first_time_201_then_identical_replay_200_then_conflict_409(clerk):
    blobs = {"申请人居民身份证": b"front and back", "户口簿": b"household register page"}
    body = case_body(receipt(1), blobs)
    first = submit(clerk, body, blobs)
    assert first.status_code == 201, first.text
    answer = first.json()
    assert answer["receipt_no"] == body["receipt_no"] and answer["status"] == "已接收"
    assert answer["payload_hash"] == canonical_hash(body)
    assert first.headers["Location"] == f"/api/v1/cases/{body['receipt_no']}"

    replay = clerk.put_case(body)
    assert replay.status_code == 200 and replay.json() == answer
    # the same JSON in another key order and layout is the same body
    shuffled = json.dumps(dict(reversed(list(body.items()))), ensure_ascii=True, indent=3)
    again = clerk.request("PUT", f"/cases/{body['receipt_no']}", data=shuffled.encode(),
                          headers={"Content-Type": "application/json"})
    assert again.status_code == 200 and again.json() == answer

    changed = {**body, "clock_offset_s": 1.5}
    conflict = assert_problem(clerk.put_case(changed), 409, "conflict")
    assert conflict["payload_hash"] == answer["payload_hash"]
    assert conflict["received_hash"] == canonical_hash(changed)


def test_case_whose_blobs_are_not_all_complete_is_409_listing_them(clerk):
    blobs = {"申请人居民身份证": b"uploaded", "户口簿": b"never uploaded", "社会保障卡申领登记表": b"half uploaded"}
    body = case_body(receipt(2), blobs)
    clerk.upload(blobs["申请人居民身份证"])
    half = blobs["社会保障卡申领登记表"]
    assert clerk.patch_blob(half[:4], 0, len(half), hashlib.sha256(half).hexdigest()).status_code == 204
    problem = assert_problem(clerk.put_case(body), 409, "blobs_missing")
    assert problem["missing"] == [hashlib.sha256(blobs["户口簿"]).hexdigest(), hashlib.sha256(half).hexdigest()]
    assert_problem(clerk.request("GET", f"/cases/{body['receipt_no']}"), 404, "case_not_found")
    clerk.upload(blobs["户口簿"])
    assert clerk.patch_blob(half[4:], 4, None, hashlib.sha256(half).hexdigest()).status_code == 204
    assert clerk.put_case(body).status_code == 201


def test_invalid_case_is_422_with_field_errors(clerk):
    blobs = {"申请人居民身份证": b"422 page"}
    clerk.upload(blobs["申请人居民身份证"])
    body = case_body(receipt(3), blobs)
    body["payload"]["applicant"]["name"] = "  "
    body["payload"]["applicant"]["id_number"] = "110105194912310021"  # wrong check digit
    body["payload"]["items"] = []
    body["payload"]["mode"] = "随便办"
    body["attachments"][0]["size"] = -1
    fields = {e["field"] for e in assert_problem(clerk.put_case(body), 422, "validation_failed")["errors"]}
    assert {"payload.applicant.name", "payload.applicant.id_number", "payload.items", "payload.mode",
            "attachments.0.size"} <= fields

    body = case_body(receipt(3), blobs)
    del body["payload"]["materials"]
    del body["device_time"]
    fields = {e["field"] for e in assert_problem(clerk.put_case(body), 422, "validation_failed")["errors"]}
    assert fields == {"payload.materials", "device_time"}

    body = case_body(receipt(3), blobs)
    body["attachments"][0]["material"] = "不在清单里的材料"
    body["payload"]["receipt_no"] = receipt(4)
    errors = assert_problem(clerk.put_case(body), 422, "validation_failed")["errors"]
    assert {e["field"] for e in errors} == {"attachments.0.material", "payload.receipt_no"}

    body = case_body(receipt(3), blobs)
    body["clock_offset_s"] = float("nan")
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8")  # NaN: not JSON for the canonical form
    response = clerk.request("PUT", f"/cases/{receipt(3)}", data=raw, headers={"Content-Type": "application/json"})
    assert_problem(response, 422, "validation_failed")

    mismatch = case_body(receipt(3), blobs)
    response = clerk.request("PUT", f"/cases/{receipt(5)}", json=mismatch)
    fields = {e["field"] for e in assert_problem(response, 422, "validation_failed")["errors"]}
    assert fields == {"receipt_no", "payload.receipt_no"}
    bad_check = receipt(3)[:-1] + ("0" if receipt(3)[-1] != "0" else "1")
    response = clerk.request("PUT", f"/cases/{bad_check}", json={**mismatch, "receipt_no": bad_check})
    errors = assert_problem(response, 422, "validation_failed")["errors"]
    assert errors[0]["field"] == "receipt_no" and "校验" in errors[0]["message"]
    assert clerk.put_case(case_body(receipt(3), blobs)).status_code == 201  # the valid one still goes in


def test_receipt_of_another_terminal_or_hall_is_403(clerk, clerk2):
    blobs = {"申请人居民身份证": b"403 page"}
    clerk.upload(blobs["申请人居民身份证"])
    of_terminal_2 = case_body(receipt(6, terminal=2), blobs)
    assert_problem(clerk.put_case(of_terminal_2), 403, "wrong_terminal")
    of_other_hall = case_body(receipt(6, hall=OTHER_HALL), blobs)
    assert_problem(clerk.put_case(of_other_hall), 403, "wrong_terminal")
    assert clerk2.put_case(of_terminal_2).status_code == 201


def test_get_case_is_the_platforms_record(clerk, clerk2, server):
    body = new_case(clerk, 7)
    record = clerk.request("GET", f"/cases/{body['receipt_no']}")
    assert record.status_code == 200, record.text
    data = record.json()
    assert data["payload_hash"] == canonical_hash(body) and data["status"] == "已接收"
    assert (data["hall_code"], data["terminal"], data["account"]) == (HALL, 1, "training-clerk")
    assert data["items"] == [{"code": ITEM, "handling_region": "440300", "status": "已接收"}]
    [attachment] = data["attachments"]
    sent = body["attachments"][0]
    assert attachment["verified_sha256"] == sent["sha256"] and attachment["verified_size"] == sent["size"]
    assert attachment["material"] == "申请人居民身份证" and attachment["page"] == 1
    assert [t["status"] for t in data["timeline"]] == ["已接收"]
    assert "payload" not in data and "张三" not in record.text  # no personal data in the look-up
    assert clerk2.request("GET", f"/cases/{body['receipt_no']}").status_code == 200  # same hall
    assert_problem(clerk.request("GET", f"/cases/{receipt(9999)}"), 404, "case_not_found")

    assert add_account(server, "beijing-clerk", hall=OTHER_HALL).returncode == 0
    other = Caller(server, token_for(server, "beijing-clerk", hall=OTHER_HALL))
    assert_problem(other.request("GET", f"/cases/{body['receipt_no']}"), 404, "case_not_found")
    assert feed(other) == {"events": [], "next_cursor": 0}  # another hall sees none of these events


def test_status_feed_pages_by_cursor_and_is_idempotent(clerk):
    for sequence in (20, 21, 22):
        new_case(clerk, sequence)
    advance(clerk, 2)
    everything = feed(clerk)
    assert len(everything["events"]) >= 6
    seqs = [e["seq"] for e in everything["events"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    pages, cursor = [], 0
    while True:
        page = feed(clerk, cursor, limit=2)
        assert len(page["events"]) <= 2
        assert feed(clerk, cursor, limit=2) == page  # asking again gives the same answer
        if not page["events"]:
            assert page["next_cursor"] == cursor
            break
        assert page["next_cursor"] == page["events"][-1]["seq"]
        pages += page["events"]
        cursor = page["next_cursor"]
    assert pages == everything["events"]
    assert set(everything["events"][0]) == {"seq", "receipt_no", "item_code", "status", "at", "reason", "needed",
                                            "tracking_no"}
    assert_problem(clerk.request("GET", "/status", params={"limit": 0}), 422, "validation_failed")


def test_simulation_produces_every_status_and_never_moves_backwards(clerk, server):
    *accepted, window = sequences_with("受理", 3, 100)
    supplement = sequences_with("补正", 1, 100)
    refused = sequences_with("不予受理", 1, 100)
    bodies = {}
    for sequence in accepted + supplement + refused:
        bodies[sequence] = new_case(clerk, sequence)
    at_window = new_case(clerk, window, delivery="窗口领取")  # result collected there: never mailed
    receipts = {b["receipt_no"] for b in bodies.values()} | {at_window["receipt_no"]}

    cli = server.cli("simulate", "--steps", "1")
    assert cli.returncode == 0, cli.stderr
    for _ in range(4):
        advance(clerk)
    events = [e for e in feed(clerk)["events"] if e["receipt_no"] in receipts]
    assert {e["status"] for e in events} == {"受理", "补正", "不予受理", "办结", "结果已寄出"}
    for receipt_no in receipts:
        path = [e["status"] for e in events if e["receipt_no"] == receipt_no]
        current = "已接收"
        for status in path:
            assert status in TRANSITIONS[current], f"{receipt_no}: {current} -> {status}"
            current = status
    for e in events:
        if e["status"] == "结果已寄出":
            assert S10.match(e["tracking_no"]) and simulation.s10_check_digit(e["tracking_no"][2:10]) == e["tracking_no"][10]
        if e["status"] == "补正":
            assert e["needed"] and set(e["needed"]) <= {"申请人居民身份证", "社会保障卡申领登记表", "户口簿"}
            assert e["reason"] and all(name in e["reason"] for name in e["needed"])
        if e["status"] == "不予受理":
            assert e["reason"]
    assert [e["status"] for e in events if e["receipt_no"] == at_window["receipt_no"]] == ["受理", "办结"]
    waiting = bodies[supplement[0]]["receipt_no"]
    assert [e["status"] for e in events if e["receipt_no"] == waiting] == ["补正"]  # waits for a supplement
    record = clerk.request("GET", f"/cases/{waiting}").json()
    assert record["status"] == "补正" and [t["status"] for t in record["timeline"]] == ["已接收", "补正"]

    # the supplement moves it back to 受理, and the 办理地 carries on from there
    needed = events_of(clerk, waiting)[0]["needed"]
    page = b"supplement page for " + waiting.encode()
    clerk.upload(page)
    supplement_body = {"materials": [{"name": n} for n in needed],
                       "attachments": [{"sha256": hashlib.sha256(page).hexdigest(), "size": len(page),
                                        "material": needed[0], "page": 1}]}
    assert clerk.request("PUT", f"/cases/{waiting}/supplements/sim-1", json=supplement_body).status_code == 201
    assert [e["status"] for e in events_of(clerk, waiting)] == ["补正", "受理"]
    advance(clerk, 3)
    assert [e["status"] for e in events_of(clerk, waiting)] == ["补正", "受理", "办结", "结果已寄出"]
    before = feed(clerk)
    advance(clerk, 3)  # everything of these cases is final: nothing moves again
    after = [e for e in feed(clerk)["events"] if e["receipt_no"] in receipts]
    assert after == [e for e in before["events"] if e["receipt_no"] in receipts]


def test_supplements_are_idempotent_and_checked(clerk):
    [sequence] = sequences_with("补正", 1, 300)
    body = new_case(clerk, sequence)
    receipt_no = body["receipt_no"]
    page = b"supplement for idempotency"
    sha = clerk.upload(page)
    supplement = {"materials": [{"name": "户口簿", "pages": 1}],
                  "attachments": [{"sha256": sha, "size": len(page), "material": "户口簿", "page": 1}]}
    path = f"/cases/{receipt_no}/supplements/a1b2c3"
    first = clerk.request("PUT", path, json=supplement)
    assert first.status_code == 201, first.text
    answer = first.json()
    assert answer["supplement_id"] == "a1b2c3" and answer["payload_hash"] == canonical_hash(supplement)
    replay = clerk.request("PUT", path, json=supplement)
    assert replay.status_code == 200 and replay.json() == answer
    different = {**supplement, "materials": [{"name": "户口簿", "pages": 2}]}
    assert_problem(clerk.request("PUT", path, json=different), 409, "conflict")

    missing = {"materials": [{"name": "户口簿"}],
               "attachments": [{"sha256": hashlib.sha256(b"not here").hexdigest(), "size": 8, "material": "户口簿",
                                "page": 1}]}
    assert_problem(clerk.request("PUT", f"/cases/{receipt_no}/supplements/b2", json=missing), 409, "blobs_missing")
    wrong_material = {**supplement, "attachments": [{**supplement["attachments"][0], "material": "别的"}]}
    assert_problem(clerk.request("PUT", f"/cases/{receipt_no}/supplements/b3", json=wrong_material), 422,
                   "validation_failed")
    assert_problem(clerk.request("PUT", f"/cases/{receipt(8888)}/supplements/b4", json=supplement), 404,
                   "case_not_found")
    record = clerk.request("GET", f"/cases/{receipt_no}").json()
    assert [s["supplement_id"] for s in record["supplements"]] == ["a1b2c3"]
    assert record["supplements"][0]["attachments"][0]["verified_sha256"] == sha

    refused = new_case(clerk, sequences_with("不予受理", 1, 300)[0])
    advance(clerk)
    closed = clerk.request("PUT", f"/cases/{refused['receipt_no']}/supplements/late", json=supplement)
    assert_problem(closed, 409, "case_closed")


def test_reconciliation_lists_the_terminals_cases_of_the_day(clerk, clerk2):
    day = date(2026, 12, 1)
    mine = [new_case(clerk, s, day=day) for s in (1, 2)]
    new_case(clerk, 3, day=date(2026, 12, 2))
    new_case(clerk2, 1, day=day, terminal=2)
    response = clerk.request("GET", "/reconciliation", params={"date": "2026-12-01"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["date"], body["hall_code"], body["terminal"]) == ("2026-12-01", HALL, 1)
    assert [c["receipt_no"] for c in body["cases"]] == sorted(b["receipt_no"] for b in mine)
    assert all(c["payload_hash"] == canonical_hash(b) and c["attachments"] == 1 and c["accepted_at"]
               for c, b in zip(body["cases"], sorted(mine, key=lambda b: b["receipt_no"])))
    assert len(clerk2.request("GET", "/reconciliation", params={"date": "2026-12-01"}).json()["cases"]) == 1
    assert clerk.request("GET", "/reconciliation", params={"date": "2030-01-01"}).json()["cases"] == []
    assert_problem(clerk.request("GET", "/reconciliation", params={"date": "2026-13-01"}), 422, "validation_failed")


def test_cases_command_lists_every_case_with_its_verified_blobs(clerk, server):
    body = new_case(clerk, 500)
    done = server.cli("cases", "--json", "--verify")
    assert done.returncode == 0, done.stderr
    listed = {c["receipt_no"]: c for c in json.loads(done.stdout)["cases"]}
    record = listed[body["receipt_no"]]
    assert record["payload_hash"] == canonical_hash(body) and record["accepted_at"]
    [attachment] = record["attachments"]
    sent = body["attachments"][0]
    assert (attachment["verified_sha256"], attachment["verified_size"]) == (sent["sha256"], sent["size"])
    assert attachment["on_disk"] == {"sha256": sent["sha256"], "size": sent["size"], "ok": True}
    text = server.cli("cases")
    assert text.returncode == 0 and body["receipt_no"] in text.stdout and sent["sha256"] in text.stdout


def test_the_training_timer_moves_cases_by_itself(platform_server):
    server = platform_server(training=FIXTURE_TRAINING, extra_args=["--simulate-every", "0.2"])
    caller = Caller(server, token_for(server, "training-clerk", TRAINING_PASSWORD))
    body = new_case(caller, sequences_with("受理", 1, 700)[0])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        statuses = [e["status"] for e in events_of(caller, body["receipt_no"])]
        if statuses == ["受理", "办结", "结果已寄出"]:
            break
        time.sleep(0.1)
    assert statuses == ["受理", "办结", "结果已寄出"]
