"""What every layer of the suite shares: the network guard, the rules, and the database.

The tests mirror the source's layers (STYLE.md): tests/unit (pure rules: no database, no
network, no app), tests/services (the domain and jobs on a real database), tests/e2e (the real
application over HTTP against the fake Bot API, `ztc run` and `ztc demo` as processes, the demo in
a browser); tests/support holds what they share (factories, the chat driver, the fuzzer).

The database is SQLite (a temporary file) or PostgreSQL via ZTC_TEST_DATABASE_URL. Its schema is
built by the Alembic migrations themselves (so every run also proves them from empty) once per
run, on the first test that asks for a database: `pytest tests/unit` never makes one. Each test
then starts from empty tables.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import make_engine, session_scope
from models.policy import load_policy
from models.rules import Rules
from tests.support.database import PG_URL, empty_tables, reset_database
from tests.support.factories import World, build_world, make_project
from tests.support.network import Guard, guarded

pytest_plugins = ("pytester",)  # tests/unit/test_network_guard.py runs pytest on the guard


def pytest_report_header() -> str:
    """Say which database this run uses."""
    return f"ztc database: {PG_URL or 'SQLite (temporary file)'}"


# --- the network guard: loopback only (tests/support/network.py) ----------------------------


@pytest.fixture(scope="session", autouse=True)
def _network_guard_installed() -> Iterator[Guard]:
    """The guard on `socket`, for the whole run (before any other fixture opens anything)."""
    with guarded() as guard:
        yield guard


@pytest.fixture(scope="session", autouse=True)
def _data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """ztc's default data folder (bot/settings.py data_dir) in the run's temporary folder:
    no test reads or writes the developer's own ~/.local/share/ztc."""
    before = os.environ.get("ZTC_DATA_DIR")
    os.environ["ZTC_DATA_DIR"] = str(tmp_path_factory.mktemp("data-dir"))
    yield
    if before is None:
        os.environ.pop("ZTC_DATA_DIR", None)
    else:
        os.environ["ZTC_DATA_DIR"] = before


@pytest.fixture(autouse=True)
def network_guard(_network_guard_installed: Guard) -> Iterator[Guard]:
    """Fails the test if anything reached beyond loopback while it ran, even when the code under
    test swallowed the refusal. A test that provokes one on purpose `take()`s it."""
    yield _network_guard_installed
    refused = _network_guard_installed.take()
    if refused:
        pytest.fail(
            "network access beyond loopback: "
            + "; ".join(refused)
            + " (tests/support/network.py)",
            pytrace=False,
        )


# --- the rules ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def rules() -> Rules:
    """The shipped policy in the city's zone."""
    return Rules.build(load_policy(), "Asia/Shanghai")


# --- the database: for tests/services and tests/e2e (tests/unit refuses it) --------------------


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of this run's database, migrated to head."""
    url = PG_URL or f"sqlite:///{tmp_path_factory.mktemp('db') / 'ztc.db'}"
    asyncio.run(reset_database(url))
    yield url


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


@pytest.fixture
async def world(engine: AsyncEngine) -> World:
    """The small city with one 2亿 project in r1 whose leader is deputy-a."""
    async with session_scope(engine) as session:
        world = await build_world(session)
        await make_project(session, world, 20_000, code="P1", leader="deputy-a")
    return world
