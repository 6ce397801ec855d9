"""Chinese working days: statutory holidays off, the adjusted weekend working days (调休) on.

A year's schedule comes from, in order: the policy file's `[calendar.<year>]` (single days, a
local holiday, over everything), the database (a year an admin loaded with `ztc calendar load`,
the State Council's announcement), the `chinesecalendar` package (the years it knows). A year
none of them knows is judged by the weekday, except the days off fixed by law whatever the year
(元旦, 劳动节, 国庆): a deadline whose count passed through such a year is marked provisional —
never a silent guess. The lunar festivals cannot be known in advance.

The database's years are the one part that changes while the bot runs: `use_database` swaps
them in whole (models/holidays.py `refresh_calendar` reads them), so every holder of the same
calendar sees a load at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo

import chinese_calendar

from models.policy import Span, YearCalendar

# 元旦, 劳动节, 国庆: fixed by the State Council's 全国年节及纪念日放假办法 in every year.
FIXED_DAYS_OFF: tuple[tuple[int, int], ...] = ((1, 1), (5, 1), (10, 1), (10, 2), (10, 3))


class DayKind(StrEnum):
    """A day listed in a year's schedule: off, or a weekend day worked (调休)."""

    HOLIDAY = "holiday"
    WORKDAY = "workday"


class Source(StrEnum):
    """Where a year's schedule comes from (`ztc calendar show`)."""

    DATABASE = "database"
    POLICY = "policy"
    PACKAGE = "package"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Due:
    """A computed deadline, and whether an unknown year's weekdays were guessed at on the way."""

    at: datetime
    provisional: bool = False


@dataclass(frozen=True)
class LoadedYears:
    """The years loaded into the database: each listed day (True: a working day), and a stamp
    that changes with every load (None: never read)."""

    days: Mapping[date, bool] = field(default_factory=dict)
    years: frozenset[int] = frozenset()
    stamp: tuple[int, str | None] | None = None


def is_fixed_day_off(day: date) -> bool:
    """Whether the law makes the day a holiday in every year (元旦, 劳动节, 国庆)."""
    return (day.month, day.day) in FIXED_DAYS_OFF


@cache
def package_knows(year: int) -> bool:
    """Whether the installed `chinesecalendar` has the year's schedule."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def days_of(year: int) -> Iterator[date]:
    """Every day of a year, in order."""
    day = date(year, 1, 1)
    while day.year == year:
        yield day
        day += timedelta(days=1)


class WorkCalendar:
    """Answers "is this a working day" from the policy, the database's years and the package."""

    def __init__(self, overrides: Mapping[int, YearCalendar] | None = None) -> None:
        """Build from the policy's `calendar` table (the database's years come later)."""
        self._holidays = {d for cal in (overrides or {}).values() for d in cal.holidays}
        self._workdays = {d for cal in (overrides or {}).values() for d in cal.workdays}
        self._policy_years = frozenset((overrides or {}).keys())
        self._loaded = LoadedYears()

    @property
    def loaded(self) -> LoadedYears:
        """The database's years as last read."""
        return self._loaded

    def use_database(self, loaded: LoadedYears) -> None:
        """Take the database's years (one assignment: a reader sees the old set or the new)."""
        self._loaded = loaded

    def source(self, year: int) -> Source:
        """Where the year's schedule comes from (the policy's days still win over any)."""
        if year in self._loaded.years:
            return Source.DATABASE
        if year in self._policy_years:
            return Source.POLICY
        return Source.PACKAGE if package_knows(year) else Source.UNKNOWN

    def knows(self, year: int) -> bool:
        """Whether the year's holiday schedule is known (policy, database or package)."""
        return self.source(year) != Source.UNKNOWN

    def is_workday(self, day: date) -> tuple[bool, bool]:
        """Return (is a working day, provisional)."""
        if day in self._holidays:
            return False, False
        if day in self._workdays:
            return True, False
        loaded = self._loaded
        if day.year in loaded.years and day in loaded.days:
            return loaded.days[day], False
        if package_knows(day.year):
            return bool(chinese_calendar.is_workday(day)), False
        known = day.year in loaded.years or day.year in self._policy_years
        return day.weekday() < 5 and not is_fixed_day_off(day), not known

    def differences(self, year: int) -> list[tuple[date, DayKind]]:
        """The year's days that are not as a plain week has them: weekdays off, weekends worked."""
        found = []
        for day in days_of(year):
            working = self.is_workday(day)[0]
            if working != (day.weekday() < 5):
                found.append((day, DayKind.WORKDAY if working else DayKind.HOLIDAY))
        return found

    def add_workdays(self, start: datetime, days: int, tz: ZoneInfo) -> Due:
        """The same local clock time on the `days`-th working day after `start`'s local date."""
        local = start.astimezone(tz)
        day, counted, provisional = local.date(), 0, False
        while counted < days:
            day += timedelta(days=1)
            working, guessed = self.is_workday(day)
            provisional |= guessed
            counted += working
        return Due(datetime.combine(day, local.timetz()), provisional)

    def due_after(self, start: datetime, span: Span, tz: ZoneInfo) -> Due:
        """When a clock of `span` started at `start` runs out."""
        if span.unit == "h":
            return Due(start + timedelta(hours=span.amount))
        return self.add_workdays(start, span.amount, tz)
