"""Alembic, driven from code: upgrade a database, and tell whether it is current."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import models  # noqa: F401  (every table on the metadata)


def alembic_config(url: str = "") -> Config:
    """A Config pointing at the migrations shipped inside the package."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("models") / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate_on(connection: Connection, revision: str, *, down: bool = False) -> None:
    """Upgrade the schema to `revision` (downgrade with `down`) on a connection already open:
    inside the caller's transaction (`AsyncConnection.run_sync`)."""
    config = alembic_config()
    config.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(config, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Create the database's tables or bring them up to the newest migration (or `revision`)."""
    async with engine.begin() as connection:
        await connection.run_sync(migrate_on, revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Take the schema back to `revision` ("base": empty); what later migrations added is lost."""
    async with engine.begin() as connection:
        await connection.run_sync(migrate_on, revision, down=True)


def history() -> list[tuple[str, str | None, str]]:
    """Every migration shipped, oldest first: (revision, the one before, its first line)."""
    scripts = list(ScriptDirectory.from_config(alembic_config()).walk_revisions())[::-1]
    return [
        (
            str(script.revision),
            script.down_revision if isinstance(script.down_revision, str) else None,
            (script.doc or "").split("\n")[0],
        )
        for script in scripts
    ]


def head_revision() -> str | None:
    """The newest migration shipped."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The migration the database is at (None for an empty database)."""
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


async def recreate(engine: AsyncEngine) -> None:
    """Drop every table (PostgreSQL: the whole public schema) and migrate from empty.

    For tests and benchmarks only: it destroys the database's data.
    """
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        else:
            await conn.run_sync(SQLModel.metadata.drop_all)
            await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    await upgrade(engine)
