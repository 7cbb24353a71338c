"""Intake end to end below the GUI: drafts, collectability, the merged checklist, scans, the
一次性告知, confirmation with a receipt number and due dates, voiding, look-ups — on real SQLite
files, a real encrypted blob store and the in-memory test keyring."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from counter_client.domain import receipt
from counter_client.domain.case import Party
from counter_client.errors import UserError
from counter_client.services.catalogue import CatalogueService
from counter_client.services.intake import CaseRejected, IntakeService, NotCollectable, Terminal
from offline_cache.blobs import BlobStore
from offline_cache.cases import CaseFilter, CaseStore, installation_id
from offline_cache.cases import open_store as open_cases
from offline_cache.catalogue import open_catalogue
from offline_cache.crypto import Cipher
from offline_cache.keys import load_data_keys, new_installation_id
from tests import factories as f

TODAY = dt.date(2026, 9, 28)
ID_OK = "11010519491231002X"
HALL = Terminal(hall_code="511324102", terminal=3, clerk="王窗口", hall_region="511324")

MATS_A = [{"name": "申请人居民身份证", "type": 1, "source": 20},
          {"name": "社会保障卡申领登记表", "type": 1, "source": 10},
          {"name": "居民户口簿（未满十六周岁申请人提供）", "type": 1, "necessity": 2, "source": 20}]
MATS_B = [{"name": "申请人居民身份证", "type": 1, "source": 20},
          {"name": "参保缴费凭证", "type": 2, "copies": 1, "necessity": 3, "source": 20}]
GUIDES = [
    f.guide("SB-440305", "社会保障卡申领", materials=MATS_A, promised_limit={"value": 5, "unit": "工作日"}),
    f.guide("YL-500103", "养老保险关系转移接续", region="500103", national=True, materials=MATS_B,
            department="D500103-RS", department_name="重庆市渝中区人力社保局"),
    f.guide("CJ-440305", "残疾人证迁移", national=False, basic_code="PX0000000002"),
    f.guide("HJ-500103", "开具户籍类证明", region="500103", national=False, basic_code="PX0000000001",
            department="D500103-GA", department_name="重庆市公安局渝中区分局",
            materials=[{"name": "申请人居民身份证", "type": 1, "source": 20}]),
]


@pytest.fixture
def intake(tmp_path):
    catalogue = open_catalogue(tmp_path / "catalogue.sqlite3")
    f.load(catalogue, GUIDES, regions=f.regions(), agreements=[f.agreement()], departments=[f.department()])
    store = open_cases(tmp_path / "cases.sqlite3")
    cipher = Cipher(load_data_keys(installation_id(store, new_installation_id)))
    cases = CaseStore(store, cipher)
    service = IntakeService(cases, BlobStore(tmp_path / "scans", cipher, min_free_bytes=0),
                            CatalogueService(catalogue, "511324"), HALL,
                            now=lambda: dt.datetime(2026, 9, 28, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    yield service
    cases.close()
    catalogue.close()


def ready(intake, case):
    """Fill in what a valid two-item case needs."""
    case.applicant = Party(name="张三", id_number=ID_OK, phone="13800138000", address="四川省仪陇县马鞍镇")
    for m in case.materials:
        if m.necessity == 1:
            case = intake.set_material(case, m.key, form="原件核验", pages=1)
    return case


def test_collectability_national_agreement_and_refusal(intake):
    case = intake.new_case()
    case = intake.add_item(case, "SB-440305")  # national list
    case = intake.add_item(case, "HJ-500103")  # 川渝通办 covers 仪陇 (51) -> 重庆 (50)
    assert case.items[1].collectable_by == ["川渝通办"]
    with pytest.raises(NotCollectable) as info:
        intake.add_item(case, "CJ-440305")  # not national, no agreement 51 -> 44
    assert "不能收件" in info.value.message and "残疾人证迁移" in info.value.message
    with pytest.raises(UserError) as info:
        intake.add_item(case, "NO-SUCH-CODE")
    assert "没有编码为 NO-SUCH-CODE" in info.value.message


def test_checklist_asks_shared_materials_once(intake):
    case = intake.new_case()
    case = intake.add_item(intake.add_item(case, "SB-440305"), "YL-500103")
    assert case.mode == "多地联办"  # two 办理地
    names = [m.name for m in case.materials]
    assert names.count("申请人居民身份证") == 1
    shared = next(m for m in case.materials if m.name == "申请人居民身份证")
    assert shared.items == ["SB-440305", "YL-500103"]
    assert case.items[0].version == 1 and case.items[0].department == "深圳市南山区人力资源局"


def test_agent_requires_the_authorisation(intake):
    case = intake.add_item(intake.new_case(), "SB-440305")
    assert not any("授权委托书" in m.name for m in case.materials)
    case = intake.set_agent(case, Party(name="李四", id_number="110105194912310021", phone="13900139000"))
    auth = next(m for m in case.materials if "授权委托书" in m.name)
    assert auth.necessity == 1
    case.helper.mode = "代办"
    case.helper.name = "赵帮办"
    problems = {p.field: p.message for p in intake.problems(case)}
    assert any("授权委托书" in message for message in problems.values())
    assert "agent.id_number" in problems and "校验位" in problems["agent.id_number"]


def test_missing_materials_make_the_notice_and_block_confirmation(intake):
    case = intake.add_item(intake.new_case(), "SB-440305")
    case.applicant = Party(name="张三", id_number=ID_OK, phone="12345")
    with pytest.raises(CaseRejected) as info:
        intake.confirm(case)
    fields = {p.field for p in info.value.problems}
    assert "applicant.phone" in fields
    missing = [m.name for m in info.value.missing]
    assert missing == ["申请人居民身份证", "社会保障卡申领登记表"]  # 非必要 household register not listed
    assert "缺少必要材料" in info.value.message
    assert intake.load(case.id).state == "draft"


def test_confirm_mints_receipt_counts_due_date_and_is_found_again(intake):
    case = ready(intake, intake.add_item(intake.new_case(), "SB-440305"))
    case = intake.add_scan(case, case.materials[0].key, b"\xff\xd8 page one")
    collected = intake.confirm(case)
    assert collected.state == "collected"
    no = receipt.parse(collected.receipt_no)
    assert (no.hall, no.terminal, no.day, no.sequence) == ("511324102", 3, TODAY, 1)
    assert collected.items[0].due_date == "2026-10-10"  # 5 working days after 2026-09-28 (调休 Saturday)
    second = intake.confirm(ready(intake, intake.add_item(intake.new_case(), "SB-440305")))
    assert receipt.parse(second.receipt_no).sequence == 2
    assert intake.find_receipt(" " + collected.receipt_no.lower() + "\n").id == collected.id
    assert intake.scan(collected.materials[0].scans[0]) == b"\xff\xd8 page one"
    with pytest.raises(UserError):
        intake.save_draft(collected)
    events = [e.action for e in intake.events(collected.id)]
    assert events[0] == "新建草稿" and events[-1] == "确认收件"


def test_consultation_for_an_item_the_hall_may_not_collect(intake):
    with pytest.raises(NotCollectable):
        intake.add_item(intake.new_case(), "CJ-440305")
    intake.record_consultation("CJ-440305", "申请人欧阳明轩咨询残疾人证迁移，已告知到深圳办理")
    [entry] = intake.cases.consultations()
    assert entry["item_name"] == "残疾人证迁移" and "欧阳明轩" in entry["note"]


def test_void_needs_a_reason(intake):
    case = intake.confirm(ready(intake, intake.add_item(intake.new_case(), "SB-440305")))
    with pytest.raises(UserError):
        intake.void(case.id, " ")
    voided = intake.void(case.id, "申请人撤回")
    assert voided.state == "void" and voided.void_reason == "申请人撤回" and voided.receipt_no == case.receipt_no


def test_lookup_by_id_phone_and_name_without_plaintext(intake, tmp_path):
    case = ready(intake, intake.add_item(intake.new_case(), "SB-440305"))
    intake.confirm(case)
    other = ready(intake, intake.add_item(intake.new_case(), "SB-440305"))
    other.applicant = Party(name="李四", id_number="110105194912310021", phone="13900139000")
    intake.save_draft(other)
    assert [r.applicant for r in intake.list(CaseFilter(applicant_id=ID_OK.lower()))] == ["张三"]
    assert [r.applicant for r in intake.list(CaseFilter(phone="+86 138 0013 8000"))] == ["张三"]
    assert [r.applicant for r in intake.list(CaseFilter(name="李四"))] == ["李四"]
    assert {r.state for r in intake.list(CaseFilter(day=TODAY.isoformat()))} >= {"collected"}
    assert len(intake.list(CaseFilter(item_code="SB-440305"))) == 2
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in ("张三", "李四", ID_OK, "13800138000", "13900139000", "马鞍镇"):
                assert secret.encode() not in data, (secret, path.name)


def test_draft_survives_reopen(intake, tmp_path):
    case = intake.add_item(intake.new_case(), "SB-440305")
    case.applicant = Party(name="王五", phone="138")
    intake.save_draft(case)
    again = intake.load(case.id)
    assert again.applicant.name == "王五" and again.items[0].code == "SB-440305"
    assert case.id in intake.drafts()


def test_import_case_json(intake, tmp_path):
    page = tmp_path / "id.jpg"
    page.write_bytes(b"not really an image")
    data = {
        "mode": "异地代收代办",
        "applicant": {"kind": "person", "name": "张三", "id_type": "resident_id", "id_number": ID_OK,
                      "phone": "13800138000", "address": "四川省仪陇县"},
        "items": [{"code": "SB-440305", "handling_region": "440305"}],
        "materials": [{"name": "申请人居民身份证", "form": "原件核验", "pages": 1, "scans": [str(page)]},
                      {"name": "社会保障卡申领登记表", "form": "原件核验", "pages": 2}],
        "delivery": {"method": "邮寄", "address": "四川省仪陇县马鞍镇1号", "recipient": "张三", "phone": "13800138000"},
    }
    collected = intake.import_case(data, lambda path: [path.read_bytes()])
    assert collected.receipt_no and collected.delivery.method == "邮寄"
    assert intake.scan(collected.materials[0].scans[0]) == b"not really an image"
    bad = dict(data, materials=data["materials"][:1])
    with pytest.raises(CaseRejected) as info:
        intake.import_case(bad, lambda path: [path.read_bytes()])
    assert [m.name for m in info.value.missing] == ["社会保障卡申领登记表"]
    with pytest.raises(UserError) as info:
        intake.import_case(dict(data, materials=[{"name": "不存在的材料", "form": "原件核验"}]), lambda p: [])
    assert "不在所选事项的材料清单中" in info.value.message


def test_store_refuses_a_second_collection(intake):
    case = intake.confirm(ready(intake, intake.add_item(intake.new_case(), "SB-440305")))
    draft = intake.load(case.id)
    draft.state = "draft"
    with pytest.raises(UserError):
        intake.cases.collect(draft, "x", TODAY, lambda seq: "1" * 22)


def test_keyring_environment_is_the_test_one():
    assert os.environ["PYTHON_KEYRING_BACKEND"].endswith("MemoryKeyring")


def test_item_withdrawn_from_the_catalogue_is_named(intake):
    case = intake.add_item(intake.new_case(), "SB-440305")
    intake.save_draft(case)
    with intake.catalogue.store.update() as update:  # the platform withdrew the item
        update.remove(["SB-440305"])
        update.finish(2)
    again = intake.load(case.id)
    problems = [p.message for p in intake.problems(again)]
    assert any("已不在本地目录中" in p for p in problems)
    assert intake.remove_item(again, "SB-440305").items == []


def test_disk_warning_before_refusal(intake, monkeypatch):
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    assert intake.disk_warning() is None or "磁盘" in intake.disk_warning()
    intake.blobs.min_free_bytes = 100 * 2**20
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**12, 0, 150 * 2**20))
    assert "磁盘剩余空间不多" in intake.disk_warning()
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**12, 0, 50 * 2**20))
    case = intake.add_item(intake.new_case(), "SB-440305")
    with pytest.raises(UserError) as info:
        intake.add_scan(case, case.materials[0].key, b"x" * 1000)
    assert "磁盘空间不足" in info.value.message
