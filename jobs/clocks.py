"""The clock watcher: first the calendar (a year loaded since the last sweep: the provisional
deadlines counted again), then one sweep of every open issue's clock, then of the co-handlers'
deadlines, each in its own committed session; then the month's progress escalation, when it
falls due (models/cycle_reports.py)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from models.cycle_reports import escalate_progress
from models.db import session_scope
from models.holidays import refresh_calendar
from models.issues.recompute import recompute_deadlines
from models.issues.sweep import ClockReport, process_clocks, process_cohandlers
from models.rules import Rules

log = logging.getLogger(__name__)


async def run_clocks(*, engine: AsyncEngine, rules: Rules, now: datetime) -> ClockReport:
    """Send due reminders and escalate what is past its deadline, as at `now`."""
    recomputed: list[str] = []
    async with session_scope(engine) as session:
        # One aggregate query when nothing changed. When the calendar did (a load, or this
        # process's first sweep), a deadline counted meanwhile with the old one is counted again.
        if await refresh_calendar(session=session, calendar=rules.calendar):
            recomputed = await recompute_deadlines(session=session, rules=rules, now=now)
    if recomputed:
        log.info("calendar changed: deadlines counted again on %s", ", ".join(recomputed))
    async with session_scope(engine) as session:
        report = await process_clocks(session=session, rules=rules, now=now)
    report.recomputed = recomputed
    async with session_scope(engine) as session:
        report.cohandlers = await process_cohandlers(session=session, rules=rules, now=now)
    try:
        async with session_scope(engine) as session:
            rows = await escalate_progress(session=session, rules=rules, now=now)
    except IntegrityError:  # another process claimed the month's escalation first
        rows = []
    if rows:
        log.info("progress escalation: %d notices", len(rows))
    return report
