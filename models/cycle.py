"""When the five-ones cycle's jobs are due, which period a run covers, and claiming it once.

Each job has a cron line in the policy; a job in `cycle.workdays_only` that falls on a weekend or
holiday waits for the next working day at the same time (jobs/schedule.py turns the lines into
triggers and finds the moments; the rules here take the moments as given). A run covers a period
keyed by the *scheduled* moment (the monthly bulletin of 1 December covers "2026-11"), so
however often the scheduler fires, restarts or runs twice, `schedule_runs`' unique (job, period)
lets one run through. What is not claimed in time: run late inside the policy's grace window,
else skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.periods import Grain, Period
from models.rules import Rules
from models.tables.infra import ScheduleRun

# Each cycle job's period: its grain, and whether it reports on the period before the moment
# (a bulletin on the 1st covers last month) or the one it falls in (a reminder on the 25th).
PERIODS: dict[str, tuple[Grain, bool]] = {
    "monthly_bulletin": ("month", True),
    "coordination_agenda": ("month", False),
    "quarterly_review": ("quarter", True),
    "half_year_visit": ("half", True),
    "annual_assessment": ("year", True),
    "progress_reminder": ("month", False),
    "progress_followup": ("month", False),
    "weekly_digest": ("week", False),
    "daily_chase": ("day", False),
}
CYCLE_JOBS = tuple(PERIODS)
# The jobs that draw a bulletin (with its workbook and chart) of the city and each region.
BULLETIN_JOBS = ("monthly_bulletin", "quarterly_review", "annual_assessment")
Status = Literal["done", "late", "skipped"]


@dataclass(frozen=True)
class Due:
    """A scheduled run: the cron moment (which names the period) and when it runs (shifted)."""

    job: str
    scheduled: datetime
    runs_at: datetime
    period: Period


def period_for(job: str, scheduled: datetime, tz: ZoneInfo) -> Period:
    """The period a run scheduled at `scheduled` covers."""
    grain, before = PERIODS[job]
    period = Period.containing(grain, scheduled.astimezone(tz).date())
    return period.previous() if before else period


def verdict(rules: Rules, due: Due, now: datetime) -> Status:
    """Run on time, run late (inside the grace window), or skip."""
    lateness = now - due.runs_at
    grace = rules.policy.cycle.grace.get(due.job, timedelta(0))
    if lateness > max(grace, rules.policy.cycle.late_after):
        return "skipped"
    return "late" if lateness > rules.policy.cycle.late_after else "done"


async def find_run(*, session: AsyncSession, job: str, period: str) -> ScheduleRun | None:
    """The recorded run of (job, period), if any."""
    query = select(ScheduleRun).where(ScheduleRun.job == job, ScheduleRun.period == period)
    return (await session.exec(query)).first()


async def claim(
    *,
    session: AsyncSession,
    job: str,
    period: Period,
    status: Status,
    now: datetime,
    scheduled: datetime | None,
    note: str | None = None,
) -> ScheduleRun:
    """Record (job, period) in the caller's transaction; flushes, so a second claimant fails
    with IntegrityError here (on PostgreSQL after waiting for the first to commit)."""
    run = ScheduleRun(
        job=job,
        period=period.key,
        status=status,
        started_at=now,
        finished_at=now,
        scheduled_for=scheduled,
        note=note,
    )
    session.add(run)
    await session.flush()
    return run
