"""Receipt numbers: round trips, uniqueness, the check character's detection claims (proved on
the check system's state machine, then shown on real numbers with hypothesis), tolerant parsing
and the errors a clerk sees."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counter_client.domain.errors import UserError
from counter_client.domain.receipt import (
    CHECK_ALPHABET,
    LENGTH,
    PROVINCE_CODES,
    ReceiptError,
    ReceiptNo,
    SequenceExhausted,
    format_grouped,
    mint,
    mod11_2,
    parse,
)

D = dt.date
SAMPLE = mint("511324102", 1, D(2026, 11, 25), 7)

halls = st.builds(
    lambda p, rest: p + rest,
    st.sampled_from(sorted(PROVINCE_CODES)),
    st.text(alphabet="0123456789", min_size=7, max_size=7),
)
terminals = st.integers(min_value=1, max_value=99)
days = st.dates(min_value=D(2000, 1, 1), max_value=D(2099, 12, 31))
sequences = st.integers(min_value=1, max_value=9999)
fields = st.tuples(halls, terminals, days, sequences)
numbers = fields.map(lambda f: mint(*f))


# ---- format ----

def test_sample_number_and_its_groups():
    assert SAMPLE[:21] == "511324102" "01" "261125" "0007"
    assert len(SAMPLE) == LENGTH
    assert format_grouped(SAMPLE) == f"511324102-01-261125-0007-{SAMPLE[-1]}"
    assert format_grouped(parse(SAMPLE), " ") == f"511324102 01 261125 0007 {SAMPLE[-1]}"


def test_mod11_2_matches_the_identity_number_standard():
    # GB 11643's sample number and ISO 7064's own example for MOD 11-2
    assert mod11_2("11010519491231002") == "X"
    assert mod11_2("079") == "X"
    assert mod11_2("0794") == "0"


def test_check_x_occurs_and_reads_back():
    no = next(mint("511324102", 1, D(2026, 11, 25), s) for s in range(1, 100)
              if mint("511324102", 1, D(2026, 11, 25), s).endswith("X"))
    assert parse(no.lower()).text == no


@settings(max_examples=300)
@given(fields)
def test_round_trip(f):
    text = mint(*f)
    assert re.fullmatch(r"[0-9]{21}[0-9X]", text)
    r = parse(text)
    assert (r.hall, r.terminal, r.day, r.sequence) == f
    assert r.text == text == str(r)
    assert parse(format_grouped(r)) == r


@settings(max_examples=300)
@given(fields, fields)
def test_distinct_fields_give_distinct_numbers(a, b):
    assert (mint(*a) == mint(*b)) == (a == b)


def test_numbers_of_one_day_across_terminals_and_halls_are_all_distinct():
    day = D(2026, 11, 25)
    seen = {mint(h, t, day, s) for h in ("511324102", "511324103", "511324000") for t in (1, 2, 99)
            for s in range(1, 200)}
    assert len(seen) == 3 * 3 * 199


# ---- detection: proof on the state machine ----

def test_mod11_2_detection_is_complete_on_the_state_machine():
    """A MOD 11-2 number is valid when the running state p -> 2(p+d) mod 11 ends at a value the
    check character completes. Later digits act as a bijection on the state, so an error is
    caught whatever follows iff the states right after it differ. These loops cover every state
    and digit pair: a proof for numbers of any length, not a sample."""
    step = lambda p, d: ((p + d) * 2) % 11  # noqa: E731
    valid_end = lambda p, c: (p + c) % 11 == 1  # noqa: E731  (c is 0-10, X = 10)
    digits = range(10)
    for p in range(11):
        for a in digits:
            for b in digits:
                if a != b:
                    assert step(p, a) != step(p, b)  # substitution in the body
                    assert step(step(p, a), b) != step(step(p, b), a)  # adjacent transposition
        for a in digits:
            for c in range(11):
                if a != c and c != 10:  # X moved into the body is refused by the format
                    assert not (valid_end(step(p, a), c) and valid_end(step(p, c), a))  # last digit <-> check
    for p in range(11):  # the check character is unique: substituting it always fails
        assert sum(valid_end(p, c) for c in range(11)) == 1
    for d in digits:  # each later digit is a bijection on the state
        assert sorted(step(p, d) for p in range(11)) == list(range(11))


def test_hybrid_mod11_10_would_miss_transpositions():
    """Why not the all-digit ISO 7064 MOD 11,10: it lets some adjacent transpositions through."""
    step = lambda p, d: (2 * ((p + d) % 10 or 10)) % 11  # noqa: E731
    misses = [(p, a, b) for p in range(1, 11) for a in range(10) for b in range(10)
              if a != b and step(step(p, a), b) == step(step(p, b), a)]
    assert misses


# ---- detection: every error of real numbers (hypothesis) ----

@settings(max_examples=300)
@given(numbers)
def test_every_single_substitution_is_rejected(text):
    for i in range(LENGTH):
        for ch in CHECK_ALPHABET:
            if ch != text[i]:
                with pytest.raises(ReceiptError):
                    parse(text[:i] + ch + text[i + 1:])


@settings(max_examples=300)
@given(numbers)
def test_every_adjacent_transposition_is_rejected(text):
    for i in range(LENGTH - 1):
        if text[i] != text[i + 1]:
            with pytest.raises(ReceiptError):
                parse(text[:i] + text[i + 1] + text[i] + text[i + 2:])


@settings(max_examples=100)
@given(numbers)
def test_every_jump_transposition_is_rejected_too(text):
    for i in range(LENGTH - 2):
        if text[i] != text[i + 2]:
            with pytest.raises(ReceiptError):
                parse(text[:i] + text[i + 2] + text[i + 1] + text[i] + text[i + 3:])


@settings(max_examples=100)
@given(numbers, st.integers(min_value=0, max_value=LENGTH - 1))
def test_dropped_or_doubled_characters_are_rejected(text, i):
    with pytest.raises(ReceiptError, match="长度不对"):
        parse(text[:i] + text[i + 1:])
    with pytest.raises(ReceiptError, match="长度不对"):
        parse(text[:i] + text[i] + text[i:])


def test_substitution_message():
    wrong = SAMPLE[:5] + str((int(SAMPLE[5]) + 1) % 10) + SAMPLE[6:]
    with pytest.raises(ReceiptError) as info:
        parse(wrong)
    assert info.value.message == "校验位不符，请核对编号"
    assert isinstance(info.value, UserError)


# ---- tolerant parsing ----

@pytest.mark.parametrize(
    "typed",
    [
        lambda s: format_grouped(s),
        lambda s: format_grouped(s, " "),
        lambda s: f"  {s}\r\n",  # a scanner's trailing return
        lambda s: format_grouped(s).translate(str.maketrans("0123456789-X", "０１２３４５６７８９－Ｘ")),
        lambda s: format_grouped(s, "\u3000"),  # full-width space
        lambda s: format_grouped(s, "—"),  # an IME's dash
        lambda s: format_grouped(s, " - "),
        lambda s: s.lower(),
        lambda s: s.replace("0", "O"),  # letter O typed for zero
        lambda s: s.replace("1", "l"),  # lower-case L typed for one
    ],
)
def test_tolerant_parsing(typed):
    for no in (SAMPLE, mint("110105001", 12, D(2027, 1, 4), 9999)):
        assert parse(typed(no)).text == no


def test_lower_case_x_check():
    no = next(n for n in (mint("440305008", 3, D(2026, 11, 25), s) for s in range(1, 200)) if n[-1] == "X")
    assert parse(format_grouped(no).lower()).text == no


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "请输入收件编号"),
        ("   - ", "请输入收件编号"),
        (SAMPLE[:-1], "长度不对"),
        (SAMPLE + "0", "长度不对"),
        (SAMPLE[:10] + "A" + SAMPLE[11:], "不允许的字符"),
        (SAMPLE[:10] + "X" + SAMPLE[11:], "最后一位"),
        ("收件" + SAMPLE, "不允许的字符"),
    ],
)
def test_parse_reasons(text, reason):
    with pytest.raises(ReceiptError, match=reason):
        parse(text)


def _with_check(body: str) -> str:
    return body + mod11_2(body)


@pytest.mark.parametrize(
    "body, reason",
    [
        ("000000000" "01" "261125" "0007", "省级区划代码"),  # valid check, not our hall code
        ("511324102" "01" "261131" "0007", "日期不存在"),
        ("511324102" "01" "270229" "0007", "日期不存在"),
        ("511324102" "00" "261125" "0007", "终端号"),
        ("511324102" "01" "261125" "0000", "流水号"),
    ],
)
def test_well_checked_but_impossible_fields_are_rejected(body, reason):
    with pytest.raises(ReceiptError, match=reason):
        parse(_with_check(body))


# ---- minting errors ----

def test_sequence_overflow_is_an_explicit_error():
    assert mint("511324102", 1, D(2026, 11, 25), 9999).startswith("511324102012611259999")
    with pytest.raises(SequenceExhausted, match="已用完"):
        mint("511324102", 1, D(2026, 11, 25), 10000)
    with pytest.raises(SequenceExhausted):
        ReceiptNo("511324102", 1, D(2026, 11, 25), 10000)


@pytest.mark.parametrize("sequence", [0, -1, True, "7", 7.0])
def test_bad_sequences(sequence):
    with pytest.raises(ReceiptError, match="流水号"):
        mint("511324102", 1, D(2026, 11, 25), sequence)


@pytest.mark.parametrize(
    "hall",
    ["51132410", "5113241020", "51132410A", "５１１３２４１０２", "٥١١٣٢٤١٠٢", 511324102, "", None, "001324102", "991324102"],
)
def test_bad_halls(hall):
    with pytest.raises(ReceiptError, match="收件点代码"):
        mint(hall, 1, D(2026, 11, 25), 1)


@pytest.mark.parametrize("terminal", [0, 100, -1, "01", True, 1.0])
def test_bad_terminals(terminal):
    with pytest.raises(ReceiptError, match="终端号"):
        mint("511324102", terminal, D(2026, 11, 25), 1)


@pytest.mark.parametrize("day", [D(1999, 12, 31), D(2100, 1, 1), "2026-11-25", None])
def test_bad_days(day):
    with pytest.raises(ReceiptError, match="日期"):
        mint("511324102", 1, day, 1)


def test_datetime_day_is_taken_as_its_date():
    r = ReceiptNo("511324102", 1, dt.datetime(2026, 11, 25, 9, 30), 7)
    assert r.day == D(2026, 11, 25) and r.text == SAMPLE


def test_code128_compactness_all_digits_except_possible_final_x():
    # 22 characters, 21 of them digits: code set C carries two digits per symbol
    assert re.fullmatch(r"[0-9]{21}[0-9X]", SAMPLE) and len(SAMPLE) % 2 == 0
