"""Scheduled work, named in one place. Each job takes the engine, the rules and `now`.

The policy's `[schedule]` gives each job's cron line; the bot's scheduler (and `ztc jobs run`)
look jobs up here by that name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from jobs.clocks import run_clocks
from models.rules import Rules

Job = Callable[..., Awaitable[Any]]

JOBS: dict[str, Job] = {
    "clocks": run_clocks,
}


async def run_job(name: str, *, engine: AsyncEngine, rules: Rules, now: datetime) -> Any:
    """Run the named job once."""
    return await JOBS[name](engine=engine, rules=rules, now=now)
