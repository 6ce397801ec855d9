"""One bot process per database, until several can share one safely.

Two `ztc run` on one database silently split conversation state (a report begun on one is not
seen by the other) and could submit a report twice. The running bot therefore holds a lock
for as long as it runs: on PostgreSQL a session advisory lock on a connection of its own, on
SQLite an exclusive `flock` on a file beside the database. Both vanish with the process, so a
crash never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import zlib
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

# A fixed key of our own in PostgreSQL's advisory lock space (per database).
LOCK_KEY = zlib.crc32(b"ztc:bot-process")


class AlreadyRunning(Exception):
    """Another bot process holds the database's lock."""

    def __init__(self, where: str) -> None:
        """Keep where the lock is, for the message."""
        self.where = where
        super().__init__(f"another ztc bot process is using {where}")


class InstanceLock:
    """The process's claim on its database; `acquire` raises AlreadyRunning if it is taken."""

    def __init__(self, engine: AsyncEngine) -> None:
        """Lock the database behind `engine` (nothing is taken before `acquire`)."""
        self.engine = engine
        self._connection: AsyncConnection | None = None
        self._file: IO[bytes] | None = None

    @property
    def where(self) -> str:
        """The database as an admin wrote it: the SQLite file, or the URL without password."""
        url = self.engine.url
        if url.get_backend_name() == "sqlite":
            return str(_lock_path(self.engine) or ":memory:").removesuffix(".lock")
        return url.set(drivername=url.get_backend_name()).render_as_string(hide_password=True)

    async def acquire(self) -> None:
        """Take the lock, or raise AlreadyRunning."""
        if self.engine.dialect.name == "postgresql":
            self._connection = await hold_advisory_lock(self.engine, LOCK_KEY)
            if self._connection is None:
                raise AlreadyRunning(self.where)
            return
        path = _lock_path(self.engine)
        if path is None:
            return  # an in-memory database belongs to this process alone
        handle = path.open("ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise AlreadyRunning(self.where) from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n".encode())
        handle.flush()
        self._file = handle

    async def release(self) -> None:
        """Let go of the lock (idempotent)."""
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await let_go(connection, LOCK_KEY)
        if self._file is not None:
            handle, self._file = self._file, None
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()


async def hold_advisory_lock(engine: AsyncEngine, key: int) -> AsyncConnection | None:
    """A connection of its own holding PostgreSQL's session advisory lock `key` (it goes with
    the session: a crash never leaves it behind); None when another session holds it."""
    connection = await engine.connect()
    try:
        query = text("SELECT pg_try_advisory_lock(:key)")
        got = bool((await connection.execute(query, {"key": key})).scalar())
        await connection.commit()  # the lock is the session's; no transaction stays open
    except BaseException:
        await connection.close()
        raise
    if got:
        return connection
    await connection.close()
    return None


async def let_go(connection: AsyncConnection, key: int) -> None:
    """Release the advisory lock `key` that `connection` holds, and close it."""
    await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
    await connection.close()


def _lock_path(engine: AsyncEngine) -> Path | None:
    database = engine.url.database
    if database in (None, "", ":memory:") or str(database).startswith("file:"):
        return None
    db = Path(str(database)).expanduser().resolve()
    return db.with_name(db.name + ".lock")
