"""What every handler and job of a running bot shares: settings, rules, the engine and the clock
(handlers see it as `handlers.context.BotRuntime`).

It hangs off the Application (`ZtcApplication.runtime`) rather than `bot_data`, because
`bot_data` is persisted as JSON and these are live objects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import Application

from bot.ops import Metrics
from bot.settings import Settings
from handlers.context import ZtcApp
from models.rules import Rules
from models.updates import first_time

if TYPE_CHECKING:
    from bot.api import RunningApi
    from bot.instance import InstanceLock
    from bot.leader import Leadership
    from bot.serving import Serving
    from bot.turns import SharedTurns
    from bot.wakeup import OutboxWakeup
    from jobs.dispatch import Dispatcher


def utc_now() -> datetime:
    """The wall clock, aware, in UTC: the only place the running bot reads it."""
    return datetime.now(UTC)


@dataclass
class Runtime:
    """The live objects of one running bot."""

    settings: Settings
    rules: Rules
    engine: AsyncEngine
    clock: Callable[[], datetime] = utc_now
    dispatcher: Dispatcher | None = None
    owns_engine: bool = True
    scheduled: bool = True  # the policy's jobs run (False: a test drives them by hand)
    tasks: list[Any] = field(default_factory=list)
    lock: InstanceLock | None = None  # held while the bot runs: one bot process per database
    api: RunningApi | None = None  # the intake API while it serves (ZTC_API_PORT)
    metrics: Metrics = field(default_factory=Metrics)  # what /metrics shows (bot/ops.py)
    ops: Serving | None = None  # /healthz and /metrics while they serve (ZTC_OPS_PORT)
    leader: Leadership | None = None  # the scheduler's leadership among processes (bot/leader.py)
    turns: SharedTurns | None = None  # one of a fleet: each update a turn (bot/turns.py)
    wakeup: OutboxWakeup | None = None  # a fleet's NOTIFY to the sender (bot/wakeup.py)

    def now(self) -> datetime:
        """Now, from the runtime's clock (the demo can move it)."""
        return self.clock()

    @property
    def default_locale(self) -> str:
        """The language of people whose own is not known (ZTC_DEFAULT_LOCALE)."""
        return self.settings.default_locale

    @cached_property
    def bot_id(self) -> int:
        """The bot's id, which leads its token (0 without one)."""
        token = self.settings.bot_token
        prefix = token.get_secret_value().split(":", 1)[0] if token else ""
        return int(prefix) if prefix.isdigit() else 0

    async def first_time(self, update_id: int) -> bool:
        """Whether this update is new to the database (a copy of one taken up: False)."""
        return await first_time(
            engine=self.engine, bot_id=self.bot_id, update_id=update_id, now=self.now()
        )

    def leading(self) -> bool:
        """Whether this process runs the policy's jobs now: it schedules them and leads."""
        return self.scheduled and (self.leader is None or self.leader.held)

    def refused(self, limit: str) -> None:
        """An abuse limit refused something: counted in the metrics."""
        self.metrics.refused(limit)

    def sending(self) -> bool:
        """Whether this process delivers the outbox: alone, or the fleet's leader. One sender
        keeps the token's one budget (30 messages a second) whole without sharing it in the
        database; the leader's 1 s passes pick up what the others queue."""
        return self.leader is None or self.leader.held

    def wake_dispatcher(self) -> None:
        """New outbox rows are committed: deliver them without waiting for the next pass
        (in a fleet, the sender may be another process: it is called too)."""
        if self.dispatcher is not None:
            self.dispatcher.wake()
        if self.wakeup is not None:
            self.wakeup.call()


class ZtcApplication(ZtcApp):
    """PTB's Application carrying the bot's Runtime."""

    __slots__ = ("runtime",)

    def __init__(self, *, runtime: Runtime, **kwargs: Any) -> None:
        """Build the application with its runtime."""
        super().__init__(**kwargs)
        self.runtime = runtime


def ztc_application(app: Application[Any, Any, Any, Any, Any, Any]) -> ZtcApplication:
    """The application, as bot.app.build_application built it.

    PTB hands it on typed as its plain Application: to post_init and the like, and as a
    context's `.application` (whose context type PTB leaves an unbound type variable).
    """
    assert isinstance(app, ZtcApplication), "not built by bot.app.build_application"
    return app
