"""The 寄递 page on the real window, real stores and cases collected through the intake service:
waiting paper grouped by 办理地 department, a parcel made on the runner under exactly one number
of the pool and its waybill then manifest opened in the print dialog (the real dialog, its
request read back), a shared material said clearly, an empty pool that makes nothing and says
what to do, the parcels list with its state in the outbox, the pool in the status bar, and the
mail legs and 寄出办理结果 in the case detail."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from counter_client.domain.case import Delivery, Party
from counter_client.domain.waybill import s10_check_digit
from offline_cache.outbox import Outbox
from offline_cache.statuses import Event, Statuses
from tests.gui.intake_helpers import ID_OK, NATIONAL, OTHER, PHONE, collected_case

pytest_plugins = ("tests.gui.intake_fixtures",)  # make_gui, gui, fresh_keys

pytestmark = pytest.mark.gui

CHENGDU = "G510107000003"  # 居民身份证首次申领, D510107-GA
SHENZHEN, CHENGDU_DEPT = "D440305-RS", "D510107-GA"


def s10(serial: int) -> str:
    digits = f"{serial:08d}"
    return f"EM{digits}{s10_check_digit(digits)}CN"


def fill_pool(context, count: int, first: int = 1) -> list[str]:
    """Numbers as the platform allocates them (the store's own intake of an allocation)."""
    numbers = [s10(i) for i in range(first, first + count)]
    context.mail().store.add_numbers(f"req-{first}", numbers, "2026-09-28T02:00:00.000Z")
    return numbers


def table(model) -> list[tuple[str, ...]]:
    return [tuple(model.data(model.index(r, c)) for c in range(model.columnCount())) for r in range(model.rowCount())]


def open_page(gui):
    gui.window.show_page("parcels")
    return gui.mail_page


def choose_department(page, code: str) -> None:
    row = page.departments.row_of(code)
    assert row >= 0
    page.department_table.setCurrentIndex(page.departments.index(row, 0))


def request_of(dialog):
    return dialog.rendered.issue.request


@pytest.fixture
def cases(gui, context):
    """Two cases for 深圳市南山区人力资源局, one for 成都市武侯区公安分局."""
    s = context.intake()
    return [collected_case(s, code=NATIONAL), collected_case(s, name="李四", code=OTHER),
            collected_case(s, name="王五", code=CHENGDU)]


def test_waiting_paper_is_grouped_by_department(gui, context, cases):
    page = open_page(gui)
    assert table(page.departments) == [("成都市武侯区公安分局", CHENGDU_DEPT, "1"), ("深圳市南山区人力资源局", SHENZHEN, "2")]
    assert page.tabs.tabText(0) == "待寄（3）" and page.tabs.tabText(1) == "邮包（0）"
    choose_department(page, SHENZHEN)
    assert "寄往 深圳市南山区人力资源局（D440305-RS）：2 件" == page.group_title.text()
    rows = table(page.pending)
    assert [r[1] for r in rows] == ["张三", "李四"] and rows[0][2] == "居民身份证换领"
    assert rows[0][4] == "居民身份证、户口簿、近期免冠照片"
    assert page.pending.ticked() == [cases[0].receipt_no, cases[1].receipt_no]
    assert page.create_button.text() == "新建邮包（2 件）" and page.create_button.isEnabled()
    # Space unticks the current row; 全不选 disables 新建邮包
    page.pending_table.setFocus()
    page.pending_table.setCurrentIndex(page.pending.index(1, 2))
    from PySide6.QtTest import QTest

    QTest.keyClick(page.pending_table, Qt.Key.Key_Space)
    assert page.pending.ticked() == [cases[0].receipt_no] and page.create_button.text() == "新建邮包（1 件）"
    page.tick_none_button.click()
    assert not page.create_button.isEnabled()


def test_a_parcel_takes_one_number_then_waybill_and_manifest_print(qtbot, gui, context, cases):
    numbers = fill_pool(context, 3)
    page = open_page(gui)
    gui.window.show()
    qtbot.waitUntil(gui.window.isActiveWindow, timeout=3000)  # shortcuts need the active window
    assert gui.status_bar.pool_item.text() == "邮件号 3" and gui.status_bar.pool_item.property("state") == "warning"
    choose_department(page, SHENZHEN)
    page.pending_table.setFocus()
    qtbot.keyClick(page.pending_table, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # 新建邮包
    parcel = page.last_parcel
    assert parcel is not None and parcel.waybill_no == numbers[0] and parcel.receipt_nos == (
        cases[0].receipt_no, cases[1].receipt_no)
    mail = context.mail()
    assert mail.pool_status().free == 2 and mail.pool_status().used == 1  # exactly one number
    assert numbers[0] in page.summary.text() and parcel.id in page.summary.text()
    assert gui.status_bar.pool_item.text() == "邮件号 2"
    # the waybill first, at the label size of the settings
    dialog = gui.printing.dialog
    assert dialog is not None and dialog.isVisible()
    request = request_of(dialog)
    assert (request.kind, request.key, request.page_mm) == ("waybill", numbers[0], (100.0, 150.0))
    assert dialog.title.text() == f"邮件面单 {numbers[0]}"
    dialog.reject()
    qtbot.waitUntil(lambda: gui.printing.dialog is not None and gui.printing.dialog is not dialog, timeout=3000)
    manifest = gui.printing.dialog
    assert (request_of(manifest).kind, request_of(manifest).key, request_of(manifest).page_mm[0]) == (
        "manifest", parcel.id, pytest.approx(210, abs=0.5))
    manifest.reject()
    # the parcel in the list, not yet sent; the waiting list has only Chengdu left
    assert table(page.departments) == [("成都市武侯区公安分局", CHENGDU_DEPT, "1")]
    [row] = table(page.parcels)
    assert row[:4] == (parcel.id, numbers[0], "深圳市南山区人力资源局", "2") and row[5] == "待上传"
    assert "居民身份证换领" not in page.parcel_detail.text() and cases[0].receipt_no[:6] in page.parcel_detail.text()
    assert page.tabs.tabText(1) == "邮包（1）"
    # the reprint buttons open the dialog for this parcel's documents
    dialog = page.print_waybill(parcel.id)
    assert request_of(dialog).key == numbers[0]
    dialog.reject()


def test_the_parcels_list_shows_when_the_platform_has_it(gui, context, cases):
    fill_pool(context, 30)
    made = gui.mail_desk.create_parcel(CHENGDU_DEPT, [cases[2].receipt_no])
    intake = context.intake()
    Outbox(intake.cases.store, intake.cases.cipher).mark_acked(Outbox(intake.cases.store).item(made.parcel.id).id,
                                                                {"parcel_id": made.parcel.id})
    page = open_page(gui)
    [row] = table(page.parcels)
    assert row[5] == "已报送"
    assert page.parcels.data(page.parcels.index(0, 5), Qt.ItemDataRole.ForegroundRole).name() == "#2e7d32"
    assert "已报送" in page.parcel_detail.text()
    assert gui.status_bar.pool_item.text() == "邮件号 29" and gui.status_bar.pool_item.property("state") == ""


def test_a_shared_material_is_said_clearly(gui, context):
    s = context.intake()
    case = s.new_case("多地联办")
    for code in (NATIONAL, CHENGDU):
        case = s.add_item(case, code)
    case.applicant = Party(name="赵六", id_number=ID_OK, phone=PHONE)
    for m in case.materials:
        case = s.set_material(case, m.key, form="原件核验", pages=1)
    case = s.confirm(case)
    fill_pool(context, 30)
    page = open_page(gui)
    assert [r[2] for r in table(page.departments)] == ["1", "1"]  # one case, in both departments
    choose_department(page, SHENZHEN)
    assert "居民身份证（另备一份）" in table(page.pending)[0][4]
    page.create_button.click()
    assert page.summary.kind == "ok", page.summary.text()
    assert "居民身份证" in page.warnings.text() and "另备一份" in page.warnings.text()
    assert page.warnings.kind == "warning" and page.warnings.isVisibleTo(page)
    gui.printing.dialog.reject()


def test_an_empty_pool_makes_nothing_and_says_what_to_do(qtbot, gui, context, cases):
    page = open_page(gui)
    gui.window.show()
    assert gui.status_bar.pool_item.text() == "邮件号 0" and gui.status_bar.pool_item.property("state") == "warning"
    assert "邮件号已用完" in page.pool_warning.text() and page.sync_button.isVisibleTo(page)
    choose_department(page, SHENZHEN)
    page.create_button.click()
    assert page.summary.kind == "error" and "邮件号已用完" in page.summary.text()
    assert "领取邮件号" in page.summary.text() and "pool --refill" not in page.summary.text()
    assert page.last_parcel is None and gui.printing.dialog is None
    status = context.mail().pool_status()
    assert (status.free, status.used) == (0, 0) and context.mail().parcels() == []
    assert page.pending.ticked() == [cases[0].receipt_no, cases[1].receipt_no] and page.create_button.isEnabled()
    # 领取邮件号 without a platform: a clear message, nothing changes
    page.refill_button.click()
    assert page.summary.kind == "error" and page.refill_button.isEnabled()
    with qtbot.waitSignal(gui.sync_worker.sync_did_start, timeout=100, raising=False):
        page.sync_button.click()
    assert gui.window.current_page == "sync"


def test_the_status_bar_pool_opens_the_page(qtbot, gui, context):
    fill_pool(context, 25)
    gui.mail_page.refresh_pool()
    bar = gui.status_bar
    assert bar.pool_item.text() == "邮件号 25" and bar.pool_item.property("state") == ""
    assert "点击打开寄递页" in bar.pool_item.toolTip()
    gui.window.show()
    qtbot.mouseClick(bar.pool_item, Qt.MouseButton.LeftButton)
    assert gui.window.current_page == "parcels"


def test_case_detail_lists_the_legs_and_mails_a_result_on(qtbot, gui, context, cases):
    numbers = fill_pool(context, 30)
    s = context.intake()
    case = s.add_item(s.new_case(), NATIONAL)
    case.applicant = Party(name="孙七", id_number=ID_OK, phone=PHONE)
    for m in case.materials:
        case = s.set_material(case, m.key, form="原件核验", pages=1)
    case.delivery = Delivery(method="邮寄", address="四川省仪陇县马鞍镇人民路1号", recipient="孙七", phone=PHONE)
    case = s.confirm(case)
    parcel = gui.mail_desk.create_parcel(SHENZHEN, [case.receipt_no]).parcel
    gui.show_case(case.id)
    detail = gui.cases_page.detail
    assert detail.data.case.id == case.id
    text = detail.body.text()
    assert "寄递" in text and f"材料寄往 深圳市南山区人力资源局：邮件号 {numbers[0]}（邮包 {parcel.id}）" in text
    assert detail.mail_result_button.isHidden()  # not 办结 yet
    Statuses(s.cases.store).apply([Event(1, case.receipt_no, NATIONAL, "办结", "2026-09-30T01:00:00Z")], 1)
    gui.cases_page.statuses_changed()
    assert detail.mail_result_button.isVisibleTo(detail)
    detail.mail_result_button.click()
    box = gui.cases_page.mail_result_box  # asked first: a number is taken for good
    assert "不能退回" in box.text() and "孙七" in box.text()
    assert context.mail().pool_status().free == 29  # nothing taken yet
    next(b for b in box.buttons() if b.text() == "确认寄出").click()
    legs = context.mail().legs(case.receipt_no)
    assert [(leg.kind, leg.tracking_no) for leg in legs] == [("materials", numbers[0]), ("result", numbers[1])]
    dialog = gui.printing.dialog
    assert (request_of(dialog).kind, request_of(dialog).key) == ("waybill", numbers[1])
    dialog.reject()
    assert f"办理结果寄回申请人（本窗口寄出）：邮件号 {numbers[1]}" in detail.body.text()
    assert detail.mail_result_button.isHidden() and detail.result_waybill_button.isVisibleTo(detail)
    assert context.mail().pool_status().free == 28


def test_a_case_without_paper_or_collected_elsewhere_is_not_waiting(gui, context):
    s = context.intake()
    case = s.add_item(s.new_case(), NATIONAL)
    case.applicant = Party(name="周八", id_number=ID_OK, phone=PHONE)
    for m in case.materials:
        case = s.set_material(case, m.key, form="电子证照" if m.necessity == 1 else "不适用", pages=0)
    page = open_page(gui)
    assert table(page.departments) == [] and page.pending_empty.isVisibleTo(page)
    assert page.tabs.tabText(0) == "待寄（0）"
    assert QApplication.instance() is not None
