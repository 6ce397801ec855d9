"""What every handler needs: who is talking, in which language, and the update's one session."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ConversationHandler

from handlers.context import BotRuntime, ZtcContext
from locales import LOCALES, gettext_for
from models.db import session_scope
from models.identity import Person, mark_reachable, person_for
from models.issues.context import Ctx
from models.permissions import Actor, actor_of
from models.tables.org import Contact
from models.text import clean_line

log = logging.getLogger(__name__)
Kind = Literal["contact", "official", "any"]
# A callback as PTB's handlers take it (telegram.ext._utils.types.HandlerCallback): a coroutine
# function of the update and our context; what it returns is a conversation's next state or None.
Handler: TypeAlias = Callable[[Update, ZtcContext], Coroutine[Any, Any, object]]
# What `speaker` wraps: the same, with the update's Turn.
TurnHandler: TypeAlias = Callable[[Update, ZtcContext, "Turn"], Awaitable[object]]
# Telegram's words for a message that cannot be edited any more.
_GONE = ("message to edit not found", "message can't be edited", "message_id_invalid")


def client_locale(language_code: str | None) -> str | None:
    """The catalog for a Telegram client's language, when we have one."""
    code = (language_code or "").lower()
    if code.startswith("zh"):
        return "zh_CN"
    return next((name for name in LOCALES if code.startswith(name.lower())), None)


@dataclass
class Turn:
    """One update: its speaker (None for a stranger), their language, and its unit of work.

    An update's work runs in one database session (`session`), opened by `speaker` and closed,
    committed, when the handler is done. A handler that has written commits (`commit`) before
    it tells anybody — a report is committed before "received" — and before waiting on
    Telegram, so no write lock is held over the network.
    """

    rt: BotRuntime
    session: AsyncSession
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

    def ctx(self) -> Ctx:
        """The person acting now, in this update's session, for an issue command."""
        return Ctx(session=self.session, rules=self.rt.rules, actor=self.actor, now=self.rt.now())

    async def commit(self) -> None:
        """Commit what the update has written so far."""
        await self.session.commit()

    async def rollback(self) -> None:
        """Drop what the update wrote since its last commit; the speaker is read again (a
        rollback expires every row the session holds)."""
        await self.session.rollback()
        if self.person is not None:
            await self.session.refresh(self.person)

    def _(self, message: str) -> str:
        """Translate into the speaker's language."""
        return gettext_for(self.locale)(message)


async def load_turn(
    update: Update, context: ZtcContext, session: AsyncSession, *, fresh: bool = False
) -> Turn:
    """Who sent this update, read once per update (`fresh`: again, after a change).

    A bound person writing again in their private chat is reachable again (committed at once).
    """
    cached = context.turn
    if isinstance(cached, Turn) and not fresh:
        return cached
    user, chat = update.effective_user, update.effective_chat
    assert user is not None  # the gate lets no update without a sender through
    chat_id = chat.id if chat else user.id
    rt = context.rt
    person = await person_for(session=session, telegram_user_id=user.id)
    if person is not None and chat_id == user.id and mark_reachable(person, chat_id):
        await session.commit()
        rt.wake_dispatcher()
    stored = context.user_data.get("locale") if context.user_data is not None else None
    locale = (
        (person.locale if person else None)
        or (stored if stored in LOCALES else None)
        or client_locale(user.language_code)
        or rt.default_locale
    )
    turn = Turn(rt, session, person, locale, user.id, chat_id)
    context.turn = turn
    return turn


def refusal_text() -> str:
    """The polite refusal to an unknown account, in every language we speak."""
    return "\n\n".join(
        gettext_for(locale)(
            "This Telegram account is not registered with the project service. "
            "Please ask your service agent or the city's administrator for an invitation link."
        )
        for locale in LOCALES
    )


def speaker(kind: Kind = "any", *, strangers: bool = False) -> Callable[[TurnHandler], Handler]:
    """Wrap a handler `fn(update, context, turn)` in the update's one session.

    Strangers get the refusal and no data (unless `strangers`: the handler answers them itself);
    a person of another kind than `kind` is told the command is not theirs.
    """

    def wrap(fn: TurnHandler) -> Handler:
        @functools.wraps(fn)
        async def handler(update: Update, context: ZtcContext) -> object:
            async with session_scope(context.rt.engine) as session:
                turn = await load_turn(update, context, session)
                allowed = turn.person is not None and kind in ("any", turn.kind)
                if not allowed and not (strangers and turn.person is None):
                    await refuse(update, context, turn, stranger=turn.person is None)
                    return ConversationHandler.END
                return await fn(update, context, turn)

        return handler

    return wrap


def not_valid(turn: Turn) -> str:
    """The one answer to every forged or foreign press, whether the issue exists or not (no
    oracle)."""
    return turn._("This button does not work here. Nothing was done.")


async def refuse_press(update: Update, turn: Turn, what: str) -> None:
    """A forged or foreign press: logged once (who, and the data it carried), answered
    politely, nothing done."""
    query = update.callback_query
    assert query is not None
    log.warning("%s by user %s: %r", what, turn.user_id, (query.data or "")[:64])
    await query.answer(not_valid(turn))


async def point_to_buttons(update: Update, context: ZtcContext, turn: Turn) -> None:
    """A message that fits no step: say what to do (strangers get the refusal)."""
    if turn.person is None:
        log.info("refused %s to user %s (an unregistered account)", _what(update), turn.user_id)
        await reply(update, context, refusal_text())
        return
    await reply(update, context, turn._("Please use the buttons above or /help."))


async def refuse(update: Update, context: ZtcContext, turn: Turn, *, stranger: bool) -> None:
    """Tell a stranger to get an invite, or a person that the command is not theirs."""
    text = refusal_text() if stranger else turn._("This command is not available to you. /help")
    who = "an unregistered account" if stranger else f"a {turn.kind}"
    log.info("refused %s to user %s (%s)", _what(update), turn.user_id, who)
    if update.callback_query is not None:
        await update.callback_query.answer()
    await reply(update, context, text)


def _what(update: Update) -> str:
    """What an update asked for, for the log: a command's name or a button's prefix (never
    what a person typed)."""
    if update.callback_query is not None:
        return "button " + repr((update.callback_query.data or "").split(":")[0][:8])
    text = update.message.text if update.message is not None else None
    if text and text.startswith("/"):
        return repr(text.split()[0][:40])
    return "a message"


async def reply(update: Update, context: ZtcContext, text: str, **kwargs: Any) -> None:
    """A new message in the update's chat (also after a press on a message too old to read)."""
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(chat.id, text, **kwargs)


async def redraw(
    update: Update,
    context: ZtcContext,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    html: bool = False,
) -> None:
    """Redraw the pressed message. A second tap that changes nothing is fine; a message that can
    no longer be edited (deleted, too old) gets the text as a new message instead."""
    query = update.callback_query
    assert query is not None
    mode = ParseMode.HTML if html else None
    try:
        await query.edit_message_text(text, parse_mode=mode, reply_markup=markup)
    except BadRequest as exc:
        reason = str(exc).lower()
        if "not modified" in reason:
            return
        if not any(gone in reason for gone in _GONE):
            raise
        await reply(update, context, text, parse_mode=mode, reply_markup=markup)


async def redraw_buttons(update: Update, markup: InlineKeyboardMarkup | None = None) -> None:
    """Put other buttons on the pressed message, or none (nothing to do if it is gone)."""
    query = update.callback_query
    assert query is not None
    try:
        await query.edit_message_reply_markup(markup)
    except BadRequest as exc:
        reason = str(exc).lower()
        if "not modified" not in reason and not any(gone in reason for gone in _GONE):
            raise


def file_entry(message: Message) -> dict[str, Any] | None:
    """A message's photo or document as a draft keeps it (Draft.files, the material draft);
    None when it carries neither. /report, /progress and material replies all take files so."""
    if message.photo:
        photo = message.photo[-1]
        return {"kind": "photo", "file_id": photo.file_id, "size": photo.file_size}
    document = message.document
    if document is None:
        return None
    return {
        "kind": "document",
        "file_id": document.file_id,
        "name": clean_line(document.file_name or "")[:255] or None,
        "mime": (document.mime_type or "")[:100] or None,
        "size": document.file_size,
    }
