"""The clock watcher: one sweep of every open issue's clock, in its own committed session."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from models.db import session_scope
from models.issues.sweep import ClockReport, process_clocks
from models.rules import Rules


async def run_clocks(*, engine: AsyncEngine, rules: Rules, now: datetime) -> ClockReport:
    """Send due reminders and escalate what is past its deadline, as at `now`."""
    async with session_scope(engine) as session:
        return await process_clocks(session=session, rules=rules, now=now)
