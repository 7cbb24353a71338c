"""The catalogue page against a real catalogue file: search as you type, stale answers dropped,
filters, keyboard, the guide's sections and material table, guide text shown as plain text,
and typing while a long job runs on the real pool."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QTextTable
from PySide6.QtWidgets import QApplication, QMainWindow

from counter_client.services.catalogue import CatalogueService
from counter_client.ui.catalogue.guide_view import MATERIAL_COLUMNS, GuideView
from counter_client.ui.status_bar import StatusBar
from tests import factories as f
from tests.gui.conftest import MATERIALS, fill_catalogue, make_page, sample_guides
from tests.gui.intake_helpers import type_text

pytestmark = pytest.mark.gui

SECTIONS = ("基本信息", "受理条件", "申请材料", "办理流程", "办理时限", "收费标准", "送达方式", "办理地点与时间", "咨询投诉")


def names(page) -> list[str]:
    return [h.name for h in page.model.hits]


def type_query(qtbot, page, text: str) -> None:
    page.search_field.clear()
    type_text(qtbot, page.search_field, text)


def wait_for(qtbot, page, text: str) -> None:
    qtbot.waitUntil(lambda: page.search_field.text() == text and not page.search_pending, timeout=3000)


def material_tables(view: GuideView) -> list[QTextTable]:
    """The text tables of the guide document whose header row is the material headers."""
    tables = []
    for frame in view.browser.document().rootFrame().childFrames():
        if isinstance(frame, QTextTable) and frame.rows() > 0 and frame.columns() > 1:
            if frame.cellAt(0, 1).firstCursorPosition().block().text() == MATERIAL_COLUMNS[1]:
                tables.append(frame)
    return tables


# -- search ------------------------------------------------------------------------------------------
def test_typing_shows_results_as_you_type(qtbot, page):
    type_query(qtbot, page, "身份证")
    wait_for(qtbot, page, "身份证")
    assert "居民身份证换领" in names(page)
    assert all("身份" in n for n in names(page))
    assert "就业创业证申领" not in names(page)
    assert page.summary.text().startswith("找到")
    type_query(qtbot, page, "jycy")  # pinyin initials of 就业创业
    qtbot.waitUntil(lambda: names(page) == ["就业创业证申领"], timeout=3000)


def test_each_row_carries_region_department_mode_and_badge(page):
    from counter_client.ui.catalogue.results import badges, second_line

    page.search_field.setText("身份证")
    page.search_now()
    hits = {h.name: h for h in page.model.hits}
    national = hits["居民身份证换领"]
    assert "广东省深圳市南山区" in second_line(national)
    assert "深圳市南山区人力资源局" in second_line(national)
    assert "异地代收代办" in second_line(national)
    assert badges(national) == [("全国清单", "national")]
    # the training hall (四川) may collect for 成都 under the 川渝通办 agreement
    assert ("川渝通办", "agreement") in badges(hits["居民身份证首次申领"])
    assert badges(hits["身份证明开具（非通办）"]) == [("本窗口不可收件", "none")]


def test_no_match_says_what_to_try(qtbot, page):
    type_query(qtbot, page, "不存在的事项名")
    wait_for(qtbot, page, "不存在的事项名")
    assert page.model.rowCount() == 0
    assert page.results_stack.currentWidget() is page.empty_state
    assert "没有找到" in page.empty_state.text()


def test_stale_results_are_dropped(qtbot, context, pool_runner):
    """A slow answer to an older query must not replace the answer to the newer one."""
    release = threading.Event()

    class SlowFirstQuery(CatalogueService):
        def search(self, query, filters, limit):
            if query == "居民":
                release.wait(5)  # the older query answers last
            return super().search(query, filters, limit)

    page = make_page(qtbot, context, pool_runner,
                     SlowFirstQuery(context.catalogue_store))
    finished = []
    page.search_did_finish.connect(lambda q, n: finished.append(q))
    page.search_field.setText("居民")
    page.search_now()
    page.search_field.setText("挂失")
    page.search_now()
    qtbot.waitUntil(lambda: "挂失" in finished, timeout=3000)
    assert names(page) == ["居民身份证挂失申报"]
    release.set()
    pool_runner.shutdown(3000)
    qtbot.wait(50)
    assert names(page) == ["居民身份证挂失申报"]
    assert "居民" not in finished


def test_searches_read_the_new_catalogue_after_it_is_committed(qtbot, context, page):
    type_query(qtbot, page, "社会保障卡")
    wait_for(qtbot, page, "社会保障卡")
    assert page.model.rowCount() == 0
    fill_catalogue(context, sample_guides([f.guide("G510107000009", "社会保障卡申领", region="510107")]), version=2)
    page.reload()
    assert names(page) == ["社会保障卡申领"]


# -- filters -----------------------------------------------------------------------------------------
def test_filters_narrow_the_results(qtbot, page):
    bar = page.filter_bar
    page.search_field.setText("身份证")
    page.search_now()
    everything = set(names(page))
    assert len(everything) >= 4

    assert bar.select(bar.province, "510000")
    assert set(names(page)) == {"居民身份证首次申领"}
    assert bar.clear_button.isEnabled()
    bar.clear()
    assert set(names(page)) == everything

    assert bar.select(bar.province, "500000")  # 重庆: its counties are offered (no 市辖区)
    assert bar.prefecture.findData("500103") > 0
    assert bar.prefecture.findText("市辖区") < 0
    bar.clear()

    assert bar.select(bar.department, "D510107-GA")
    assert set(names(page)) == {"居民身份证首次申领"}
    bar.clear()

    assert bar.select(bar.mode, "全程网办")
    assert set(names(page)) == {"临时居民身份证办理"}
    bar.clear()

    assert bar.select(bar.item_type, "07")
    assert set(names(page)) == {"居民身份证换领", "居民身份证首次申领"}
    bar.clear()

    bar.collectable.setChecked(True)  # training hall 511324 (四川): national list + 川渝通办
    assert "身份证明开具（非通办）" not in names(page)
    assert {"居民身份证换领", "居民身份证首次申领", "临时居民身份证办理"} <= set(names(page))


def test_prefecture_choice_cascades_from_the_province(page):
    bar = page.filter_bar
    assert not bar.prefecture.isEnabled()
    bar.select(bar.province, "440000")
    assert bar.prefecture.isEnabled()
    assert bar.prefecture.itemText(bar.prefecture.findData("440300")) == "深圳市"
    bar.select(bar.prefecture, "440300")
    assert bar.filters().region == "440300"


# -- keyboard and the guide --------------------------------------------------------------------------
def test_arrows_move_and_enter_opens_the_guide_with_every_section(qtbot, page):
    opened = []
    page.guide_did_open.connect(opened.append)
    type_query(qtbot, page, "身份证")
    wait_for(qtbot, page, "身份证")
    assert page.selected_row() == 0
    qtbot.keyClick(page.search_field, Qt.Key.Key_Down)
    qtbot.keyClick(page.search_field, Qt.Key.Key_Down)
    assert page.selected_row() == 2
    qtbot.keyClick(page.search_field, Qt.Key.Key_Up)
    assert page.selected_row() == 1
    qtbot.keyClick(page.search_field, Qt.Key.Key_Return)
    assert opened == [page.model.hit(1).code]
    assert page.search_field.hasFocus() or not page.isVisible()

    type_query(qtbot, page, "换领")
    wait_for(qtbot, page, "换领")
    qtbot.keyClick(page.search_field, Qt.Key.Key_Enter)
    assert opened[-1] == "G440305000001"
    view = page.guide_view
    assert view.title.text() == "居民身份证换领"
    text = view.browser.toPlainText()
    positions = [text.find(title) for title in SECTIONS]
    assert all(p >= 0 for p in positions), dict(zip(SECTIONS, positions))
    assert positions == sorted(positions)  # the national element order
    assert "有效期满。" in text and "本人到场。" in text

    tables = material_tables(view)
    assert len(tables) == 1
    table = tables[0]
    assert table.rows() == len(MATERIALS) + 1
    assert table.columns() == len(MATERIAL_COLUMNS)
    assert table.cellAt(1, 1).firstCursorPosition().block().text() == "居民身份证"
    assert table.cellAt(3, 2).firstCursorPosition().block().text().split("\u2028") == ["原件2份", "纸质，A4"]
    assert "原件或复印件" in text and "复印件1份" in text  # 户口簿: type 3, both counts
    for cell in ("必要", "政府部门核发（公安机关）", "在有效期内", "核验后退还", "纸质，A4"):
        assert cell in text
    assert view.section_titles == list(SECTIONS)
    assert "可收件" in view.collectable_label.text()


def test_enter_right_after_typing_opens_the_answer_to_what_was_typed(qtbot, page):
    opened = []
    page.guide_did_open.connect(opened.append)
    type_query(qtbot, page, "挂失")
    qtbot.keyClick(page.search_field, Qt.Key.Key_Return)  # before the debounce fired
    qtbot.waitUntil(lambda: opened == ["G440305000002"], timeout=3000)


def test_ctrl_f_f3_and_escape_return_to_the_search_box(qtbot, context, sync_runner):
    from counter_client.app import Gui

    gui = Gui(context, QApplication.instance(), runner=sync_runner)
    qtbot.addWidget(gui.window)
    gui.window.show()
    qtbot.waitExposed(gui.window)
    gui.window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is gui.window, timeout=3000)
    page = gui.catalogue_page
    assert page.search_field.hasFocus()  # focus on arrival
    page.search_field.setText("身份证")
    page.search_now()

    for key, modifier in ((Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier),
                          (Qt.Key.Key_F3, Qt.KeyboardModifier.NoModifier)):
        page.results.setFocus()
        qtbot.waitUntil(page.results.hasFocus)
        page.search_field.deselect()
        qtbot.keyClick(page.results, key, modifier)
        assert page.search_field.hasFocus()
        assert page.search_field.selectedText() == "身份证"

    page.open_guide_at(0)
    page.guide_view.browser.setFocus()
    qtbot.waitUntil(page.guide_view.browser.hasFocus)
    qtbot.keyClick(page.guide_view.browser, Qt.Key.Key_Escape)
    assert page.search_field.hasFocus()
    gui.shutdown()


def test_guide_markup_is_shown_as_text_and_nothing_is_loaded(qtbot, context, page):
    hostile = f.guide(
        "G440305000666", "<b>加粗</b>事项", region="440305",
        conditions='<img src="file:///etc/hostname"> <a href="http://evil.example/">点此</a>',
        materials=[{"name": '<img src="file:///etc/passwd">', "type": 1, "notes": "<script>x</script>"}],
        place='<link rel="stylesheet" href="file:///etc/hostname">')
    fill_catalogue(context, sample_guides([hostile]), version=2)
    page.show()
    qtbot.waitExposed(page)
    page.reload()
    page.open_guide("G440305000666")
    view = page.guide_view
    page.grab()  # lay out and paint the whole guide: images would be asked for now
    for index in range(len(view.section_titles)):
        view.scroll_to_section(index)
        view.browser.viewport().grab()
    text = view.browser.toPlainText()
    assert '<img src="file:///etc/hostname">' in text
    assert '<a href="http://evil.example/">点此</a>' in text
    assert '<img src="file:///etc/passwd">' in text
    assert "<script>x</script>" in text
    assert '<link rel="stylesheet" href="file:///etc/hostname">' in text
    assert view.title.text() == "<b>加粗</b>事项"
    assert view.title.textFormat() == Qt.TextFormat.PlainText
    assert view.browser.resource_requests == []
    assert view.browser.document().allFormats()  # rendered
    # no anchor with an href exists in the document: nothing to click
    assert "evil.example" not in view.browser.toHtml().split("点此")[0].split("&lt;a")[0]
    assert 'href="http://evil' not in view.browser.toHtml()


def test_safe_browser_refuses_resources_and_links(qtbot):
    view = GuideView()
    qtbot.addWidget(view)
    browser = view.browser
    browser.show()
    browser.setHtml('<p>x</p><img src="file:///etc/hostname">')  # our own code never does this
    browser.grab()
    assert browser.resource_requests == ["file:///etc/hostname"]
    assert not browser.openLinks() and not browser.openExternalLinks()
    from PySide6.QtCore import QUrl

    browser.setSource(QUrl("file:///etc/hostname"))
    assert "x" in browser.toPlainText()


def test_copy_code_puts_the_item_code_on_the_clipboard(qtbot, page):
    page.open_guide("G440305000001")
    QGuiApplication.clipboard().clear()
    qtbot.mouseClick(page.guide_view.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == "G440305000001"
    assert page.guide_view.code_label.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse


def test_guide_removed_from_the_catalogue_says_so(qtbot, context, page):
    page.open_guide("G440305000006")
    fill_catalogue(context, [g for g in sample_guides() if g.code != "G440305000006"], version=2)
    page.reload()
    assert page.guide_view.document is None
    assert "G440305000006" in page.guide_view.placeholder.text()


def test_empty_catalogue_tells_the_clerk_to_refresh(qtbot, tmp_path, sync_runner):
    from counter_client.context import build_context

    ctx = build_context(tmp_path / "empty")
    try:
        page = make_page(qtbot, ctx, sync_runner)
        assert page.results_stack.currentWidget() is page.empty_state
        assert "更新目录" in page.empty_state.text()
    finally:
        ctx.close()


# -- typing during a long job -------------------------------------------------------------------------
def test_typing_keeps_working_while_a_long_job_shows_progress(qtbot, context, pool_runner):
    page = make_page(qtbot, context, pool_runner, owned_by_test=False)
    status = StatusBar(pool_runner)
    window = QMainWindow()
    qtbot.addWidget(window)
    window.setCentralWidget(page)
    window.setStatusBar(status)
    window.resize(1200, 700)
    window.show()
    qtbot.waitExposed(window)
    stop = threading.Event()
    finished = []

    def slow_refresh(job):  # stands in for the download: long, reports progress, honours cancel
        for i in range(300):
            if job.cancelled() or stop.is_set():
                return None
            job.progress(i, 300, f"正在下载事项指南 {i}/300")
            time.sleep(0.01)
        return None

    started = time.monotonic()
    handle = (pool_runner.op(slow_refresh).with_progress("正在更新目录…")
              .on_finished(lambda: finished.append(1)).run())
    type_query(qtbot, page, "挂失")
    qtbot.waitUntil(lambda: names(page) == ["居民身份证挂失申报"], timeout=2000)
    assert not handle.done, "the search answered only after the long job"
    assert time.monotonic() - started < 2.0
    qtbot.waitUntil(lambda: status.progress_visible, timeout=2000)
    assert "正在" in status.progress_label.text()
    type_query(qtbot, page, "就业")
    qtbot.waitUntil(lambda: names(page) == ["就业创业证申领"], timeout=2000)
    assert not handle.done
    qtbot.mouseClick(status.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: finished == [1], timeout=3000)
    qtbot.waitUntil(lambda: not status.progress_visible, timeout=1000)
    stop.set()


def test_department_choices_follow_the_handling_region(page):
    bar = page.filter_bar

    def departments():
        return {bar.department.itemData(i) for i in range(1, bar.department.count())}

    assert departments() == {"D440305-RS", "D510107-GA", "D500103-GA"}
    assert bar.select(bar.province, "510000")
    assert departments() == {"D510107-GA"}
    assert bar.select(bar.province, "440000")
    assert departments() == {"D440305-RS"}
    bar.clear()
    assert len(departments()) == 3


def test_filter_lists_fill_from_a_national_sized_catalogue(qtbot, page):
    """Tens of thousands of departments fill the list at once (a list model, not item by item)."""
    from counter_client.ui.catalogue.filters import FilterOptions

    bar = page.filter_bar
    many = [(f"D{i:06d}", f"第{i}号部门", "440305") for i in range(60_000)]
    bar.set_options(FilterOptions(departments=many, provinces=[("440000", "广东省")], below={}))
    assert bar.department.count() == 60_001
    assert bar.select(bar.department, "D059999")
    assert bar.filters().department_code == "D059999"
