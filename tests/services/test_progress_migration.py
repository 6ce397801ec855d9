"""Migration 0007: progress reports keep their rows, take several a month, and go back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from models.db import make_engine
from models.migrate import migrate_on, upgrade

ROWS = (
    "INSERT INTO region (id, code, name_zh, kind) VALUES (1, 'r1', '清江浦区', 'district')",
    "INSERT INTO enterprise (id, code, name, credit_code)"
    " VALUES (1, 'E1', '天合光能', '91350100M000100Y43')",
    "INSERT INTO project (id, code, name, enterprise_id, region_id, investment_wan, stage)"
    " VALUES (1, 'P1', '光伏', 1, 1, 20000, 'started')",
    "INSERT INTO progressreport (project_id, month, stage, invested_wan, reported_at)"
    " VALUES (1, '2026-10-01', 'started', 5000, '2026-10-26 02:00:00')",
)
SECOND = (
    "INSERT INTO progressreport (project_id, month, stage, invested_wan, reported_at)"
    " VALUES (1, '2026-10-01', 'started', {wan}, '2026-10-27 02:00:00')"
)


async def _own_database(url: str) -> AsyncIterator[AsyncEngine]:
    """An empty database of its own (SQLite: the file given)."""
    if url.startswith("sqlite"):
        yield make_engine(url)
        return
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    name = f"{make_url(url).database}_mig7"
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_engine(make_url(url).set(database=name).render_as_string(hide_password=False))
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def test_0007_keeps_the_reports_and_takes_several_a_month(
    database_url: str, tmp_path: Path
) -> None:
    url = database_url if database_url.startswith("postgres") else f"sqlite:///{tmp_path}/m.db"
    async for engine in _own_database(url):
        await upgrade(engine, "0006")
        async with engine.begin() as conn:
            for row in ROWS:
                await conn.execute(text(row))
        await upgrade(engine, "0007")
        async with engine.begin() as conn:
            await conn.execute(text(SECOND.format(wan=6000)))  # the same month again
            await conn.execute(
                text(
                    "INSERT INTO progressreport (project_id, month, stage, reported_at, claim,"
                    " claim_on, claim_status) VALUES (1, '2026-10-01', 'started',"
                    " '2026-10-28 02:00:00', 'completed', '2026-10-20', 'pending')"
                )
            )
            found = await conn.execute(
                text("SELECT invested_wan, files, claim FROM progressreport ORDER BY id")
            )
            rows = [(wan, files, claim) for wan, files, claim in found]
        assert [(wan, claim) for wan, _files, claim in rows] == [
            (5000, None),
            (6000, None),
            (None, "completed"),
        ]
        assert all(files in ("[]", []) for _wan, files, _claim in rows)
        async with engine.begin() as conn:
            await conn.run_sync(migrate_on, "0006", down=True)
        async with engine.connect() as conn:
            left = [
                tuple(r)
                for r in await conn.execute(text("SELECT invested_wan FROM progressreport"))
            ]
            columns = await conn.run_sync(lambda c: inspect(c).get_columns("progressreport"))
        assert left == [(6000,)]  # the month's latest report with an amount
        assert "claim" not in {c["name"] for c in columns}
        await upgrade(engine, "0007")
        await engine.dispose()
