"""The clock watcher: one sweep of every open issue's clock, then of the co-handlers' deadlines,
each in its own committed session; then the month's progress escalation, when it falls due
(models/cycle_reports.py)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from models.cycle_reports import escalate_progress
from models.db import session_scope
from models.issues.sweep import ClockReport, process_clocks, process_cohandlers
from models.rules import Rules

log = logging.getLogger(__name__)


async def run_clocks(*, engine: AsyncEngine, rules: Rules, now: datetime) -> ClockReport:
    """Send due reminders and escalate what is past its deadline, as at `now`."""
    async with session_scope(engine) as session:
        report = await process_clocks(session=session, rules=rules, now=now)
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
