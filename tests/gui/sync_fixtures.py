"""Fixtures of the sync widget tests (``pytest_plugins`` in those modules): a real reference
platform on 127.0.0.1 (port 0, its simulated 办理地 advanced only on command) and a client context
pointed at it (not training: the clerk logs in), whose sync engines note the threads they are made
and run on. The helpers are in ``sync_helpers``."""

from __future__ import annotations

import pytest

from counter_client.context import build_context
from tests.gui.sync_helpers import recording
from tests.integration.conftest import start_platform

HALL, TERMINAL = "511324102", 4


@pytest.fixture
def platform(tmp_path):
    """A fresh reference platform (training data, simulation on command only); more with ``another()``."""
    started = []

    def start(name: str = "platform"):
        server = start_platform(tmp_path / name, extra_args=["--simulate-every", "0"])
        started.append(server)
        return server

    start.another = lambda: start(f"platform-{len(started)}")
    yield start
    for server in started:
        assert server.stop() == 0, server.log()


@pytest.fixture
def online_context(fresh_keys, tmp_path, platform):
    """A client of the platform (its catalogue refreshed from it), hall and terminal set."""
    server = platform()
    ctx = build_context(tmp_path / "client", platform_url=server.url)
    ctx.settings.set("hall.township_code", HALL)
    ctx.settings.set("hall.region_code", HALL[:6])
    ctx.settings.set("hall.terminal", TERMINAL)
    ctx.settings.set("hall.name", "仪陇县马鞍镇便民服务中心")
    ctx.settings.set("clerk.name", "李红")
    client = ctx.connection.client()
    try:
        ctx.catalogue.refresh(client)
    finally:
        client.close()
    ctx.server = server
    ctx.threads = []  # (what, thread) of every engine made and pass run
    ctx.sync_engine = recording(ctx.sync_engine, ctx.threads)
    yield ctx
    ctx.close()
