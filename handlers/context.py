"""What a handler knows of the running bot: the context PTB passes, and the runtime behind it.

Handlers see the runtime through `BotRuntime`, the few things they use; `bot.runtime.Runtime`
is the real one, built by `bot.app.build_application` (bot/ wires handlers/, never the reverse).
It hangs off the Application rather than `bot_data`, which is persisted as JSON.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import CallbackContext, ExtBot

from models.rules import Rules


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


class ZtcContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The callback context, with the runtime one attribute away.

    PTB makes one context per update and hands it to every handler group, so the speaker read
    for the update (handlers.common.load_turn) is kept here and read once.
    """

    turn: Any = None

    @property
    def rt(self) -> BotRuntime:
        """The running bot's shared objects."""
        return self.application.runtime  # type: ignore[attr-defined,no-any-return]
