"""The platform client's probe: only a 204 with the platform's version header counts; the
clock offset is learnt; an incompatible contract version is refused."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from counter_client.errors import LimitedNetwork, NetworkUnavailable, PlatformError
from counter_client.platform_api.client import PlatformClient
from tests.rogue import Reply, RogueServer

pytestmark = pytest.mark.integration


@pytest.fixture
def rogue():
    server = RogueServer()
    yield server
    server.close()


def ping_reply(version="1.0.0", skew=timedelta(0)):
    now = (datetime.now(timezone.utc) + skew).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return Reply(204, b"", headers={"X-Platform-Version": version, "X-Server-Time": now})


def test_ping_learns_the_clock_offset(rogue):
    rogue.routes[("GET", "/api/v1/ping")] = ping_reply(skew=timedelta(hours=1))
    ping = PlatformClient(rogue.url).ping()
    assert ping.platform_version == "1.0.0"
    assert 3590 < ping.clock_offset_s < 3610
    assert ping.round_trip_s < 1


def test_ping_against_the_reference_platform(platform_server):
    ping = PlatformClient(platform_server().url).ping()
    assert ping.platform_version.startswith("1.") and abs(ping.clock_offset_s) < 5


@pytest.mark.parametrize("reply", [
    Reply(200, "<html>欢迎使用酒店网络</html>", "text/html"),  # captive portal
    Reply(204, b""),  # something answers 204 without being the platform
    Reply(302, b"", headers={"Location": "http://portal.example/login"}),
])
def test_anything_but_the_platform_is_limited_network(rogue, reply):
    rogue.routes[("GET", "/api/v1/ping")] = reply
    with pytest.raises(LimitedNetwork):
        PlatformClient(rogue.url).ping()


def test_incompatible_contract_is_refused(rogue):
    rogue.routes[("GET", "/api/v1/ping")] = ping_reply(version="2.0.0")
    with pytest.raises(PlatformError) as info:
        PlatformClient(rogue.url).ping()
    assert "升级" in info.value.message


def test_huge_body_is_refused_without_reading_it_all(rogue, monkeypatch):
    import counter_client.platform_api.client as client_module

    monkeypatch.setattr(client_module, "MAX_BODY_BYTES", 1024)
    rogue.routes[("GET", "/api/v1/catalogue/manifest")] = Reply(body={"catalogue_version": 1, "guides": [],
                                                                      "padding": "x" * 5000})
    with pytest.raises(PlatformError) as info:
        PlatformClient(rogue.url).manifest()
    assert "过大" in info.value.message


def test_tls_is_verified(rogue):
    """An https URL to a server that does not speak TLS fails closed, never falls back."""
    with pytest.raises(NetworkUnavailable):
        PlatformClient(rogue.url.replace("http://", "https://"), connect_timeout=2).ping()
