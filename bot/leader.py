"""One scheduler leader among the bot processes on a database.

The leader runs the policy's jobs (the clock sweep, the cycle); the others follow. On PostgreSQL
leadership is a session advisory lock held on a connection of its own: it goes with the process
(a crash, a kill, a lost connection end the session and free the lock), and a follower trying
again every few seconds takes over. `schedule_runs` still makes each period's run happen once
whoever leads. On SQLite there is one process per database (bot/instance.py): it leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.instance import hold_advisory_lock, holds, let_go
from bot.logctx import first_line

log = logging.getLogger(__name__)
LEADER_KEY = zlib.crc32(b"ztc:scheduler-leader")  # apart from the bot-process lock's key


class Leadership:
    """Whether this process leads; `start` tries once and keeps trying (or checking) after."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        retry: float = 5.0,
        on_lead: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        """Lead the scheduler of `engine`'s database; `on_lead` runs each time this becomes
        the leader (the catch-up of what the cycle missed)."""
        self.engine, self.retry, self.on_lead = engine, retry, on_lead
        self.held = False
        self._connection: AsyncConnection | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Try to lead now; then keep trying (a follower) or checking the lock's connection."""
        await self._try()
        self._task = asyncio.create_task(self._watch(), name="scheduler-leader")

    async def stop(self) -> None:
        """Stop trying; a leader lets go (another process takes over at its next try)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._drop(unlock=True)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.retry)
            if self.held:
                await self._check()
            else:
                await self._try()

    async def _try(self) -> None:
        if self.engine.dialect.name != "postgresql":
            await self._became(True)
            return
        try:
            connection = await hold_advisory_lock(self.engine, LEADER_KEY)
        except Exception as exc:  # the database is away: try again later
            log.warning("scheduler leader: no connection (%s)", first_line(exc))
            return
        if connection is not None:
            self._connection = connection
            await self._became(True)

    async def _check(self) -> None:
        """The lock is still this session's; else leadership was lost with the session (a
        connection that died, even one SQLAlchemy has quietly replaced since)."""
        if self._connection is None:
            return
        if not await holds(self._connection, LEADER_KEY):
            log.warning("scheduler leader: this process no longer leads")
            await self._drop(unlock=False)

    async def _became(self, leading: bool) -> None:
        if leading and not self.held:
            self.held = True
            log.info("this process leads the scheduler")
            if self.on_lead is not None:
                try:
                    await self.on_lead()
                except Exception:  # the catch-up failed: the jobs' own ticks try again
                    log.exception("scheduler leader: the catch-up at taking the lead failed")

    async def _drop(self, *, unlock: bool) -> None:
        self.held = False
        connection, self._connection = self._connection, None
        if connection is None:
            return
        with contextlib.suppress(Exception):  # a dead connection frees the lock anyway
            if unlock:
                await let_go(connection, LEADER_KEY)
            else:
                await connection.close()
