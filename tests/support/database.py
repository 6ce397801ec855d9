"""The suite's database: SQLite (a temporary file), or PostgreSQL via ZTC_TEST_DATABASE_URL.

The fixtures built on these live in tests/conftest.py; they are lazy, so a run of tests/unit
never creates, migrates or connects to a database.
"""

from __future__ import annotations

import os

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from models.db import make_engine
from models.migrate import recreate

PG_URL = os.environ.get("ZTC_TEST_DATABASE_URL")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


async def reset_database(url: str) -> None:
    """Drop everything and migrate from empty."""
    engine = make_engine(url)
    await recreate(engine)
    await engine.dispose()


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
