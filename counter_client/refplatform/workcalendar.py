"""The working-day calendar of a year: statutory rest days and adjusted working days.

Built from ``chinese_calendar`` for the years it covers. For any year an operator may drop a file
``DATA_DIR/calendar-YYYY.json`` of the same shape as the answer (``year``, ``holidays``,
``workdays``); it takes precedence, so a late State Council notice can be served before the
library knows it, and it is the only source for years beyond the library.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import chinese_calendar
from pydantic import BaseModel, ValidationError, model_validator

OPERATOR_FILE = "calendar-{year}.json"
OPERATOR_SOURCE = "operator file"


class CalendarYear(BaseModel):
    """One year: days off on what would be working days, and weekend days that are worked."""

    year: int
    holidays: list[date]
    workdays: list[date]
    source: str
    verified: bool = True

    @model_validator(mode="after")
    def _dates_in_year(self) -> "CalendarYear":
        for day in (*self.holidays, *self.workdays):
            if day.year != self.year:
                raise ValueError(f"{day.isoformat()} is not in {self.year}")
        if set(self.holidays) & set(self.workdays):
            raise ValueError("a day cannot be both a holiday and a working day")
        return self


class CalendarFileInvalid(ValueError):
    """The operator's calendar file exists but cannot be served."""


def _library_year(year: int) -> CalendarYear | None:
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return None
    return CalendarYear(
        year=year,
        holidays=sorted(d for d in chinese_calendar.holidays if d.year == year),
        workdays=sorted(d for d in chinese_calendar.workdays if d.year == year),
        source=f"chinese_calendar {chinese_calendar.__version__}",
        verified=True,
    )


def _operator_year(data_dir: Path, year: int) -> CalendarYear | None:
    path = Path(data_dir) / OPERATOR_FILE.format(year=year)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        data = {**data, "source": OPERATOR_SOURCE, "verified": True}
        found = CalendarYear.model_validate(data)
    except (ValueError, ValidationError, TypeError) as exc:
        raise CalendarFileInvalid(f"{path.name}: {exc}") from None
    if found.year != year:
        raise CalendarFileInvalid(f"{path.name} describes {found.year}")
    return found.model_copy(
        update={"holidays": sorted(set(found.holidays)), "workdays": sorted(set(found.workdays))}
    )


def calendar_year(data_dir: Path, year: int) -> CalendarYear | None:
    """The calendar for ``year`` (operator file first, then the library), or None if unknown."""
    return _operator_year(data_dir, year) or _library_year(year)
