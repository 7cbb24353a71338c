"""Due dates in working days: the checked facts, chinese_calendar's 2026 holidays, the clean
fall-back for years the library does not know (2027 onwards), platform-supplied years, and the
laws of adding working days (hypothesis)."""

from __future__ import annotations

import datetime as dt

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counter_client.domain.catalogue import TimeLimit
from counter_client.domain.workdays import (
    FALLBACK_SOURCE,
    LIBRARY_SOURCE,
    MAX_DAYS,
    CalendarYearData,
    DueDate,
    WorkCalendar,
)

D = dt.date
CAL = WorkCalendar()
# a platform-supplied 2027 (test data, not the real announcement): 元旦 on Friday 1 January, and a
# made-up 春节 week with one adjusted Saturday
HOLIDAYS_2027 = {D(2027, 1, 1)} | {D(2027, 2, 6) + dt.timedelta(days=i) for i in range(9)}
WORKDAYS_2027 = {D(2027, 2, 20)}
P2027 = {2027: (HOLIDAYS_2027, WORKDAYS_2027, "平台工作日历 2027（测试）")}


def count_working_days_between(cal, start, end):
    """Working days in (start, end]."""
    n, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        n += cal.is_working_day(day)
    return n


# ---- checked facts ----

def test_checked_facts():
    assert D(2026, 10, 10).weekday() == 5
    assert CAL.is_working_day(D(2026, 10, 10))
    assert CAL.add_working_days(D(2026, 9, 28), 5) == D(2026, 10, 10)


def test_library_covers_2026_and_not_2027():
    chinese_calendar.is_workday(D(2026, 12, 31))
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(D(2027, 1, 4))
    assert CAL.source_of(2026) == (LIBRARY_SOURCE, True)
    assert CAL.source_of(2027) == (FALLBACK_SOURCE, False)


# ---- 国庆 and 春节 2026, checked against chinese_calendar itself ----

def test_national_day_2026_agrees_with_the_library():
    start, end = D(2026, 9, 15), D(2026, 10, 20)
    day = start
    while day <= end:
        assert CAL.is_working_day(day) == chinese_calendar.is_workday(day), day
        day += dt.timedelta(days=1)
    holidays = [d for d in (D(2026, 10, 1) + dt.timedelta(days=i) for i in range(7))]
    assert all(chinese_calendar.is_holiday(d) for d in holidays)
    assert not any(CAL.is_working_day(d) for d in holidays)
    assert CAL.is_working_day(D(2026, 9, 20))  # Sunday, 调休
    # 中秋 (25-27 Sep) and 国庆 (1-7 Oct): from Thursday 24 Sep, 3 working days are 28, 29, 30 Sep
    assert CAL.add_working_days(D(2026, 9, 24), 3) == D(2026, 9, 30)
    assert CAL.add_working_days(D(2026, 9, 30), 1) == D(2026, 10, 8)
    assert CAL.add_working_days(D(2026, 9, 30), 3) == D(2026, 10, 10)
    assert CAL.add_working_days(D(2026, 10, 1), 1) == D(2026, 10, 8)  # received on a holiday


def test_spring_festival_2026_agrees_with_the_library():
    festival = [D(2026, 2, 15) + dt.timedelta(days=i) for i in range(9)]  # 15-23 February
    assert all(chinese_calendar.is_holiday(d) for d in festival)
    assert not any(CAL.is_working_day(d) for d in festival)
    assert CAL.is_working_day(D(2026, 2, 14)) and CAL.is_working_day(D(2026, 2, 28))  # Saturdays
    assert CAL.add_working_days(D(2026, 2, 13), 1) == D(2026, 2, 14)
    assert CAL.add_working_days(D(2026, 2, 14), 1) == D(2026, 2, 24)
    # 20 working days from 2 Feb, counted with the library's own answer
    expected, day, left = None, D(2026, 2, 2), 20
    while left:
        day += dt.timedelta(days=1)
        left -= chinese_calendar.is_workday(day)
    expected = day
    assert CAL.add_working_days(D(2026, 2, 2), 20) == expected


def test_due_date_in_2026_is_verified():
    due = CAL.due_date(D(2026, 9, 28), TimeLimit(value=5))
    assert due == DueDate(D(2026, 10, 10), True, LIBRARY_SOURCE, ())


# ---- years the library does not know ----

def test_2027_falls_back_to_monday_to_friday_unverified():
    due = CAL.due_date(D(2027, 3, 1), TimeLimit(value=10))  # Monday
    assert due.date == D(2027, 3, 15)
    assert not due.verified
    assert due.unverified_years == (2027,)
    assert due.source == FALLBACK_SOURCE
    assert not CAL.is_working_day(D(2027, 3, 6))  # Saturday
    assert CAL.is_working_day(D(2027, 1, 1))  # a Friday: wrong in reality, hence "unverified"


def test_years_before_2004_fall_back_too():
    due = CAL.due_date(D(2003, 12, 1), TimeLimit(value=1))
    assert due.date == D(2003, 12, 2) and due.unverified_years == (2003,)


def test_platform_year_is_used_and_verified():
    cal = WorkCalendar(P2027)
    assert not cal.is_working_day(D(2027, 1, 1))
    assert cal.is_working_day(D(2027, 2, 20))  # Saturday made a working day
    due = cal.due_date(D(2027, 2, 5), TimeLimit(value=2))  # Friday; 6-14 Feb off
    assert due == DueDate(D(2027, 2, 16), True, "平台工作日历 2027（测试）", ())
    assert cal.due_date(D(2027, 2, 19), TimeLimit(value=1)).date == D(2027, 2, 20)


def test_platform_year_marked_unverified_stays_unverified():
    cal = WorkCalendar({2027: (HOLIDAYS_2027, WORKDAYS_2027, "培训数据", False)})
    due = cal.due_date(D(2027, 5, 10), TimeLimit(value=1))
    assert not due.verified and due.unverified_years == (2027,) and due.source == "培训数据"


def test_platform_year_from_wire_shaped_object():
    class Wire:  # the shape of platform_api.wire.CalendarYear
        year = 2027
        holidays = ["2027-01-01"]
        workdays: list[str] = []
        source = "国办发明电〔2026〕X号"
        verified = True

    cal = WorkCalendar({2027: Wire()})
    assert cal.add_working_days(D(2026, 12, 31), 1) == D(2027, 1, 4)
    with pytest.raises(ValueError):
        WorkCalendar({2028: Wire()})


def test_library_wins_over_platform_for_a_year_it_covers():
    cal = WorkCalendar({2026: ({D(2026, 10, 12)}, set(), "平台")})
    assert cal.is_working_day(D(2026, 10, 12))
    assert cal.source_of(2026) == (LIBRARY_SOURCE, True)
    assert not WorkCalendar({2026: ({D(2026, 10, 12)}, set(), "平台")}, use_library=False).is_working_day(D(2026, 10, 12))


@pytest.mark.parametrize(
    "value",
    [
        ({D(2026, 12, 31)}, set(), "x"),  # a date outside the year
        ({D(2027, 1, 2)}, {D(2027, 1, 2)}, "x"),  # both holiday and workday
        ({"2027-13-01"}, set(), "x"),
        ({D(2027, 1, 1)}, set()),  # no source
    ],
)
def test_bad_platform_years_are_refused(value):
    with pytest.raises(ValueError):
        WorkCalendar({2027: value})


# ---- spans crossing 2026 -> 2027 ----

def test_mixed_span_2026_to_2027_falls_back_for_2027_only():
    due = CAL.due_date(D(2026, 12, 30), TimeLimit(value=3))
    assert due.date == D(2027, 1, 4)  # 31 Dec, (Fri 1 Jan counted by Mon-Fri), Mon 4 Jan
    assert not due.verified
    assert due.unverified_years == (2027,)
    assert due.source == f"{LIBRARY_SOURCE}；{FALLBACK_SOURCE}"


def test_mixed_span_with_platform_2027_is_verified():
    due = WorkCalendar(P2027).due_date(D(2026, 12, 30), TimeLimit(value=3))
    assert due.date == D(2027, 1, 5)  # 31 Dec, 4 Jan, 5 Jan
    assert due.verified and due.unverified_years == ()
    assert due.source == f"{LIBRARY_SOURCE}；平台工作日历 2027（测试）"


def test_span_ending_in_2026_is_verified_today():
    # today is 2026-11-25: a 20-working-day item received today is due in 2026
    due = CAL.due_date(D(2026, 11, 25), TimeLimit(value=20))
    assert due.date.year == 2026 and due.verified


def test_today_plus_a_long_limit_reaches_into_2027_and_says_so():
    due = CAL.due_date(D(2026, 11, 25), TimeLimit(value=60))
    assert due.date.year == 2027 and not due.verified and due.unverified_years == (2027,)
    assert count_working_days_between(CAL, D(2026, 11, 25), due.date) == 60


def test_many_unverified_years_are_listed():
    due = CAL.due_date(D(2026, 6, 1), TimeLimit(value=800))
    assert due.unverified_years == (2027, 2028, 2029)


# ---- natural days, zero, bounds ----

def test_natural_days():
    assert CAL.add_natural_days(D(2026, 9, 28), 5) == D(2026, 10, 3)  # a holiday: no adjustment
    due = CAL.due_date(D(2026, 12, 20), TimeLimit(value=30, unit="自然日"))
    assert due == DueDate(D(2027, 1, 19), True, "自然日", ())


def test_zero_is_on_the_spot():
    assert CAL.add_working_days(D(2026, 10, 3), 0) == D(2026, 10, 3)
    due = CAL.due_date(D(2026, 10, 3), TimeLimit(value=0))
    assert due.date == D(2026, 10, 3) and due.verified and due.unverified_years == ()


@pytest.mark.parametrize("n", [-1, MAX_DAYS + 1, 10**9])
def test_out_of_range_counts_are_refused(n):
    with pytest.raises(ValueError):
        CAL.add_working_days(D(2026, 1, 5), n)
    with pytest.raises(ValueError):
        CAL.add_natural_days(D(2026, 1, 5), n)


def test_the_largest_limit_is_answered():
    assert CAL.add_working_days(D(2026, 1, 5), MAX_DAYS).year in range(2039, 2042)


def test_a_year_with_no_working_days_cannot_loop_forever():
    def every_day(y):
        return {D(y, 1, 1) + dt.timedelta(days=i) for i in range((D(y + 1, 1, 1) - D(y, 1, 1)).days)}

    cal = WorkCalendar({y: (every_day(y), set(), "坏数据") for y in range(2027, 2060)})
    with pytest.raises(ValueError):
        cal.add_working_days(D(2026, 12, 31), 1)


def test_end_of_calendar_is_a_value_error():
    with pytest.raises(ValueError):
        CAL.add_working_days(D(9999, 12, 30), 5)
    with pytest.raises(ValueError):
        CAL.add_natural_days(D(9999, 12, 30), 5)


def test_bad_arguments():
    with pytest.raises(TypeError):
        CAL.add_working_days(D(2026, 1, 5), 1.5)
    with pytest.raises(TypeError):
        CAL.add_working_days("2026-01-05", 1)
    with pytest.raises(ValueError):
        CAL.due_date(D(2026, 1, 5), type("L", (), {"value": 1, "unit": "小时"})())


def test_coerced_year_keeps_its_data():
    y = CalendarYearData.coerce(2027, (["2027-01-01"], [], "s"))
    assert y.holidays == frozenset({D(2027, 1, 1)}) and y.verified


# ---- laws (hypothesis) ----

days = st.dates(min_value=D(2003, 6, 1), max_value=D(2028, 12, 31))
counts = st.integers(min_value=0, max_value=400)
calendars = st.sampled_from([CAL, WorkCalendar(P2027), WorkCalendar(P2027, use_library=False)])


@settings(max_examples=200, deadline=None)
@given(calendars, days, st.integers(min_value=1, max_value=400))
def test_lands_on_a_working_day_after_exactly_n(cal, start, n):
    end = cal.add_working_days(start, n)
    assert end > start
    assert cal.is_working_day(end)
    assert count_working_days_between(cal, start, end) == n


@settings(max_examples=200, deadline=None)
@given(calendars, days, counts, counts)
def test_monotonic_in_n(cal, start, a, b):
    if a < b:
        assert cal.add_working_days(start, a) < cal.add_working_days(start, b)
    elif a == b:
        assert cal.add_working_days(start, a) == cal.add_working_days(start, b)


@settings(max_examples=200, deadline=None)
@given(calendars, days, counts, counts)
def test_adding_composes_from_a_working_day(cal, start, a, b):
    while not cal.is_working_day(start):
        start += dt.timedelta(days=1)
    assert cal.add_working_days(cal.add_working_days(start, a), b) == cal.add_working_days(start, a + b)


@settings(max_examples=100, deadline=None)
@given(days, counts)
def test_verified_exactly_when_every_year_crossed_is_known(start, n):
    due = CAL.due_date(start, TimeLimit(value=n))
    # the walk looks at the days after ``start`` up to the due date, and at their years only
    crossed = set(range((start + dt.timedelta(days=1)).year, due.date.year + 1)) if n else set()
    expected = tuple(sorted(y for y in crossed if not 2004 <= y <= 2026))
    assert due.unverified_years == expected
    assert due.verified == (not expected)
