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
- a press whose callback data is longer than Telegram allows (64 bytes): forged, refused;
- a shipping or pre-checkout query: declined, the bot sells nothing;
- edits, reactions, polls, inline queries, membership, boosts, business updates: nothing.

Personal commands, binding and issue cards are therefore private-chat only: `/start <token>`
typed in a group binds nobody and leaves the token unused, and no issue text reaches a group.

An account's messages and presses (anywhere, bound or not) count against the policy's
`[limits] messages_per_account_per_minute` in a rolling minute of the runtime's clock: past it,
the account gets one "too many messages" (a press: as its answer; a message in a group: none)
and its further updates are dropped unanswered until the minute has room again, so a flood never
makes the bot flood back. The count is this process's: behind a balancer with N instances a
flooder can get up to N times the limit through — a count in the database would cost a write
and a read on every update to stop what the Bot API's own limits already bound.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from telegram import LinkPreviewOptions, Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, filters

from handlers.common import client_locale, load_turn, refuse_press
from handlers.context import ZtcContext
from locales import gettext_for
from models.db import session_scope

log = logging.getLogger(__name__)
POINTER_EVERY = 60.0  # seconds between two pointers to one person in one group
DATA_MAX = 64  # bytes of callback data Telegram allows
_SERVICE = filters.StatusUpdate.ALL


MINUTE = timedelta(minutes=1)


@dataclass
class _Account:
    """One account's updates let through in the last minute, and when it was last told."""

    passed: deque[datetime] = field(default_factory=deque)
    told: datetime | None = None


class MessageLimit:
    """A rolling minute per account, in this process: `take` says whether an update goes on,
    and whether it is the one to answer "too many"."""

    def __init__(self) -> None:
        """Nobody has sent anything yet."""
        self._accounts: dict[int, _Account] = {}
        self._swept: datetime | None = None

    def take(self, user_id: int, now: datetime, limit: int) -> Literal["pass", "tell", "drop"]:
        """Count one update of the account at `now` against `limit` a minute (0: no limit):
        "pass" (counted), or over the limit "tell" (the first of the minute) or "drop"."""
        if limit <= 0:
            return "pass"
        self._sweep(now)
        account = self._accounts.setdefault(user_id, _Account())
        _expire(account.passed, now)
        if len(account.passed) < limit:
            account.passed.append(now)
            return "pass"
        if _within(account.told, now):
            return "drop"
        account.told = now
        return "tell"

    def _sweep(self, now: datetime) -> None:
        """Once a minute, forget the accounts with nothing in the window (strangers come and
        go: the map stays as small as the accounts that wrote lately)."""
        if _within(self._swept, now):
            return
        self._swept = now
        for user_id, account in list(self._accounts.items()):
            _expire(account.passed, now)
            if not account.passed and not _within(account.told, now):
                del self._accounts[user_id]


def _within(moment: datetime | None, now: datetime) -> bool:
    """`moment` falls in the minute up to `now`."""
    return moment is not None and now - MINUTE < moment <= now


def _expire(passed: deque[datetime], now: datetime) -> None:
    """Drop the moments outside the minute up to `now` (all of them if the demo's clock went
    back)."""
    if passed and passed[-1] > now:
        passed.clear()
    while passed and not _within(passed[0], now):
        passed.popleft()


class Gate:
    """The group −1 handler; it remembers when it last pointed whom to the private chat, and
    each account's updates of the last minute."""

    def __init__(self) -> None:
        """Start with nobody pointed yet."""
        self._pointed: dict[tuple[int, int], float] = {}
        self.limit = MessageLimit()

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
        await self._within_limit(update, context, user.id)
        if query is not None and len((query.data or "").encode()) > DATA_MAX:
            await self._overlong(update, context)  # no real client sends it: forged
            raise ApplicationHandlerStop
        if chat is not None and chat.type == ChatType.PRIVATE:
            return
        await self._elsewhere(update, context)
        raise ApplicationHandlerStop

    async def _overlong(self, update: Update, context: ZtcContext) -> None:
        """Callback data past Telegram's 64 bytes: refused politely, logged once, not parsed."""
        async with session_scope(context.rt.engine) as session:
            turn = await load_turn(update, context, session)
            await refuse_press(update, turn, "over-long callback data")

    async def _within_limit(self, update: Update, context: ZtcContext, user_id: int) -> None:
        """Let the update on within the account's minute; past it, answer once, then drop."""
        rt = context.rt
        allowed = rt.rules.policy.limits.messages_per_account_per_minute
        verdict = self.limit.take(user_id, rt.now(), allowed)
        if verdict == "pass":
            return
        rt.refused("messages_per_minute")
        if verdict == "tell":
            log.info("user %s: over %s updates a minute; the rest dropped", user_id, allowed)
            async with session_scope(rt.engine) as session:
                turn = await load_turn(update, context, session)
            text = turn._(
                "Too many messages: at most {limit} a minute. Please wait a minute, then go on."
            ).format(limit=allowed)
            chat = update.effective_chat
            if update.callback_query is not None:
                await update.callback_query.answer(text, show_alert=True)
            elif update.message is not None and chat is not None and chat.type == ChatType.PRIVATE:
                await update.message.reply_text(text)
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
