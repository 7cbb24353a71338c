"""Waybill (tracking) numbers: S10 check digits on the standard's examples, property tests of the
check (round trip, every other digit refused, what a single substitution can and cannot hide),
13-digit domestic numbers by pattern, tolerant reading and the errors a clerk sees."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from counter_client.domain.errors import UserError
from counter_client.domain.waybill import (
    S10_WEIGHTS,
    TrackingNo,
    WaybillError,
    is_valid,
    normalize,
    parse,
    s10_check_digit,
)

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
serials = st.text(alphabet="0123456789", min_size=8, max_size=8)
pairs = st.text(alphabet=LETTERS, min_size=2, max_size=2)
s10_numbers = st.builds(lambda svc, serial, country: f"{svc}{serial}{s10_check_digit(serial)}{country}",
                        pairs, serials, pairs)


def _residue(serial: str) -> int:
    return sum(int(d) * w for d, w in zip(serial, S10_WEIGHTS, strict=True)) % 11


# -- the standard's examples ----------------------------------------------------------------------
@pytest.mark.parametrize("number", ["EA123456785CN", "EE471108151FR"])
def test_known_s10_numbers_are_valid(number):
    t = parse(number)
    assert t == TrackingNo(number, "s10") and t.kind == "s10"
    assert t.service == number[:2] and t.country == number[-2:]


def test_check_digit_of_the_examples():
    assert s10_check_digit("12345678") == "5"
    assert s10_check_digit("47110815") == "1"


def test_check_digit_special_values():
    # residue 0 -> 11 -> 5 and residue 1 -> 10 -> 0 (the S10 rule)
    zero = next(f"{n:08d}" for n in range(10**8) if _residue(f"{n:08d}") == 0)
    one = next(f"{n:08d}" for n in range(10**8) if _residue(f"{n:08d}") == 1)
    assert s10_check_digit(zero) == "5"
    assert s10_check_digit(one) == "0"


def test_check_digit_rejects_a_bad_serial():
    for bad in ("1234567", "123456789", "1234567a", "１２３４５６７８"):
        with pytest.raises(ValueError):
            s10_check_digit(bad)


# -- properties -------------------------------------------------------------------------------------
@given(s10_numbers)
def test_every_number_with_its_check_digit_parses(number):
    assert parse(number).text == number
    assert is_valid(number)


@given(pairs, serials, pairs, st.integers(min_value=0, max_value=9))
def test_every_other_check_digit_is_refused(svc, serial, country, digit):
    check = s10_check_digit(serial)
    number = f"{svc}{serial}{digit}{country}"
    assert is_valid(number) == (str(digit) == check)


@given(serials, st.integers(min_value=0, max_value=7), st.integers(min_value=1, max_value=9))
def test_a_single_substitution_is_caught_unless_residues_0_and_6_meet(serial, position, delta):
    """11 is prime and no weight is 0 mod 11, so a substituted digit always changes the residue;
    the printed digit only fails to show it when residues 0 and 6 (both printed 5) swap."""
    digits = list(serial)
    digits[position] = str((int(digits[position]) + delta) % 10)
    changed = "".join(digits)
    assert _residue(changed) != _residue(serial)
    if s10_check_digit(changed) == s10_check_digit(serial):
        assert {_residue(changed), _residue(serial)} == {0, 6}


@given(s10_numbers)
def test_reading_is_tolerant(number):
    spaced = f"{number[:2].lower()} {number[2:6]}-{number[6:11]} {number[11:].lower()}"
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in number)
    assert parse(spaced).text == number
    assert parse(full_width).text == number
    assert normalize(normalize(spaced)) == normalize(spaced)


@given(st.text(alphabet="0123456789", min_size=13, max_size=13))
def test_any_13_digit_domestic_number_is_accepted(number):
    t = parse(number)
    assert t.kind == "domestic" and t.text == number and t.service == "" and t.country == ""


@given(st.text(alphabet="0123456789", min_size=1, max_size=30).filter(lambda s: len(s) != 13))
def test_domestic_numbers_of_other_lengths_are_refused(number):
    with pytest.raises(WaybillError) as info:
        parse(number)
    assert "13 位" in info.value.message


# -- errors a clerk sees ----------------------------------------------------------------------------
@pytest.mark.parametrize("text, words", [
    ("", "请输入"),
    ("   ", "请输入"),
    ("EA123456784CN", "校验位"),
    ("EA12345678CN", "长度"),
    ("E1123456785CN", "格式"),
    ("EA123456785C1", "格式"),
    ("EA12345678#CN", "不允许的字符"),
    ("邮件号EA123456785CN", "不允许的字符"),
])
def test_errors_say_what_is_wrong(text, words):
    with pytest.raises(WaybillError) as info:
        parse(text)
    assert isinstance(info.value, UserError)
    assert words in info.value.message
    assert not is_valid(text)


def test_grouped_forms_for_reading_aloud():
    assert parse("EA123456785CN").grouped() == "EA 1234 5678 5 CN"
    assert parse("1100123456789").grouped() == "1100 1234 5678 9"
    assert parse("1100123456789").kind_label.startswith("国内")
