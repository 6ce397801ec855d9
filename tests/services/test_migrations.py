"""Migrations: from empty to head, idempotent, and matching the models exactly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from models.db import make_engine
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


async def _own_database(url: str) -> AsyncIterator[AsyncEngine]:
    """An empty database of its own (SQLite: the file given), to migrate step by step."""
    if url.startswith("sqlite"):
        yield make_engine(url)
        return
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    name = f"{make_url(url).database}_mig"
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_engine(make_url(url).set(database=name).render_as_string(hide_password=False))
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def test_0004_keeps_the_rows_and_takes_telegram_sized_ids(
    database_url: str, tmp_path: Path
) -> None:
    url = database_url if database_url.startswith("postgres") else f"sqlite:///{tmp_path}/m.db"
    async for engine in _own_database(url):
        await upgrade(engine, "0003")
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO region (id, code, name_zh, kind)"
                    " VALUES (1, 'r1', '清江浦区', 'district')"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO official (id, code, name, role, region_id, telegram_user_id,"
                    " chat_id, unreachable)"
                    " VALUES (1, 'h', '王', 'region_head', 1, 2001, -100123, false)"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO outbox (id, dedupe_key, created_at, kind, official_id, payload,"
                    " attempts, parts_sent) VALUES (1, 'k', '2026-11-20 02:00:00', 'created', 1,"
                    " '{}', 0, 0)"
                )
            )
        await upgrade(engine, "0004")  # outbox.chat_id is gone at 0005 (test below)
        big, group = 7_000_000_000, -1_001_234_567_890
        async with engine.begin() as conn:
            row = (await conn.execute(text("SELECT chat_id FROM official WHERE id = 1"))).one()
            assert row.chat_id == 2001  # the captured group chat went back to the private one
            await conn.execute(text(f"UPDATE official SET telegram_user_id = {big}"))
            await conn.execute(text(f"UPDATE outbox SET chat_id = {group}"))
            ids = (
                await conn.execute(
                    text(
                        "SELECT o.telegram_user_id, x.chat_id FROM official o JOIN outbox x"
                        " ON x.official_id = o.id"
                    )
                )
            ).one()
        assert tuple(ids) == (big, group)
        await engine.dispose()


async def test_0005_makes_every_row_a_telegram_row_at_its_chat(
    database_url: str, tmp_path: Path
) -> None:
    url = database_url if database_url.startswith("postgres") else f"sqlite:///{tmp_path}/m.db"
    async for engine in _own_database(url):
        await upgrade(engine, "0004")
        group = -1_001_234_567_890
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO region (id, code, name_zh, kind)"
                    " VALUES (1, 'r1', '清江浦区', 'district')"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO official (id, code, name, role, region_id, telegram_user_id,"
                    " chat_id, unreachable)"
                    " VALUES (1, 'h', '王', 'region_head', 1, 7000000000, 7000000000, false)"
                )
            )
            rows = [  # a group's pending bulletin, a person's sent notice, a person's pending one
                ("g", "NULL", group, "NULL"),
                ("sent", "1", 7_000_000_000, "'2026-11-20 02:01:00'"),
                ("pending", "1", "NULL", "NULL"),
            ]
            for key, official, chat, sent in rows:
                await conn.execute(
                    text(
                        "INSERT INTO outbox (dedupe_key, created_at, kind, official_id, chat_id,"
                        " payload, attempts, parts_sent, sent_at) VALUES"
                        f" ('{key}', '2026-11-20 02:00:00', 'report', {official}, {chat},"
                        f" '{{}}', 0, 0, {sent})"
                    )
                )
        await upgrade(engine)
        async with engine.connect() as conn:
            found = await conn.execute(
                text("SELECT dedupe_key, channel, address, official_id FROM outbox ORDER BY id")
            )
            columns = await conn.run_sync(lambda c: inspect(c).get_columns("outbox"))
        assert [tuple(row) for row in found] == [
            ("g", "telegram", str(group), None),
            ("sent", "telegram", "7000000000", 1),  # where it went
            ("pending", "telegram", None, 1),  # still to the person's own chat
        ]
        assert "chat_id" not in {column["name"] for column in columns}
        await engine.dispose()
