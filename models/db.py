"""The database: URLs as people write them, the async engine, one session per unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select

_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
}
_ASYNC = {"sqlite+aiosqlite", "postgresql+asyncpg"}


def async_url(url: str) -> URL:
    """`sqlite:///x.db` or `postgresql://u@h/db` as the async driver's URL."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError; any parse failure is the same
        raise ValueError(f"not a database URL: {url!r}") from exc
    if parsed.drivername in _ASYNC:
        return parsed
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise ValueError(f"unsupported database {parsed.drivername!r} (use sqlite or postgresql)")
    return parsed.set(drivername=driver)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=5000")
    # Write-ahead logging: a reader (a chat's turn holds its session while it talks to
    # Telegram) never keeps a writer from committing; without it 32 chats at once wait out
    # the busy timeout ("database is locked"). Kept in the file: a no-op after the first time.
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
    except Exception:  # another connection is switching it just now: it will be WAL anyway
        pass
    cursor.close()


def _sqlite_foreign_keys(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    # At every checkout, not only at connect: a migration turns them off on its connection
    # (models/migrations/env.py), and that connection goes back to the pool afterwards.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class DatabaseFolderMissing(Exception):
    """The SQLite file's folder does not exist (checked before aiosqlite starts its thread)."""

    def __init__(self, folder: Path) -> None:
        """Keep the folder for the message."""
        self.folder = folder
        super().__init__(f"the folder {folder} does not exist")


class DatabaseMissing(Exception):
    """The SQLite file does not exist yet: `ztc db upgrade` creates it (nothing else does)."""

    def __init__(self, path: Path) -> None:
        """Keep the path for the message."""
        self.path = path
        super().__init__(f"the database {path} does not exist yet")


def sqlite_file(url: str) -> Path | None:
    """The SQLite database's file (None: PostgreSQL, or an in-memory database)."""
    parsed = async_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser().resolve()


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for a URL as people write it (SQLite gets foreign keys on)."""
    path = sqlite_file(url)
    if path is not None and not path.parent.is_dir():
        raise DatabaseFolderMissing(path.parent)
    engine = create_async_engine(async_url(url), **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "checkout", _sqlite_foreign_keys)
    return engine


def upsert_into(engine: AsyncEngine, table: Any) -> PgInsert | SqliteInsert:
    """An INSERT into `table` (a model or a Table) with the engine's ON CONFLICT clauses
    (`on_conflict_do_nothing`, `on_conflict_do_update`): PostgreSQL's or SQLite's, the same API."""
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    return insert(table)


@asynccontextmanager
async def session_scope(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits on success, rolls back on any error, always closes."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


def select_columns(*columns: Any) -> Select[*tuple[Any, ...]]:
    """A select of these columns, any number (sqlmodel's `select` is typed for four at most)."""
    return Select(*columns)
