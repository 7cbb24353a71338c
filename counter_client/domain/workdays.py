"""Working days and due dates (行政许可法 Art. 82: periods count 工作日, statutory holidays excluded).

Which days are working days is decided per calendar year, from the first source that knows the
year:

1. ``chinese_calendar`` (the State Council's announced holidays and adjusted working days, 调休).
   Version 1.11.0 covers 2004-2026 and raises ``NotImplementedError`` for any other year, so each
   year is probed on its own: a span from 2026 into 2027 uses the library for 2026 only.
2. A calendar year the platform supplied (its "working-day calendar per year" resource), passed in
   as a mapping ``year -> (holidays, workdays, source[, verified])``. This module does no I/O;
   the caller loads the years and hands them over.
3. Otherwise Monday-Friday. The answer is then marked unverified, with the years that fell back
   listed, so the receipt can say "预计" and the clerk knows not to promise the date.

The order follows the design: the library, where it covers a year, wins over the platform.

A due date ``n`` working days after ``start`` does not count ``start`` itself: the result is the
n-th working day strictly after it (so a case received on a Saturday or a holiday starts counting
on the next working day). Zero means "on the spot" (即办): the due date is ``start``.

Everything is bounded: ``n`` above ``MAX_DAYS`` is refused, and a walk that would span more than
``MAX_SPAN_DAYS`` (a platform year with every day marked as holiday, say) stops with ValueError
instead of looping.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import chinese_calendar

MAX_DAYS = 3650  # the largest time limit a guide may carry (TimeLimit.value's own bound)
MAX_SPAN_DAYS = 20 * 366  # no due-date walk goes further than ~20 years from its start
WORKING_DAYS = "工作日"
NATURAL_DAYS = "自然日"

LIBRARY_SOURCE = f"chinese_calendar {getattr(chinese_calendar, '__version__', '')}".strip()
FALLBACK_SOURCE = "按周一至周五推算（未核实）"
SOURCE_SEPARATOR = "；"


@dataclass(frozen=True)
class CalendarYearData:
    """One year's calendar as the platform supplies it: the rest days that would otherwise be
    working days (``holidays``), the weekend days that are working days (``workdays``, 调休),
    where it comes from, and whether the platform vouches for it."""

    year: int
    holidays: frozenset[_dt.date]
    workdays: frozenset[_dt.date]
    source: str
    verified: bool = True

    def __post_init__(self) -> None:
        for name, days in (("holidays", self.holidays), ("workdays", self.workdays)):
            stray = sorted(d for d in days if d.year != self.year)
            if stray:
                raise ValueError(f"calendar year {self.year}: {name} outside the year: {stray[:3]}")
        both = sorted(self.holidays & self.workdays)
        if both:
            raise ValueError(f"calendar year {self.year}: dates both holiday and workday: {both[:3]}")

    @classmethod
    def coerce(cls, year: int, value: Any) -> CalendarYearData:
        """Build from what the caller has: this class, a tuple ``(holidays, workdays, source
        [, verified])``, or any object with those attributes (the wire ``CalendarYear`` among
        them). Dates may be ``date`` objects or ISO ``YYYY-MM-DD`` strings."""
        if isinstance(value, CalendarYearData):
            if value.year != year:
                raise ValueError(f"calendar year {value.year} given under key {year}")
            return value
        if isinstance(value, (tuple, list)):
            if len(value) not in (3, 4):
                raise ValueError("a calendar year is (holidays, workdays, source[, verified])")
            holidays, workdays, source, *rest = value
            verified = bool(rest[0]) if rest else True
        else:
            declared = getattr(value, "year", year)
            if declared != year:
                raise ValueError(f"calendar year {declared} given under key {year}")
            holidays, workdays = value.holidays, value.workdays
            source, verified = getattr(value, "source", ""), bool(getattr(value, "verified", True))
        return cls(
            year=year,
            holidays=_dates(holidays),
            workdays=_dates(workdays),
            source=str(source) or f"平台工作日历 {year}",
            verified=verified,
        )

    def is_working_day(self, day: _dt.date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays


def _dates(values: Iterable[_dt.date | str]) -> frozenset[_dt.date]:
    out = set()
    for v in values:
        if isinstance(v, _dt.datetime):
            v = v.date()
        elif isinstance(v, str):
            v = _dt.date.fromisoformat(v)
        elif not isinstance(v, _dt.date):
            raise ValueError(f"not a date: {v!r}")
        out.add(v)
    return frozenset(out)


@dataclass(frozen=True)
class DueDate:
    """A due date and how far to trust it. ``source`` names every calendar consulted, in year
    order (empty for a zero limit, which consults none); ``unverified_years`` are the years that
    fell back to Monday-Friday or that the platform itself marked unverified."""

    date: _dt.date
    verified: bool
    source: str
    unverified_years: tuple[int, ...] = ()


@dataclass(frozen=True)
class _YearRule:
    kind: str  # "library" | "platform" | "fallback"
    source: str
    verified: bool
    platform: CalendarYearData | None = None

    def is_working_day(self, day: _dt.date) -> bool:
        if self.kind == "library":
            return chinese_calendar.is_workday(day)
        if self.kind == "platform":
            return self.platform.is_working_day(day)
        return day.weekday() < 5


class WorkCalendar:
    """Answers "is this a working day" and "when is n working days after this day".

    ``platform_years`` maps a year to that year's calendar as the platform supplied it (see
    ``CalendarYearData.coerce`` for the accepted shapes). ``use_library=False`` ignores
    ``chinese_calendar`` (for tests and for a reference platform that wants only its own data).
    """

    def __init__(self, platform_years: Mapping[int, Any] | None = None, *, use_library: bool = True):
        self._platform = {int(y): CalendarYearData.coerce(int(y), v) for y, v in (platform_years or {}).items()}
        self._use_library = use_library
        self._rules: dict[int, _YearRule] = {}

    # ---- per-year source ----
    def _rule(self, year: int) -> _YearRule:
        rule = self._rules.get(year)
        if rule is None:
            rule = self._rules[year] = self._choose(year)
        return rule

    def _choose(self, year: int) -> _YearRule:
        if self._use_library and _library_covers(year):
            return _YearRule("library", LIBRARY_SOURCE, True)
        data = self._platform.get(year)
        if data is not None:
            return _YearRule("platform", data.source, data.verified, data)
        return _YearRule("fallback", FALLBACK_SOURCE, False)

    def source_of(self, year: int) -> tuple[str, bool]:
        """(source, verified) of the calendar used for ``year``."""
        rule = self._rule(year)
        return rule.source, rule.verified

    # ---- questions ----
    def is_working_day(self, day: _dt.date) -> bool:
        day = _as_date(day)
        return self._rule(day.year).is_working_day(day)

    def add_working_days(self, start: _dt.date, n: int) -> _dt.date:
        """The n-th working day after ``start`` (``start`` not counted; n=0 gives ``start``)."""
        return self._walk(start, n)[0]

    def add_natural_days(self, start: _dt.date, n: int) -> _dt.date:
        """``start`` plus n calendar days (no holiday adjustment)."""
        start, n = _as_date(start), _check_n(n)
        try:
            return start + _dt.timedelta(days=n)
        except OverflowError:
            raise ValueError(f"{n} days after {start} is out of the calendar's range") from None

    def due_date(self, start: _dt.date, limit: Any) -> DueDate:
        """The due date of a time limit (anything with ``value`` and ``unit``, e.g. the domain's
        ``TimeLimit``) counted from ``start``, with its provenance."""
        value, unit = limit.value, getattr(limit, "unit", WORKING_DAYS)
        if unit == NATURAL_DAYS:
            return DueDate(self.add_natural_days(start, value), True, NATURAL_DAYS, ())
        if unit != WORKING_DAYS:
            raise ValueError(f"unknown time-limit unit {unit!r}")
        day, years = self._walk(start, value)
        sources: list[str] = []
        unverified: list[int] = []
        for year in years:
            rule = self._rule(year)
            if rule.source not in sources:
                sources.append(rule.source)
            if not rule.verified:
                unverified.append(year)
        return DueDate(day, not unverified, SOURCE_SEPARATOR.join(sources), tuple(unverified))

    def _walk(self, start: _dt.date, n: int) -> tuple[_dt.date, list[int]]:
        """Step day by day; return the landing day and the years of every day looked at."""
        start, n = _as_date(start), _check_n(n)
        day, left, years = start, n, []
        one = _dt.timedelta(days=1)
        limit = start.toordinal() + MAX_SPAN_DAYS
        while left:
            if day.toordinal() >= limit:
                raise ValueError(f"{n} working days after {start} spans more than {MAX_SPAN_DAYS} days")
            try:
                day += one
            except OverflowError:
                raise ValueError(f"{n} working days after {start} is out of the calendar's range") from None
            if not years or years[-1] != day.year:
                years.append(day.year)
            if self._rule(day.year).is_working_day(day):
                left -= 1
        return day, years


_LIBRARY_YEARS: dict[int, bool] = {}


def _library_covers(year: int) -> bool:
    """Whether chinese_calendar has data for ``year`` (it raises NotImplementedError if not)."""
    known = _LIBRARY_YEARS.get(year)
    if known is None:
        try:
            chinese_calendar.is_workday(_dt.date(year, 1, 1))
            known = True
        except NotImplementedError:
            known = False
        _LIBRARY_YEARS[year] = known
    return known


def _as_date(value: _dt.date) -> _dt.date:
    if isinstance(value, _dt.datetime):
        return value.date()
    if not isinstance(value, _dt.date):
        raise TypeError(f"expected a date, got {type(value).__name__}")
    return value


def _check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"expected a whole number of days, got {n!r}")
    if n < 0:
        raise ValueError(f"a number of days cannot be negative: {n}")
    if n > MAX_DAYS:
        raise ValueError(f"{n} days is beyond the limit of {MAX_DAYS}")
    return n
