"""When the five-ones cycle's jobs are due, which period a run covers, and claiming it once.

Each job has a cron line in the policy; a job in `cycle.workdays_only` that falls on a weekend or
holiday waits for the next working day at the same time. A run covers a period keyed by the
*scheduled* moment (the monthly bulletin of 1 December covers "2026-11"), so however often the
scheduler fires, restarts or runs twice, `schedule_runs`' unique (job, period) lets one run
through. What is not claimed in time: run late inside the policy's grace window, else skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.infra import ScheduleRun
from models.periods import Grain, Period
from models.rules import Rules
from models.workcal import WorkCalendar

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
# How far back to look for the latest scheduled moment: a period and a long holiday.
_LOOKBACK: dict[Grain, timedelta] = {
    "day": timedelta(days=12),
    "week": timedelta(days=21),
    "month": timedelta(days=45),
    "quarter": timedelta(days=105),
    "half": timedelta(days=195),
    "year": timedelta(days=380),
}
Status = Literal["done", "late", "skipped"]


class WorkdayCron(BaseTrigger):  # type: ignore[misc]
    """A cron line whose moments on days off move to the next working day, same clock time."""

    def __init__(self, line: str, tz: ZoneInfo, calendar: WorkCalendar | None) -> None:
        """`calendar` None: every day counts."""
        self.cron = CronTrigger.from_crontab(line, timezone=tz)
        self.tz, self.calendar = tz, calendar

    def shift(self, moment: datetime) -> datetime:
        """The moment itself, or the same time on the next working day."""
        if self.calendar is None:
            return moment
        local = moment.astimezone(self.tz)
        day = local.date()
        while not self.calendar.is_workday(day)[0]:
            day += timedelta(days=1)
        return datetime.combine(day, local.time(), self.tz)

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        """APScheduler's question: the next (shifted) moment after the previous one."""
        moment = self.cron.get_next_fire_time(previous_fire_time, now)
        while moment is not None:
            shifted = self.shift(moment)
            if previous_fire_time is None or shifted > previous_fire_time:
                return shifted
            moment = self.cron.get_next_fire_time(moment, moment + timedelta(microseconds=1))
        return None

    def __str__(self) -> str:
        """As APScheduler prints triggers."""
        return f"workday-cron[{self.cron}]"


def trigger_for(rules: Rules, job: str) -> WorkdayCron:
    """The job's trigger from the policy's cron line, in the city's zone."""
    calendar = rules.calendar if job in rules.policy.cycle.workdays_only else None
    return WorkdayCron(rules.policy.cron_lines()[job], rules.tz, calendar)


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


def latest_due(rules: Rules, job: str, now: datetime) -> Due | None:
    """The job's latest run whose (shifted) time is at or before `now`."""
    trigger = trigger_for(rules, job)
    moment = trigger.cron.get_next_fire_time(None, now - _LOOKBACK[PERIODS[job][0]])
    best: Due | None = None
    while moment is not None and moment <= now:
        runs_at = trigger.shift(moment)
        if runs_at <= now and (best is None or runs_at >= best.runs_at):
            best = Due(job, moment, runs_at, period_for(job, moment, rules.tz))
        moment = trigger.cron.get_next_fire_time(moment, moment + timedelta(microseconds=1))
    return best


def next_run(rules: Rules, job: str, now: datetime) -> datetime | None:
    """When the job runs next after `now`."""
    return trigger_for(rules, job).get_next_fire_time(None, now)


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
