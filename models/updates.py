"""Each Telegram update handled once: the first process to record its id takes it up; a copy
(Telegram retries a webhook it got no answer from, and may deliver an update to another process
of a fleet) finds it recorded and is dropped. Ids are kept two days: Telegram keeps an update 24
hours at most."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from models.db import upsert_into
from models.tables.infra import SeenUpdate

KEPT = timedelta(days=2)


async def first_time(*, engine: AsyncEngine, bot_id: int, update_id: int, now: datetime) -> bool:
    """Record the update as taken up; False when it was already (a copy: drop it)."""
    statement = (
        upsert_into(engine, SeenUpdate)
        .values(bot_id=bot_id, update_id=update_id, seen_at=now)
        .on_conflict_do_nothing(index_elements=["bot_id", "update_id"])
    )
    async with engine.begin() as connection:
        result = await connection.execute(statement)
    return bool(result.rowcount)


async def forget_old(*, engine: AsyncEngine, now: datetime) -> int:
    """Drop the ids older than KEPT; how many."""
    async with engine.begin() as connection:
        result = await connection.execute(
            delete(SeenUpdate).where(col(SeenUpdate.seen_at) < now - KEPT)
        )
    return int(result.rowcount or 0)
