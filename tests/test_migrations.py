"""Migrations: from empty to head, idempotent, and matching the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from models.migrate import current_revision, head_revision, upgrade


async def test_the_database_is_at_head_and_matches_the_models(engine: AsyncEngine) -> None:
    # conftest built this run's schema from empty through the migrations alone.
    assert await current_revision(engine) == head_revision()

    def diff(sync_conn):
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)

    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_every_table_exists(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    assert set(SQLModel.metadata.tables) <= tables
    assert {"issue", "issueevent", "outbox", "invite", "schedulerun", "progressreport"} <= tables


async def test_upgrade_again_is_a_no_op(engine: AsyncEngine) -> None:
    await upgrade(engine)
    assert await current_revision(engine) == head_revision()
