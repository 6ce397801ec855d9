"""The demo's database, made from nothing: schema, the examples and the demo's extra projects,
six weeks of simulated issues, the cycle's runs as they would have happened, everybody bound."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.demo.data import (
    FEATURED,
    DemoPerson,
    bind_everyone,
    demo_people,
    load_demo_data,
    settle_outbox,
)
from bot.demo.sample import progress_history, simulate, waiting_for_material
from jobs.cycle import catch_up
from models.db import session_scope
from models.migrate import upgrade
from models.rules import Rules

HISTORY = timedelta(days=45)  # how far back the simulated issues go


def examples_folder() -> Path:
    """The example city shipped with the package (bot/demo/examples; `examples/` in a checkout
    links to it): the demo runs from any install, a clone or a wheel."""
    return Path(__file__).resolve().parent / "examples"


async def prepare_world(
    *, engine: AsyncEngine, rules: Rules, examples: Path, now: datetime, seed: int, locale: str
) -> list[DemoPerson]:
    """Fill an empty database for the demo; the people the visitor can be."""
    await upgrade(engine)
    async with session_scope(engine) as session:
        await load_demo_data(
            session=session, rules=rules, folders=[examples, examples / "demo"], now=now
        )
    async with session_scope(engine) as session:
        await simulate(session=session, rules=rules, start=now - HISTORY, end=now, seed=seed)
        await progress_history(session=session, rules=rules, start=now - HISTORY, end=now)
        await waiting_for_material(session=session, rules=rules, contact_code=FEATURED[0], now=now)
    await catch_up(engine=engine, rules=rules, now=now)
    async with session_scope(engine) as session:
        await bind_everyone(session=session, locale=locale)
        await settle_outbox(session=session, now=now)
    async with session_scope(engine) as session:
        return await demo_people(session=session, locale=locale)
