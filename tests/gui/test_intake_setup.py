"""When intake cannot start: first-run set-up outside training (hall code and terminal, checked
as typed, saved to settings, then intake opens), no secure store outside training (the message
in place of the form), the training-without-keyring notice shown once, and large-font mode."""

from __future__ import annotations

import json

import keyring
import keyring.backends.fail
import pytest
from PySide6.QtCore import Qt

from counter_client.app import LARGE_BODY_PX
from counter_client.context import EPHEMERAL_TRAINING, build_context
from counter_client.paths import user_dirs
from counter_client.settings import Settings
from tests.gui.conftest import fill_catalogue, sample_guides
from tests.gui.intake_helpers import NATIONAL, large_font_context, show

pytest_plugins = ("tests.gui.intake_fixtures",)  # make_gui, gui, fresh_keys

pytestmark = pytest.mark.gui

PLATFORM = "https://zwfw.example.gov.cn"


@pytest.fixture
def failing_keyring():
    before = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    yield
    keyring.set_keyring(before)


def real_context(tmp_path, **values):
    dirs = user_dirs(tmp_path / "real").ensure()
    settings = Settings(dirs.settings_file)
    for key, value in values.items():
        settings.set(key, value)
    settings.save()
    context = build_context(dirs.data, platform_url=PLATFORM)
    fill_catalogue(context, sample_guides())
    return context


def test_first_run_asks_for_hall_code_and_terminal(qtbot, make_gui, tmp_path):
    context = real_context(tmp_path)
    try:
        gui = make_gui(context)
        page = gui.intake_page
        assert page.stack.currentWidget() is page.unavailable
        assert "大厅编码和终端号" in page.unavailable.text.text()
        assert "setup" in page.unavailable.buttons
        dialog = gui.setup_dialog
        assert dialog.isVisible() and not dialog.save_button.isEnabled()
        dialog.hall_code.setText("991234567")
        assert "前两位 99 不是省级区划代码" in dialog.hall_message.text() and dialog.hall_message.kind == "error"
        dialog.hall_code.setText("5113241")
        assert dialog.hall_message.kind == "hint" and not dialog.save_button.isEnabled()
        dialog.hall_code.setText("511324102")
        assert dialog.hall_message.kind == "ok" and dialog.save_button.isEnabled()
        dialog.terminal.setValue(3)
        dialog.hall_name.setText("仪陇县马鞍镇便民服务中心")
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
        saved = json.loads(context.dirs.settings_file.read_text(encoding="utf-8"))["values"]
        assert saved["hall.township_code"] == "511324102" and saved["hall.terminal"] == 3
        assert saved["hall.region_code"] == "511324"
        assert page.stack.currentWidget() is page.form and page.case is not None
        assert gui.window.top_bar.hall_label.text() == "仪陇县马鞍镇便民服务中心"
        assert page.service.terminal.terminal == 3
    finally:
        context.close()


def test_no_secure_store_outside_training_is_explained_in_place(qtbot, make_gui, tmp_path, failing_keyring):
    context = real_context(tmp_path, **{"hall.township_code": "511324102", "hall.terminal": 1})
    try:
        gui = make_gui(context)
        page = gui.intake_page
        assert page.stack.currentWidget() is page.unavailable
        assert "安全密钥存储" in page.unavailable.text.text()
        assert "retry" in page.unavailable.buttons and "setup" not in page.unavailable.buttons
        assert gui.cases_page.stack.currentWidget() is gui.cases_page.unavailable
        gui.window.receipt_field.enter("511324102-01-251125-0001-5")
        assert "安全密钥存储" in gui.window.receipt_field.message.text()
    finally:
        context.close()


def test_training_without_keyring_shows_the_notice_once(qtbot, make_gui, tmp_path, failing_keyring):
    context = build_context(tmp_path / "training")
    fill_catalogue(context, sample_guides())
    try:
        gui = make_gui(context)
        show(qtbot, gui)
        assert gui.intake_page.stack.currentWidget() is gui.intake_page.form
        assert gui.window.shown_notices == [EPHEMERAL_TRAINING]
        gui.opener.open()  # opened again (a retry): not shown twice
        assert gui.window.shown_notices == [EPHEMERAL_TRAINING]
        banners = [b for b in gui.window.findChildren(type(gui.intake_page.drafts_banner))
                   if b.label.text() == EPHEMERAL_TRAINING]
        assert len(banners) == 1 and banners[0].isVisible()
    finally:
        context.close()


def test_large_font_mode_grows_the_intake_page(qtbot, make_gui, context, tmp_path):
    normal = make_gui(context)
    normal_nav = normal.intake_page.step_nav.width()
    large_context = large_font_context(tmp_path)
    try:
        large = make_gui(large_context)
        show(qtbot, large)
        page = large.intake_page
        page.add_item(NATIONAL)
        assert page.font().pixelSize() == LARGE_BODY_PX
        assert page.step_nav.width() > normal_nav
        row = next(iter(page.materials.rows.values()))
        assert row.form.width() >= row.form.fontMetrics().horizontalAdvance("原件核验") + 20
    finally:
        large_context.close()
