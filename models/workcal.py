"""Chinese working days: statutory holidays off, the adjusted weekend working days (调休) on.

The `chinesecalendar` package knows the years the State Council has announced. The policy file
can add a year's schedule (which makes the year known) or override single days of a known year.
A day in a year nobody knows is judged by the weekday alone and marked provisional: never a
silent guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

from models.policy import Span, YearCalendar


@dataclass(frozen=True)
class Due:
    """A computed deadline, and whether an unknown year's weekdays were guessed at on the way."""

    at: datetime
    provisional: bool = False


class WorkCalendar:
    """Answers "is this a working day" from the package and the policy's overrides."""

    def __init__(self, overrides: Mapping[int, YearCalendar] | None = None) -> None:
        """Build from the policy's `calendar` table."""
        self._holidays = {d for cal in (overrides or {}).values() for d in cal.holidays}
        self._workdays = {d for cal in (overrides or {}).values() for d in cal.workdays}
        self._policy_years = frozenset((overrides or {}).keys())

    def knows(self, year: int) -> bool:
        """Whether the year's holiday schedule is known (package or policy)."""
        if year in self._policy_years:
            return True
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
        except NotImplementedError:
            return False
        return True

    def is_workday(self, day: date) -> tuple[bool, bool]:
        """Return (is a working day, provisional)."""
        if day in self._holidays:
            return False, False
        if day in self._workdays:
            return True, False
        if day.year in self._policy_years:
            return day.weekday() < 5, False
        try:
            return bool(chinese_calendar.is_workday(day)), False
        except NotImplementedError:
            return day.weekday() < 5, True

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
