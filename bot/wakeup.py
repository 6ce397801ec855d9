"""A fleet's wake-up call for the outbox: PostgreSQL's LISTEN/NOTIFY between its processes.

Only the scheduler leader sends (Runtime.sending); a notice queued by another process would
wait for the leader's next pass (a second at most). Instead the process that queued it says
`NOTIFY ztc_outbox` and every process listening wakes its dispatcher at once — the leader's
sends, the others' see they do not lead. Best effort: a lost listening connection (a database
restart) only falls back to the passes; it is logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.logctx import first_line

log = logging.getLogger(__name__)
CHANNEL = "ztc_outbox"


class OutboxWakeup:
    """Listens for the fleet's NOTIFY on a connection of its own; `call()` sends one."""

    def __init__(self, engine: AsyncEngine, on_wake: Callable[[], None]) -> None:
        """Wake through `on_wake` when another process of `engine`'s database queues notices."""
        self.engine, self.on_wake = engine, on_wake
        self._connection: AsyncConnection | None = None
        self._driver: Any = None  # asyncpg's connection, which has the listener API
        self._calls: set[asyncio.Task[None]] = set()
        self._stopping = False

    async def start(self) -> None:
        """LISTEN (a failure is logged: the dispatcher's passes still run)."""
        try:
            self._connection = await self.engine.connect()
            raw = await self._connection.get_raw_connection()
            self._driver = raw.driver_connection
            await self._driver.add_listener(CHANNEL, self._heard)
            self._driver.add_termination_listener(self._lost)
        except Exception as exc:
            log.warning("outbox wake-up: not listening (%s)", first_line(exc))
            await self.stop()

    async def stop(self) -> None:
        """Stop listening and let the calls in flight finish."""
        self._stopping = True
        if self._calls:
            await asyncio.wait(list(self._calls))
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                if self._driver is not None and not self._driver.is_closed():
                    await self._driver.remove_listener(CHANNEL, self._heard)
                await connection.close()
            except Exception:  # a connection the server dropped: nothing to undo
                await connection.invalidate()
        self._driver = None

    def call(self) -> None:
        """Tell the other processes that notices were queued (in the background)."""
        task = asyncio.get_running_loop().create_task(self._notify())
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    async def _notify(self) -> None:
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text(f"NOTIFY {CHANNEL}"))
                await connection.commit()
        except Exception as exc:  # the leader's next pass picks the rows up anyway
            log.warning("outbox wake-up: no call (%s)", first_line(exc))

    def _heard(self, _connection: object, _pid: int, _channel: str, _payload: str) -> None:
        self.on_wake()  # our own call too: a second wake of an awake dispatcher is nothing

    def _lost(self, _connection: object) -> None:
        if self._stopping:
            return  # our own close
        log.warning("outbox wake-up: the listening connection closed; the passes go on")
