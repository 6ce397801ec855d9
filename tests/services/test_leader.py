"""One scheduler leader among the processes on a database: on PostgreSQL the first to take the
advisory lock leads, the others follow and take over within their retry when it goes (a stop,
or a connection that dies with its process); on SQLite the one process leads."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.leader import Leadership
from models.db import make_engine
from tests.support.database import PG_URL

postgres_only = pytest.mark.skipif(
    not (PG_URL or "").startswith("postgres"),
    reason="PostgreSQL-only test: set ZTC_TEST_DATABASE_URL",
)


async def until(condition: object, seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # type: ignore[operator]  # noqa: ASYNC110
            await asyncio.sleep(0.05)


@postgres_only
async def test_one_leads_and_another_takes_over_when_it_dies(database_url: str) -> None:
    engines = [make_engine(database_url) for _ in range(3)]
    caught_up: list[int] = []

    def leader(n: int) -> Leadership:
        async def on_lead() -> None:
            caught_up.append(n)

        return Leadership(engines[n], retry=0.1, on_lead=on_lead)

    first, second, third = leader(0), leader(1), leader(2)
    try:
        for one in (first, second, third):
            await one.start()
        await asyncio.sleep(0.3)  # several tries of the followers
        assert [one.held for one in (first, second, third)] == [True, False, False]
        assert caught_up == [0]  # the catch-up ran once, by the leader

        # the leader's process dies: its session ends without letting go
        assert first._connection is not None
        await first._connection.invalidate()
        await until(lambda: second.held or third.held)
        await asyncio.sleep(0.3)
        assert [second.held, third.held].count(True) == 1  # exactly one new leader
        assert len(caught_up) == 2 and caught_up[-1] in (1, 2)
        await until(lambda: not first.held)  # the old one sees it lost the lead
        await first.stop()  # and is gone (a dead process tries no more: else it may lead again)

        # the new leader stops cleanly: the last one leads
        new, last = (second, third) if second.held else (third, second)
        await new.stop()
        await until(lambda: last.held)
    finally:
        for one in (first, second, third):
            await one.stop()
        for engine in engines:
            await engine.dispose()


async def test_on_sqlite_the_one_process_leads(engine: AsyncEngine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the SQLite pass runs this test")
    called: list[bool] = []

    async def on_lead() -> None:
        called.append(True)

    alone = Leadership(engine, retry=0.05, on_lead=on_lead)
    await alone.start()
    try:
        await asyncio.sleep(0.2)
        assert alone.held and called == [True]  # led at once, caught up once
    finally:
        await alone.stop()
    assert not alone.held
