"""Scheduled work, named in one place. Each job takes the engine, the rules and `now`.

The policy's `[schedule]` (and `[meeting]` for the agenda) gives each job's cron line; the bot's
scheduler and `ztc jobs run` look jobs up here by that name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from jobs.clocks import run_clocks
from jobs.cycle import run_cycle_job
from models.cycle import CYCLE_JOBS
from models.periods import Period
from models.rules import Rules

Job = Callable[..., Awaitable[Any]]

JOBS: dict[str, Job] = {
    "clocks": run_clocks,
    **{name: partial(run_cycle_job, job=name) for name in CYCLE_JOBS},
}


async def run_job(
    name: str,
    *,
    engine: AsyncEngine,
    rules: Rules,
    now: datetime,
    period: Period | None = None,
) -> Any:
    """Run the named job once (a cycle job for its due period, or the given one)."""
    if name == "clocks":
        return await run_clocks(engine=engine, rules=rules, now=now)
    return await JOBS[name](engine=engine, rules=rules, now=now, period=period)
