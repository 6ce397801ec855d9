"""Alembic, driven from code: upgrade a database, and tell whether it is current."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine


def alembic_config(url: str = "") -> Config:
    """A Config pointing at the migrations shipped inside the package."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("models") / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade(engine: AsyncEngine) -> None:
    """Create the database's tables or bring them up to the newest migration."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)


def head_revision() -> str | None:
    """The newest migration shipped."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The migration the database is at (None for an empty database)."""
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )
