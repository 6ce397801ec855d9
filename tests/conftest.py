"""Shared fixtures: a real database (SQLite, or PostgreSQL via ZTC_TEST_DATABASE_URL), the rules.

The schema is built once per run by the Alembic migrations themselves (so every run also proves
them from empty); each test then starts from empty tables.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.sandbox import FakeBotAPI
from models.db import make_engine, session_scope
from models.migrate import recreate
from models.policy import load_policy
from models.rules import Rules
from tests.chat import Chat
from tests.factories import World, at, build_world, make_project

PG_URL = os.environ.get("ZTC_TEST_DATABASE_URL")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker for tests that need PostgreSQL itself."""
    config.addinivalue_line("markers", "postgres: needs PostgreSQL (ZTC_TEST_DATABASE_URL)")


def pytest_report_header() -> str:
    """Say which database this run uses."""
    return f"ztc database: {PG_URL or 'SQLite (temporary file)'}"


async def reset_database(url: str) -> None:
    """Drop everything and migrate from empty."""
    engine = make_engine(url)
    await recreate(engine)
    await engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of this run's database, migrated to head."""
    url = PG_URL or f"sqlite:///{tmp_path_factory.mktemp('db') / 'ztc.db'}"
    asyncio.run(reset_database(url))
    yield url


async def empty_tables(engine: AsyncEngine) -> None:
    """Delete every row, children first; ids restart."""
    tables = list(reversed(SQLModel.metadata.sorted_tables))
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                await conn.execute(table.delete())


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on empty tables."""
    eng = make_engine(database_url)
    await empty_tables(eng)
    yield eng
    await eng.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session; tests commit when they mean to."""
    async with AsyncSession(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture(scope="session")
def rules() -> Rules:
    """The shipped policy in the city's zone."""
    return Rules.build(load_policy(), "Asia/Shanghai")


@pytest.fixture
def postgres_url() -> str:
    """PostgreSQL's URL, for tests that need it; in CI its absence is a failure, not a skip."""
    if PG_URL and PG_URL.startswith(("postgres", "postgresql")):
        return PG_URL
    if IN_CI and os.environ.get("ZTC_REQUIRE_POSTGRES") == "1":
        pytest.fail("ZTC_TEST_DATABASE_URL must point at PostgreSQL in this CI run")
    pytest.skip("PostgreSQL-only test: set ZTC_TEST_DATABASE_URL")


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


# --- the end-to-end chat: the real application against the fake Bot API --------------------


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    """The fake Telegram, on a free port."""
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
async def world(engine: AsyncEngine) -> World:
    """The small city with one 2亿 project in r1 whose leader is deputy-a."""
    async with session_scope(engine) as session:
        world = await build_world(session)
        await make_project(session, world, 20_000, code="P1", leader="deputy-a")
    return world


@pytest.fixture
async def chat(
    api: FakeBotAPI, engine: AsyncEngine, rules: Rules, world: World
) -> AsyncIterator[Chat]:
    """The running bot, on Friday 2026-11-20 10:00 in Huai'an."""
    harness = Chat(api=api, engine=engine, rules=rules, now=at("2026-11-20 10:00"))
    await harness.start()
    yield harness
    if harness.app is not None:
        await harness.stop()
