"""``counter-client pool|parcel|print`` as a clerk's script runs them, each command its own
process, against a reference platform with a real account: an empty pool refused with nothing
consumed, a refill, a parcel with a number of the pool, the parcel delivered once by sync after
its case, the pool refilled by the sync pass, and the PDFs read back (barcodes decoded)."""

from __future__ import annotations

import json

import pytest

from counter_client.documents.fields import grouped_receipt
from counter_client.domain.waybill import parse as parse_tracking
from tests.integration.test_sync_cli import PASSWORD, cli, import_case  # noqa: F401  (the fixture)
from tests.unit.test_documents import decode, flat, text_of

pytestmark = pytest.mark.integration


def ok(done) -> dict | list:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_pool_parcel_sync_and_printouts(cli, tmp_path):  # noqa: F811
    receipt = import_case(cli, tmp_path)
    case = ok(cli("case", "show", receipt, "--json"))
    [item] = case["items"]
    department = item["department_code"]
    guide = ok(cli("catalogue", "show", item["code"], "--json"))
    assert guide["department_code"] == department and guide["department"]["code"] == department

    # no numbers yet: a clear message, nothing consumed or written
    empty = cli("parcel", "new", "--to", department, "--cases", receipt, "--json")
    assert empty.returncode == 1 and "邮件号已用完" in json.loads(empty.stdout)["error"]
    assert ok(cli("parcel", "list", "--json")) == []
    pool = ok(cli("pool", "--json"))
    assert (pool["free"], pool["empty"], pool["low"]) == (0, True, True) and pool["warning"]

    for key, value in (("mail.pool_refill", "5"), ("hall.name", "仪陇县马鞍镇便民服务中心"),
                       ("mail.customer_no", "51132410200088"), ("hall.phone", "0817-4321234")):
        assert cli("settings", "set", key, value).returncode == 0
    assert cli("login", "li.shoujian", "--password-stdin", stdin=PASSWORD + "\n").returncode == 0
    refilled = ok(cli("pool", "--refill", "--json"))
    assert (refilled["added"], refilled["free"]) == (5, 5)

    made = ok(cli("parcel", "new", "--to", department, "--cases", receipt, "--json"))
    waybill, parcel_id = made["waybill_no"], made["parcel_id"]
    assert parse_tracking(waybill).kind == "s10" and parcel_id.startswith("P-")
    again = cli("parcel", "new", "--to", department, "--cases", receipt)
    assert again.returncode == 1 and parcel_id in again.stderr
    assert ok(cli("pool", "--json"))["free"] == 4
    [listed] = ok(cli("parcel", "list", "--json"))
    assert (listed["parcel_id"], listed["waybill_no"], [c["receipt_no"] for c in listed["cases"]]) == (
        parcel_id, waybill, [receipt])
    assert {m["name"] for m in listed["cases"][0]["materials"]} == {"申请人居民身份证", "社会保障卡申领登记表"}
    timeline = ok(cli("case", "show", receipt, "--json"))["events"]
    assert timeline[-1]["action"] == "材料装包寄出" and timeline[-1]["detail"]["tracking_no"] == waybill

    synced = ok(cli("sync", "--json"))
    assert (synced["delivered"], synced["remaining"], synced["pool_added"]) == (2, 0, 5)  # 4 free <= 20: refill
    queue = ok(cli("queue", "--all", "--json"))
    assert sorted((i["kind"], i["state"]) for i in queue["items"]) == [("case", "acked"), ("parcel", "acked")]
    assert ok(cli("sync", "--json"))["delivered"] == 0  # delivered once
    held = json.loads(cli.server.cli("parcels", "--json").stdout)
    [parcel] = held["parcels"]
    assert (parcel["parcel_id"], parcel["waybill_no"], parcel["cases"][0]["receipt_no"]) == (parcel_id, waybill, receipt)

    out = tmp_path / "out"
    label = out / "waybill.pdf"
    done = cli("print", "waybill", waybill, "--out", str(label), "--size", "76x130")
    assert done.returncode == 0, done.stderr
    data = label.read_bytes()
    assert ("Code128", waybill) in decode(data)
    text = flat(text_of(data))
    assert grouped_receipt(receipt) in text and "马鞍镇便民服务中心" in text and "51132410200088" in text
    manifest = out / "manifest.pdf"
    assert cli("print", "manifest", parcel_id, "--out", str(manifest)).returncode == 0
    text = flat(text_of(manifest.read_bytes()))
    assert "材料交接单" in text and parcel_id in text and "社会保障卡申领登记表" in text
    slip = out / "receipt.pdf"
    assert cli("print", "receipt", receipt, "--out", str(slip)).returncode == 0
    assert ("Code128", receipt) in decode(slip.read_bytes())
    again = cli("print", "receipt", receipt, "--out", str(slip))  # a second issue needs a reason
    assert again.returncode == 1 and "补打原因" in again.stderr, again.stderr
    assert "副本" not in flat(text_of(slip.read_bytes()))  # the original was left as it was
    again = cli("print", "receipt", receipt, "--out", str(slip), "--reason", "other", "--reason-text", "申请人要求")
    assert again.returncode == 0 and "第 2 份" in again.stdout, again.stderr
    assert "副本" in flat(text_of(slip.read_bytes()))  # a reprint is marked
    assert sorted(p.name for p in out.iterdir()) == ["manifest.pdf", "receipt.pdf", "waybill.pdf"]  # no temp files

    # the result comes back to this hall and is mailed on to the applicant: a leg of its own
    early = cli("parcel", "result", receipt, "--json")
    assert early.returncode == 1 and "尚未办结" in early.stderr  # not before the 办理地 has finished
    moved = cli.server.cli("simulate", "--receipt", receipt, "--item", item["code"], "--to", "办结")
    assert moved.returncode == 0, moved.stderr
    assert ok(cli("sync", "--json"))["statuses"] == 2
    leg = ok(cli("parcel", "result", receipt, "--json"))
    assert leg["receipt_no"] == receipt and parse_tracking(leg["tracking_no"]).text == leg["tracking_no"]
    result_label = out / "result.pdf"
    assert cli("print", "waybill", leg["tracking_no"], "--out", str(result_label)).returncode == 0
    assert ("Code128", leg["tracking_no"]) in decode(result_label.read_bytes())
    assert "138****8000" in flat(text_of(result_label.read_bytes()))  # to the applicant, phone masked
    assert ok(cli("sync", "--json"))["delivered"] == 1
    assert [x["tracking_no"] for x in json.loads(cli.server.cli("parcels", "--json").stdout)["legs"]] == [
        leg["tracking_no"]]


@pytest.mark.parametrize("args, message", [
    (("print", "waybill", "EA123456784CN"), "校验位不符"),
    (("print", "waybill", "EA123456785CN"), "本机没有使用邮件号"),
    (("print", "manifest", "P-20260101-NOPE"), "没有编号为 P-20260101-NOPE 的包裹"),
    (("print", "receipt", "511324102052611250001"), "有误"),
    (("parcel", "new", "--to", "X", "--cases", ""), "至少指定一个收件编号"),
])
def test_unknown_numbers_are_clear_messages(cli, tmp_path, args, message):  # noqa: F811
    target = tmp_path / "x.pdf"
    done = cli(*args, *(("--out", str(target)) if args[0] == "print" else ()))
    assert done.returncode == 1 and message in done.stderr, done.stderr
    assert not target.exists()
