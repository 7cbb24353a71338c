"""Refresh against a misbehaving platform or network: every bad answer is refused with a clear
Chinese message, the old catalogue stays intact and searchable, and the app keeps working."""

from __future__ import annotations

import json
import time

import pytest

from counter_client.errors import InvalidCatalogue, LimitedNetwork, NetworkUnavailable, PlatformError
from counter_client.platform_api.client import PlatformClient
from counter_client.services.catalogue import CatalogueService
from counter_client.services.connection import Connection, State
from offline_cache.catalogue import open_catalogue
from tests import factories as f
from tests.rogue import Reply, RogueServer

pytestmark = pytest.mark.integration

GOOD = [f.guide(f"OK-{i}", name) for i, name in enumerate(["居民身份证换领", "社会保障卡申领", "结婚登记"])]


def _guide_json(g) -> dict:
    return g.to_dict()


def serve_platform(rogue: RogueServer, guides: list[dict], version: int = 1) -> None:
    """Make the rogue server a well-behaved platform holding ``guides`` (dicts, maybe broken)."""
    by_code = {}
    for g in guides:
        by_code.setdefault(g.get("code"), g)
    rogue.routes[("GET", "/api/v1/ping")] = Reply(204, b"", headers={"X-Platform-Version": "1.0.0",
                                                                     "X-Server-Time": "2026-11-25T10:00:00.000Z"})
    rogue.routes[("GET", "/api/v1/catalogue/manifest")] = Reply(body={
        "catalogue_version": version,
        "guides": [{"code": g.get("code"), "version": 1, "hash": f"h{version}-{i}"} for i, g in enumerate(guides)],
        "departments_version": 1, "agreements_version": 1, "regions_version": "2023-06-30"})
    rogue.routes[("GET", "/api/v1/catalogue/changes")] = Reply(
        410, {"title": "gone", "status": 410, "detail": "无法提供增量", "code": "delta_unavailable"},
        "application/problem+json")

    def batch(body: bytes) -> Reply:
        codes = json.loads(body)["codes"]
        wanted = [g for g in guides if g.get("code") in codes]
        return Reply(body={"guides": wanted, "missing": []})

    rogue.routes[("POST", "/api/v1/catalogue/guides/batch")] = batch
    rogue.routes[("GET", "/api/v1/catalogue/departments")] = Reply(
        body={"version": 1, "departments": [f.department().to_dict()]})
    rogue.routes[("GET", "/api/v1/catalogue/agreements")] = Reply(body={"version": 1, "agreements": []})
    rogue.routes[("GET", "/api/v1/regions")] = Reply(
        body={"version": "2023-06-30", "regions": [r.to_dict() for r in f.regions()]})


@pytest.fixture
def rogue():
    server = RogueServer()
    yield server
    server.close()


@pytest.fixture
def service(tmp_path, rogue):
    """A catalogue already refreshed once from a good platform."""
    store = open_catalogue(tmp_path / "catalogue.sqlite3")
    svc = CatalogueService(store)
    serve_platform(rogue, [_guide_json(g) for g in GOOD])
    client = PlatformClient(rogue.url, read_timeout=2)
    result = svc.refresh(client)
    assert result.mode == "full" and result.guide_count == 3
    yield svc
    store.close()


def assert_old_catalogue_intact(svc: CatalogueService) -> None:
    assert svc.info().version == 1 and svc.info().guide_count == 3
    assert [h.code for h in svc.search("身份证")] == ["OK-0"]
    assert svc.guide("OK-1").name == "社会保障卡申领"


def refresh_fails(svc: CatalogueService, rogue: RogueServer, exc_type=InvalidCatalogue, **client_kw) -> str:
    client = PlatformClient(rogue.url, **({"read_timeout": 2} | client_kw))
    with pytest.raises(exc_type) as info:
        svc.refresh(client)
    assert_old_catalogue_intact(svc)
    message = info.value.message
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message  # Chinese for the clerk
    return message


def broken(**changes) -> list[dict]:
    guides = [_guide_json(g) for g in GOOD]
    guides.append(_guide_json(f.guide("BAD-1", "新事项")) | changes)
    return guides


def test_missing_field(service, rogue):
    g = broken()
    del g[-1]["name"]
    serve_platform(rogue, g, version=2)
    msg = refresh_fails(service, rogue)
    assert "BAD-1" in msg and "name" in msg and "缺少" in msg and "原目录" in msg


def test_wrong_type(service, rogue):
    serve_platform(rogue, broken(version="第二版"), version=2)
    msg = refresh_fails(service, rogue)
    assert "version" in msg


def test_huge_text(service, rogue):
    serve_platform(rogue, broken(conditions="很长的受理条件" * 1_500_000), version=2)  # ~10 MB of text
    msg = refresh_fails(service, rogue)
    assert "过长" in msg and "conditions" in msg


def test_duplicate_codes_in_manifest(service, rogue):
    guides = [_guide_json(g) for g in GOOD]
    serve_platform(rogue, guides + [guides[0]], version=2)
    msg = refresh_fails(service, rogue)
    assert "OK-0" in msg and "重复" in msg


def test_duplicate_codes_in_batch(service, rogue):
    guides = [_guide_json(g) for g in GOOD] + [_guide_json(f.guide("NEW-1", "新事项"))]
    serve_platform(rogue, guides, version=2)
    rogue.routes[("POST", "/api/v1/catalogue/guides/batch")] = Reply(body={"guides": [guides[3], guides[3]]})
    msg = refresh_fails(service, rogue)
    assert "NEW-1" in msg


def test_unrequested_guides(service, rogue):
    guides = [_guide_json(g) for g in GOOD] + [_guide_json(f.guide("NEW-1", "新事项"))]
    serve_platform(rogue, guides, version=2)
    rogue.routes[("POST", "/api/v1/catalogue/guides/batch")] = Reply(
        body={"guides": [guides[3], _guide_json(f.guide("SNEAKY", "未请求"))]})
    assert "SNEAKY" in refresh_fails(service, rogue)


def test_not_json(service, rogue):
    serve_platform(rogue, [_guide_json(g) for g in GOOD], version=2)
    rogue.routes[("GET", "/api/v1/catalogue/manifest")] = Reply(body=b"{\"catalogue_version\": 2, \"guides\": [")
    assert "JSON" in refresh_fails(service, rogue)


def test_unknown_fields_in_guide_refused(service, rogue):
    serve_platform(rogue, broken(unexpected={"x": 1}), version=2)
    assert "unexpected" in refresh_fails(service, rogue)


def test_captive_portal(service, rogue):
    rogue.routes.clear()
    rogue.fallback = Reply(200, "<html><body>请登录酒店 Wi-Fi</body></html>", "text/html; charset=utf-8")
    msg = refresh_fails(service, rogue, LimitedNetwork)
    assert "受限" in msg
    status = Connection(rogue.url).probe()
    assert status.state == State.LIMITED and "受限" in status.message


def test_proxy_error(service, rogue):
    rogue.routes.clear()
    rogue.fallback = Reply(502, "<html>Bad Gateway</html>", "text/html")
    refresh_fails(service, rogue, LimitedNetwork)


def test_server_error_with_problem(service, rogue):
    serve_platform(rogue, [_guide_json(g) for g in GOOD], version=2)
    rogue.routes[("GET", "/api/v1/catalogue/manifest")] = Reply(
        500, {"title": "error", "status": 500, "detail": "平台内部错误，请稍后重试。", "code": "internal"},
        "application/problem+json")
    assert refresh_fails(service, rogue, PlatformError) == "平台内部错误，请稍后重试。"


def test_stall_past_read_timeout(service, rogue):
    serve_platform(rogue, [_guide_json(g) for g in GOOD], version=2)
    rogue.routes[("GET", "/api/v1/catalogue/manifest")] = Reply(body={"catalogue_version": 2, "guides": []},
                                                                delay_s=3)
    started = time.monotonic()
    refresh_fails(service, rogue, NetworkUnavailable, read_timeout=0.5)
    assert time.monotonic() - started < 2.5


def test_truncated_body(service, rogue):
    serve_platform(rogue, [_guide_json(g) for g in GOOD] + [_guide_json(f.guide("NEW-1", "新事项"))], version=2)
    good_batch = rogue.routes[("POST", "/api/v1/catalogue/guides/batch")]

    def truncated(body: bytes) -> Reply:
        reply = good_batch(body)
        reply.truncate_to = 40
        return reply

    rogue.routes[("POST", "/api/v1/catalogue/guides/batch")] = truncated
    refresh_fails(service, rogue, (NetworkUnavailable, InvalidCatalogue))


def test_unreachable(service, tmp_path):
    client = PlatformClient("http://127.0.0.1:9", connect_timeout=1)  # discard port: nothing listens
    with pytest.raises(NetworkUnavailable) as info:
        service.refresh(client)
    assert "离线" in info.value.message
    assert_old_catalogue_intact(service)
    assert Connection("http://127.0.0.1:9").probe().state == State.OFFLINE


def test_good_update_after_failures(service, rogue):
    """A refused update does not poison the next one."""
    serve_platform(rogue, broken(version="x"), version=2)
    refresh_fails(service, rogue)
    serve_platform(rogue, [_guide_json(g) for g in GOOD] + [_guide_json(f.guide("NEW-1", "新事项"))], version=2)
    result = service.refresh(PlatformClient(rogue.url))
    assert result.version == 2 and result.guide_count == 4
    assert [h.code for h in service.search("新事项")] == ["NEW-1"]


def test_calendar_failure_after_the_guides_keeps_the_new_catalogue(service, rogue):
    """The calendar is written with the catalogue's transaction; failing to fetch it is reported,
    but does not hold back the guides (as when it was fetched after the commit)."""
    serve_platform(rogue, [_guide_json(g) for g in GOOD] + [_guide_json(f.guide("NEW-1", "新事项"))], version=2)
    year = time.localtime().tm_year
    rogue.routes[("GET", f"/api/v1/calendar/{year}")] = Reply(
        500, {"title": "error", "status": 500, "detail": "平台内部错误，请稍后重试。", "code": "internal"},
        "application/problem+json")
    with pytest.raises(PlatformError):
        service.refresh(PlatformClient(rogue.url))
    assert service.info().version == 2 and [h.code for h in service.search("新事项")] == ["NEW-1"]
    del rogue.routes[("GET", f"/api/v1/calendar/{year}")]
    assert service.refresh(PlatformClient(rogue.url)).guide_count == 4
