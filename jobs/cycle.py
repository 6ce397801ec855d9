"""Running the five-ones cycle: claim (job, period) and draw its reports in one transaction.

The claim, the reports and the outbox rows that deliver them commit together: a crash before the
commit leaves nothing behind and the run is retried (inside its grace window); after it, the run
exists exactly once and the dispatcher delivers what it queued.

A period missed beyond its grace window is recorded skipped, and the admins are told in the same
transaction; an admin can then run it by hand, once (`recover`): it is recorded late, with who
ran it, and its reports are drawn and queued then.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from jobs.schedule import latest_due
from models.cycle import CYCLE_JOBS, announce_skipped, claim, find_run, lost, recover, verdict
from models.cycle_reports import produce
from models.db import session_scope
from models.holidays import refresh_calendar
from models.periods import Period
from models.rules import Rules

log = logging.getLogger(__name__)
Outcome = Literal["done", "late", "skipped", "taken", "idle", "recovered"]
BY_CLI = "cli"  # who ran a period by hand when no official is named


@dataclass(frozen=True)
class CycleRun:
    """What one attempt at a cycle job did."""

    job: str
    # taken: the period was already claimed; idle: nothing scheduled yet; recovered: a skipped
    # period run by hand (recorded late)
    outcome: Outcome
    period: str | None = None
    scheduled: datetime | None = None
    notices: int = 0  # the outbox rows queued: the reports' (or, when skipped, the admins')
    note: str | None = None
    by: str | None = None  # who ran it by hand: an official's code, or "cli"


async def run_cycle_job(
    *,
    engine: AsyncEngine,
    rules: Rules,
    job: str,
    now: datetime,
    period: Period | None = None,
    by: str | None = None,
) -> CycleRun:
    """Run the job's latest due period unless it already ran; or, by hand, the given one, which
    may be a skipped period (run once, recorded late); `by` is who asked (default "cli")."""
    async with session_scope(engine) as session:  # a year loaded since moves the job's days
        await refresh_calendar(session=session, calendar=rules.calendar)
    if period is not None:
        return await _by_hand(engine=engine, rules=rules, job=job, now=now, period=period, by=by)
    due = latest_due(rules, job, now)
    if due is None:
        return CycleRun(job, "idle")
    status = verdict(rules, due, now)
    note = None if status == "done" else f"due {due.runs_at.isoformat()}, run at {now.isoformat()}"
    try:
        async with session_scope(engine) as session:
            earlier = await find_run(session=session, job=job, period=due.period.key)
            if earlier is not None:
                return _taken(earlier.job, earlier.period, earlier.scheduled_for, earlier.status)
            run = await claim(
                session=session,
                job=job,
                period=due.period,
                status=status,
                now=now,
                scheduled=due.scheduled,
                note=note,
            )
            if status == "skipped":
                expected = await lost(session=session, job=job, scheduled=due.scheduled)
                rows = (
                    await announce_skipped(session=session, run=run, now=now) if expected else []
                )
            else:
                rows = await produce(
                    session=session, rules=rules, job=job, period=due.period, now=now
                )
    except IntegrityError:  # another process claimed it between our look and our claim
        return _taken(job, due.period.key, due.scheduled, None)
    log.info("cycle %s %s: %s, %d notices", job, due.period.key, status, len(rows))
    return CycleRun(job, status, due.period.key, due.scheduled, len(rows), note)


async def _by_hand(
    *, engine: AsyncEngine, rules: Rules, job: str, now: datetime, period: Period, by: str | None
) -> CycleRun:
    """A period run by hand: one nobody claimed (recorded done), or one recorded skipped
    (recorded late); any other is taken. Exactly once either way: the claim is unique, and only
    one caller turns a skipped run into a late one."""
    who = by or BY_CLI
    try:
        async with session_scope(engine) as session:
            earlier = await find_run(session=session, job=job, period=period.key)
            note: str | None = f"by hand by {who}"
            if earlier is None:
                await claim(
                    session=session,
                    job=job,
                    period=period,
                    status="done",
                    now=now,
                    scheduled=None,
                    note=note,
                )
                outcome: Outcome = "done"
                scheduled = None
            elif earlier.status == "skipped" and await recover(
                session=session, run=earlier, by=who, now=now
            ):
                outcome, note, scheduled = "recovered", earlier.note, earlier.scheduled_for
            else:
                return _taken(job, period.key, earlier.scheduled_for, earlier.status)
            rows = await produce(session=session, rules=rules, job=job, period=period, now=now)
    except IntegrityError:  # another process claimed it between our look and our claim
        return _taken(job, period.key, None, None)
    log.info("cycle %s %s: %s by hand by %s, %d notices", job, period.key, outcome, who, len(rows))
    return CycleRun(job, outcome, period.key, scheduled, len(rows), note, who)


def _taken(job: str, period: str, scheduled: datetime | None, status: str | None) -> CycleRun:
    """The period was claimed already: nothing done (`note`: how it went, when known)."""
    return CycleRun(job, "taken", period, scheduled, note=status)


async def catch_up(*, engine: AsyncEngine, rules: Rules, now: datetime) -> list[CycleRun]:
    """Every cycle job's latest period, at start-up: run late inside the grace window, else
    record it skipped (and tell the admins, when it was expected); periods already claimed are
    left alone."""
    return [
        await run_cycle_job(engine=engine, rules=rules, job=job, now=now) for job in CYCLE_JOBS
    ]
