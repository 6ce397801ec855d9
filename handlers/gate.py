"""Before any handler: which updates the bot answers at all, and where.

Telegram can deliver two dozen kinds of update; the bot works with messages and button presses
in private chats. Everything else is let go here on purpose, so no handler meets an update it
was not written for (a channel post has no sender; an edited message is not a new step):

- a message or button press in a private chat: on to the handlers;
- a service message (pinned, joined, shared …): nothing;
- a message or press in a group or a channel, by a bound person: a one-line pointer to the
  private chat, at most once a minute per person and group (a press is answered with it);
- the same by a stranger, or on behalf of a chat (`sender_chat`, a channel post): nothing
  (a press is answered, empty);
- a shipping or pre-checkout query: declined, the bot sells nothing;
- edits, reactions, polls, inline queries, membership, boosts, business updates: nothing.

Personal commands, binding and issue cards are therefore private-chat only: `/start <token>`
typed in a group binds nobody and leaves the token unused, and no issue text reaches a group.
"""

from __future__ import annotations

import logging
import time

from telegram import LinkPreviewOptions, Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, filters

from handlers.common import client_locale, load_turn
from handlers.context import ZtcContext
from locales import gettext_for
from models.db import session_scope

log = logging.getLogger(__name__)
POINTER_EVERY = 60.0  # seconds between two pointers to one person in one group
_SERVICE = filters.StatusUpdate.ALL


class Gate:
    """The group −1 handler; it remembers when it last pointed whom to the private chat."""

    def __init__(self) -> None:
        """Start with nobody pointed yet."""
        self._pointed: dict[tuple[int, int], float] = {}

    async def __call__(self, update: object, context: ZtcContext) -> None:
        """Let a private message or press through; deal with everything else here."""
        if not isinstance(update, Update):
            raise ApplicationHandlerStop
        payment = update.shipping_query or update.pre_checkout_query
        if payment is not None:  # Telegram waits for an answer; no database needed to give it
            language = client_locale(payment.from_user.language_code)
            _ = gettext_for(language or context.rt.default_locale)
            await payment.answer(ok=False, error_message=_("This bot does not take payments."))
            raise ApplicationHandlerStop
        query, message = update.callback_query, update.message
        if query is None and (message is None or _SERVICE.check_update(update)):
            raise ApplicationHandlerStop
        user, chat = update.effective_user, update.effective_chat
        if message is not None and (message.sender_chat is not None or user is None):
            raise ApplicationHandlerStop  # on behalf of a chat (an anonymous admin, a channel)
        if user is None or user.is_bot:
            raise ApplicationHandlerStop
        if chat is not None and chat.type == ChatType.PRIVATE:
            return
        await self._elsewhere(update, context)
        raise ApplicationHandlerStop

    async def _elsewhere(self, update: Update, context: ZtcContext) -> None:
        """A group, a channel or an inline message: at most a pointer, and only to people."""
        async with session_scope(context.rt.engine) as session:
            turn = await load_turn(update, context, session)
        pointer = turn._("Please use this in your private chat with me: {link}").format(
            link=f"https://t.me/{context.bot.username}"
        )
        if update.callback_query is not None:
            text = turn._("Please use this in your private chat with me.")
            await update.callback_query.answer(text if turn.person is not None else None)
            return
        message = update.message
        assert message is not None
        if turn.person is None or not (message.text or "").startswith("/"):
            return
        key, now = (turn.chat_id, turn.user_id), time.monotonic()
        if now - self._pointed.get(key, -POINTER_EVERY) < POINTER_EVERY:
            return
        self._pointed = {k: t for k, t in self._pointed.items() if now - t < POINTER_EVERY}
        self._pointed[key] = now
        await message.reply_text(
            pointer, link_preview_options=LinkPreviewOptions(is_disabled=True)
        )
