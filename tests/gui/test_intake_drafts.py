"""Autosave and drafts: every change is saved on the runner after a short quiet period, the draft
comes back with the edits after a crash (offered at start: 继续上次未完成的收件), untouched forms
leave nothing behind, and 开始收件 (Ctrl+N) from the catalogue opens intake with the item."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from counter_client.background.autosave import AUTOSAVE_DELAY_MS
from counter_client.context import build_context
from tests.gui.intake_helpers import (
    NATIONAL,
    OTHER,
    fill_applicant,
    receive_all,
    show,
)

pytest_plugins = ("tests.gui.intake_fixtures",)  # make_gui, gui, fresh_keys

pytestmark = pytest.mark.gui


def test_edits_are_saved_after_a_quiet_period_and_load_back(qtbot, gui):
    show(qtbot, gui)
    page = gui.intake_page
    page.add_item(NATIONAL)
    fill_applicant(page, name="王五")
    receive_all(page, pages=2)
    assert page.unsaved
    saves = []
    page.draft_did_save.connect(saves.append)
    qtbot.waitUntil(lambda: not page.unsaved, timeout=AUTOSAVE_DELAY_MS * 10)
    assert len(saves) == 1  # one save for the burst of edits, not one per keystroke
    again = page.service.load(page.case.id)
    assert again.state == "draft" and again.applicant.name == "王五"
    assert [i.code for i in again.items] == [NATIONAL]
    assert all(m.form == "原件核验" and m.pages == 2 for m in again.materials)
    assert "草稿已自动保存" in page.status.text()


def test_a_crashed_draft_is_offered_and_continued(qtbot, make_gui, context, tmp_path):
    first = make_gui(context)
    show(qtbot, first)
    page = first.intake_page
    page.add_item(NATIONAL)
    fill_applicant(page, name="赵六")
    page.autosaver.flush()
    case_id = page.case.id
    # the process dies here: no shutdown; a new run opens the same data
    second_context = build_context(context.dirs.data)
    try:
        second = make_gui(second_context)
        banner = second.intake_page.drafts_banner
        assert banner.isVisibleTo(second.intake_page)
        assert "赵六" in banner.label.text() and "居民身份证换领" in banner.label.text()
        button = next(b for b in banner.findChildren(type(page.new_button)) if b.text() == "继续上次未完成的收件")
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        resumed = second.intake_page
        assert resumed.case.id == case_id
        assert resumed.applicant.name.text() == "赵六"
        assert [c for c in resumed.items.cards] == [NATIONAL]
        assert not resumed.drafts_banner.isVisible()
    finally:
        second_context.close()


def test_untouched_forms_leave_no_drafts_behind(qtbot, make_gui, context):
    first = make_gui(context)
    blank_id = first.intake_page.case.id
    assert first.intake_page.service.load(blank_id) is not None
    second_context = build_context(context.dirs.data)
    try:
        second = make_gui(second_context)
        assert not second.intake_page.drafts_banner.isVisible()
        service = second.intake_page.service
        assert service.load(blank_id) is None  # dropped: there was nothing to continue
        assert service.drafts() == [second.intake_page.case.id]
    finally:
        second_context.close()


def test_new_intake_reuses_an_untouched_case(qtbot, gui):
    page = gui.intake_page
    first = page.case.id
    page.start_new()
    assert page.case.id == first
    page.add_item(NATIONAL)
    page.start_new()
    assert page.case.id != first and not page.case.items
    assert page.service.load(first).items  # the one with an item stays as a draft


def test_last_edits_are_written_at_shutdown(qtbot, make_gui, context):
    gui = make_gui(context)
    page = gui.intake_page
    page.add_item(NATIONAL)
    fill_applicant(page, name="钱七")
    assert page.unsaved
    service, case_id = page.service, page.case.id
    gui.shutdown()
    reopened = build_context(context.dirs.data)
    try:
        assert reopened.intake().load(case_id).applicant.name == "钱七"
    finally:
        reopened.close()
    del service


def test_ctrl_n_in_the_catalogue_starts_intake_with_the_guide(qtbot, gui):
    show(qtbot, gui, "catalogue")
    catalogue = gui.catalogue_page
    catalogue.search_field.setText("就业创业")
    catalogue.search_now()
    catalogue.open_guide_at(0)
    assert catalogue.guide_view.code == OTHER
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert gui.window.current_page == "intake"
    assert [i.code for i in gui.intake_page.case.items] == [OTHER]
    # a second item from the catalogue joins the same case (一件事)
    gui.start_intake(NATIONAL)
    assert [i.code for i in gui.intake_page.case.items] == [OTHER, NATIONAL]


def test_drafts_listed_in_cases_continue_in_intake(qtbot, gui):
    page = gui.intake_page
    page.add_item(NATIONAL)
    fill_applicant(page, name="孙八")
    page.autosaver.flush()
    draft_id = page.case.id
    page.start_new()
    gui.window.show_page("cases")
    cases = gui.cases_page
    cases.show_drafts()
    row = cases.model.row_of(draft_id)
    assert row >= 0 and cases.model.row(row).applicant == "孙八"
    cases.table.selectRow(row)
    assert cases.detail.continue_button.isVisibleTo(cases.detail)
    qtbot.mouseClick(cases.detail.continue_button, Qt.MouseButton.LeftButton)
    assert gui.window.current_page == "intake" and page.case.id == draft_id
    assert page.applicant.name.text() == "孙八"
