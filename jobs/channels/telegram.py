"""Telegram as a channel: HTML, texts split at 4,096 characters, buttons, files, errors.

Everything Telegram-specific about delivering a notice lives here: the parse mode and link
previews, splitting (jobs/textsplit.py), buttons as an inline keyboard, photos and documents,
and what Telegram's errors mean (429, 403, 400, a group that became a supergroup). The token's
sending budget, shared with the application's replies, is jobs/channels/telegram_limits.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from jobs.channels import (
    Attachment,
    Buttons,
    Moved,
    Rejected,
    Rendered,
    RetryLater,
    Transient,
    Unreachable,
)
from jobs.channels.telegram_limits import TelegramRateLimiter, retry_seconds
from jobs.textsplit import split_text

_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def markup(rows: Buttons) -> InlineKeyboardMarkup | None:
    """Neutral button rows as Telegram's inline keyboard, each code as its callback data."""
    keyboard = [
        [InlineKeyboardButton(button.label, callback_data=button.code) for button in row]
        for row in rows
        if row
    ]
    return InlineKeyboardMarkup(keyboard) if keyboard else None


@dataclass(frozen=True)
class TextPart:
    """One message of a notice's text: HTML within Telegram's 4,096 visible characters."""

    text: str
    markup: InlineKeyboardMarkup | None = None


TelegramPart = TextPart | Attachment


class TelegramChannel:
    """Delivers outbox notices through a `telegram.Bot`, within the token's shared budget.

    An address is a chat id as text; a person's is their private chat (`chat_id`). A notice is
    its text split at 4,096 visible characters, the buttons on the last part, then each file.

    The bot is the dispatcher's own, with no PTB rate limiter (bot/app.py), and `limiter` is
    the application's: this channel takes a delivery's `slot` before each message and reports
    429s to it, so replies and deliveries share one budget. Sending through the application's
    bot instead would route deliveries through PTB's `process_request`, which paces them as
    replies and waits out 429s itself; the dispatcher must see a 429, to hand a row back rather
    than sleep past its lease.
    """

    person_address = "chat_id"

    def __init__(self, bot: telegram.Bot, *, limiter: TelegramRateLimiter) -> None:
        """Send with `bot`, paced by `limiter`."""
        self.bot, self.limiter = bot, limiter

    def parts(self, message: Rendered) -> Sequence[TelegramPart]:
        """The text's parts, the buttons under the last, then the files."""
        texts = split_text(message.text)
        last = len(texts) - 1
        keyboard = markup(message.buttons)
        split = [TextPart(text, keyboard if i == last else None) for i, text in enumerate(texts)]
        return [*split, *message.files]

    async def send(self, address: str, part: TelegramPart) -> None:
        """One message to the chat `address`; Telegram's errors as the channel outcomes."""
        try:
            chat = int(address)
        except ValueError:
            raise Rejected(f"not a Telegram chat id: {address!r}") from None
        await self.limiter.slot(chat)
        try:
            await self._post(chat, part)
        except RetryAfter as exc:
            seconds = retry_seconds(exc)
            self.limiter.flood(chat, seconds)
            raise RetryLater(seconds) from exc
        except Forbidden as exc:
            raise Unreachable("forbidden") from exc
        except ChatMigrated as exc:
            raise Moved(str(exc.new_chat_id)) from exc
        except BadRequest as exc:
            raise Rejected(f"{type(exc).__name__}: {exc}") from exc
        except TelegramError as exc:  # TimedOut, NetworkError (5xx) and the like
            raise Transient(f"{type(exc).__name__}: {exc}") from exc

    async def _post(self, chat: int, part: TelegramPart) -> None:
        if isinstance(part, TextPart):
            await self.bot.send_message(
                chat_id=chat,
                text=part.text,
                reply_markup=part.markup,
                parse_mode=ParseMode.HTML,
                link_preview_options=_NO_PREVIEW,
            )
            return
        send = self.bot.send_photo if part.kind == "photo" else self.bot.send_document
        upload = InputFile(part.data, filename=part.name)
        await send(chat, upload, caption=part.caption, parse_mode=ParseMode.HTML)
