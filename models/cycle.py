"""When the five-ones cycle's jobs are due, which period a run covers, and claiming it once.

Each job has a cron line in the policy; a job in `cycle.workdays_only` that falls on a weekend or
holiday waits for the next working day at the same time (jobs/schedule.py turns the lines into
triggers and finds the moments; the rules here take the moments as given). A run covers a period
keyed by the *scheduled* moment (the monthly bulletin of 1 December covers "2026-11"), so
however often the scheduler fires, restarts or runs twice, `schedule_runs`' unique (job, period)
lets one run through. What is not claimed in time: run late inside the policy's grace window,
else skipped: recorded, told to the admins (when the period was expected: see `lost`), listed
by `ztc doctor`, and run once by hand when an admin asks (`recover`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.incidents import tell_admins
from models.periods import Grain, Period
from models.rules import Rules
from models.tables.infra import Outbox, ScheduleRun

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
# The jobs whose skipped period is lost unless someone runs it: the admins hear of it. A missed
# digest or chase is not worth a word: the next one, a day or a week on, lists the same issues.
ANNOUNCED_JOBS = tuple(job for job, (grain, _) in PERIODS.items() if grain not in ("week", "day"))
SKIPPED_NOTICE = "cycle_skipped"  # the outbox kind of the admins' notice
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


async def lost(*, session: AsyncSession, job: str, scheduled: datetime | None) -> bool:
    """Whether a skipped period of `job` scheduled at `scheduled` was expected: an announced
    job, due after the deployment's first recorded run. Its first start finds every job's
    latest period unrun; those were never expected, and nobody is told of them."""
    return _expected(job, scheduled, await _first_start(session))


async def _first_start(session: AsyncSession) -> datetime | None:
    return (await session.exec(select(func.min(ScheduleRun.started_at)))).one()


def _expected(job: str, scheduled: datetime | None, first: datetime | None) -> bool:
    if job not in ANNOUNCED_JOBS or scheduled is None or first is None:
        return False
    return first < scheduled


async def announce_skipped(
    *, session: AsyncSession, run: ScheduleRun, now: datetime
) -> list[Outbox]:
    """Tell every admin that a period was skipped (once: the key is the job and the period),
    in the transaction that records it. The notice reads the run at delivery: once the period
    has been run by hand, there is nothing left to say."""
    return await tell_admins(
        session=session,
        kind=SKIPPED_NOTICE,
        key=f"skipped:{run.job}:{run.period}",
        payload={"run": run.id, "job": run.job, "period": run.period},
        now=now,
    )


async def skipped_runs(*, session: AsyncSession) -> list[ScheduleRun]:
    """The periods skipped and not run since that the admins were told of, oldest first."""
    query = select(ScheduleRun).where(
        ScheduleRun.status == "skipped", col(ScheduleRun.job).in_(ANNOUNCED_JOBS)
    )
    runs = (await session.exec(query.order_by(col(ScheduleRun.scheduled_for)))).all()
    first = await _first_start(session)
    return [r for r in runs if _expected(r.job, r.scheduled_for, first)]


async def recover(*, session: AsyncSession, run: ScheduleRun, by: str, now: datetime) -> bool:
    """Turn a skipped run into a late one run now by hand, in the caller's transaction (which
    then draws its reports). Only one caller wins: False when the run is no longer skipped.
    Who ran it is kept in the note (`schedulerun` has no column for it)."""
    note = f"by hand by {by} at {now.isoformat()}; skipped at {run.started_at.isoformat()}"
    if run.note:
        note += f" ({run.note})"
    done = await session.exec(
        update(ScheduleRun)
        .where(col(ScheduleRun.id) == run.id, col(ScheduleRun.status) == "skipped")
        .values(status="late", started_at=now, finished_at=now, note=note)
    )
    if done.rowcount != 1:
        return False
    await session.refresh(run)
    return True
