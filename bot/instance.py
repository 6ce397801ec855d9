"""One bot process per database, until several can share one safely.

Two `ztc run` on one database silently split conversation state (a report begun on one is not
seen by the other) and could submit a report twice. The running bot therefore holds a lock
for as long as it runs: on PostgreSQL a session advisory lock on a connection of its own, on
SQLite an exclusive `flock` on a file beside the database. Both vanish with the process, so a
crash never leaves a stale lock behind.

The PostgreSQL lock is the session's, so it also vanishes with a lost connection (the database
restarted): the running bot checks it every few seconds and takes it again; if another bot took
it meanwhile, this one stops (`on_lost`), so two never run on one database.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.logctx import first_line

log = logging.getLogger(__name__)
# A fixed key of our own in PostgreSQL's advisory lock space (per database).
LOCK_KEY = zlib.crc32(b"ztc:bot-process")
# This session holds the one-number advisory lock :key (stored as classid, its high half: 0
# for our keys; objid, its low half; objsubid 1).
_MINE = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = 0"
    " AND objid::bigint = :key AND objsubid = 1 AND granted AND pid = pg_backend_pid())"
)


class AlreadyRunning(Exception):
    """Another bot process holds the database's lock."""

    def __init__(self, where: str) -> None:
        """Keep where the lock is, for the message."""
        self.where = where
        super().__init__(f"another ztc bot process is using {where}")


class InstanceLock:
    """The process's claim on its database; `acquire` raises AlreadyRunning if it is taken."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        retry: float = 5.0,
        on_lost: Callable[[], object] | None = None,
    ) -> None:
        """Lock the database behind `engine` (nothing is taken before `acquire`); on
        PostgreSQL check it every `retry` seconds, and call `on_lost` if another process took
        it after this one's session was lost."""
        self.engine, self.retry, self.on_lost = engine, retry, on_lost
        self._connection: AsyncConnection | None = None
        self._file: IO[bytes] | None = None
        self._watch_task: asyncio.Task[None] | None = None

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
            self._watch_task = asyncio.create_task(self._watch(), name="bot-process-lock")
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

    async def keep(self) -> None:
        """PostgreSQL: the lock is still this session's; after a lost session take it again
        (a database away: next time); raise AlreadyRunning if another process holds it now."""
        if self._connection is not None:
            if await holds(self._connection, LOCK_KEY):
                return
            log.warning("the bot-process lock went with its connection: taking it again")
            with contextlib.suppress(Exception):  # a dead connection frees the lock anyway
                await self._connection.close()
            self._connection = None
        try:
            self._connection = await hold_advisory_lock(self.engine, LOCK_KEY)
        except Exception as exc:  # the database is away: try again later
            log.warning("bot-process lock: no connection (%s)", first_line(exc))
            return
        if self._connection is None:
            raise AlreadyRunning(self.where)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.retry)
            try:
                await self.keep()
            except AlreadyRunning:
                where = self.where
                log.error("another ztc bot took %s while this one was cut off: stopping", where)
                if self.on_lost is not None:
                    self.on_lost()
                return

    async def release(self) -> None:
        """Let go of the lock (idempotent)."""
        if self._watch_task is not None:
            task, self._watch_task = self._watch_task, None
            if task is not asyncio.current_task():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
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


async def holds(connection: AsyncConnection, key: int) -> bool:
    """Whether `connection`'s session holds the advisory lock `key` (False when the connection
    is gone, even if SQLAlchemy has quietly replaced it since)."""
    try:
        held = bool((await connection.execute(_MINE, {"key": key})).scalar())
        await connection.commit()
    except Exception as exc:
        log.warning("advisory lock %s: its connection is gone (%s)", key, first_line(exc))
        return False
    return held


async def let_go(connection: AsyncConnection, key: int) -> None:
    """Release the advisory lock `key` that `connection` holds, and close it. If the unlock
    fails (a check of the lock was cancelled halfway, leaving the connection busy; the database
    is away), the connection is invalidated instead: its session ends, and the lock with it —
    never a lock left held by a connection nobody uses."""
    try:
        await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
    except Exception as exc:
        reason = first_line(exc)
        log.warning("advisory lock %s: unlock failed (%s); ending its session", key, reason)
        with contextlib.suppress(Exception):
            await connection.invalidate()
    finally:
        with contextlib.suppress(Exception):
            await connection.close()


def _lock_path(engine: AsyncEngine) -> Path | None:
    database = engine.url.database
    if database in (None, "", ":memory:") or str(database).startswith("file:"):
        return None
    db = Path(str(database)).expanduser().resolve()
    return db.with_name(db.name + ".lock")
