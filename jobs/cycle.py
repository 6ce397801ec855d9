"""Running the five-ones cycle: claim (job, period) and draw its reports in one transaction.

The claim, the reports and the outbox rows that deliver them commit together: a crash before the
commit leaves nothing behind and the run is retried (inside its grace window); after it, the run
exists exactly once and the dispatcher delivers what it queued.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from jobs.schedule import latest_due
from models.cycle import CYCLE_JOBS, claim, find_run, verdict
from models.cycle_reports import produce
from models.db import session_scope
from models.periods import Period
from models.rules import Rules

log = logging.getLogger(__name__)
Outcome = Literal["done", "late", "skipped", "taken", "idle"]


@dataclass(frozen=True)
class CycleRun:
    """What one attempt at a cycle job did."""

    job: str
    outcome: Outcome  # taken: the period was already claimed; idle: nothing scheduled yet
    period: str | None = None
    scheduled: datetime | None = None
    notices: int = 0
    note: str | None = None


async def run_cycle_job(
    *,
    engine: AsyncEngine,
    rules: Rules,
    job: str,
    now: datetime,
    period: Period | None = None,
) -> CycleRun:
    """Run the job's latest due period (or the given one, by hand) unless it already ran."""
    scheduled: datetime | None = None
    if period is None:
        due = latest_due(rules, job, now)
        if due is None:
            return CycleRun(job, "idle")
        period, scheduled, status = due.period, due.scheduled, verdict(rules, due, now)
        note = (
            None
            if status == "done"
            else f"due {due.runs_at.isoformat()}, run at {now.isoformat()}"
        )
    else:
        status, note = "done", "by hand"
    try:
        async with session_scope(engine) as session:
            earlier = await find_run(session=session, job=job, period=period.key)
            if earlier is not None:
                return CycleRun(
                    job, "taken", period.key, earlier.scheduled_for, note=earlier.status
                )
            await claim(
                session=session,
                job=job,
                period=period,
                status=status,
                now=now,
                scheduled=scheduled,
                note=note,
            )
            rows = []
            if status != "skipped":
                rows = await produce(session=session, rules=rules, job=job, period=period, now=now)
    except IntegrityError:  # another process claimed it between our look and our claim
        return CycleRun(job, "taken", period.key, scheduled)
    log.info("cycle %s %s: %s, %d notices", job, period.key, status, len(rows))
    return CycleRun(job, status, period.key, scheduled, len(rows), note)


async def catch_up(*, engine: AsyncEngine, rules: Rules, now: datetime) -> list[CycleRun]:
    """Every cycle job's latest period, at start-up: run late inside the grace window, else
    record it skipped; periods already claimed are left alone."""
    return [
        await run_cycle_job(engine=engine, rules=rules, job=job, now=now) for job in CYCLE_JOBS
    ]
