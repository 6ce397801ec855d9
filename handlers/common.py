"""What every handler needs: who is talking, in which language, and a session per unit of work."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.ext import ConversationHandler

from bot.i18n import LOCALES, gettext_for
from bot.runtime import Runtime, ZtcContext
from models.db import session_scope
from models.identity import Person, mark_reachable, person_for
from models.org import Contact
from models.permissions import Actor, actor_of

log = logging.getLogger(__name__)
Kind = Literal["contact", "official", "any"]
Handler = Callable[[Update, ZtcContext], Awaitable[Any]]


def client_locale(language_code: str | None) -> str | None:
    """The catalog for a Telegram client's language, when we have one."""
    code = (language_code or "").lower()
    if code.startswith("zh"):
        return "zh_CN"
    return next((name for name in LOCALES if code.startswith(name.lower())), None)


@dataclass
class Turn:
    """One update's speaker: the person (None for a stranger), their language, the runtime."""

    rt: Runtime
    person: Person | None
    locale: str
    user_id: int
    chat_id: int

    @property
    def actor(self) -> Actor:
        """The domain's actor for the person."""
        assert self.person is not None
        return actor_of(self.person)

    @property
    def kind(self) -> Kind | None:
        """Contact, official, or None for a stranger."""
        if self.person is None:
            return None
        return "contact" if isinstance(self.person, Contact) else "official"

    def _(self, message: str) -> str:
        """Translate into the speaker's language."""
        return gettext_for(self.locale)(message)

    @property
    def engine(self) -> AsyncEngine:
        """The database."""
        return self.rt.engine


async def load_turn(update: Update, context: ZtcContext) -> Turn:
    """Who sent this update; a bound person writing again is reachable again."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None
    chat_id = chat.id if chat else user.id
    rt = context.rt
    async with session_scope(rt.engine) as session:
        person = await person_for(session=session, telegram_user_id=user.id)
        woke = person is not None and chat_id == user.id and mark_reachable(person, chat_id)
    if woke:
        rt.wake_dispatcher()
    stored = context.user_data.get("locale") if context.user_data is not None else None
    locale = (
        (person.locale if person else None)
        or stored
        or client_locale(user.language_code)
        or rt.settings.default_locale
    )
    return Turn(rt=rt, person=person, locale=locale, user_id=user.id, chat_id=chat_id)


def refusal_text() -> str:
    """The polite refusal to an unknown account, in every language we speak."""
    return "\n\n".join(
        gettext_for(locale)(
            "This Telegram account is not registered with the project service. "
            "Please ask your service agent or the city's administrator for an invitation link."
        )
        for locale in LOCALES
    )


def speaker(kind: Kind = "any") -> Callable[[Callable[..., Awaitable[Any]]], Handler]:
    """Wrap a handler `fn(update, context, turn)`: strangers get the refusal and no data."""

    def wrap(fn: Callable[..., Awaitable[Any]]) -> Handler:
        @functools.wraps(fn)
        async def handler(update: Update, context: ZtcContext) -> Any:
            turn = await load_turn(update, context)
            if turn.person is None or (kind != "any" and turn.kind != kind):
                await refuse(update, turn, stranger=turn.person is None)
                return ConversationHandler.END
            return await fn(update, context, turn)

        return handler

    return wrap


async def refuse(update: Update, turn: Turn, *, stranger: bool) -> None:
    """Tell a stranger to get an invite, or a person that the command is not theirs."""
    text = refusal_text() if stranger else turn._("This command is not available to you. /help")
    if update.callback_query is not None:
        await update.callback_query.answer()
    if update.effective_message is not None:
        await update.effective_message.reply_text(text)
