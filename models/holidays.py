"""A year's holiday schedule loaded into the database, and every calendar kept in step with it.

`ztc calendar load YEAR FILE` stores the State Council's schedule (`parse_schedule`, then
`load_year`): the year's rows are replaced, the open issues' provisional deadlines are counted
again (models/issues/recompute.py) and the admins are told — one transaction.

Every process sees a load without a restart: `refresh_calendar` compares a stamp of the table
(its row count and latest `loaded_at`: one aggregate query) with the one its calendar last read,
and reads the rows again only when they differ. The bot calls it at the start of each clock sweep
(every minute) and of each cycle run; its chat shares that calendar, so it sees a load within a
minute. A deadline a chat turn counted in that minute with the old calendar is provisional and is
counted again by the sweep that notices the load. Each `ztc` command reads the table when it
opens its session.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import col, delete, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.importer import RowError
from models.incidents import tell_admins
from models.issues.recompute import recompute_deadlines
from models.rules import Rules
from models.tables.calendar import HolidayDay
from models.workcal import DayKind, LoadedYears, WorkCalendar

COLUMNS = ("date", "kind")
NOTICE = "calendar"  # the outbox kind of the admins' notice (jobs/notices.py draws it)


class ScheduleRejected(Exception):
    """The file has bad rows (each a line and a reason code); nothing from it is kept."""

    def __init__(self, errors: list[RowError]) -> None:
        """Keep every row's error."""
        self.errors = errors
        super().__init__(f"{len(errors)} bad row(s)")


@dataclass(frozen=True)
class YearLoaded:
    """What a load did."""

    year: int
    days: int
    recomputed: list[str] = field(default_factory=list)  # the issues whose deadlines moved
    notices: int = 0


def parse_schedule(text: str, year: int) -> dict[date, DayKind]:
    """The days of a `date,kind` CSV, every one in `year`; or ScheduleRejected naming each bad
    line (reasons: the importer's, plus wrong_year, bad_kind, duplicate_day)."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header = [cell.strip().lower() for cell in next(reader, [])]
    errors = [RowError(1, "missing_column", {"column": c}) for c in COLUMNS if c not in header]
    errors += [RowError(1, "unknown_column", {"column": c}) for c in header if c not in COLUMNS]
    errors += [
        RowError(1, "duplicate_column", {"column": c}) for c in COLUMNS if header.count(c) > 1
    ]
    if errors:
        raise ScheduleRejected(errors)
    days: dict[date, DayKind] = {}
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        row = dict(zip(header, (cell.strip() for cell in cells), strict=False))
        error = _row_error(row, len(cells) > len(header), year, days)
        if error is not None:
            errors.append(RowError(line, *error))
            continue
        days[date.fromisoformat(row["date"])] = DayKind(row["kind"].lower())
    if errors or not days:
        raise ScheduleRejected(errors or [RowError(1, "empty", {})])
    return days


def _row_error(
    row: dict[str, str], extra: bool, year: int, seen: dict[date, DayKind]
) -> tuple[str, dict[str, str]] | None:
    """What is wrong with one row (a reason code and its parameters), or None."""
    if extra:
        return "extra_cells", {}
    for column in COLUMNS:
        if not row.get(column):
            return "required", {"column": column}
    value, kind = row["date"], row["kind"].lower()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return "bad_date", {"column": "date", "value": value}
    if len(value) != 10:  # 20270101 parses too, but is not what the format says
        return "bad_date", {"column": "date", "value": value}
    if day.year != year:
        return "wrong_year", {"value": value, "year": str(year)}
    if kind not in {k.value for k in DayKind}:
        return "bad_kind", {"value": row["kind"]}
    if day in seen:
        return "duplicate_day", {"value": value}
    return None


async def refresh_calendar(*, session: AsyncSession, calendar: WorkCalendar) -> bool:
    """Read the database's years into `calendar` if they changed since it last did; whether
    they did (the first read counts as a change)."""
    count, latest = (
        await session.exec(select(func.count(), func.max(HolidayDay.loaded_at)))
    ).one()
    stamp = (int(count), latest.isoformat() if latest is not None else None)
    if stamp == calendar.loaded.stamp:
        return False
    rows = (await session.exec(select(HolidayDay))).all()
    calendar.use_database(
        LoadedYears(
            days={row.day: row.kind == DayKind.WORKDAY for row in rows},
            years=frozenset(row.year for row in rows),
            stamp=stamp,
        )
    )
    return True


async def load_year(
    *,
    session: AsyncSession,
    rules: Rules,
    year: int,
    days: dict[date, DayKind],
    now: datetime,
    by: str | None = None,
) -> YearLoaded:
    """Replace the year's schedule, count the affected deadlines again and tell the admins."""
    await session.exec(delete(HolidayDay).where(col(HolidayDay.year) == year))
    session.add_all(
        HolidayDay(day=day, kind=kind.value, year=year, loaded_at=now, loaded_by=by)
        for day, kind in sorted(days.items())
    )
    await session.flush()
    await refresh_calendar(session=session, calendar=rules.calendar)
    recomputed = await recompute_deadlines(session=session, rules=rules, now=now, years={year})
    notices = await _tell_admins(session, year, len(days), recomputed, now)
    return YearLoaded(year, len(days), recomputed, notices)


async def _tell_admins(
    session: AsyncSession, year: int, days: int, recomputed: list[str], now: datetime
) -> int:
    """One notice per admin: the year loaded, and the issues whose deadlines moved."""
    rows = await tell_admins(
        session=session,
        kind=NOTICE,
        key=f"{NOTICE}:{year}:{now.isoformat()}",
        payload={"year": year, "days": days, "issues": recomputed},
        now=now,
    )
    return len(rows)
