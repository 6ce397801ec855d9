"""Periods a report or a cycle run covers: a month, a quarter, a half year, a year, a week, a day.

A period has a key ("2026-11", "2026-Q3", "2026-H1", "2026", "2026-W48", "2026-11-23") that
`schedule_runs` is keyed by, and a span of local days [start, end) in the city's zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Grain = Literal["month", "quarter", "half", "year", "week", "day"]
_PATTERNS: tuple[tuple[Grain, re.Pattern[str]], ...] = (
    ("month", re.compile(r"^(\d{4})-(\d{2})$")),
    ("quarter", re.compile(r"^(\d{4})-Q([1-4])$")),
    ("half", re.compile(r"^(\d{4})-H([12])$")),
    ("year", re.compile(r"^(\d{4})$")),
    ("week", re.compile(r"^(\d{4})-W(\d{2})$")),
    ("day", re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")),
)


@dataclass(frozen=True)
class Period:
    """A span of whole local days, [start, end), and its key."""

    grain: Grain
    key: str
    start: date
    end: date

    @classmethod
    def parse(cls, key: str) -> Period:
        """Read a key: 2026-11, 2026-Q3, 2026-H1, 2026, 2026-W48 or 2026-11-23."""
        for grain, pattern in _PATTERNS:
            match = pattern.match(key.strip())
            if match:
                try:
                    return cls._of(grain, *map(int, match.groups()))
                except ValueError:
                    break
        raise ValueError(
            f"not a period: {key!r} (expected 2026-11, 2026-Q3, 2026-H1, 2026, 2026-W48 "
            "or 2026-11-23)"
        )

    @classmethod
    def _of(cls, grain: Grain, year: int, part: int = 1, day: int = 1) -> Period:
        if grain == "month":
            return cls.containing("month", date(year, part, 1))
        if grain == "quarter":
            return cls.containing("quarter", date(year, 3 * part - 2, 1))
        if grain == "half":
            return cls.containing("half", date(year, 6 * part - 5, 1))
        if grain == "year":
            return cls.containing("year", date(year, 1, 1))
        if grain == "week":
            return cls.containing("week", date.fromisocalendar(year, part, 1))
        return cls.containing("day", date(year, part, day))

    @classmethod
    def containing(cls, grain: Grain, day: date) -> Period:
        """The period of the grain that holds `day`."""
        y, m = day.year, day.month
        if grain == "month":
            return cls(grain, f"{y}-{m:02d}", date(y, m, 1), _months_on(date(y, m, 1), 1))
        if grain == "quarter":
            first = date(y, 3 * ((m - 1) // 3) + 1, 1)
            return cls(grain, f"{y}-Q{(m - 1) // 3 + 1}", first, _months_on(first, 3))
        if grain == "half":
            first = date(y, 1 if m <= 6 else 7, 1)
            return cls(grain, f"{y}-H{1 if m <= 6 else 2}", first, _months_on(first, 6))
        if grain == "year":
            return cls(grain, f"{y}", date(y, 1, 1), date(y + 1, 1, 1))
        if grain == "week":
            iso = day.isocalendar()
            monday = day - timedelta(days=day.weekday())
            return cls(grain, f"{iso.year}-W{iso.week:02d}", monday, monday + timedelta(days=7))
        return cls(grain, day.isoformat(), day, day + timedelta(days=1))

    def previous(self) -> Period:
        """The period of the same grain just before this one."""
        return Period.containing(self.grain, self.start - timedelta(days=1))

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The period as aware instants: local midnight at start and at end."""
        return (
            datetime.combine(self.start, time(), tz),
            datetime.combine(self.end, time(), tz),
        )

    @property
    def year(self) -> int:
        """The calendar year the period starts in."""
        return self.start.year


def _months_on(first: date, months: int) -> date:
    index = first.month - 1 + months
    return date(first.year + index // 12, index % 12 + 1, 1)


def year_elapsed(moment: datetime, tz: ZoneInfo, *, year: int | None = None) -> float:
    """序时进度: the share of calendar `year` (default: `moment`'s own) that has passed at
    `moment`, from 0 before the year to 1 at or after its end.

    A report belongs to its period's year, not to the moment it is drawn: the December bulletin
    is cut on 1 January and must read 100 % of the old year, not 0 % of the new one.
    """
    local = moment.astimezone(tz)
    which = local.year if year is None else year
    start = datetime(which, 1, 1, tzinfo=tz)
    end = datetime(which + 1, 1, 1, tzinfo=tz)
    return min(max((local - start) / (end - start), 0.0), 1.0)
