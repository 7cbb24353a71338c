"""The reference platform's HTTP contract, against a real server process on 127.0.0.1.

One server per module, serving a generated 60-guide catalogue; nothing here changes its data
(the tests that do are in ``test_refplatform_lifecycle.py``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import chinese_calendar
import pytest
import requests

from counter_client.domain.catalogue import Agreement, Department, Guide, Region

pytestmark = pytest.mark.integration

TIMEOUT = (5, 30)
COMMITTED_OPENAPI = Path(__file__).resolve().parents[2] / "counter_client" / "refplatform" / "openapi.json"
SERVER_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def server(platform_server_module, small_catalogue):
    return platform_server_module(catalogue=small_catalogue)


@pytest.fixture(scope="module")
def http():
    with requests.Session() as session:
        yield session


def get(http, server, path, **kwargs) -> requests.Response:
    return http.get(server.api + path, timeout=TIMEOUT, **kwargs)


def batch(http, server, codes) -> requests.Response:
    return http.post(server.api + "/catalogue/guides/batch", json={"codes": codes}, timeout=TIMEOUT)


def assert_problem(response: requests.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert PROBLEM_KEYS <= body.keys()
    assert body["status"] == status and body["code"] == code
    assert CJK.search(body["detail"]), "detail must be a Chinese sentence for the clerk"
    return body


def test_first_stdout_line_is_exactly_the_address(server):
    assert server.first_line == f"listening on {server.url}"
    assert int(server.url.rsplit(":", 1)[1]) > 0


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_ping_answers_204_with_version_identity_and_time(http, server, method):
    before = datetime.now(timezone.utc)
    response = http.request(method, server.api + "/ping", timeout=TIMEOUT)
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["X-Platform-Version"] == "1.0.0"
    assert response.headers["X-Platform-Id"] == "reference"
    assert response.headers["Cache-Control"] == "no-store"
    stamp = response.headers["X-Server-Time"]
    assert SERVER_TIME.match(stamp), stamp
    server_time = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert before - timedelta(seconds=5) < server_time < datetime.now(timezone.utc) + timedelta(seconds=5)


def test_manifest_lists_every_guide_and_its_hash_matches_the_batch_content(http, server, small_catalogue):
    manifest = get(http, server, "/catalogue/manifest").json()
    expected = {g["code"] for g in json.loads(small_catalogue.read_text(encoding="utf-8"))["guides"]}
    assert manifest["guide_count"] == len(expected) == len(manifest["guides"])
    assert {e["code"] for e in manifest["guides"]} == expected
    assert manifest["catalogue_version"] == 1
    assert manifest["departments_version"] == 1 and manifest["agreements_version"] == 1
    assert manifest["regions_version"] == "2023-06-30"
    assert SERVER_TIME.match(manifest["generated_at"])

    entries = {e["code"]: e for e in manifest["guides"]}
    fetched = batch(http, server, sorted(entries)).json()
    assert fetched["missing"] == []
    for data in fetched["guides"]:
        guide = Guide.from_dict(data)
        assert entries[guide.code]["version"] == guide.version
        assert entries[guide.code]["hash"] == guide.content_hash()
        assert entries[guide.code]["hash"] == hashlib.sha256(guide.to_json()).hexdigest()


def test_batch_keeps_request_order_and_lists_missing_codes(http, server):
    codes = [e["code"] for e in get(http, server, "/catalogue/manifest").json()["guides"]][:5]
    asked = [codes[3], "NO-SUCH-GUIDE", codes[0], codes[3]]
    body = batch(http, server, asked).json()
    assert [g["code"] for g in body["guides"]] == [codes[3], codes[0]]
    assert body["missing"] == ["NO-SUCH-GUIDE"]


def test_batch_of_more_than_500_codes_is_413_problem(http, server):
    body = assert_problem(batch(http, server, [f"G{i}" for i in range(501)]), 413, "batch_too_large")
    assert body["max_codes"] == 500
    assert batch(http, server, [f"G{i}" for i in range(500)]).status_code == 200


def test_invalid_batch_body_is_422_problem_with_field_errors(http, server):
    response = http.post(server.api + "/catalogue/guides/batch", json={"codes": "abc"}, timeout=TIMEOUT)
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"] and {"field", "message"} <= body["errors"][0].keys()
    assert body["errors"][0]["field"] == "codes"

    response = http.get(server.api + "/catalogue/changes", params={"since": "x"}, timeout=TIMEOUT)
    assert assert_problem(response, 422, "validation_failed")["errors"][0]["field"] == "since"


def test_unknown_route_is_404_problem(http, server):
    body = assert_problem(get(http, server, "/no/such/thing"), 404, "not_found")
    assert body["type"].endswith("not_found")
    assert_problem(http.get(server.url + "/", timeout=TIMEOUT), 404, "not_found")


def test_wrong_method_is_405_problem(http, server):
    assert_problem(get(http, server, "/catalogue/guides/batch"), 405, "method_not_allowed")


def test_oversized_request_body_is_413_problem_before_it_is_read(http, server):
    body = json.dumps({"codes": ["X" * 60] * 140_000})  # just over the default 8 MiB
    assert len(body) > 8 * 1024 * 1024
    response = http.post(
        server.api + "/catalogue/guides/batch",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    assert assert_problem(response, 413, "request_too_large")["max_bytes"] == 8 * 1024 * 1024


def test_every_answer_carries_the_platform_identity(http, server):
    for response in (get(http, server, "/no/such/thing"), get(http, server, "/catalogue/agreements")):
        assert response.headers["X-Platform-Id"] == "reference"
        assert response.headers["X-Platform-Version"] == "1.0.0"


def test_changes_since_the_current_version_are_empty(http, server):
    body = get(http, server, "/catalogue/changes", params={"since": 1}).json()
    manifest = get(http, server, "/catalogue/manifest").json()
    assert body == {"catalogue_id": manifest["catalogue_id"], "since": 1, "catalogue_version": 1,
                    "changed": [], "removed": []}
    assert len(body["catalogue_id"]) >= 8


@pytest.mark.parametrize("since", [0, 2, 99])
def test_changes_since_too_old_or_too_new_is_410_delta_unavailable(http, server, since):
    body = assert_problem(get(http, server, "/catalogue/changes", params={"since": since}), 410, "delta_unavailable")
    assert body["catalogue_version"] == 1


@pytest.mark.parametrize(
    "path",
    [
        "/catalogue/manifest",
        "/catalogue/changes?since=1",
        "/catalogue/departments",
        "/catalogue/agreements",
        "/regions",
        "/calendar/2026",
    ],
)
def test_if_none_match_with_the_current_etag_is_304_without_body(http, server, path):
    first = get(http, server, path)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    again = get(http, server, path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == etag
    assert get(http, server, path, headers={"If-None-Match": '"stale"'}).status_code == 200
    assert get(http, server, path, headers={"If-None-Match": f'"stale", W/{etag}'}).status_code == 304


def test_gzip_is_applied_when_accepted_and_only_then(http, server):
    raw = requests.get(
        server.api + "/catalogue/manifest", headers={"Accept-Encoding": "gzip"}, timeout=TIMEOUT, stream=True
    )
    assert raw.headers["Content-Encoding"] == "gzip"
    compressed = raw.raw.read(decode_content=False)
    plain = json.loads(gzip.decompress(compressed))
    assert plain["guide_count"] == 60
    assert len(compressed) < len(json.dumps(plain, separators=(",", ":"))) / 2  # hashes barely compress

    identity = get(http, server, "/catalogue/manifest", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in identity.headers
    assert identity.json() == plain


def test_calendar_2026_from_chinese_calendar(http, server):
    body = get(http, server, "/calendar/2026").json()
    assert body["year"] == 2026 and body["verified"] is True
    assert body["source"] == f"chinese_calendar {chinese_calendar.__version__}"
    assert "2026-10-01" in body["holidays"] and "2026-10-10" in body["workdays"]
    # cross-check against the library itself, day by day
    assert chinese_calendar.is_holiday(date(2026, 10, 1)) and chinese_calendar.is_workday(date(2026, 10, 10))
    assert date(2026, 10, 10).weekday() == 5
    for day in body["holidays"]:
        assert chinese_calendar.is_holiday(date.fromisoformat(day))
    for day in body["workdays"]:
        assert chinese_calendar.is_workday(date.fromisoformat(day)) and date.fromisoformat(day).weekday() >= 5
    assert body["holidays"] == sorted(body["holidays"])


def test_calendar_of_an_unknown_year_is_404_problem(http, server):
    assert_problem(get(http, server, "/calendar/2031"), 404, "calendar_year_unknown")
    assert_problem(get(http, server, "/calendar/1800"), 422, "validation_failed")


def test_regions_hold_every_level_with_parents(http, server):
    body = get(http, server, "/regions").json()
    assert body["version"] == "2023-06-30" and body["source"]
    regions = {r["code"]: Region.from_dict(r) for r in body["regions"]}
    assert len(regions) == len(body["regions"]) > 40_000
    chaoyang = regions["110105"]
    assert (chaoyang.name, chaoyang.level, chaoyang.parent) == ("朝阳区", 3, "110100")
    assert regions["110100"].level == 2 and regions["110100"].parent == "110000"
    assert regions["110000"].level == 1 and regions["110000"].parent == ""
    township = regions["110105001"]
    assert township.level == 4 and township.parent == "110105"
    for code, name in (("810000", "香港特别行政区"), ("820000", "澳门特别行政区"), ("830000", "台湾省")):
        assert regions[code].name == name and regions[code].level == 1
    assert all(r.parent in regions for r in regions.values() if r.level > 1)


def test_departments_and_agreements_validate(http, server, small_catalogue):
    source = json.loads(small_catalogue.read_text(encoding="utf-8"))
    departments = get(http, server, "/catalogue/departments").json()
    assert departments["version"] == 1
    assert [Department.from_dict(d).code for d in departments["departments"]] == [
        d["code"] for d in source["departments"]
    ]
    agreements = get(http, server, "/catalogue/agreements").json()
    assert [Agreement.from_dict(a).id for a in agreements["agreements"]] == [a["id"] for a in source["agreements"]]


def test_served_openapi_document_equals_the_committed_copy(http, server):
    served = get(http, server, "/openapi.json").json()
    committed = json.loads(COMMITTED_OPENAPI.read_text(encoding="utf-8"))
    assert served == committed, "regenerate with: counter-platform openapi --out counter_client/refplatform/openapi.json"
    assert served["info"]["version"] == "1.0.0"
    assert "/api/v1/catalogue/guides/batch" in served["paths"]
