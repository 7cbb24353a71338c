"""The intake page driven like a clerk drives it: the keyboard through the steps, live ID checks,
the agent's authorisation, materials received and scanned (a generated PNG and PDF through the
real importer into the real encrypted scan store), Ctrl+Enter, the receipt number; a missing
material marked in place with the 一次性告知; an item the hall may not collect for recorded as a
consultation."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from counter_client.domain import receipt
from tests.gui.intake_helpers import (
    AGENT_ID,
    ID_BAD,
    ID_OK,
    NATIONAL,
    PHONE,
    REFUSED,
    ctrl_enter,
    fill_applicant,
    pdf_file,
    png_file,
    receive_all,
    show,
    type_text,
)

pytest_plugins = ("tests.gui.intake_fixtures",)  # make_gui, gui, fresh_keys

pytestmark = pytest.mark.gui


def test_keyboard_flow_collects_a_case(qtbot, gui, tmp_path):
    show(qtbot, gui, "catalogue")
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    page = gui.intake_page
    assert gui.window.current_page == "intake" and page.case is not None

    # 事项: search as you type, Enter adds the first hit
    page.items.search.setFocus()
    type_text(qtbot, page.items.search, "换领")
    qtbot.waitUntil(lambda: page.items.results.isVisible(), timeout=2000)
    assert page.items.model.hit(0).code == NATIONAL
    qtbot.keyClick(page.items.search, Qt.Key.Key_Return)
    assert [i.code for i in page.case.items] == [NATIONAL]
    card = page.items.cards[NATIONAL]
    assert "广东省深圳市南山区" in card.place.text() and "深圳市南山区人力资源局" in card.place.text()
    assert "全国跨省通办清单" in card.details.text() and "第 1 版" in card.details.text()

    # 申请人: Alt+2, then Tab from field to field
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_2, Qt.KeyboardModifier.AltModifier)
    assert QApplication.focusWidget() is page.applicant.name
    type_text(qtbot, page.applicant.name, "张三")
    qtbot.keyClick(page.applicant.name, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is page.applicant.id_type
    qtbot.keyClick(page.applicant.id_type, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is page.applicant.id_number
    message = page.applicant.messages["id_number"]
    qtbot.keyClicks(page.applicant.id_number, ID_BAD)
    assert "校验位应为 X" in message.text() and message.kind == "error"
    page.applicant.id_number.selectAll()
    qtbot.keyClicks(page.applicant.id_number, ID_OK)
    assert message.text().startswith("✓") and "女" in message.text() and "1949-12-31" in message.text()
    assert message.kind == "ok"
    qtbot.keyClick(page.applicant.id_number, Qt.Key.Key_Tab)
    qtbot.keyClicks(QApplication.focusWidget(), PHONE)
    assert page.case.applicant.name == "张三" and page.case.applicant.id_number == ID_OK
    assert page.case.applicant.phone == PHONE

    # 材料: received, counted, and scans imported (a PNG and a two-page PDF) into the first one
    receive_all(page)
    first = page.case.materials[0].key
    page.import_files(first, [str(png_file(tmp_path / "id-card.png")), str(pdf_file(tmp_path / "hukou.pdf"))])
    scans = page.case.materials[0].scans
    assert len(scans) == 3 and page.case.materials[0].pages == 3
    strip = page.materials.rows[first].strip
    assert strip.pages.count() == 3
    assert all(page.thumbnails.get(sha) is not None for sha in scans)  # decoded on the runner
    assert all(not strip.pages.item(i).icon().isNull() for i in range(3))
    assert page.service.scan(scans[0])[:2] == b"\xff\xd8"  # normalised JPEG, decrypted back

    # 核对 and Ctrl+Enter
    page.go_to_step("review")
    assert "110105********002X" in page.review.preview.text()
    assert ID_OK not in page.review.preview.text()
    ctrl_enter(qtbot, gui)
    assert page.stack.currentWidget() is page.receipt_scroll
    number = page.receipt.number.text()
    parsed = receipt.parse(number)
    assert parsed.hall == "511324102" and number.count("-") == 4
    stored = page.service.load(page.case.id)
    assert stored.state == "collected" and receipt.parse(stored.receipt_no) == parsed
    assert len(stored.materials[0].scans) == 3
    for sha in stored.materials[0].scans:
        page.service.blobs.verify(sha)


def test_missing_material_is_marked_beside_it_and_noticed(qtbot, gui):
    show(qtbot, gui)
    page = gui.intake_page
    page.add_item(NATIONAL)
    fill_applicant(page)
    receive_all(page, skip=("户口簿",))
    page.go_to_step("review")
    page.confirm()
    rejected = page.service.load(page.case.id)
    assert rejected is None or rejected.state == "draft"
    assert page.stack.currentWidget() is page.form
    index = next(i for i, m in enumerate(page.case.materials) if m.name == "户口簿")
    row = page.materials.row_at(index)
    assert "缺少必要材料：户口簿" in row.message.text() and row.message.isVisible()
    assert page.step_buttons["materials"].property("state") == "error"
    assert page.sections["materials"].number.property("state") == "error"
    assert page.review.notice_box.isVisible() and "户口簿" in page.review.notice.text()
    assert "还不能收件" in page.status.text()
    # fixing it clears the mark after the next check
    row.form.setCurrentIndex(row.form.findData("复印件"))
    row.pages.setValue(1)
    page.autosaver.flush()
    assert not row.message.text()
    assert page.step_buttons["materials"].property("state") != "error"


def test_problems_show_only_after_leaving_a_step(qtbot, gui):
    show(qtbot, gui)
    page = gui.intake_page
    page.add_item(NATIONAL)
    page.go_to_step("applicant")
    page.autosaver.flush()
    assert "applicant.phone" in {p.field for p in page.check.problems}
    assert not page.applicant.messages["phone"].text()  # not while the clerk is still here
    page.go_to_step("delivery")  # focus leaves 申请人
    assert "请填写联系电话" in page.applicant.messages["phone"].text()
    assert page.step_buttons["applicant"].property("state") == "error"


def test_agent_adds_the_authorisation_and_helper_is_recorded(qtbot, gui):
    show(qtbot, gui)
    page = gui.intake_page
    page.add_item(NATIONAL)
    assert not any("授权委托书" in m.name for m in page.case.materials)
    page.go_to_step("agent")
    assert QApplication.focusWidget() is page.agent.has_agent
    qtbot.keyClick(page.agent.has_agent, Qt.Key.Key_Space)
    assert page.case.agent is not None
    auth = [m for m in page.case.materials if "授权委托书" in m.name]
    assert auth and auth[0].necessity == 1
    assert any("授权委托书" in row.name.text() for row in page.materials.rows.values())
    form = page.agent.form
    form.name.setText("李四")
    form.name.textEdited.emit("李四")
    form.id_number.setText(AGENT_ID)
    form.id_number.textEdited.emit(AGENT_ID)
    form.relation.setText("儿子")
    form.relation.textEdited.emit("儿子")
    page.agent.helper_mode.setCurrentIndex(page.agent.helper_mode.findData("代办"))
    page.autosaver.flush()
    saved = page.service.load(page.case.id)
    assert saved.agent.name == "李四" and saved.agent.relation == "儿子" and saved.helper.mode == "代办"
    assert any("授权委托书" in m.name for m in saved.materials)
    page.agent.has_agent.setChecked(False)
    assert page.case.agent is None and not any("授权委托书" in m.name for m in page.case.materials)


def test_not_collectable_is_shown_in_place_and_recorded_as_consultation(qtbot, gui):
    show(qtbot, gui)
    page = gui.intake_page
    page.add_item(REFUSED)
    assert not page.case.items
    assert page.items.refusal.isVisible()
    assert "本窗口不能收件" in page.items.refusal_text.text()
    page.items.consult_note.setText("已告知到深圳南山办理")
    qtbot.mouseClick(page.items.consult_button, Qt.MouseButton.LeftButton)
    assert "已登记咨询" in page.items.consult_result.text()
    [entry] = page.service.cases.consultations()
    assert entry["item_code"] == REFUSED and entry["note"] == "已告知到深圳南山办理"


def test_mode_online_asks_for_the_application_number(qtbot, gui):
    show(qtbot, gui)
    page = gui.intake_page
    page.add_item(NATIONAL)
    page.items.mode.setCurrentIndex(page.items.mode.findData("全程网办帮办"))
    assert page.case.mode == "全程网办帮办" and page.items.app_no.isVisible()
    page.confirm()
    assert "全程网办帮办须记录网上申请的申办编号" in page.items.app_no_message.text()
    page.items.app_no.setText("WB2025-0001")
    page.items.app_no.textEdited.emit("WB2025-0001")
    assert page.case.helper.platform_app_no == "WB2025-0001"


def test_mail_delivery_copies_the_applicant(qtbot, gui):
    show(qtbot, gui)
    page = gui.intake_page
    page.add_item(NATIONAL)
    fill_applicant(page)
    page.applicant.address.setText("四川省仪陇县马鞍镇1号")
    page.applicant.address.textEdited.emit("四川省仪陇县马鞍镇1号")
    page.delivery.buttons["邮寄"].setChecked(True)
    assert page.delivery.mail.isVisible()
    qtbot.mouseClick(page.delivery.copy_button, Qt.MouseButton.LeftButton)
    d = page.case.delivery
    assert (d.method, d.recipient, d.phone, d.address) == ("邮寄", "张三", PHONE, "四川省仪陇县马鞍镇1号")
    assert "138****8000" in page.review.preview.text()


def test_the_whole_flow_on_the_real_pool(qtbot, context, tmp_path):
    """Ops really run on pool threads (per-thread SQLite connections, queued results, ordering)."""
    from PySide6.QtWidgets import QApplication as App

    from counter_client.app import Gui
    from counter_client.background.tasks import TaskRunner

    gui = Gui(context, App.instance(), runner=TaskRunner())
    qtbot.addWidget(gui.window)
    try:
        gui.open_cases()
        page = gui.intake_page
        qtbot.waitUntil(lambda: page.case is not None, timeout=5000)
        page.add_item(NATIONAL)
        fill_applicant(page)  # typed while the item is still being added
        qtbot.waitUntil(lambda: len(page.case.items) == 1 and bool(page.materials.rows), timeout=5000)
        receive_all(page)
        key = page.case.materials[0].key
        page.import_files(key, [str(png_file(tmp_path / "a.png")), str(png_file(tmp_path / "b.png", "b"))])
        qtbot.waitUntil(lambda: len(page.case.materials[0].scans) == 2, timeout=10_000)
        qtbot.waitUntil(lambda: all(page.thumbnails.get(s) is not None for s in page.case.materials[0].scans),
                        timeout=5000)
        qtbot.waitUntil(lambda: not page.unsaved and not page.ops.busy, timeout=5000)
        assert page.case.applicant.name == "张三"  # not lost to the item added meanwhile
        page.confirm()
        qtbot.waitUntil(lambda: page.stack.currentWidget() is page.receipt_scroll, timeout=5000)
        stored = page.service.load(page.case.id)
        assert stored.state == "collected" and len(stored.materials[0].scans) == 2
    finally:
        gui.shutdown()


def test_tab_goes_down_the_page_step_by_step(qtbot, gui):
    show(qtbot, gui)
    page = gui.intake_page
    page.add_item(NATIONAL)  # the item card and the material rows are made now, after the form
    page.identity_checked.setFocus()
    qtbot.keyClick(page.identity_checked, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is page.agent.has_agent  # 申请人 -> 代办人
    page.agent.helper_mode.setFocus()
    qtbot.keyClick(page.agent.helper_mode, Qt.Key.Key_Tab)
    first_row = page.materials.row_at(0)
    assert QApplication.focusWidget() is first_row.form  # 代办人 -> 材料, not past it
    assert page.step_buttons["materials"].isChecked()
    page.items.search.setFocus()
    qtbot.keyClick(page.items.search, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is page.items.cards[NATIONAL].remove_button


def test_enterprise_applicant_checks_the_credit_code(qtbot, gui):
    show(qtbot, gui)
    form = gui.intake_page.applicant
    form.kind_enterprise.setChecked(True)
    assert gui.intake_page.case.applicant.kind == "enterprise"
    assert form.labels["id_number"].text() == "统一社会信用代码" and form.contact.isVisibleTo(form)
    assert not form.id_type.isVisibleTo(form)
    form.id_number.setText("91110000600037341L")
    form.id_number.textEdited.emit("91110000600037341L")
    assert form.messages["id_number"].text().startswith("✓ 统一社会信用代码")
    form.id_number.setText("91110000600037341X")
    form.id_number.textEdited.emit("91110000600037341X")
    assert "校验位应为 L" in form.messages["id_number"].text()
    assert gui.intake_page.case.applicant.id_type == "credit_code"


def test_e_licence_and_form_review_are_recorded(qtbot, gui):
    show(qtbot, gui)
    page = gui.intake_page
    page.add_item(NATIONAL)
    fill_applicant(page)
    receive_all(page)
    first, second = page.materials.row_at(0), page.materials.row_at(1)
    first.form.setCurrentIndex(first.form.findData("电子证照"))
    assert first.licence.isVisibleTo(first)
    second.review.setCurrentIndex(second.review.findData("不合格"))
    assert second.reasons.isVisibleTo(second)
    second.reasons.setText("复印件不清晰；缺少签名")
    second.reasons.textEdited.emit(second.reasons.text())
    page.confirm()
    assert "以电子证照提交时须记录证照编号" in first.message.text()
    assert "形式审查不合格：复印件不清晰；缺少签名" in second.message.text()
    assert "复印件不清晰" in page.review.notice.text()
    first.licence.setText("DZZZ-440305-0001")
    first.licence.textEdited.emit(first.licence.text())
    assert page.case.materials[0].elicence_ref == "DZZZ-440305-0001"
    assert page.case.materials[1].review_reasons == ["复印件不清晰", "缺少签名"]
