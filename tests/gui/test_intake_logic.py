"""The intake and case pages' pure helpers: where a problem is shown, masking on the review,
what a typed look-up means, the first-run hall code check."""

from __future__ import annotations

import msgspec
import pytest

from counter_client.documents.fields import requirement as document_requirement
from counter_client.domain.case import MaterialEntry
from counter_client.ui.cases.page import person_filter
from counter_client.ui.intake.logic import (
    mask_id,
    mask_phone,
    merge_recorded,
    step_of,
)
from counter_client.ui.setup_dialog import hall_code_problem

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("field, step", [
    ("items", "items"), ("items.2", "items"), ("helper.platform_app_no", "items"),
    ("applicant.id_number", "applicant"), ("agent", "agent"), ("agent.phone", "agent"), ("helper.name", "agent"),
    ("materials.3", "materials"), ("delivery.address", "delivery"), ("something.else", "review")])
def test_problems_go_to_their_step(field, step):
    assert step_of(field) == step


def test_masks():
    assert mask_id("11010519491231002X") == "110105********002X"
    assert mask_id("H12345678") == "H1*****78"
    assert mask_phone("13800138000") == "138****8000"
    assert mask_phone("0817-1234567") == "081*****4567"


@pytest.mark.parametrize("text, kind", [
    ("11010519491231002x", "applicant_id"), ("110105 19491231 002X", "applicant_id"), ("H12345678", "applicant_id"),
    ("138 0013 8000", "phone"), ("+86 13800138000", "phone"), ("0817-1234567", "phone"),
    ("张三", "name"), ("  ", "")])
def test_person_lookup_kind(text, kind):
    assert person_filter(text)[0] == kind


def test_hall_code():
    assert hall_code_problem("511324102") == ""
    assert "前两位 99" in hall_code_problem("991234567")
    assert "9 位" in hall_code_problem("5113")
    assert "只由数字" in hall_code_problem("51132410a")


def test_requirement_and_merge():
    m = MaterialEntry(key="a", name="户口簿", items=["x"], type=3, originals=1, copies=1, source=20)
    assert m.requirement() == "原件或复印件 1 份 · 必要 · 政府部门核发（可用电子证照）"
    two = MaterialEntry(key="b", name="合同", items=["x"], type=3, originals=1, copies=2, source=10, necessity=3)
    assert two.requirement() == "原件 1 份或复印件 2 份 · 容缺后补 · 申请人自备"
    assert document_requirement(m) == m.requirement()  # printed and on-screen wording agree
    assert document_requirement(msgspec.structs.replace(m, standard="清晰完整")) == m.requirement() + "\n清晰完整"
    edited = MaterialEntry(key="a", name="户口簿", items=["x"], form="复印件", pages=3, scans=["s1"])
    rebuilt = [MaterialEntry(key="a", name="户口簿", items=["x", "y"]), MaterialEntry(key="b", name="新", items=["y"])]
    merged = merge_recorded(rebuilt, [edited])
    assert (merged[0].form, merged[0].pages, merged[0].scans, merged[0].items) == ("复印件", 3, ["s1"], ["x", "y"])
    assert merged[1].form == "未收"
