"""Identity-document numbers: the checked samples of design/domain.md, every failure reason, the
check algorithms as properties (hypothesis), and the ``id check`` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from counter_client.domain.identity import (
    CREDIT_CODE_ALPHABET,
    HMT_PERMIT_AREAS,
    ID_TYPES,
    MAINLAND_PROVINCES,
    IdCheck,
    check_id,
    credit_code_check_char,
    detect_type,
    mod11_2_check_char,
    normalize_id,
    upgrade_15,
)

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2025, 6, 1)
CHECK_CHARS = "0123456789X"


def check(number: str, type: str | None = None, **kw) -> IdCheck:
    return check_id(number, type=type, today=TODAY, **kw)


def with_check(first17: str) -> str:
    return first17 + mod11_2_check_char(first17)


def with_credit_check(first17: str) -> str:
    return first17 + credit_code_check_char(first17)


# -- the samples of domain.md ---------------------------------------------------------------------
@pytest.mark.parametrize("number, kind", [
    ("11010519491231002X", "resident_id"),
    ("810000199408230021", "hmt_residence_permit"),
    ("830000199201300022", "hmt_residence_permit"),
    ("911398199012310021", "foreign_permanent_2023"),
    ("91110000600037341L", "credit_code"),
])
def test_valid_samples(number, kind):
    detected = check(number)
    assert (detected.valid, detected.type, detected.reason) == (True, kind, "")
    assert check(number, kind).valid


def test_resident_id_sample_details():
    r = check("11010519491231002X")
    assert (r.birth_date, r.sex, r.normalized, r.warnings, r.upgraded) == (date(1949, 12, 31), "女", "11010519491231002X", (), None)
    assert r.type_label == "居民身份证"


def test_invalid_sample_names_the_right_check_char():
    r = check("110105194912310021")
    assert (r.valid, r.type, r.reason) == (False, "resident_id", "校验位应为 X，实际为 1")
    assert r.birth_date is None and r.sex is None


def test_fifteen_digit_number_is_upgraded():
    assert upgrade_15("610104620927690") == "610104196209276908"
    r = check("610104620927690")
    assert (r.valid, r.type, r.upgraded) == (True, "resident_id_15", "610104196209276908")
    assert (r.birth_date, r.sex) == (date(1962, 9, 27), "女")
    assert any("610104196209276908" in w for w in r.warnings)
    assert check("610104196209276908").valid


def test_fifteen_digits_as_an_eighteen_digit_resident_id():
    r = check("610104620927690", "resident_id")
    assert (r.valid, r.reason, r.upgraded) == (False, "长度应为 18 位，实际 15 位", "610104196209276908")


def test_fifteen_digit_number_with_bad_date_or_province():
    assert check("610104620230690").reason == "出生日期 1962-02-30 不是有效日期"
    assert check("990104620927690").reason == "地区码前两位 99 不是有效的省级代码"
    assert check("61010462092769", "resident_id_15").reason == "长度应为 15 位，实际 14 位"


def test_sex_from_the_seventeenth_digit():
    assert check(with_check("11010519491231001")).sex == "男"
    assert check(with_check("11010519491231002")).sex == "女"


# -- normalisation --------------------------------------------------------------------------------
@pytest.mark.parametrize("typed", [
    "11010519491231002x", " 110105 19491231 002X ", "１１０１０５１９４９１２３１００２Ｘ",
    "１１０１０５\u3000１９４９１２３１００２ｘ",
])
def test_spaces_full_width_and_lower_case_x_are_normalised(typed):
    r = check(typed)
    assert r.valid and r.normalized == "11010519491231002X"


def test_normalize_id():
    assert normalize_id(" ９１１１０ ０００６０００３７３４１ｌ") == "91110000600037341L"


# -- failure reasons of the citizen-number family -------------------------------------------------
def test_bad_date():
    r = check(with_check("11010519490230002"))
    assert (r.valid, r.reason) == (False, "出生日期 1949-02-30 不是有效日期")


def test_future_date():
    r = check(with_check("11010520310101002"))
    assert not r.valid and r.reason == "出生日期 2031-01-01 晚于今天（2025-06-01）"
    assert check(with_check("11010520250601002")).valid  # born today


def test_date_before_1900():
    r = check(with_check("11010518991231002"))
    assert not r.valid and r.reason == "出生日期 1899-12-31 早于 1900 年"


@pytest.mark.parametrize("prefix", ["99", "00", "10", "16", "24", "40", "47", "55", "60", "66", "70"])
def test_bad_province_prefix(prefix):
    number = with_check(prefix + "010519491231002")
    r = check(number, "resident_id")
    assert (r.valid, r.reason) == (False, f"地区码前两位 {prefix} 不是有效的省级代码")
    if prefix[0] != "9":  # 9… is the 2023 foreign permanent residence card
        assert check(number).reason == r.reason


@pytest.mark.parametrize("prefix", sorted(MAINLAND_PROVINCES))
def test_every_province_prefix_is_accepted(prefix):
    assert check(with_check(prefix + "010519491231002"), "resident_id").valid


def test_hmt_prefixes_are_not_resident_ids():
    r = check("810000199408230021", "resident_id")
    assert not r.valid and "港澳台居民居住证" in r.reason
    assert check(with_check("71000019940823002"), "resident_id").reason == "地区码前两位 71（台湾）不用于居民身份证号码"


def test_unknown_county_only_warns():
    known = {"110105"}.__contains__
    r = check("11010519491231002X", known_area=known)
    assert r.valid and r.warnings == ()
    moved = with_check("11010619491231002")  # 110106 is not in this table
    r = check(moved, known_area=known)
    assert r.valid and len(r.warnings) == 1 and "110106" in r.warnings[0]
    assert check(moved).warnings == ()  # no table, no lookup


def test_county_lookup_gets_the_six_digit_area_code():
    seen = []
    check("11010519491231002X", known_area=lambda code: seen.append(code) or True)
    assert seen == ["110105"]


@pytest.mark.parametrize("number, reason", [
    ("11010519491231002", "长度应为 18 位，实际 17 位"),
    ("1101051949123100211", "长度应为 18 位，实际 19 位"),
    ("1101051949123100", "长度应为 18 位，实际 16 位"),
])
def test_wrong_length(number, reason):
    r = check(number)
    assert (r.valid, r.type, r.reason) == (False, "resident_id", reason)


@pytest.mark.parametrize("number, reason", [
    ("11010519491231A02X", "第 15 位应为数字，实际为“A”"),
    ("11010519491231002A", "第 18 位（校验位）应为数字或 X，实际为“A”"),
    ("1101051949123100X2", "第 17 位应为数字，实际为“X”"),
])
def test_wrong_charset(number, reason):
    assert check(number, "resident_id").reason == reason


def test_hmt_permit_area_must_be_exact():
    r = check(with_check("81010019940823002"), "hmt_residence_permit")
    assert r.reason == "港澳台居民居住证的地区码应为 810000、820000 或 830000，实际为 810100"
    assert check(with_check("82000019940823001"), "hmt_residence_permit").valid
    assert check("830000199201300023").reason == "校验位应为 2，实际为 3"


def test_foreign_2023_details():
    r = check("911398199012310021")
    assert r.birth_date == date(1990, 12, 31) and r.sex is None
    assert check("911398199012310022").reason == "校验位应为 1，实际为 2"
    assert check(with_check("11139819901231002"), "foreign_permanent_2023").reason == \
        "2023 版外国人永久居留身份证号码应以 9 开头，实际为 1"


# -- credit codes ---------------------------------------------------------------------------------
def test_credit_code_bad_check_char():
    r = check("91110000600037341M")
    assert (r.valid, r.type, r.reason) == (False, "credit_code", "校验位应为 L，实际为 M")


@pytest.mark.parametrize("bad", "IOZSV")
def test_credit_code_excluded_letters(bad):
    number = "9111000060003734" + bad + "L"
    r = check(number)
    assert (r.valid, r.type) == (False, "credit_code")
    assert r.reason == f"第 17 位“{bad}”不是统一社会信用代码使用的字符（不使用 I、O、Z、S、V）"


def test_credit_code_wrong_length():
    assert check("91110000600037341L1", "credit_code").reason == "长度应为 18 位，实际 19 位"
    assert check("9111000060003734L").reason == "长度应为 18 位，实际 17 位"


@pytest.mark.parametrize("first17", ["N2110105MA0000001", "N1440305000000012", "Y1110000MA01ABCDE",
                                     "A1110000000000001"])
def test_letter_first_credit_codes_are_valid(first17):
    number = with_credit_check(first17)
    r = check(number)
    assert (r.valid, r.type) == (True, "credit_code")
    assert check(number.lower()).valid


def test_all_digit_credit_code_is_not_mistaken_for_an_id():
    number = with_credit_check("91440118000000001")  # county digits 18 look like a birth year
    assert check(number).type == "credit_code" and check(number).valid


# -- permits, passports ---------------------------------------------------------------------------
@pytest.mark.parametrize("number, kind, valid", [
    ("H12345678", "hk_macao_permit", True),
    ("M1234567801", "hk_macao_permit", True),  # with the 2-digit renewal count
    ("H1234567", "hk_macao_permit", False),
    ("H123456789", "hk_macao_permit", False),
    ("12345678", "taiwan_permit", True),
    ("1234567801", "taiwan_permit", True),
    ("E12345678", "passport", True),
    ("EA1234567", "passport", True),
    ("G12345678", "passport", True),
    ("ABC123456789012", "foreign_permanent_2017", True),
])
def test_permit_and_passport_patterns(number, kind, valid):
    r = check(number)
    assert (r.type, r.valid) == (kind, valid)
    assert check(number, kind).valid is valid


def test_permit_reasons():
    assert check("H1234567").reason == "港澳居民来往内地通行证号码应为 H 或 M 加 8 位数字（可另加 2 位换证次数）"
    assert check("123456789", "taiwan_permit").reason == "台湾居民来往大陆通行证号码应为 8 位数字（可另加 2 位换证次数）"
    assert check("AB1234567890123", "foreign_permanent_2017").reason == \
        "2017 版外国人永久居留身份证号码应为 3 位大写字母加 12 位数字"


def test_foreign_2017_warns_that_the_check_cannot_be_verified():
    r = check("abc123456789012")
    assert r.valid and r.normalized == "ABC123456789012"
    assert len(r.warnings) == 1 and "校验位" in r.warnings[0]


def test_passports():
    assert check("E12345678").warnings == ()
    foreign = check("X1234567", "passport")
    assert foreign.valid and "外国护照" in foreign.warnings[0]
    near_chinese = check("E1234567", "passport")
    assert near_chinese.valid and "中国普通护照" in near_chinese.warnings[0]
    assert check("A123", "passport").reason == "护照号码应为 5–17 位字母或数字，实际 4 位"
    assert check("A1234567890123456789", "passport").reason == "护照号码应为 5–17 位字母或数字，实际 20 位"
    assert check("AB-12345", "passport").reason == "护照号码只能含字母和数字，不能含“-”"


# -- detection and explicit types -----------------------------------------------------------------
def test_unknown_input():
    assert check("").reason == "号码为空" and check("  ").type == "unknown"
    r = check("11-0105")
    assert (r.valid, r.type, r.reason) == (False, "unknown", "号码含有字母和数字以外的字符“-”")
    assert check("A1").type == "unknown"


def test_type_mismatch_is_clear_and_hints_at_the_real_type():
    r = check("11010519491231002X", "hk_macao_permit")
    assert (r.valid, r.type) == (False, "hk_macao_permit")
    assert r.reason.startswith("港澳居民来往内地通行证号码应为")
    assert any("居民身份证" in w for w in r.warnings)
    as_credit = check("11010519491231002X", "credit_code")  # the shape fits, the check does not
    assert (as_credit.valid, as_credit.type, as_credit.reason) == (False, "credit_code", "校验位应为 B，实际为 X")
    assert any("居民身份证" in w for w in as_credit.warnings)
    assert check("H12345678", "resident_id").reason == "长度应为 18 位，实际 9 位"


def test_unknown_type_is_a_programming_error():
    with pytest.raises(ValueError):
        check_id("11010519491231002X", type="driving_licence")


def test_detect_type():
    assert detect_type("11010519491231002X") == "resident_id"
    assert detect_type("91110000600037341L") == "credit_code"
    assert set(ID_TYPES) >= {"resident_id", "passport", "credit_code"} and "unknown" not in ID_TYPES


def test_algorithm_inputs_are_checked():
    with pytest.raises(ValueError):
        mod11_2_check_char("1101051949123100")
    with pytest.raises(ValueError):
        credit_code_check_char("9111000060003734I")


# -- properties of the check algorithms -----------------------------------------------------------
provinces = st.sampled_from(sorted(MAINLAND_PROVINCES))
four_digits = st.integers(0, 9999).map(lambda n: f"{n:04d}")
three_digits = st.integers(0, 999).map(lambda n: f"{n:03d}")
birth_dates = st.dates(date(1900, 1, 1), TODAY).map(lambda d: d.strftime("%Y%m%d"))
resident_bodies = st.builds(lambda p, c, d, q: p + c + d + q, provinces, four_digits, birth_dates, three_digits)
permit_bodies = st.builds(lambda a, d, q: a + d + q, st.sampled_from(sorted(HMT_PERMIT_AREAS)), birth_dates,
                          three_digits)
foreign_bodies = st.builds(lambda p, n, d, q: "9" + p + n + d + q, provinces, three_digits, birth_dates,
                           three_digits)
citizen_bodies = st.one_of(
    resident_bodies.map(lambda b: (b, "resident_id")),
    permit_bodies.map(lambda b: (b, "hmt_residence_permit")),
    foreign_bodies.map(lambda b: (b, "foreign_permanent_2023")),
)
credit_bodies = st.text(alphabet=CREDIT_CODE_ALPHABET, min_size=17, max_size=17)
letter_first_credit_bodies = st.builds(lambda a, b: a + b, st.sampled_from("ABCDEFGHJKLMNPQRTUWXY"),
                                       st.text(alphabet=CREDIT_CODE_ALPHABET, min_size=16, max_size=16))
digit_strings_17 = st.text(alphabet="0123456789", min_size=17, max_size=17)


def mod11_2_ok(number: str) -> bool:
    """The bare MOD 11-2 verdict, without any date or area rule."""
    return number[:17].isdigit() and number[17] == mod11_2_check_char(number[:17])


def credit_ok(number: str) -> bool:
    return all(c in CREDIT_CODE_ALPHABET for c in number) and number[17] == credit_code_check_char(number[:17])


@given(citizen_bodies)
def test_computed_check_char_validates_and_no_other_does(body_kind):
    body, kind = body_kind
    right = mod11_2_check_char(body)
    r = check(body + right, kind)
    assert r.valid, r.reason
    assert check(body + right).type == kind  # detection agrees
    for wrong in CHECK_CHARS.replace(right, ""):
        r = check(body + wrong, kind)
        assert not r.valid and r.reason == f"校验位应为 {right}，实际为 {wrong}"


@given(st.one_of(credit_bodies, letter_first_credit_bodies))
def test_credit_code_check_char_validates_and_no_other_does(body):
    right = credit_code_check_char(body)
    assert check(body + right, "credit_code").valid
    for wrong in CREDIT_CODE_ALPHABET.replace(right, ""):
        r = check(body + wrong, "credit_code")
        assert not r.valid and r.reason == f"校验位应为 {right}，实际为 {wrong}"


@given(letter_first_credit_bodies)
def test_letter_first_credit_codes_are_detected(body):
    r = check(with_credit_check(body))
    assert (r.type, r.valid) == ("credit_code", True)


@given(digit_strings_17, st.integers(0, 17), st.sampled_from(CHECK_CHARS))
def test_mod11_2_detects_every_single_substitution(body, position, replacement):
    number = with_check(body)
    assume(number[position] != replacement)
    changed = number[:position] + replacement + number[position + 1:]
    assert not mod11_2_ok(changed)


@given(digit_strings_17, st.integers(0, 16))
def test_mod11_2_detects_every_adjacent_transposition(body, position):
    number = with_check(body)
    assume(number[position] != number[position + 1])
    swapped = number[:position] + number[position + 1] + number[position] + number[position + 2:]
    assert not mod11_2_ok(swapped)


def test_mod11_2_transpositions_exhaustively():
    """The change a swap makes depends only on the position and the two digits: try them all."""
    for position in range(16):
        for a in "0123456789":
            for b in "0123456789":
                if a != b:
                    number = with_check("0" * position + a + b + "0" * (15 - position))
                    swapped = number[:position] + b + a + number[position + 2:]
                    assert not mod11_2_ok(swapped), (position, a, b)


@given(citizen_bodies, st.integers(0, 17), st.sampled_from(CHECK_CHARS), st.integers(0, 16))
def test_validator_rejects_substitutions_and_transpositions(body_kind, position, replacement, swap_at):
    body, kind = body_kind
    number = with_check(body)
    if number[position] != replacement:
        assert not check(number[:position] + replacement + number[position + 1:], kind).valid
    if number[swap_at] != number[swap_at + 1]:
        swapped = number[:swap_at] + number[swap_at + 1] + number[swap_at] + number[swap_at + 2:]
        assert not check(swapped, kind).valid


@given(credit_bodies, st.integers(0, 17), st.sampled_from(CREDIT_CODE_ALPHABET), st.integers(0, 16))
def test_credit_code_detects_substitutions_and_transpositions(body, position, replacement, swap_at):
    number = with_credit_check(body)
    if number[position] != replacement:
        assert not credit_ok(number[:position] + replacement + number[position + 1:])
    if number[swap_at] != number[swap_at + 1]:
        assert not credit_ok(number[:swap_at] + number[swap_at + 1] + number[swap_at] + number[swap_at + 2:])


@given(st.text(max_size=30))
def test_any_input_gets_a_verdict(text):
    r = check_id(text, today=TODAY)
    assert r.valid or r.reason
    assert r.type == "unknown" or r.type in ID_TYPES


# -- the command ----------------------------------------------------------------------------------
def run_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    command = [sys.executable, "-m", "counter_client", "--data-dir", str(data_dir), "id", "check", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, encoding="utf-8",
                          timeout=120, check=False)


def test_cli_valid_and_invalid(tmp_path):
    ok = run_cli(tmp_path, "11010519491231002X")
    assert ok.returncode == 0, ok.stderr
    assert "有效" in ok.stdout and "居民身份证" in ok.stdout and "1949-12-31" in ok.stdout
    bad = run_cli(tmp_path, "110105194912310021")
    assert bad.returncode == 1
    assert "校验位应为 X，实际为 1" in bad.stdout


def test_cli_json_fields(tmp_path):
    out = run_cli(tmp_path, "610104620927690", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) == {"valid", "type", "type_label", "reason", "warnings", "normalized", "birth_date",
                         "sex", "upgraded"}
    assert (data["valid"], data["type"], data["upgraded"], data["birth_date"], data["sex"]) == (
        True, "resident_id_15", "610104196209276908", "1962-09-27", "女")
    bad = json.loads(run_cli(tmp_path, "91110000600037341M", "--json").stdout)
    assert (bad["valid"], bad["type"], bad["reason"]) == (False, "credit_code", "校验位应为 L，实际为 M")


def test_cli_type_mismatch(tmp_path):
    out = run_cli(tmp_path, "11010519491231002X", "--type", "passport", "--json")
    assert out.returncode == 1
    data = json.loads(out.stdout)
    assert (data["valid"], data["type"]) == (False, "passport") and data["reason"]
    assert run_cli(tmp_path, "H12345678", "--type", "hk_macao_permit").returncode == 0
    assert run_cli(tmp_path, "H12345678", "--type", "nonsense").returncode == 2


def test_cli_warns_about_counties_missing_from_the_local_region_table(tmp_path):
    no_table = json.loads(run_cli(tmp_path, "11010519491231002X", "--json").stdout)
    assert no_table["warnings"] == []  # empty region table: no lookup

    from counter_client.paths import user_dirs
    from offline_cache.catalogue import open_catalogue
    from tests import factories as f

    store = open_catalogue(user_dirs(tmp_path).ensure().catalogue_db)
    try:
        f.load(store, [], regions=f.regions())
    finally:
        store.close()
    known = json.loads(run_cli(tmp_path, with_check("44030519900101001"), "--json").stdout)
    assert known["valid"] and known["warnings"] == []
    missing = run_cli(tmp_path, "11010519491231002X", "--json")
    assert missing.returncode == 0
    data = json.loads(missing.stdout)
    assert data["valid"] and len(data["warnings"]) == 1 and "110105" in data["warnings"][0]

