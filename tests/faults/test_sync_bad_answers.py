"""Answers that are not what the platform sends — wrong JSON, a wrong shape, unexpected fields, a
body larger than the client accepts, an acknowledgement naming another payload hash, a check that
claims blobs the platform lacks, a 204 claiming a whole blob — arrive through the ``FaultProxy``
(``replace_body`` keeps the platform's status and headers: the platform did process the request).

The sync pass never crashes on them, and never marks an item acknowledged unless the platform
really holds it with our hash: a doubtful acknowledgement leaves the item *in doubt*, and the next
pass settles it by asking (without sending the case again). Unexpected extra fields in an
otherwise right answer are ignored (a newer platform may add some).
"""

from __future__ import annotations

import json

import pytest

from tests.faults.fault_proxy import CAPTIVE_PORTAL_PAGE
from tests.faults.sync_support import (
    KIB,
    PROBLEM_JSON,
    is_chinese,
    make_rig,  # noqa: F401 - fixture
    problem,
    shared_keyring,  # noqa: F401 - fixture
    shared_platform,  # noqa: F401 - fixture
)

pytestmark = [pytest.mark.faults, pytest.mark.integration]

CASES = r"^/api/v1/cases/\d{21}[\dX]$"
SIZES = [300 * KIB, 20 * KIB]
SMALL_CAP = 64 * KIB  # the client's cap on an answer's size, made small so a "huge" answer stays cheap


def ack(receipt: str, payload_hash: str, **extra) -> bytes:
    return json.dumps({"receipt_no": receipt, "payload_hash": payload_hash, "accepted_at": "2026-11-25T09:00:00Z",
                       "status": "已接收", **extra}, ensure_ascii=False).encode("utf-8")


PUT_ANSWERS = {
    "not-json": (b"{\"receipt_no\": \"5113", "application/json"),
    "wrong-shape": (b'{"ok": true, "result": "accepted"}', "application/json"),
    "a-list": (b"[]", "application/json"),
    "empty": (b"", "application/json"),
    "another-hash": (None, "application/json"),  # a well-formed acknowledgement of another body
    "html-page": (CAPTIVE_PORTAL_PAGE, "text/html; charset=utf-8"),
    "huge": (b"{" + b" " * (SMALL_CAP + 1) + b"}", "application/json"),
}


@pytest.mark.parametrize("name", list(PUT_ANSWERS))
def test_a_doubtful_acknowledgement_is_not_an_acknowledgement(make_rig, monkeypatch, name):
    rig = make_rig(cases=1, sizes=SIZES)
    monkeypatch.setattr("counter_client.platform_api.client.MAX_BODY_BYTES", SMALL_CAP)
    [receipt] = rig.client.expected
    body, content_type = PUT_ANSWERS[name]
    if body is None:
        body = ack(receipt, "0" * 64)
    rig.proxy.add_rule("PUT", CASES, "replace_body", body=body, content_type=content_type, times=1)

    first = rig.sync()  # must not raise
    item = rig.client.outbox()[receipt]
    assert first.delivered == 0 and item["state"] == "in_doubt", (first, item)
    assert is_chinese(item["last_error"]) and item["ack"] == {}, item
    assert rig.held() == {receipt: item["payload_hash"]}  # the platform did store it: only the answer was bad

    rig.proxy.reset_counts()
    rig.client.time_passes()
    second = rig.sync()
    assert (second.delivered, second.confirmed) == (1, 1), second
    assert rig.proxy.count("PUT") == 0, "a case the platform holds was sent again"
    assert rig.client.outbox()[receipt]["ack"]["payload_hash"] == item["payload_hash"]
    rig.finish()


def test_unexpected_fields_in_a_right_acknowledgement_are_ignored(make_rig):
    rig = make_rig(cases=1, sizes=SIZES)
    [receipt] = rig.client.expected
    rig.proxy.add_rule("PUT", CASES, "status", status=503, body=b"busy", times=1)  # seals the body first
    assert rig.sync().in_doubt == 1
    sealed = rig.client.outbox()[receipt]["payload_hash"]
    assert sealed and rig.held() == {}
    rig.proxy.add_rule("PUT", CASES, "replace_body", times=1,
                       body=ack(receipt, sealed, region="511324", next_steps=["受理"], meta={"v": 2}))
    rig.client.time_passes()
    report = rig.sync()
    assert report.delivered == 1 and report.confirmed == 0, report
    assert rig.client.outbox()[receipt]["state"] == "acked"
    assert rig.held() == {receipt: sealed}
    rig.finish()


GET_ANSWERS = {
    "not-json": b"<html>",
    "wrong-shape": b'{"found": true}',
    "huge": b"{" + b" " * (SMALL_CAP + 1) + b"}",
}


@pytest.mark.parametrize("name", list(GET_ANSWERS))
def test_a_bad_answer_to_the_question_keeps_the_doubt(make_rig, monkeypatch, name):
    rig = make_rig(cases=1, sizes=SIZES)
    monkeypatch.setattr("counter_client.platform_api.client.MAX_BODY_BYTES", SMALL_CAP)
    [receipt] = rig.client.expected
    rig.proxy.add_rule("PUT", CASES, "reset_after_upstream", times=1)
    assert rig.sync().in_doubt == 1
    rig.proxy.add_rule("GET", CASES, "replace_body", body=GET_ANSWERS[name], content_type="application/json", times=1)
    rig.proxy.reset_counts()
    rig.client.time_passes()
    asked = rig.sync()  # must not raise
    item = rig.client.outbox()[receipt]
    assert asked.delivered == 0 and item["state"] == "in_doubt" and is_chinese(item["last_error"]), (asked, item)
    assert rig.proxy.count("GET", receipt) == 1 and rig.proxy.count("PUT") == 0
    rig.client.time_passes()
    settled = rig.sync()
    assert (settled.delivered, settled.confirmed) == (1, 1) and rig.proxy.count("PUT") == 0
    rig.finish()


def test_a_check_that_claims_every_blob_held_cannot_get_a_case_acknowledged(make_rig):
    rig = make_rig(cases=1, sizes=SIZES)
    [receipt] = rig.client.expected
    shas = [sha for sha, _ in rig.client.expected[receipt]]
    lie = json.dumps({"held": shas, "partial": {}}).encode()
    rig.proxy.add_rule("POST", r"/blobs/check$", "replace_body", body=lie)
    report = rig.sync()
    item = rig.client.outbox()[receipt]
    assert report.delivered == 0 and item["state"] == "retry_wait", (report, item)
    assert is_chinese(item["last_error"]) and rig.held() == {}
    assert rig.proxy.count("PATCH") == 0 and rig.proxy.count("PUT") == 2  # 409 blobs_missing twice, then it waits
    rig.finish()


def test_a_check_of_the_wrong_shape_is_no_answer(make_rig):
    rig = make_rig(cases=2, sizes=SIZES)
    rig.proxy.add_rule("POST", r"/blobs/check$", "replace_body", body=b'{"held": "all", "partial": []}', times=1)
    report = rig.sync()
    states = {key: item["state"] for key, item in rig.client.outbox().items()}
    assert report.waiting == 1 and sorted(states.values()) == ["acked", "retry_wait"], (report, states)
    assert set(rig.held()) == {key for key, state in states.items() if state == "acked"}
    rig.finish()


def test_a_refused_check_for_the_whole_pass_rejects_nobody(make_rig):
    """The pass asks about every case's blobs at once; a 422 for that request says nothing about
    the first item alone, so it asks about its own blobs and nothing is rejected."""
    rig = make_rig(cases=2, sizes=SIZES)
    rig.proxy.add_rule("POST", r"/blobs/check$", "status", status=422, content_type=PROBLEM_JSON, times=1,
                       body=problem(422, "invalid", "请求内容有误。", errors=[]))
    report = rig.sync()
    assert report.rejected == 0 and report.delivered == 2 and report.remaining == 0, report
    assert rig.proxy.count("POST", r"/blobs/check$") >= 2
    rig.finish()


def test_a_fake_204_claiming_a_whole_blob_is_caught_by_the_platform(make_rig):
    rig = make_rig(cases=1, sizes=SIZES)
    [receipt] = rig.client.expected
    (first_sha, first_size), _ = rig.client.expected[receipt]
    rig.proxy.add_rule("PATCH", first_sha, "status", status=204, times=1,
                       headers={"Tus-Resumable": "1.0.0", "Upload-Offset": str(first_size)})
    report = rig.sync()
    assert report.delivered == 1 and report.rejected == 0, report
    assert rig.proxy.count("PUT") == 2  # the first refused (blobs missing), the second after the upload
    held = rig.finish()
    assert held[receipt]["attachments"][0]["verified_sha256"] == first_sha


@pytest.mark.parametrize("body", [b"{not json", b'{"events": "none", "next_cursor": 3}',
                                  b'{"events": [], "next_cursor": -5}',
                                  b'{"events": [], "next_cursor": 1000000}'],  # a jump over events never sent
                         ids=["not-json", "wrong-shape", "negative-cursor", "cursor-jump"])
def test_a_bad_status_feed_moves_nothing(make_rig, body):
    rig = make_rig(cases=1, sizes=[10 * KIB], own_platform=True)
    assert rig.sync().delivered == 1
    assert rig.server.cli("simulate", "--steps", "1").returncode == 0
    rig.proxy.add_rule("GET", r"/status\?", "replace_body", body=body, times=1)
    bad = rig.sync()
    assert bad.statuses == 0 and is_chinese(bad.stopped), bad
    assert rig.client.status_cursor() == 0 and rig.client.status_events() == []
    good = rig.sync()
    assert good.statuses >= 1 and rig.client.status_events() == rig.feed(rig.client.status_cursor())
    rig.finish()
