"""An unreachable platform, a slow one, or a captive portal: the window keeps working offline.

The real window (``Gui``) on the real task pool, started as a clerk starts it, against a real
HTTP server on 127.0.0.1 that answers like a hotel login page, stalls, or is not there at all.
"""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from counter_client.app import Gui, apply_look
from counter_client.background.tasks import TaskRunner
from counter_client.context import build_context
from counter_client.paths import user_dirs
from counter_client.settings import Settings
from counter_client.services.connection import State
from tests.gui.conftest import fill_catalogue, sample_guides
from tests.rogue import Reply, RogueServer

pytestmark = [pytest.mark.gui, pytest.mark.integration]


@pytest.fixture
def rogue():
    server = RogueServer()
    yield server
    server.close()


def started_gui(qtbot, tmp_path, url: str):
    settings = Settings(user_dirs(tmp_path / "data").ensure().settings_file)
    settings.set("network.connect_timeout", 1.0)
    settings.set("network.read_timeout", 1.0)
    settings.save()
    context = build_context(tmp_path / "data", url)
    fill_catalogue(context, sample_guides())
    gui = Gui(context, QApplication.instance(), runner=TaskRunner())
    qtbot.addWidget(gui.window)
    gui.window.show()
    gui.start()
    return gui


def search_works(qtbot, gui) -> None:
    page = gui.catalogue_page
    page.search_field.setText("身份证")
    qtbot.waitUntil(lambda: page.results.model().rowCount() >= 3, timeout=5000)


@pytest.mark.parametrize("kind", ["captive_portal", "unreachable", "stall"])
def test_window_stays_usable(qtbot, tmp_path, rogue, kind):
    if kind == "captive_portal":
        rogue.fallback = Reply(200, "<html>请先登录 Wi-Fi</html>", "text/html")
        url, expected = rogue.url, State.LIMITED
    elif kind == "unreachable":
        url, expected = "http://127.0.0.1:9", State.OFFLINE
    else:
        rogue.fallback = Reply(204, b"", delay_s=3)
        url, expected = rogue.url, State.OFFLINE
    gui = started_gui(qtbot, tmp_path, url)
    try:
        search_works(qtbot, gui)  # at once, before the probe has even answered
        qtbot.waitUntil(lambda: gui.context.connection.status.state == expected, timeout=10_000)
        search_works(qtbot, gui)
        assert gui.refresher.refresh()  # a manual refresh reports, never crashes or hangs
        qtbot.waitUntil(lambda: not gui.refresher.running, timeout=10_000)
        assert gui.context.catalogue.info().guide_count == len(sample_guides())
        label = gui.status_bar.connection_item.text()
        assert expected.label in label
    finally:
        gui.errors.close_all()
        gui.shutdown()
        apply_look(QApplication.instance(), large_font=False)
