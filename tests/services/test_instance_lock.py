"""One bot process per database survives a lost connection: the PostgreSQL lock is the
session's, so a database restart (here: the lock's backend terminated) frees it. The bot takes
it again; if another bot took it first, this one stops (bot/instance.py)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.instance import LOCK_KEY, AlreadyRunning, InstanceLock
from models.db import make_engine

HOLDERS = text(
    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = 0"
    " AND objid::bigint = :key AND objsubid = 1 AND granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


async def holders(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as connection:
        return list((await connection.execute(HOLDERS, {"key": LOCK_KEY})).scalars())


async def cut_off(engine: AsyncEngine) -> int:
    """Terminate the session holding the lock, as a database restart would; its pid."""
    (pid,) = await holders(engine)
    async with engine.connect() as connection:
        await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    return pid


async def until(check: object, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    pytest.fail("it did not happen in time")


@pytest.fixture
async def pg(postgres_url: str) -> AsyncEngine:
    engine = make_engine(postgres_url)
    yield engine  # type: ignore[misc]
    await engine.dispose()


async def test_a_lost_session_takes_the_lock_again_and_keeps_others_out(pg: AsyncEngine) -> None:
    lock = InstanceLock(pg, retry=0.1)
    await lock.acquire()
    try:
        old = await cut_off(pg)

        async def retaken() -> bool:
            return (await holders(pg)) not in ([], [old])

        await until(retaken)
        with pytest.raises(AlreadyRunning):  # a second bot is still kept out
            await InstanceLock(pg).acquire()
    finally:
        await lock.release()
    assert await holders(pg) == []


async def test_a_bot_whose_lock_another_took_meanwhile_stops(pg: AsyncEngine) -> None:
    lost = asyncio.Event()
    first = InstanceLock(pg, retry=2.0, on_lost=lost.set)
    await first.acquire()
    second = InstanceLock(pg, retry=60)
    try:
        await cut_off(pg)

        async def freed() -> bool:  # the terminated backend has ended its session
            return await holders(pg) == []

        await until(freed)
        await second.acquire()  # before the first looks again
        await asyncio.wait_for(lost.wait(), timeout=10)
        assert len(await holders(pg)) == 1  # the second's, alone
    finally:
        await first.release()
        await second.release()
