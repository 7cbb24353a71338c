"""Synthetic catalogue generation, the streaming JSON reader, regions and the calendar source."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest

from counter_client.domain.catalogue import Guide
from counter_client.paths import resources_dir
from counter_client.refplatform import jsonstream, synthdata
from counter_client.refplatform.catalogue_file import CatalogueFile
from counter_client.refplatform.generator import (
    CatalogueGenerator,
    County,
    credit_code_check,
    generate_catalogue,
    org_code_check,
)
from counter_client.refplatform.jsonstream import JSONStreamError, iter_object_arrays
from counter_client.refplatform.regions import load_regions
from counter_client.refplatform.workcalendar import CalendarFileInvalid, calendar_year

REGIONS = resources_dir() / "regions"
NATIONAL_ITEMS_CSV_ROWS = 66


@pytest.fixture(scope="module")
def generator_guides() -> tuple[CatalogueGenerator, list[Guide]]:
    generator = CatalogueGenerator.from_regions(REGIONS, seed=9)
    return generator, list(generator.guides(300))


def test_generated_guides_are_valid_distinct_and_realistic(generator_guides):
    generator, guides = generator_guides
    assert len({g.code for g in guides}) == 300
    assert len({(g.handling_region, g.name) for g in guides}) == 300
    names = {item for item, *_ in synthdata.NATIONAL_ITEMS}
    assert len(names) == NATIONAL_ITEMS_CSV_ROWS
    assert {g.name for g in guides} <= names
    counties = {c.code for c in generator.counties}
    for guide in guides:
        assert guide.handling_region in counties
        assert 3 <= len(guide.materials) <= 10
        assert 200 <= len(guide.conditions) <= 800
        assert guide.implementer.department_code in {d.code for d in generator.departments.values()}
        assert len(guide.basic_code) == 12
        assert len(guide.to_json()) < 64 * 1024


def test_generation_is_deterministic_and_prefix_stable():
    small = list(CatalogueGenerator.from_regions(REGIONS, seed=2).guides(20))
    large = list(CatalogueGenerator.from_regions(REGIONS, seed=2).guides(50))
    other = list(CatalogueGenerator.from_regions(REGIONS, seed=3).guides(20))
    assert [g.to_json().decode() for g in small] == [g.to_json().decode() for g in large[:20]]
    assert [g.code for g in small] != [g.code for g in other]


def test_department_credit_codes_are_well_formed(generator_guides):
    assert credit_code_check("91110000600037341") == "L"  # 91110000600037341L, the documented sample
    assert org_code_check("60003734") == "1"
    generator, _ = generator_guides
    for department in generator.departments.values():
        code = department.credit_code
        assert len(code) == 18 and code[:2] == "11" and code[2:8] == department.region_code
        assert credit_code_check(code[:17]) == code[17]
        assert org_code_check(code[8:16]) == code[16]


@pytest.mark.parametrize(
    "county, place",
    [
        (County("440305", "南山区", "深圳市", "广东省"), "深圳市南山区"),
        (County("110105", "朝阳区", "市辖区", "北京市"), "北京市朝阳区"),
        (County("320583", "昆山市", "苏州市", "江苏省"), "昆山市"),
        (County("500229", "城口县", "县", "重庆市"), "重庆市城口县"),
    ],
)
def test_department_place_names(county, place):
    assert county.place == place


def test_generated_file_streams_back_and_is_written_atomically(tmp_path):
    out = tmp_path / "catalogue.json"
    out.write_text("old", encoding="utf-8")
    departments = generate_catalogue(out, 25, 4, REGIONS)
    source = CatalogueFile(out, strict=True)
    assert len(list(source.guides())) == 25
    assert len(source.departments) == departments and len(source.agreements) >= 6
    assert [p.name for p in tmp_path.iterdir()] == ["catalogue.json"]


def test_a_failed_generation_leaves_the_old_file(tmp_path):
    out = tmp_path / "catalogue.json"
    out.write_text("old", encoding="utf-8")
    generator = CatalogueGenerator.from_regions(REGIONS, seed=1)
    with pytest.raises(ValueError):
        generate_catalogue(out, generator.capacity() + 1, 1, REGIONS)
    assert out.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["catalogue.json"]


@pytest.mark.parametrize("chunk", [1, 3, 7, 64, 1 << 20])
def test_stream_reader_handles_every_window_boundary(monkeypatch, chunk):
    monkeypatch.setattr(jsonstream, "CHUNK_CHARS", chunk)
    document = {
        "meta": {"skip": [1, 2]},
        "guides": [{"code": "A", "n": 12345, "t": "中文，含\"引号\""}, {"code": "B", "n": -0.5e3}, 7, True],
        "empty": [],
        "after": "scalar",
        "departments": [None, [1, [2]]],
    }
    text = json.dumps(document, ensure_ascii=False, indent=1)
    assert list(iter_object_arrays(io.StringIO(text))) == [
        ("guides", {"code": "A", "n": 12345, "t": "中文，含\"引号\""}),
        ("guides", {"code": "B", "n": -500.0}),
        ("guides", 7),
        ("guides", True),
        ("departments", None),
        ("departments", [1, [2]]),
    ]
    assert list(iter_object_arrays(io.StringIO(" {} "))) == []


@pytest.mark.parametrize(
    "text",
    ['[{"code": 1}]', '{"guides": [{"code": 1}', '{"guides": [1 2]}', '{"guides": []} extra', '{"guides": [{"a": }]}'],
)
def test_stream_reader_rejects_broken_documents(text):
    with pytest.raises(JSONStreamError):
        list(iter_object_arrays(io.StringIO(text)))


def test_stream_reader_refuses_an_oversized_element(monkeypatch):
    monkeypatch.setattr(jsonstream, "CHUNK_CHARS", 16)
    monkeypatch.setattr(jsonstream, "MAX_ELEMENT_CHARS", 64)
    text = '{"guides": ["' + "x" * 500 + '"]}'
    with pytest.raises(JSONStreamError, match="oversized"):
        list(iter_object_arrays(io.StringIO(text)))


def test_regions_are_unique_and_linked():
    regions = load_regions(REGIONS)
    codes = {r.code: r for r in regions}
    assert len(codes) == len(regions)
    assert all(r.parent in codes for r in regions if r.level > 1)
    assert codes["441900"].level == 2 and codes["441900"].name == "东莞市"  # folded prefecture-level city
    assert {r.level for r in regions} == {1, 2, 3, 4}
    assert sum(r.level == 1 for r in regions) == 34


def test_calendar_years_from_the_library_and_operator_files(tmp_path):
    library = calendar_year(tmp_path, 2026)
    assert library and date(2026, 10, 1) in library.holidays and date(2026, 10, 10) in library.workdays
    assert calendar_year(tmp_path, 2031) is None

    (tmp_path / "calendar-2026.json").write_text(
        json.dumps({"year": 2026, "holidays": ["2026-10-01"], "workdays": []}), encoding="utf-8"
    )
    overridden = calendar_year(tmp_path, 2026)
    assert overridden.source == "operator file" and overridden.holidays == [date(2026, 10, 1)]

    (tmp_path / "calendar-2033.json").write_text(
        json.dumps({"year": 2033, "holidays": ["2034-01-01"], "workdays": []}), encoding="utf-8"
    )
    with pytest.raises(CalendarFileInvalid):
        calendar_year(tmp_path, 2033)
    (tmp_path / "calendar-2034.json").write_text("not json", encoding="utf-8")
    with pytest.raises(CalendarFileInvalid):
        calendar_year(tmp_path, 2034)
