"""The sync engine over an unreliable network: a ``FaultProxy`` between the client and the real
reference platform resets connections (before and after the platform processed the request),
stalls past the read timeout, answers 5xx, 429 with ``Retry-After``, a captive portal's page or a
truncated body, and refuses large chunks with 413. Whatever happened, the outcome once the faults
clear is the same: every case on the platform exactly once, every blob verified, the client's
outbox acknowledged with the platform's hash, reconciliation clean.

On the way there: a send whose answer was lost is *in doubt*, and the next pass asks the platform
(``GET /cases/{receipt}``) before anything else about that case — then acknowledges it without
sending again when the platform holds it, or sends it once more when it does not; never a second
body, never a 409. A blob upload that broke off resumes from the platform's offset. Waiting items
carry a message for the clerk, in Chinese.
"""

from __future__ import annotations

import math
import time

import pytest

from counter_client.services.connection import State
from tests.faults.sync_support import (
    KIB,
    MIB,
    PROBLEM_JSON,
    is_chinese,
    make_rig,  # noqa: F401 - fixture
    problem,
    shared_keyring,  # noqa: F401 - fixture
    shared_platform,  # noqa: F401 - fixture
    wait_for,
)

pytestmark = [pytest.mark.faults, pytest.mark.integration]

SIZES = [1200 * KIB, 150 * KIB]  # five 256 KiB chunks and one, per case
READ_TIMEOUT = 2.0  # for the stalls (only: a busy machine may take longer than that for a real answer)
CASES = r"^/api/v1/cases/\d{21}[\dX]$"
BLOBS = r"^/api/v1/blobs/[0-9a-f]{64}$"


def faulted(proxy, method: str | None = None) -> list[int]:
    """Positions in ``proxy.requests`` of the requests that met a fault."""
    return [i for i, seen in enumerate(proxy.requests) if seen.fault and (method is None or seen.method == method)]


def receipt_of(path: str) -> str:
    return path.rsplit("/", 1)[1]


# -- the record's send is lost: in doubt, settled by asking -------------------------------------------
IN_DOUBT = {
    # fault on the first PUT /cases: (rule parameters, does the platform end up holding the case)
    "reset-before": (dict(fault="reset_before"), False),
    "reset-after-upstream": (dict(fault="reset_after_upstream"), True),
    "stall-then-forward": (dict(fault="stall", seconds=READ_TIMEOUT + 1.0, forward=True), True),
    "stall-then-reset": (dict(fault="stall", seconds=READ_TIMEOUT + 0.5), False),
    "truncated-ack": (dict(fault="truncate", after_bytes=20), True),
    "captive-portal": (dict(fault="captive_portal"), False),
    "gateway-502": (dict(fault="status", status=502, body=b"Bad Gateway", content_type="text/html"), False),
    "platform-500": (dict(fault="status", status=500, content_type=PROBLEM_JSON,
                          body=problem(500, "internal_error", "平台处理请求时出错。")), False),
}


@pytest.mark.parametrize("name", list(IN_DOUBT))
def test_a_lost_answer_to_the_case_put_is_settled_by_asking(make_rig, name):
    params, stored = IN_DOUBT[name]
    rig = make_rig(cases=2, sizes=SIZES, read_timeout=READ_TIMEOUT if params["fault"] == "stall" else None)
    rig.proxy.add_rule("PUT", CASES, nth=1, **params)

    first = rig.sync()
    [at] = faulted(rig.proxy, "PUT")
    receipt = receipt_of(rig.proxy.requests[at].path)
    item = rig.client.outbox()[receipt]
    assert item["state"] == "in_doubt" and first.in_doubt >= 1, (item, first)
    assert is_chinese(item["last_error"]) and item["payload_hash"], item
    assert first.delivered <= 1 and first.rejected == 0
    if stored:  # the platform got it: wait for a stalled request to land there
        assert wait_for(lambda: receipt in rig.held(), 10, interval=0.05)
    else:
        assert receipt not in rig.held()
    if params["fault"] != "status":  # no answer at all: the pass stops, nothing else is tried
        assert first.stopped and is_chinese(first.stopped)

    rig.proxy.clear()
    rig.client.time_passes()
    second = rig.sync()
    after = [seen for seen in rig.proxy.requests[at + 1:] if receipt in seen.path]
    assert after[0].method == "GET" and after[0].path == f"/api/v1/cases/{receipt}", after
    puts = [seen for seen in after if seen.method == "PUT"]
    if stored:
        assert puts == [], "the platform held the case, yet it was sent again"
        assert second.confirmed == 1
    else:
        assert len(puts) == 1 and second.confirmed == 0
    assert second.rejected == 0 and rig.client.outbox()[receipt]["state"] == "acked"
    held = rig.finish()
    assert held[receipt]["payload_hash"] == item["payload_hash"]  # the body of the first try, unchanged


# -- blob uploads break off: the item waits (it never went out), the upload resumes -------------------------
BLOB_FAULTS = {
    "reset-mid-chunk": dict(method="PATCH", path=BLOBS, fault="reset_mid_request", after_bytes=100_000, nth=2),
    "reset-after-upstream": dict(method="PATCH", path=BLOBS, fault="reset_after_upstream", nth=3),
    "stall-then-forward": dict(method="PATCH", path=BLOBS, fault="stall", seconds=READ_TIMEOUT + 1.0, forward=True,
                               nth=2),
    "gateway-503": dict(method="PATCH", path=BLOBS, fault="status", status=503, body=b"<h1>503</h1>",
                        content_type="text/html", nth=2),
    "platform-500-on-check": dict(method="POST", path=r"/blobs/check$", fault="status", status=500, nth=1,
                                  content_type=PROBLEM_JSON, body=problem(500, "internal_error", "内部错误。")),
    "truncated-check": dict(method="POST", path=r"/blobs/check$", fault="truncate", after_bytes=5, nth=1),
}


@pytest.mark.parametrize("name", list(BLOB_FAULTS))
def test_a_broken_blob_upload_waits_and_resumes_from_the_platforms_offset(make_rig, name):
    rule = dict(BLOB_FAULTS[name])
    rig = make_rig(cases=2, sizes=SIZES, read_timeout=READ_TIMEOUT if rule["fault"] == "stall" else None)
    rig.proxy.add_rule(rule.pop("method"), rule.pop("path"), **rule)

    rig.sync()
    assert faulted(rig.proxy), "the fault never met a request"
    items = rig.client.outbox()
    first_key = next(iter(items))
    assert items[first_key]["state"] == "retry_wait", items  # the record never went out: not in doubt
    assert is_chinese(items[first_key]["last_error"])
    assert rig.proxy.count("PUT", first_key) == 0
    assert all(item["state"] != "acked" or key in rig.held() for key, item in items.items())
    if rule["fault"] == "stall":  # let the stalled chunk land before counting what is missing
        time.sleep(rule["seconds"])
    if name == "reset-mid-chunk":  # the platform kept the bytes that got through, not a whole chunk
        offsets = [n for n in rig.blob_offsets().values() if 0 < n < 1200 * KIB]
        assert offsets and all(n % (256 * KIB) for n in offsets), offsets

    rig.proxy.clear()
    rig.client.time_passes()
    missing = rig.bytes_missing()
    second = rig.sync()
    assert second.remaining == 0 and not second.stopped, second
    assert second.bytes_sent == missing, "an upload did not resume where the platform had got to"
    rig.finish()


# -- Retry-After is honoured ----------------------------------------------------------------------------
RETRY_AFTER = {
    "429-on-put": dict(method="PUT", path=CASES, status=429, content_type=PROBLEM_JSON,
                       body=problem(429, "rate_limited", "请求过于频繁，请稍后再试。")),
    "503-gateway-on-check": dict(method="POST", path=r"/blobs/check$", status=503, content_type="text/html",
                                 body=b"<html><body>Service Unavailable</body></html>"),
    "503-platform-on-patch": dict(method="PATCH", path=BLOBS, status=503, content_type=PROBLEM_JSON,
                                  body=problem(503, "maintenance", "平台维护中，请稍后再试。")),
}


@pytest.mark.parametrize("name", list(RETRY_AFTER))
def test_retry_after_is_honoured(make_rig, name):
    rule = dict(RETRY_AFTER[name])
    wait_s = 7
    rig = make_rig(cases=1, sizes=SIZES)
    [receipt] = rig.client.expected
    rig.proxy.add_rule(rule.pop("method"), rule.pop("path"), "status", headers={"Retry-After": str(wait_s)},
                       times=1, **rule)
    before = time.time()
    first = rig.sync()
    after = time.time()
    assert first.waiting == 1 and first.delivered == 0, first
    listed = {i["key"]: i for i in rig.client.cli_json("queue", "--json")["items"]}
    item = listed[receipt]
    assert item["state"] == "retry_wait" and is_chinese(item["last_error"]), item
    assert before + wait_s <= item["next_attempt_at"] <= after + wait_s * 1.1 + 1, (item, before, after)

    seen = len(rig.proxy.requests)
    again = rig.sync()  # too early: the item is left alone
    assert again.delivered == 0 and again.remaining == 1
    assert [s.path for s in rig.proxy.requests[seen:] if "/blobs" in s.path or "/cases" in s.path] == []
    assert rig.client.outbox()[receipt]["next_attempt_at"] == item["next_attempt_at"]
    rig.finish()


# -- 413: chunks shrink, and the upload still finishes ----------------------------------------------------
@pytest.mark.parametrize("direct", [False, True], ids=["via-proxy", "direct"])
def test_the_platforms_request_limit_shrinks_chunks(make_rig, direct):
    big, small = 2 * MIB + 12345, 90 * KIB
    rig = make_rig(cases=2, sizes=[big, small], platform_args=("--max-request-mb", "0.1"), direct=direct)
    report = rig.sync()
    assert report.remaining == 0 and not report.stopped and report.rejected == 0, report
    limit = int(0.1 * MIB)  # learned from the first 413 and kept for the rest of the pass
    patches = 1 + 2 * (math.ceil(big / limit) + math.ceil(small / limit))
    if direct:  # the client spoke to the platform itself: count its requests (one blob check for the
        # pass, 2 PUTs, the feed, and the first waybill-pool allocation: a new terminal's pool is empty)
        assert report.pool_added > 0 and report.requests == patches + 4 + 1, report
    else:
        assert rig.proxy.count("PATCH", BLOBS) == patches
    rig.finish()


def test_an_injected_413_shrinks_chunks(make_rig):
    rig = make_rig(cases=1, sizes=[1200 * KIB])
    rig.proxy.add_rule("PATCH", BLOBS, "status", status=413, content_type=PROBLEM_JSON, nth=1,
                       body=problem(413, "request_too_large", "请求内容过大。", max_bytes=64 * KIB))
    report = rig.sync()
    assert report.remaining == 0 and not report.stopped, report
    assert rig.proxy.count("PATCH", BLOBS) == 1 + math.ceil(1200 * KIB / (64 * KIB))
    rig.finish()


# -- a captive portal: nothing counts, nothing is lost ---------------------------------------------------
def test_a_captive_portal_everywhere_is_no_connection(make_rig):
    rig = make_rig(cases=2, sizes=SIZES)
    rig.proxy.add_rule(None, "", "captive_portal")
    done = rig.client.cli("sync", "--json")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "网络连接受限" in done.stderr
    rig.ctx.connection.probe()
    assert rig.ctx.connection.status.state == State.LIMITED
    report = rig.sync()
    assert report.delivered == 0 and "网络连接受限" in report.stopped
    items = rig.client.outbox()
    assert {i["state"] for i in items.values()} <= {"queued", "retry_wait"}, items
    assert rig.held() == {}
    rig.finish()


# -- the status feed broken off: the cursor stays, the next pull gets the same events ---------------------
@pytest.mark.parametrize("fault", [dict(fault="truncate", after_bytes=40), dict(fault="reset_after_upstream"),
                                   dict(fault="captive_portal")])
def test_a_broken_status_pull_keeps_the_cursor(make_rig, fault):
    rig = make_rig(cases=2, sizes=[40 * KIB], own_platform=True)  # the simulation moves every case it holds
    assert rig.sync().delivered == 2
    assert rig.server.cli("simulate", "--steps", "1").returncode == 0
    cursor = rig.client.status_cursor()
    rig.proxy.add_rule("GET", r"/status\?", times=1, **fault)
    broken = rig.sync()
    assert broken.statuses == 0 and is_chinese(broken.stopped), broken
    assert rig.client.status_cursor() == cursor and rig.client.status_events() == []
    pulled = rig.sync()
    assert pulled.statuses >= 2 and not pulled.stopped
    assert rig.client.status_cursor() > cursor
    events = rig.client.status_events()
    assert len(events) == len({seq for seq, *_ in events}) >= 2
    rig.finish()
