"""The window against a real reference platform on 127.0.0.1, started as a clerk starts it: the
sync worker asks for a login (the dialog), delivers on its own thread, a supervisor holds and
resumes an item, reconciliation against a platform restored from an old backup shows the gap in
red and resends, and a 补正 from the 办理地 is announced, shown in the case detail with exactly what
is needed, collected through the dialog and delivered to the platform."""

from __future__ import annotations

import json
import threading

import pytest
from PySide6.QtCore import QDate, Qt

from counter_client.domain import receipt
from counter_client.refplatform.simulation import outcome
from offline_cache.outbox import Outbox
from tests.gui.intake_helpers import png_file, show
from tests.gui.sync_helpers import collect, login_through_dialog, platform_case

pytest_plugins = ("tests.gui.intake_fixtures", "tests.gui.sync_fixtures")

pytestmark = [pytest.mark.gui, pytest.mark.integration]

ITEM = "PX0200000001-440300-01"
WAIT_MS = 20_000


@pytest.fixture
def start_gui(qtbot, make_gui, online_context):
    """The window on the online context, started as a clerk starts it (the 同步 page in front);
    shut down before the context closes, so the worker never outlives its store."""
    made = []

    def start():
        gui = make_gui(online_context, open_cases=False)
        made.append(gui)
        gui.window.show()
        qtbot.waitExposed(gui.window)
        gui.window.show_page("sync")
        gui.start()
        return gui

    yield start
    for gui in made:
        gui.shutdown()
        assert gui.sync_worker.thread.isFinished()


def outbox_of(ctx) -> Outbox:
    return Outbox(ctx.intake().cases.store, ctx.intake().cases.cipher)


def delivered(ctx, keys) -> bool:
    outbox = outbox_of(ctx)
    return all(outbox.item(k) is not None and outbox.item(k).state == "acked" for k in keys)


def off_the_gui_thread(ctx) -> None:
    main = threading.main_thread()
    assert ctx.threads and all(t is not main for _what, t in ctx.threads), ctx.threads


def test_login_when_asked_then_deliver_and_a_supervisor_holds(qtbot, start_gui, online_context, tmp_path):
    ctx = online_context
    first = [collect(ctx, tmp_path, name).receipt_no for name in ("张三", "李四")]
    gui = start_gui()
    page = gui.sync_page
    qtbot.waitUntil(lambda: page.login_dialog is not None, timeout=WAIT_MS)  # the engine said: log in
    qtbot.waitUntil(lambda: not gui.sync_worker.running, timeout=WAIT_MS)  # a coalesced second pass may follow
    assert gui.status_bar.sync_item.text() == "需要登录" and page.login_banner.isVisible()
    assert gui.status_bar.sync_item.property("state") == "error"
    dialog = page.login_dialog
    dialog.account.setText("training-supervisor")
    dialog.password.setText("wrong-password")
    dialog.login_button.click()
    assert dialog.isVisible() and dialog.message.kind == "error" and dialog.password.text() == ""
    profile = login_through_dialog(qtbot, gui, "training-supervisor")
    assert profile.supervisor and page.login_dialog is None
    qtbot.waitUntil(lambda: delivered(ctx, first), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: gui.status_bar.sync_item.text() == "已全部送达", timeout=WAIT_MS)
    off_the_gui_thread(ctx)
    assert {platform_case(ctx, r)["receipt_no"] for r in first} == set(first)
    assert "已登录：培训审核员（值班主管）" == page.account.text() and page.logout_button.isVisible()
    assert page.delivered_title.text() == "今天已送达 2 件" and not page.login_banner.isVisible()

    gui.sync_worker.set_ready(False)  # hold the worker back while the supervisor decides
    third = collect(ctx, tmp_path, "王五").receipt_no
    page.reload()
    assert page.select_key(third)
    assert page.hold_button.isVisible() and page.hold_button.isEnabled() and page.hold_button.text() == "暂停"
    qtbot.mouseClick(page.hold_button, Qt.MouseButton.LeftButton)
    assert outbox_of(ctx).item(third).state == "held"
    assert page.select_key(third) and page.hold_button.text() == "恢复"
    assert page.model.data(page.model.index(page.model.row_of(outbox_of(ctx).item(third).id), 2)) == "暂停"
    qtbot.mouseClick(page.hold_button, Qt.MouseButton.LeftButton)
    assert outbox_of(ctx).item(third).state == "queued"
    gui.sync_worker.set_ready(True)
    qtbot.waitUntil(lambda: delivered(ctx, [third]), timeout=WAIT_MS)
    off_the_gui_thread(ctx)


def test_a_reconciliation_gap_is_loud_and_resend_requeues(qtbot, start_gui, online_context, tmp_path, platform):
    ctx = online_context
    receipts = [collect(ctx, tmp_path, name).receipt_no for name in ("张三", "李四")]
    gui = start_gui()
    page = gui.sync_page
    qtbot.waitUntil(lambda: page.login_dialog is not None, timeout=WAIT_MS)
    login_through_dialog(qtbot, gui, "training-clerk")
    qtbot.waitUntil(lambda: delivered(ctx, receipts), timeout=WAIT_MS)
    day = receipt.parse(receipts[0]).day  # the receipts' day (not "today": the test may run at midnight)
    page.day.setDate(QDate(day.year, day.month, day.day))
    qtbot.mouseClick(page.reconcile_button, Qt.MouseButton.LeftButton)
    assert page.reconcile_result.kind == "ok" and "全部一致" in page.reconcile_result.text()
    assert not page.gaps.isVisible()
    assert page.hold_button.isHidden()  # a clerk, not in training: no hold button at all

    # the platform is restored from an older backup: a fresh one knows none of today's cases
    restored = platform.another()
    ctx.connection.set_url(restored.url)
    ctx.server = restored
    gui.sync_worker.reset_engine()
    gui.sync_worker.set_ready(False)
    page.reload()
    login_through_dialog(qtbot, gui, "training-clerk")
    qtbot.mouseClick(page.reconcile_button, Qt.MouseButton.LeftButton)
    assert page.reconcile_result.kind == "error" and page.gaps.isVisible()
    assert page.gaps_title.text() == "！发现 2 处不一致"
    for r in receipts:
        assert receipt.format_grouped(r) in page.gaps_text.text()
    assert "平台没有这件办件" in page.gaps_text.text() and page.resend_button.isVisible()
    with qtbot.waitSignal(page.sync_now_was_requested, timeout=5000):
        qtbot.mouseClick(page.resend_button, Qt.MouseButton.LeftButton)
    outbox = outbox_of(ctx)
    assert [outbox.item(r).state for r in receipts] == ["queued", "queued"]
    assert "对账发现平台缺少此办件" in outbox.item(receipts[0]).last_error
    assert set(states_shown(page)) == {"待上传"} and "已重新排队 2 件" in page.gaps_title.text()
    gui.sync_worker.set_ready(True)
    qtbot.waitUntil(lambda: delivered(ctx, receipts), timeout=WAIT_MS)
    assert {platform_case(ctx, r)["payload_hash"] for r in receipts} == {outbox.item(r).payload_hash for r in receipts}
    qtbot.mouseClick(page.reconcile_button, Qt.MouseButton.LeftButton)
    assert "全部一致" in page.reconcile_result.text() and not page.gaps.isVisible()
    off_the_gui_thread(ctx)


def states_shown(page) -> list[str]:
    return [page.model.data(page.model.index(n, 2)) for n in range(page.model.rowCount())]


def collect_until(ctx, tmp_path, wanted: set[str], limit: int = 60) -> dict[str, str]:
    """Collect cases until the simulated 办理地 will answer each status in ``wanted`` for one of them."""
    found: dict[str, str] = {}
    for n in range(limit):
        case = collect(ctx, tmp_path, f"申请人{n}")
        first = outcome(case.receipt_no, ITEM)
        if first in wanted and first not in found:
            found[first] = case.receipt_no
        if set(found) == wanted:
            return found
    pytest.fail(f"no case with {wanted - set(found)} among {limit}")


def test_a_supplement_is_announced_shown_collected_and_delivered(qtbot, start_gui, online_context, tmp_path):
    ctx = online_context
    chosen = collect_until(ctx, tmp_path, {"补正", "不予受理"})
    wanted, refused = chosen["补正"], chosen["不予受理"]
    gui = start_gui()
    qtbot.waitUntil(lambda: gui.sync_page.login_dialog is not None, timeout=WAIT_MS)
    login_through_dialog(qtbot, gui, "training-clerk")
    qtbot.waitUntil(lambda: delivered(ctx, [wanted, refused]) and not gui.sync_worker.running, timeout=WAIT_MS)

    done = ctx.server.cli("simulate", "--steps", "1")  # the 办理地 looks at today's cases
    assert done.returncode == 0, done.stderr
    with qtbot.waitSignal(gui.sync_worker.statuses_did_change, timeout=WAIT_MS) as news:
        gui.sync_now()
    assert {e.receipt_no for e in news.args[0]} >= {wanted, refused}
    notifier = gui.notifier
    assert notifier.tray is None  # offscreen: no system tray, so the banner in the window it is
    banner = notifier.banner
    assert banner.isVisible() and banner.property("kind") == "error"  # a 不予受理 among them: red
    needed = next(e for e in news.args[0] if e.receipt_no == wanted).needed
    assert {wanted, refused} <= set(notifier.pending)
    assert f"办理地对 {len(notifier.pending)} 件办件有新的决定" in banner.label.text()
    assert all(name in notifier.pending[wanted][1] for name in needed)

    # the case list: delivered, and what the 办理地 said
    cases = gui.cases_page
    show(qtbot, gui, "cases")
    cases.today.setChecked(False)
    cases.refresh()
    row = cases.model.row_of(ctx.intake().find_receipt(wanted).id)
    assert cases.model.data(cases.model.index(row, 4)) == "已送达"
    assert cases.model.data(cases.model.index(row, 5)) == "补正"

    # 查看第一件 on the banner opens that case; it is seen and leaves the banner
    assert f"· {receipt.format_grouped(wanted)} 需要补正" in banner.label.text().splitlines()[1]  # 补正 first
    qtbot.mouseClick(notifier.view_button, Qt.MouseButton.LeftButton)
    detail = cases.detail
    assert gui.window.current_page == "cases" and detail.data.case.receipt_no == wanted
    assert wanted not in notifier.pending
    assert all(e.receipt_no != wanted for e in gui.sync_desk.needing_clerk())
    assert detail.supplement_box.isVisible() and not detail.refusal_box.isVisible()
    text = detail.supplement_text.text()
    assert "须补正的材料" in text and all(f"· {name}" in text for name in needed)
    assert "办理地意见：申请材料不齐全" in text
    body = detail.body.text()
    assert "办理进度" in body and "补正" in body and "已送达平台" in body
    assert wanted not in notifier.pending

    # 收取补正材料: one page per material, confirmed, queued, delivered
    qtbot.mouseClick(detail.supplement_button, Qt.MouseButton.LeftButton)
    dialog = cases.supplement_dialog
    assert dialog.isVisible() and list(dialog.rows) == list(needed)
    qtbot.mouseClick(dialog.confirm_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and dialog.message.kind == "error" and "还缺" in dialog.message.text()
    for n, name in enumerate(needed):
        dialog.import_files(name, [str(png_file(tmp_path / f"supplement-{n}.png", f"supplement {n}"))])
        assert dialog.rows[name].strip.scans and dialog.rows[name].pages.value() == 1
    with qtbot.waitSignal(cases.supplement_did_queue, timeout=10_000) as queued:
        qtbot.mouseClick(dialog.confirm_button, Qt.MouseButton.LeftButton)
    supplement = queued.args[0]
    assert not dialog.isVisible() and [m.name for m in supplement.materials] == list(needed)
    assert outbox_of(ctx).item(supplement.id).kind == "supplement"
    qtbot.waitUntil(lambda: delivered(ctx, [supplement.id]), timeout=WAIT_MS)  # the worker was woken
    held = platform_case(ctx, wanted)
    [there] = [s for s in held["supplements"] if s["supplement_id"] == supplement.id]
    local = {sha for m in supplement.materials for sha in m.scans}
    assert {a["verified_sha256"] for a in there["attachments"]} == local
    qtbot.waitUntil(lambda: "补正材料已送达平台" in detail.body.text(), timeout=WAIT_MS)
    assert "收取补正材料" in detail.body.text()

    # 不予受理: prominent, with the reason
    gui.find_receipt(refused)
    qtbot.waitUntil(lambda: detail.data is not None and detail.data.case.receipt_no == refused, timeout=5000)
    assert detail.refusal_box.isVisible() and not detail.supplement_box.isVisible()
    reason = next(e for e in news.args[0] if e.receipt_no == refused).reason
    assert reason and reason in detail.refusal_text.text()
    assert refused not in notifier.pending
    off_the_gui_thread(ctx)


def test_the_pool_is_refilled_from_the_platform(qtbot, start_gui, online_context):
    """Refilling as the clerk does it: the first pass after login fills an empty pool by itself, and
    领取邮件号 on the 寄递 page asks for one more block (off the GUI thread); the status bar follows."""
    ctx = online_context
    gui = start_gui()
    qtbot.waitUntil(lambda: gui.sync_page.login_dialog is not None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not gui.sync_worker.running, timeout=WAIT_MS)
    login_through_dialog(qtbot, gui, "training-clerk")
    qtbot.waitUntil(lambda: ctx.mail().pool_status().free == 50, timeout=WAIT_MS)  # the pass refilled
    qtbot.waitUntil(lambda: gui.status_bar.pool_item.text() == "邮件号 50", timeout=WAIT_MS)
    gui.window.show_page("parcels")
    page = gui.mail_page
    page.refill_button.click()
    qtbot.waitUntil(lambda: gui.status_bar.pool_item.text() == "邮件号 100", timeout=WAIT_MS)
    assert page.refill_button.isEnabled() and page.summary.kind != "error"
    done = ctx.server.cli("parcels", "--json")
    assert done.returncode == 0, done.stderr
    [pool] = json.loads(done.stdout)["pools"]
    assert (pool["terminal"], pool["allocated"], pool["used"]) == (4, 100, 0)
