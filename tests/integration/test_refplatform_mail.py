"""Waybill pools and parcel manifests on a real reference platform process: allocation idempotent
by request id, never one number to two terminals, numbers that pass the client's own check,
parcels idempotent by id, refused for a number of another terminal or one used twice, and the
operator's ``parcels`` listing."""

from __future__ import annotations

import json
import uuid

import pytest

from counter_client.domain.waybill import parse as parse_tracking
from tests.integration.test_refplatform_cases import clerk, clerk2, server  # noqa: F401  (module fixtures)
from tests.integration.test_refplatform_support import (
    Caller,
    assert_problem,
    canonical_hash,
    case_body,
    receipt,
)

pytestmark = pytest.mark.integration


def allocate(caller, count: int = 5, kind: str = "s10", request_id: str | None = None):
    return caller.request("POST", "/mail/pool", json={"request_id": request_id or uuid.uuid4().hex, "count": count,
                                                      "kind": kind})


def test_pool_allocation_is_idempotent_and_checked(clerk):
    request_id = uuid.uuid4().hex
    first = allocate(clerk, 5, request_id=request_id)
    assert first.status_code == 201, first.text
    block = first.json()
    assert len(block["numbers"]) == 5 and len(set(block["numbers"])) == 5
    assert all(parse_tracking(n).kind == "s10" and n.startswith("EM") for n in block["numbers"])
    assert block["terminal"] == 1
    again = allocate(clerk, 5, request_id=request_id)
    assert again.status_code == 200 and again.json() == block
    assert_problem(allocate(clerk, 6, request_id=request_id), 409, "conflict")
    domestic = allocate(clerk, 3, "domestic").json()["numbers"]
    assert all(parse_tracking(n).kind == "domestic" for n in domestic)


def test_pool_numbers_are_never_given_to_two_terminals(clerk, clerk2):
    request_id = uuid.uuid4().hex  # the same id from another terminal is another request
    mine = allocate(clerk, 20, request_id=request_id).json()["numbers"]
    theirs = allocate(clerk2, 20, request_id=request_id).json()["numbers"]
    assert not set(mine) & set(theirs)
    assert_problem(allocate(clerk, 0), 422, "validation_failed")
    response = Caller(clerk.server, "not-a-token").request("POST", "/mail/pool", json={"request_id": "x", "count": 1})
    assert_problem(response, 401, "token_invalid")


def parcel_body(parcel_id: str, waybill: str, receipts: list[str]) -> dict:
    return {"parcel_id": parcel_id, "waybill_no": waybill, "department_code": "GD-SZ-RS",
            "created_at": "2026-11-25T10:00:00+08:00", "clerk": "李收件",
            "cases": [{"receipt_no": r, "items": ["PX0200000001-440300-01"],
                       "materials": [{"name": "社会保障卡申领登记表", "form": "原件核验", "pages": 2}]} for r in receipts]}


def test_parcel_manifest_rules(server, clerk, clerk2):
    numbers = allocate(clerk, 3).json()["numbers"]
    other_terminal = allocate(clerk2, 1).json()["numbers"][0]
    held = receipt(901)
    clerk.upload(b"id card page " + held.encode())  # the page case_body attaches
    assert clerk.put_case(case_body(held)).status_code == 201

    missing = receipt(902)
    answer = clerk.request("PUT", "/parcels/P-1", json=parcel_body("P-1", numbers[0], [held, missing]))
    assert assert_problem(answer, 409, "cases_missing")["receipts"] == [missing]

    good = parcel_body("P-1", numbers[0], [held])
    first = clerk.request("PUT", "/parcels/P-1", json=good)
    assert first.status_code == 201, first.text
    assert first.json()["payload_hash"] == canonical_hash(good)
    replay = clerk.request("PUT", "/parcels/P-1", json=good)
    assert replay.status_code == 200 and replay.json() == first.json()
    changed = dict(good, clerk="别人")
    assert_problem(clerk.request("PUT", "/parcels/P-1", json=changed), 409, "conflict")
    assert clerk.request("GET", "/parcels/P-1").json()["waybill_no"] == numbers[0]
    assert_problem(clerk2.request("GET", "/parcels/P-1"), 404, "parcel_not_found")  # parcels are per terminal

    used = clerk.request("PUT", "/parcels/P-2", json=parcel_body("P-2", numbers[0], [held]))
    assert assert_problem(used, 409, "waybill_used")["parcel_id"] == "P-1"
    foreign = clerk.request("PUT", "/parcels/P-3", json=parcel_body("P-3", other_terminal, [held]))
    assert_problem(foreign, 409, "waybill_not_allocated")
    invented = numbers[1][:10] + str((int(numbers[1][10]) + 1) % 10) + "CN"
    bad = assert_problem(clerk.request("PUT", "/parcels/P-4", json=parcel_body("P-4", invented, [held])), 422,
                         "validation_failed")
    assert bad["errors"][0]["field"] == "waybill_no" and "校验位" in bad["errors"][0]["message"]

    listing = server.cli("parcels", "--json")
    assert listing.returncode == 0, listing.stderr
    held_parcels = json.loads(listing.stdout)
    [parcel] = held_parcels["parcels"]
    assert (parcel["parcel_id"], parcel["waybill_no"], parcel["terminal"]) == ("P-1", numbers[0], 1)
    assert parcel["cases"][0]["receipt_no"] == held
    assert {(p["terminal"], p["used"]) for p in held_parcels["pools"]} >= {(1, 1)}
    text = server.cli("parcels")
    assert text.returncode == 0 and "P-1" in text.stdout and "1 parcel(s)" in text.stdout
