"""The 同步 page on a real case store (training mode, no platform needed): the queue in the
clerk's words with each item's error, the oldest unsent age, today's deliveries, 立即重试, 暂停
shown but disabled for a clerk who is not a supervisor, and the status bar's queue item."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt

from counter_client.domain import receipt
from offline_cache.outbox import Outbox
from tests.gui.intake_helpers import ID_OK, OTHER, collected_case, show

pytest_plugins = ("tests.gui.intake_fixtures",)  # make_gui, gui, fresh_keys

pytestmark = pytest.mark.gui

OFFLINE = "无法连接平台：网络中断，稍后自动重试。"
REFUSED = "平台拒收：申请材料不完整（materials：缺少必要材料）"


@pytest.fixture
def queue(qtbot, gui, context):
    """Five collected cases, one in each state the clerk can meet."""
    service = context.intake()
    made = {name: collected_case(service, name, ID_OK, code=OTHER if n % 2 else "G440305000001")
            for n, name in enumerate(("甲", "乙", "丙", "丁", "戊"))}
    outbox = Outbox(service.cases.store, service.cases.cipher)
    item = {name: outbox.item(case.receipt_no) for name, case in made.items()}
    for name in ("甲", "乙", "丙", "丁"):
        outbox.mark_sending(item[name].id, "0" * 64)
    outbox.mark_retry(item["甲"].id, 600, OFFLINE, "connection refused")
    outbox.mark_rejected(item["乙"].id, REFUSED, "422 invalid")
    outbox.mark_retry(item["丙"].id, 0, "没有收到平台答复，下次同步先向平台核实。", "read timeout", in_doubt=True)
    outbox.mark_acked(item["丁"].id, {"receipt_no": made["丁"].receipt_no})
    show(qtbot, gui, "sync")
    gui.sync_page.reload()
    return gui.sync_page, made, outbox


def states(page) -> dict[str, str]:
    return {r.key: page.model.data(page.model.index(n, 2)) for n, r in enumerate(page.model.rows)}


def test_the_queue_in_the_clerks_words(queue, gui):
    page, made, outbox = queue
    shown = states(page)
    assert shown == {made["甲"].receipt_no: "等待重试", made["乙"].receipt_no: "被退回",
                     made["丙"].receipt_no: "待确认", made["戊"].receipt_no: "待上传"}
    row = page.model.row_of(outbox.item(made["甲"].receipt_no).id)
    cells = [page.model.data(page.model.index(row, c)) for c in range(page.model.columnCount())]
    assert cells[0] == receipt.format_grouped(made["甲"].receipt_no) and cells[1] == "办件" and cells[3] == "1"
    assert cells[4].startswith("约 ") and cells[5] == OFFLINE
    rejected = page.model.row_of(outbox.item(made["乙"].receipt_no).id)
    assert page.model.data(page.model.index(rejected, 5)) == REFUSED
    assert "不会自动重发" in page.model.data(page.model.index(rejected, 5), Qt.ItemDataRole.ToolTipRole)
    queued = page.model.row_of(outbox.item(made["戊"].receipt_no).id)
    assert page.model.data(page.model.index(queued, 5)) == "等待自动上传，无需处理。"
    assert page.model.data(page.model.index(queued, 4)) == "下次同步"
    assert "待上传 1" in page.summary.text() and "被退回 1" in page.summary.text()
    assert "最早未送达的已等待 不到 1 分钟" in page.summary.text()
    assert page.delivered_title.text() == "今天已送达 1 件"
    assert page.delivered_model.rows[0].key == made["丁"].receipt_no
    bar = gui.status_bar.sync_item.text()
    assert bar.startswith("待上传 3 件 · 最早 不到 1 分钟") and "被退回 1 件" in bar
    assert page.account.text().endswith("（培训模式自动登录）") and not page.login_button.isVisible()


def test_retry_now_makes_the_item_due_and_asks_for_a_pass(qtbot, queue):
    page, made, outbox = queue
    key = made["甲"].receipt_no
    assert outbox.item(key).next_attempt_at > time.time() + 60
    assert page.select_key(key) and page.retry_button.isEnabled()
    assert "网络中断" in page.selected.text()
    with qtbot.waitSignal(page.sync_now_was_requested, timeout=2000):
        qtbot.mouseClick(page.retry_button, Qt.MouseButton.LeftButton)
    assert outbox.item(key).next_attempt_at == 0 and outbox.item(key).state == "retry_wait"
    assert "已安排立即重试" in page.status.text()
    assert page.select_key(made["乙"].receipt_no) and not page.retry_button.isEnabled()  # rejected: a decision


def test_hold_is_shown_disabled_to_a_clerk_who_is_not_a_supervisor(queue):
    page, made, outbox = queue
    assert page.select_key(made["戊"].receipt_no)
    assert page.hold_button.isVisible() and not page.hold_button.isEnabled()
    assert page.hold_button.text() == "暂停" and "主管" in page.hold_button.toolTip()
    page.toggle_hold()  # even when called directly nothing happens
    assert outbox.item(made["戊"].receipt_no).state == "queued"


def test_the_status_bar_item_opens_the_sync_page(qtbot, gui, queue):
    gui.window.show_page("catalogue")
    qtbot.mouseClick(gui.status_bar.sync_item, Qt.MouseButton.LeftButton)
    assert gui.window.current_page == "sync"


def test_status_bar_words():
    from counter_client.services.sync_desk import QueueSummary
    from counter_client.ui.status_bar import sync_text

    now = time.time()
    assert sync_text(None, (2, 10), False) == ("同步中 3/10", "busy")
    assert sync_text(None, (0, 0), False)[0] == "同步中…"
    assert sync_text(QueueSummary({"queued": 2}, now - 330, now), None, True) == ("需要登录", "error")
    assert sync_text(QueueSummary({"queued": 2}, now - 330, now), None, False) == ("待上传 2 件 · 最早 5 分钟",
                                                                                   "warning")
    assert sync_text(QueueSummary({"acked": 4}, None, now), None, False) == ("已全部送达", "done")
    assert sync_text(QueueSummary({}, None, now), None, False)[0] == "无待上传"


def test_the_notice_of_a_supplement_and_of_a_refusal(qtbot, gui):
    from offline_cache.statuses import Event

    notifier = gui.notifier
    assert notifier.tray is None  # offscreen
    wanted = "511324102042611250009X"
    notifier.notify([Event(1, wanted, "X-1", "补正", "2026-11-25T10:00:00Z", "请补正", ("居民户口簿", "授权委托书")),
                     Event(2, "5113241020426112500014", "X-1", "受理", "2026-11-25T10:00:00Z")])
    banner = notifier.banner
    assert banner.isVisibleTo(gui.window) and banner.property("kind") == "warning"
    assert banner.label.text() == ("办件 511324102-04-261125-0009-X 需要补正：居民户口簿、授权委托书。"
                                   "请通知申请人，收到后在办件详情中“收取补正材料”。")
    assert notifier.tray_messages[-1][0] == "办件需要补正"
    others = [Event(10 + n, f"51132410204261125{n:04d}4", "X-1", "不予受理", "2026-11-25T10:00:00Z",
                    "申请事项依法不属于本机关职权范围，请向有权机关申请。") for n in range(1, 5)]
    notifier.notify(others)
    text = banner.label.text()
    assert banner.property("kind") == "error" and text.startswith("办理地对 5 件办件有新的决定")
    assert text.splitlines()[1] == "· 511324102-04-261125-0009-X 需要补正：居民户口簿、授权委托书"  # 补正 first
    assert "另有 2 件" in text
    assert notifier.view_button.text() == "查看第一件"
    with qtbot.waitSignal(notifier.case_was_requested) as asked:
        qtbot.mouseClick(notifier.view_button, Qt.MouseButton.LeftButton)
    assert asked.args == [wanted]
    for event in others:
        notifier.seen(event.receipt_no)
    notifier.seen(wanted)
    assert not notifier.pending and not banner.isVisibleTo(gui.window)
