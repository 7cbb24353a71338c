"""Mail below the GUI, on real SQLite files: the waybill pool (only checked numbers from the
platform, an allocation asked again under the same id), parcels grouped by 办理地 department
(a 多地联办 case in two parcels, shared materials flagged), one transaction per parcel (an empty
pool or a refused case writes nothing), tracking numbers on the case timeline, result legs from
the status feed, and the printed waybill and manifest of a parcel."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import pytest

from counter_client.documents.samples import receipt_number
from counter_client.domain.waybill import s10_check_digit
from counter_client.errors import UserError
from counter_client.services.mail import MailPolicy, MailService
from offline_cache.cases import open_store
from offline_cache.mail import MailStore, ParcelRefused, PoolEmpty
from offline_cache.statuses import Event, Statuses
from offline_cache.outbox import Outbox
from offline_cache.statuses import Event, Statuses
from tests.unit.test_intake import intake, ready  # noqa: F401  (the fixture)


def s10(serial: int, service: str = "EM") -> str:
    digits = f"{serial:08d}"
    return f"{service}{digits}{s10_check_digit(digits)}CN"


def collected(intake, *codes):  # noqa: F811
    case = intake.new_case("多地联办" if len(codes) > 1 else "异地代收代办")
    for code in codes:
        case = intake.add_item(case, code)
    return intake.confirm(ready(intake, case))


@pytest.fixture
def mail(intake):  # noqa: F811
    return MailService(intake.cases, intake.catalogue, "王窗口", MailPolicy(low_water=2, refill=5))


def fill(mail, *numbers, request="req-1"):
    return mail.store.add_numbers(request, list(numbers), "2026-09-28T02:00:00.000Z")


def table_counts(mail) -> dict[str, int]:
    db = mail.store.store.db
    return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("parcel", "parcel_case", "mail_leg", "outbox", "case_event")}


def test_migration_is_m006_after_statuses(tmp_path):
    store = open_store(tmp_path / "cases.sqlite3")
    assert store.schema_version()[-3:] == ["m005_statuses", "m006_mail", "m007_print_log"]
    store.close()


def test_pool_keeps_only_checked_numbers_and_reports_low(mail):
    bad_check = s10(2)[:10] + str((int(s10(2)[10]) + 1) % 10) + "CN"
    added, refused = fill(mail, s10(1), s10(2), "1100000000007", bad_check, "EM123", s10(1))
    assert added == 3 and refused == [bad_check, "EM123"]
    assert sorted(n for n, *_ in mail.store.numbers("free")) == sorted([s10(1), s10(2), "1100000000007"])
    status = mail.pool_status()
    assert (status.free, status.used, status.low, status.empty) == (3, 0, False, False)
    assert status.warning == ""


def test_pool_request_is_reused_until_answered(mail):
    first = mail.store.pool_request(5, "s10")
    assert mail.store.pool_request(50, "domestic") == first  # the unanswered request, same id and size
    assert mail.pool_status().pending_request == first[0]
    mail.store.add_numbers(first[0], [s10(7)], "2026-09-28T02:00:00.000Z")
    assert mail.pool_status().pending_request is None
    second = mail.store.pool_request(5, "s10")
    assert second[0] != first[0]


def test_parcels_group_by_department_and_flag_shared_materials(intake, mail):  # noqa: F811
    both = collected(intake, "SB-440305", "YL-500103")  # 深圳 D440305-RS + 重庆 D500103-RS
    one = collected(intake, "SB-440305")
    groups = mail.group([both.receipt_no, one.receipt_no])
    assert set(groups) == {"D440305-RS", "D500103-RS"}
    assert [c.receipt_no for c in groups["D440305-RS"]] == [both.receipt_no, one.receipt_no]
    [chongqing] = groups["D500103-RS"]
    assert chongqing.items == ("YL-500103",)
    names = {m.name: m for m in chongqing.materials}
    assert names["申请人居民身份证"].shared  # needed by both items: a copy goes in each parcel
    assert "社会保障卡申领登记表" not in names  # the 深圳 item's form does not travel to 重庆


def test_create_parcel_takes_one_number_in_one_transaction(intake, mail):  # noqa: F811
    both = collected(intake, "SB-440305", "YL-500103")
    fill(mail, s10(2), s10(1))
    before = table_counts(mail)
    made = mail.create_parcel("D500103-RS", [both.receipt_no])
    parcel = made.parcel
    assert parcel.waybill_no == s10(1)  # oldest, then lowest
    assert parcel.department_name == "重庆市渝中区人力社保局"
    assert any("另备一份" in w for w in made.warnings)
    assert any("即将用完" in w for w in made.warnings)  # 1 left, low water 2
    after = table_counts(mail)
    assert {k: after[k] - before[k] for k in after} == {"parcel": 1, "parcel_case": 1, "mail_leg": 1, "outbox": 1,
                                                         "case_event": 1}
    assert dict((n, (s, p)) for n, s, _a, p in mail.store.numbers()) == {s10(1): ("used", parcel.id),
                                                                         s10(2): ("free", None)}
    [leg] = mail.legs(both.receipt_no)
    assert (leg.kind, leg.tracking_no, leg.parcel_id) == ("materials", s10(1), parcel.id)
    event = intake.events(both.id)[-1]
    assert event.action == "材料装包寄出" and event.detail["tracking_no"] == s10(1)
    assert Outbox(intake.cases.store).item(parcel.id).kind == "parcel"
    # the same case to the same department again is refused; nothing consumed
    with pytest.raises(ParcelRefused) as info:
        mail.create_parcel("D500103-RS", [both.receipt_no])
    assert parcel.id in info.value.message
    assert mail.pool_status().free == 1 and table_counts(mail) == after
    # the other department of the same case is a parcel of its own
    other = mail.create_parcel("D440305-RS", [both.receipt_no]).parcel
    assert other.waybill_no == s10(2) and [leg.tracking_no for leg in mail.legs(both.receipt_no)] == [s10(1), s10(2)]


def test_empty_pool_is_a_clear_message_and_nothing_is_written(intake, mail):  # noqa: F811
    case = collected(intake, "SB-440305")
    before = table_counts(mail)
    with pytest.raises(PoolEmpty) as info:
        mail.create_parcel("D440305-RS", [case.receipt_no])
    assert "邮件号已用完" in info.value.message and "pool --refill" in info.value.message
    assert table_counts(mail) == before
    assert mail.pool_status().warning.startswith("邮件号已用完")


@pytest.mark.parametrize("codes, department, expected", [
    (("SB-440305",), "D500103-RS", "没有由部门 D500103-RS 办理的事项"),
    (None, "D440305-RS", "没有收件编号为"),
    ((), "D440305-RS", "有误"),
])
def test_refused_cases_consume_nothing(intake, mail, codes, department, expected):  # noqa: F811
    receipt = {None: receipt_number(99), (): "5113241020326092800019"}.get(codes) or collected(intake, *codes).receipt_no
    fill(mail, s10(1))
    with pytest.raises(UserError) as info:
        mail.create_parcel(department, [receipt])
    assert expected in info.value.message
    assert mail.pool_status().free == 1


def test_void_case_cannot_be_packed(intake, mail):  # noqa: F811
    case = collected(intake, "SB-440305")
    intake.void(case.id, "申请人撤回")
    fill(mail, s10(1))
    with pytest.raises(ParcelRefused) as info:
        mail.create_parcel("D440305-RS", [case.receipt_no])
    assert "已作废" in info.value.message and mail.pool_status().free == 1


def test_a_number_is_never_taken_twice_by_two_connections(intake, mail, tmp_path):  # noqa: F811
    first = collected(intake, "SB-440305")
    second = collected(intake, "SB-440305", "YL-500103")
    fill(mail, s10(1))
    other = MailStore(open_store(intake.cases.store.path))  # another connection to the same file
    lines = mail.parcel_lines(second, "D440305-RS")
    mail.create_parcel("D440305-RS", [first.receipt_no])
    with pytest.raises(PoolEmpty):
        other.create_parcel("D440305-RS", "深圳", [lines], "王窗口")
    used = mail.store.store.db.execute("SELECT count(*) FROM parcel").fetchone()[0]
    assert used == 1
    with pytest.raises(sqlite3.IntegrityError):  # the schema itself refuses a second parcel on a number
        with mail.store.store.write() as db:
            db.execute("INSERT INTO parcel (id, department_code, department_name, waybill_no, created_at, clerk)"
                       " VALUES ('P-X', 'D', 'D', ?, '', '')", [s10(1)])
    other.store.close()


def test_result_legs_come_from_the_status_feed_once(intake, mail):  # noqa: F811
    case = collected(intake, "SB-440305")
    statuses = Statuses(intake.cases.store)
    statuses.apply([Event(1, case.receipt_no, "SB-440305", "受理", "2026-09-29T01:00:00Z"),
                    Event(2, case.receipt_no, "SB-440305", "办结", "2026-09-30T01:00:00Z"),
                    Event(3, case.receipt_no, "SB-440305", "结果已寄出", "2026-09-30T02:00:00Z",
                          tracking_no="EA123456785CN")], 3)
    assert mail.record_result_legs() == 1
    assert mail.record_result_legs() == 0
    [leg] = mail.legs(case.receipt_no)
    assert (leg.kind, leg.tracking_no, leg.source, leg.label) == ("result", "EA123456785CN", "platform", "办理结果寄回")
    assert intake.events(case.id)[-1].action == "办理结果已寄出"


def test_mail_result_needs_an_address(intake, mail):  # noqa: F811
    case = collected(intake, "SB-440305")
    with pytest.raises(UserError) as info:
        mail.mail_result(case.receipt_no, "SB-440305")
    assert "没有登记邮寄地址" in info.value.message


def test_this_hall_mails_a_result_on_under_a_pool_number(intake, mail, tmp_path):  # noqa: F811
    from counter_client.domain.case import Delivery
    from counter_client.services.printouts import MailDocuments
    from counter_client.services.printing import CopyMarks
    from counter_client.settings import Settings
    from tests.unit.test_documents import decode, flat, text_of

    case = intake.new_case()
    case = intake.add_item(case, "SB-440305")
    case = ready(intake, case)
    case.delivery = Delivery(method="邮寄", address="四川省仪陇县马鞍镇人民路1号", recipient="张三", phone="13800138000")
    case = intake.confirm(case)
    fill(mail, s10(1), s10(2))
    with pytest.raises(UserError) as early:  # the 办理地 has not finished: nothing to mail yet
        mail.mail_result(case.receipt_no, "SB-440305")
    assert "尚未办结" in early.value.message and mail.pool_status().free == 2
    Statuses(intake.cases.store).apply([Event(1, case.receipt_no, "SB-440305", "办结", "2026-11-26T01:00:00Z")], 1)
    leg = mail.mail_result(case.receipt_no, "SB-440305")
    assert (leg.kind, leg.tracking_no, leg.source) == ("result", s10(1), "pool")
    with pytest.raises(UserError):  # once only
        mail.mail_result(case.receipt_no, "SB-440305")
    assert mail.pool_status().free == 1
    assert intake.events(case.id)[-1].action == "办理结果寄给申请人"

    settings = Settings(tmp_path / "settings.json", {"hall.name": "马鞍镇便民服务中心", "mail.customer_no": "5113240001"})
    documents = MailDocuments(mail, intake.catalogue, settings)
    request = documents.waybill_request(leg.tracking_no, "100x180")
    assert (request.kind, request.key, request.page_mm, request.case_id) == ("waybill", s10(1), (100, 180), case.id)
    label = request.render(CopyMarks(False, "", datetime.now().astimezone()))
    assert ("Code128", s10(1)) in decode(label)
    text = flat(text_of(label))
    assert "马鞍镇便民服务中心" in text and "5113240001" in text and "138****8000" in text and "13800138000" not in text
    with pytest.raises(UserError) as info:
        documents.waybill_request(s10(2))
    assert "尚未使用" in info.value.message
