"""The window as ``app.py`` builds it: the training band, the status bar, navigation, the look
(shipped font, 14/18 px, style sheet) and shutdown. The training platform is never started
here (``Gui.start`` is not called)."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontInfo
from PySide6.QtWidgets import QApplication

from counter_client.app import BODY_PX, FONT_FAMILY, LARGE_BODY_PX, Gui, apply_look
from counter_client.context import build_context
from counter_client.services.connection import State, Status
from counter_client.ui.main_window import PAGE_SLOTS
from tests.gui.conftest import fill_catalogue, sample_guides

pytestmark = pytest.mark.gui


@pytest.fixture
def make_gui(qtbot, sync_runner):
    made = []

    def make(context):
        gui = Gui(context, QApplication.instance(), runner=sync_runner)
        qtbot.addWidget(gui.window)
        made.append(gui)
        return gui

    yield make
    for gui in made:
        gui.shutdown()
    apply_look(QApplication.instance(), large_font=False)


def test_training_mode_shows_the_band(make_gui, context):
    gui = make_gui(context)
    gui.window.show()
    band = gui.window.training_band
    assert band is not None and band.isVisible()
    assert "培训模式" in band.text()
    assert "培训" in gui.window.windowTitle()
    assert gui.window.top_bar.hall_label.text() == context.settings.hall()["hall.name"]


def test_no_band_with_a_platform_url(make_gui, tmp_path):
    context = build_context(tmp_path / "real", platform_url="https://zwfw.example.gov.cn")
    gui = make_gui(context)
    gui.window.show()
    assert gui.window.training_band is None
    assert "培训模式" not in gui.window.windowTitle()
    assert not context.training


def test_status_bar_shows_the_connection_state(make_gui, context):
    gui = make_gui(context)
    bar = gui.status_bar
    assert "培训平台启动中" in bar.connection_item.text()  # training, before the platform starts
    bar.show_connection(Status(State.OFFLINE, "省政务服务平台", "https://zwfw.example.gov.cn",
                               message="无法连接平台，请检查网线或稍后再试。"))
    assert "离线" in bar.connection_item.text() and "省政务服务平台" in bar.connection_item.text()
    assert "无法连接平台" in bar.connection_item.toolTip()
    assert bar.connection_item.property("state") == "offline"
    bar.show_connection(Status(State.LIMITED, "省政务服务平台", "https://x", message="网络需要登录"))
    assert "受限网络" in bar.connection_item.text()
    bar.show_connection(Status(State.ONLINE, "省政务服务平台", "https://x"))
    assert "在线" in bar.connection_item.text()
    assert bar.connection_item.property("state") == "online"


def test_connection_changes_reach_the_status_bar(make_gui, context):
    gui = make_gui(context)
    context.connection.set_unavailable("培训平台启动失败，请查看日志或重新启动本程序。")
    gui.monitor.publish()
    assert "离线" in gui.status_bar.connection_item.text()
    assert "培训平台启动失败" in gui.status_bar.connection_item.toolTip()


def test_status_bar_shows_the_catalogue_and_leads_to_its_page(qtbot, make_gui, context):
    gui = make_gui(context)
    text = gui.status_bar.catalogue_item.text()
    assert "v1" in text and f"{len(sample_guides())} 项" in text
    fill_catalogue(context, sample_guides(), version=5)
    gui.refresher.load_info()
    assert "v5" in gui.status_bar.catalogue_item.text()
    gui.window.show()
    qtbot.mouseClick(gui.status_bar.catalogue_item, Qt.MouseButton.LeftButton)
    assert gui.window.current_page == "catalogue"


def test_refresh_without_a_platform_is_reported_not_crashed(make_gui, context):
    gui = make_gui(context)
    shown = []
    gui.errors.error_was_shown.connect(lambda kind, message: shown.append((kind, message)))
    assert gui.refresher.refresh()
    assert shown and shown[0][0] == "user" and "培训平台" in shown[0][1]
    assert not gui.refresher.running
    assert gui.catalogue_page.refresh_button.text() == "更新目录"
    assert "培训平台" in gui.status_bar.catalogue_item.toolTip()
    gui.errors.close_all()


def test_navigation_lists_existing_pages_and_ctrl_number_jumps(qtbot, make_gui, context):
    gui = make_gui(context)
    gui.window.show()
    qtbot.waitExposed(gui.window)
    assert list(gui.window.nav.buttons) == ["catalogue", "intake", "cases", "parcels", "sync"]
    assert PAGE_SLOTS[0].key == "catalogue" and len(PAGE_SLOTS) == 8
    assert not gui.window.show_page("tickets")  # not built yet: no dead page
    qtbot.waitUntil(gui.window.isActiveWindow, timeout=3000)  # shortcuts need the active window
    target = QApplication.focusWidget() or gui.window
    qtbot.keyClick(target, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert gui.window.current_page == "cases"
    qtbot.keyClick(QApplication.focusWidget() or gui.window, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    assert gui.window.current_page == "parcels" and gui.window.nav.buttons["parcels"].text() == "寄递"
    qtbot.keyClick(QApplication.focusWidget() or gui.window, Qt.Key.Key_5, Qt.KeyboardModifier.ControlModifier)
    assert gui.window.current_page == "sync"
    qtbot.keyClick(QApplication.focusWidget() or gui.window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert gui.window.current_page == "catalogue"
    assert gui.window.nav.buttons["catalogue"].isChecked()


def test_look_uses_the_shipped_font_and_the_style_sheet(make_gui, context):
    gui = make_gui(context)
    app = QApplication.instance()
    assert gui.look.font_loaded and gui.look.style_sheet_loaded
    assert QFontInfo(app.font()).family() == FONT_FAMILY
    assert app.font().pixelSize() == BODY_PX
    assert "#TrainingBand" in app.styleSheet() and "@BODY@" not in app.styleSheet()
    assert gui.look.style == "fusion"


def test_large_font_mode_is_applied_at_start(make_gui, tmp_path):
    data = tmp_path / "large"
    (data / "config").mkdir(parents=True)
    (data / "config" / "settings.json").write_text(
        json.dumps({"version": 1, "values": {"ui.large_font": True}}), encoding="utf-8")
    context = build_context(data)
    gui = make_gui(context)
    app = QApplication.instance()
    assert gui.look.body_px == LARGE_BODY_PX
    assert app.font().pixelSize() == LARGE_BODY_PX
    assert f"font-size: {LARGE_BODY_PX + 4}px" in app.styleSheet()


def test_shutdown_closes_the_context_once(make_gui, context):
    gui = make_gui(context)
    gui.shutdown()
    gui.shutdown()
    assert context._closed


def test_monitor_probes_on_the_runner_and_reports_offline(qtbot, tmp_path, pool_runner):
    from counter_client.background.connection_monitor import ConnectionMonitor

    context = build_context(tmp_path / "net", platform_url="http://127.0.0.1:9")  # nothing listens
    try:
        monitor = ConnectionMonitor(pool_runner, context.connection, interval_s=60)
        seen = []
        monitor.connection_did_change.connect(seen.append)
        monitor.publish()
        assert seen[-1].state == State.UNKNOWN
        with qtbot.waitSignal(monitor.probe_did_finish, timeout=10_000):
            monitor.probe_now()
        assert seen[-1].state in (State.OFFLINE, State.LIMITED)
        assert seen[-1].message
    finally:
        pool_runner.shutdown(5000)
        context.close()
