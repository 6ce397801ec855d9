"""What a handler knows of the running bot: the context PTB passes, and the runtime behind it.

Handlers see the runtime through `BotRuntime`, the few things they use; `bot.runtime.Runtime`
is the real one, built by `bot.app.build_application` (bot/ wires handlers/, never the reverse).
It hangs off the Application rather than `bot_data`, which is persisted as JSON.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from models.rules import Rules

if TYPE_CHECKING:
    from handlers.common import Turn


class BotRuntime(Protocol):
    """The running bot's shared objects, as handlers use them."""

    @property
    def rules(self) -> Rules:
        """The policy and calendars."""

    @property
    def engine(self) -> AsyncEngine:
        """The database."""

    @property
    def default_locale(self) -> str:
        """The language of people whose own is not known."""

    def now(self) -> datetime:
        """Now, from the runtime's clock (the demo can move it)."""

    def wake_dispatcher(self) -> None:
        """New outbox rows are committed: deliver them without waiting for the next pass."""

    def leading(self) -> bool:
        """Whether this process runs the policy's jobs now (the scheduler's leader)."""

    def refused(self, limit: str) -> None:
        """An abuse limit refused something: counted in the metrics (reports_per_day,
        messages_per_minute)."""


@runtime_checkable
class HasRuntime(Protocol):
    """An application that carries the runtime (bot.runtime.ZtcApplication)."""

    @property
    def runtime(self) -> BotRuntime:
        """The running bot's shared objects."""


# The bot's rate limiter (jobs.channels.telegram_limits.TelegramRateLimiter) takes the retries as
# its per-call argument, so the application's bot is an ExtBot[int].
ZtcBot: TypeAlias = ExtBot[int]
ZtcData: TypeAlias = dict[Any, Any]  # user_data, chat_data and bot_data: PTB's plain dicts


class ZtcContext(CallbackContext[ZtcBot, ZtcData, ZtcData, ZtcData]):
    """The callback context, with the runtime one attribute away.

    PTB makes one context per update and hands it to every handler group, so the speaker read
    for the update (handlers.common.load_turn) is kept here and read once.
    """

    turn: Turn | None = None

    @property
    def rt(self) -> BotRuntime:
        """The running bot's shared objects."""
        app = self.application
        assert isinstance(app, HasRuntime), "an application built by bot.app.build_application"
        return app.runtime


# The application as bot.app.build_application makes it: every callback gets a ZtcContext, the
# job queue's too (PTB's builder keeps its default JobQueue[CallbackContext] type otherwise).
ZtcApp: TypeAlias = Application[
    ZtcBot, ZtcContext, ZtcData, ZtcData, ZtcData, JobQueue[ZtcContext]
]
