"""Parcels and the waybill pool through the real sync engine and the real reference platform: a
parcel waits for its cases, goes exactly once, a lost answer is settled by asking, the pool is
refilled under one request id however often the answer is lost, and a result mailed back by the
办理地 becomes a result leg on the case."""

from __future__ import annotations

import json

import pytest

from counter_client.errors import NetworkUnavailable
from counter_client.platform_api.delivery import DeliveryClient
from counter_client.services.mail_sync import CASE_HELD, CASE_REJECTED
from offline_cache.outbox import Outbox
from tests.integration.test_sync import collect, log_in, make_context  # noqa: F401  (the fixture)

pytestmark = pytest.mark.integration


class LostPutAnswer(DeliveryClient):
    """The platform stores what is PUT under ``lost_prefix``, then the answer is lost."""

    lost_prefix = ""

    def _put(self, path, body, model, what):
        put = super()._put(path, body, model, what)
        if path.startswith(self.lost_prefix):
            raise NetworkUnavailable("网络中断", f"injected: answer lost after the platform stored {path}")
        return put


class LostParcelAnswer(LostPutAnswer):
    lost_prefix = "/parcels/"


class LostLegAnswer(LostPutAnswer):
    lost_prefix = "/mail/legs/"


class LostPoolAnswer(DeliveryClient):
    """The platform allocates the block, then the answer is lost."""

    def _raw(self, method, path, **kwargs):
        answer = super()._raw(method, path, **kwargs)
        if path == "/mail/pool":
            raise NetworkUnavailable("网络中断", "injected: answer lost after the platform allocated")
        return answer


def platform_parcels(server) -> dict:
    done = server.cli("parcels", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def due_now(ctx) -> None:
    with ctx.intake().cases.store.write() as db:
        db.execute("UPDATE outbox SET next_attempt_at = 0")


def refill(ctx) -> int:
    client = ctx.connection.delivery_client()
    try:
        ctx.login_service().authorise(client)
        return ctx.mail().refill(client, force=True)
    finally:
        client.close()


def one_case_in_a_parcel(platform_server, make_context, tmp_path):
    """A logged-in client with a full pool and one collected case packed in a parcel (not yet synced)."""
    server = platform_server()
    ctx = make_context(server.url)
    [receipt] = collect(ctx, tmp_path, pages=1)
    log_in(ctx)
    assert refill(ctx) == 50
    department = ctx.intake().find_receipt(receipt).items[0].department_code
    return server, ctx, receipt, ctx.mail().create_parcel(department, [receipt]).parcel


def test_parcel_waits_for_its_case_then_goes_once(platform_server, make_context, tmp_path):
    server, ctx, receipt, parcel = one_case_in_a_parcel(platform_server, make_context, tmp_path)
    outbox = Outbox(ctx.intake().cases.store)
    outbox.hold(outbox.item(receipt).id, "审核员")  # the case is put aside: the parcel must not go

    first = ctx.sync_engine().run_once()
    waiting = outbox.item(parcel.id)
    assert (waiting.state, waiting.last_error, first.delivered) == ("retry_wait", CASE_HELD.format(receipt=receipt), 0)
    assert platform_parcels(server)["parcels"] == []

    outbox.retry_now(outbox.item(receipt).id)
    due_now(ctx)
    second = ctx.sync_engine().run_once()
    assert second.delivered == 2 and outbox.item(parcel.id).state == "acked"
    assert ctx.sync_engine().run_once().delivered == 0
    [held] = platform_parcels(server)["parcels"]
    assert (held["parcel_id"], held["waybill_no"], held["terminal"]) == (parcel.id, parcel.waybill_no, 3)
    assert held["payload_hash"] == outbox.item(parcel.id).payload_hash


def test_a_parcel_whose_case_is_rejected_is_refused_loudly_not_kept_waiting(platform_server, make_context, tmp_path):
    server, ctx, receipt, parcel = one_case_in_a_parcel(platform_server, make_context, tmp_path)
    outbox = Outbox(ctx.intake().cases.store)
    outbox.mark_rejected(outbox.item(receipt).id, "平台退回", "test: the platform refused the case for good")
    report = ctx.sync_engine().run_once()
    refused = outbox.item(parcel.id)
    assert (refused.state, refused.last_error, report.rejected) == ("rejected", CASE_REJECTED.format(receipt=receipt), 1)
    assert platform_parcels(server)["parcels"] == []


def test_lost_answers_are_settled_by_asking(platform_server, make_context, tmp_path):
    server = platform_server()
    ctx = make_context(server.url)
    [receipt] = collect(ctx, tmp_path, pages=1)
    log_in(ctx)
    ctx.settings.set("mail.pool_refill", 7)
    assert refill(ctx) == 7
    mail = ctx.mail()
    department = ctx.intake().find_receipt(receipt).items[0].department_code
    parcel = mail.create_parcel(department, [receipt]).parcel

    engine = ctx.sync_engine()
    engine.make_client = lambda: ctx.connection._make(LostParcelAnswer)
    first = engine.run_once()
    outbox = Outbox(ctx.intake().cases.store)
    assert first.in_doubt == 1 and outbox.item(parcel.id).state == "in_doubt"
    assert first.pool_added == 0  # the pass stopped at the lost answer: no refill

    due_now(ctx)
    engine = ctx.sync_engine()
    engine.make_client = lambda: ctx.connection._make(LostPoolAnswer)
    second = engine.run_once()
    assert (second.delivered, second.confirmed, second.pool_added) == (1, 1, 0)  # asked, not resent
    pending = mail.pool_status().pending_request  # 6 free <= 20: a refill was asked, its answer lost
    assert pending is not None and mail.pool_status().free == 6

    third = ctx.sync_engine().run_once()
    assert third.pool_added == 7  # the same request id: the same block, kept once
    assert mail.pool_status().pending_request is None and mail.pool_status().free == 13
    pools = {p["terminal"]: p for p in platform_parcels(server)["pools"]}
    assert pools[3]["allocated"] == 14  # two blocks of 7, never a third for the lost answer
    assert len(platform_parcels(server)["parcels"]) == 1


def test_result_mailed_back_becomes_a_leg(platform_server, make_context, tmp_path):
    server = platform_server()
    ctx = make_context(server.url)
    receipts = collect(ctx, tmp_path, n=4, pages=1)
    log_in(ctx)
    assert ctx.sync_engine().run_once().delivered == 4
    assert server.cli("simulate", "--steps", "3").returncode == 0  # 受理 -> 办结 -> 结果已寄出 (mailed)
    ctx.sync_engine().run_once()
    mail = ctx.mail()
    legs = {r: mail.legs(r) for r in receipts}
    mailed = [r for r, found in legs.items() if found]
    if not mailed:
        pytest.skip("the simulated 办理地 accepted none of these cases in this run")
    [leg] = legs[mailed[0]]
    assert (leg.kind, leg.source) == ("result", "platform") and leg.tracking_no.startswith("EA")
    events = ctx.intake().events(ctx.intake().find_receipt(mailed[0]).id)
    assert events[-1].action == "办理结果已寄出" and events[-1].detail["tracking_no"] == leg.tracking_no
    ctx.sync_engine().run_once()
    assert mail.legs(mailed[0]) == [leg]  # recorded once


def test_a_result_this_hall_mails_on_reaches_the_platform_once(platform_server, make_context, tmp_path):
    """收件地代领 turned into mail: the number comes from the pool, the leg is queued with it, goes
    after its case, a lost answer is settled by asking, and no parcel can take the number after."""
    server = platform_server()
    ctx = make_context(server.url)
    [receipt] = collect(ctx, tmp_path, pages=1)
    log_in(ctx)
    assert refill(ctx) == 50
    mail = ctx.mail()
    item = ctx.intake().find_receipt(receipt).items[0].code
    assert ctx.sync_engine().run_once().delivered == 1  # the case reaches the 办理地
    moved = server.cli("simulate", "--receipt", receipt, "--item", item, "--to", "办结")
    assert moved.returncode == 0, moved.stderr
    assert ctx.sync_engine().run_once().statuses == 2  # 受理, 办结
    leg = mail.mail_result(receipt, item)
    outbox = Outbox(ctx.intake().cases.store)
    assert outbox.item(leg.tracking_no).kind == "leg" and mail.pool_status().free == 49

    engine = ctx.sync_engine()
    engine.make_client = lambda: ctx.connection._make(LostLegAnswer)
    first = engine.run_once()  # the leg goes; its answer is lost
    assert outbox.item(leg.tracking_no).state == "in_doubt", first

    due_now(ctx)
    second = ctx.sync_engine().run_once()
    assert (second.delivered, second.confirmed) == (1, 1)  # asked, not resent
    assert ctx.sync_engine().run_once().delivered == 0
    [held] = platform_parcels(server)["legs"]
    assert (held["tracking_no"], held["receipt_no"], held["item_code"], held["kind"]) == (
        leg.tracking_no, receipt, item, "result")
    assert held["payload_hash"] == outbox.item(leg.tracking_no).payload_hash
    pools = {p["terminal"]: p for p in platform_parcels(server)["pools"]}
    assert pools[3]["used"] == 1  # the number is spent on the platform too
