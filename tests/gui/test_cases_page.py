"""The case list (办件): filters (today, state, item, exact ID number / phone / name), the detail
with its timeline and due dates, voiding with a reason through the dialog, the top bar's
receipt field (typed, scanned in a burst, malformed, unknown), and speed with 10,000 cases."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from counter_client.domain import receipt
from counter_client.domain.case import Party
from counter_client.services.intake import CaseFilter
from tests.gui.intake_helpers import (
    ID_OK,
    OTHER,
    collected_case,
    large_font_context,
    service_at,
    show,
)

pytest_plugins = ("tests.gui.intake_fixtures",)  # make_gui, gui, fresh_keys

pytestmark = pytest.mark.gui

ITEMS = 6  # the 事项 column

OTHER_ID = "110105194912310011"
LAST_WEEK = dt.datetime.now().astimezone() - dt.timedelta(days=7)


@pytest.fixture
def cases(qtbot, gui, context):
    service = context.intake()
    today = collected_case(service, "张三", ID_OK, "13800138000")
    other = collected_case(service, "李四", OTHER_ID, "13900139000", code=OTHER)
    old = collected_case(service_at(context, LAST_WEEK), "王五", ID_OK, "13700137000")
    show(qtbot, gui, "cases")
    page = gui.cases_page
    page.refresh()
    return page, {"today": today, "other": other, "old": old}


def names(page) -> list[str]:
    return [r.applicant for r in page.model.rows]


def test_filters_today_state_item_and_exact_person(cases):
    page, made = cases
    assert page.today.isChecked()
    assert "王五" not in names(page) and {"张三", "李四"} <= set(names(page))
    page.today.setChecked(False)
    page.refresh()
    assert {"张三", "李四", "王五"} <= set(names(page))
    page.person.setText(ID_OK.lower())  # an ID number, exactly (any case)
    page.refresh()
    assert sorted(names(page)) == ["张三", "王五"]
    assert "按证件号码查找" in page.summary.text()
    page.person.setText("139 0013 9000")
    page.refresh()
    assert names(page) == ["李四"]
    page.person.setText("李")  # not the whole name: nothing (the store keeps hashes only)
    page.refresh()
    assert names(page) == [] and "没有符合条件的办件" in page.summary.text()
    page.person.clear()
    page.item_code.setText(OTHER)
    page.refresh()
    assert names(page) == ["李四"]
    page.item_code.clear()
    page.state.setCurrentIndex(page.state.findData("draft"))
    page.refresh()
    assert all(r.state == "draft" for r in page.model.rows)


def test_detail_shows_due_dates_masked_id_and_timeline(cases):
    page, made = cases
    case = made["today"]
    page.show_case(case.id)
    detail = page.detail
    assert detail.data.case.id == case.id
    assert detail.number.text() == receipt.format_grouped(case.receipt_no)
    assert detail.state.text() == "已收件"
    body = detail.body.text()
    assert "110105********002X" in body and ID_OK not in body
    assert "居民身份证换领" in body and "深圳市南山区人力资源局" in body
    assert "确认收件" in body and "新建草稿" in body
    assert detail.void_button.isVisibleTo(detail) and not detail.continue_button.isVisibleTo(detail)


def test_void_asks_for_a_reason(qtbot, cases):
    page, made = cases
    case = made["other"]
    page.show_case(case.id)
    qtbot.mouseClick(page.detail.void_button, Qt.MouseButton.LeftButton)
    dialog = page.void_dialog
    assert dialog.isVisible() and not dialog.void_button.isEnabled()
    dialog.reason.setEditText("申请人撤回申请")
    assert dialog.void_button.isEnabled()
    qtbot.mouseClick(dialog.void_button, Qt.MouseButton.LeftButton)
    voided = page.service.load(case.id)
    assert voided.state == "void" and voided.void_reason == "申请人撤回申请"
    assert page.detail.state.text() == "已作废" and "申请人撤回申请" in page.detail.body.text()
    assert not page.detail.void_button.isVisibleTo(page.detail)
    page.state.setCurrentIndex(page.state.findData("void"))
    page.refresh()
    assert names(page) == ["李四"]


def test_receipt_field_opens_the_case(qtbot, cases, gui):
    page, made = cases
    case = made["old"]
    gui.window.show_page("intake")
    field = gui.window.receipt_field
    qtbot.keyClick(QApplication.focusWidget() or gui.window, Qt.Key.Key_F2)
    assert QApplication.focusWidget() is field.field
    qtbot.keyClicks(field.field, receipt.format_grouped(case.receipt_no))
    qtbot.keyClick(field.field, Qt.Key.Key_Return)
    assert gui.window.current_page == "cases"
    assert page.detail.data.case.id == case.id
    assert page.model.row(page.table.currentIndex().row()).id == case.id  # in the list, selected
    assert field.field.text() == ""


def test_receipt_field_says_what_is_wrong_in_place(qtbot, gui, cases):
    field = gui.window.receipt_field
    field.enter("12345")
    assert "长度不对" in field.message.text() and field.message.kind == "error"
    no = receipt.parse(cases[1]["today"].receipt_no)
    unknown = receipt.mint(no.hall, no.terminal, no.day, 9999)
    field.enter(unknown)
    assert "没有这个收件编号" in field.message.text()
    bad_check = unknown[:-1] + ("1" if unknown[-1] != "1" else "2")
    field.enter(bad_check)
    assert "校验位不符" in field.message.text()


def test_a_scanner_burst_anywhere_opens_the_case(qtbot, gui, cases):
    page, made = cases
    case = made["today"]
    page.table.setFocus()
    assert QApplication.focusWidget() is page.table
    for ch in case.receipt_no:
        qtbot.keyClick(page.table, ch)
    qtbot.keyClick(page.table, Qt.Key.Key_Return)
    assert page.detail.data.case.id == case.id
    assert gui.window.receipt_field.field.text() == ""


def test_ten_thousand_cases_list_quickly(qtbot, gui, context):
    service = context.intake()
    store = service.cases
    template = collected_case(service)
    start = time.perf_counter()
    with store.store.write() as db:
        for n in range(10_000):
            case = template.__class__(**{**template.to_dict(), "id": f"bulk{n:05d}", "receipt_no": "",
                                         "state": "collected" if n % 3 else "draft"})
            case.applicant = Party(name=f"申请人{n}", id_number=ID_OK, phone="13800138000")
            case.items, case.materials = template.items, template.materials
            store._save(db, case, "培训学员", "批量", {})
    build = time.perf_counter() - start
    page = gui.cases_page
    started = time.perf_counter()
    page.refresh()  # today's cases: all 10,001 match, the store returns the newest 500
    listed = time.perf_counter() - started
    assert page.model.rowCount() == 500 and "只显示最近的 500 件" in page.summary.text()
    started = time.perf_counter()
    page.person.setText(ID_OK)
    page.refresh()
    by_id = time.perf_counter() - started
    assert listed < 1.5 and by_id < 1.5, (build, listed, by_id)
    assert len(service.list(CaseFilter(state="draft", limit=20))) == 20


def test_large_font_list_fits_a_1366_screen(qtbot, make_gui, tmp_path):
    """适老化 at the commonest counter screen: every column of the case list is visible at once (no
    sideways scrolling), 事项 keeps room for a few characters, and a day of this year is short."""
    context = large_font_context(tmp_path)
    try:
        made = collected_case(context.intake(), "欧阳娜娜", ID_OK, "13800138000")
        gui = make_gui(context)
        gui.window.resize(1366, 768)
        show(qtbot, gui, "cases")
        page = gui.cases_page
        page.refresh()
        row = next(i for i, r in enumerate(page.model.rows) if r.receipt_no == made.receipt_no)
        table = page.table
        qtbot.waitUntil(lambda: table.viewport().width() > 0)
        header = table.horizontalHeader()
        assert header.length() <= table.viewport().width(), (header.length(), table.viewport().width())
        assert header.sectionSize(ITEMS) >= table.fontMetrics().horizontalAdvance("中") * 4
        day = page.model.data(page.model.index(row, 2))
        assert day == dt.date.today().strftime("%m-%d")
        assert page.model.data(page.model.index(row, 2), Qt.ItemDataRole.ToolTipRole) == dt.date.today().isoformat()
        shown = header.sectionSize(0)
        assert shown >= table.fontMetrics().horizontalAdvance(page.model.data(page.model.index(row, 0)))
    finally:
        context.close()
