"""One bot token's sending budget: Telegram's limits, shared by replies and deliveries.

Telegram counts every message a token sends, whoever in the process sends it: about 30 a second
overall, one a second in a private chat (short bursts allowed), 20 a minute in a group. The
application's bot uses `TelegramRateLimiter` as PTB's rate limiter for its replies; the
outbox's Telegram channel (jobs/channels/telegram.py) takes its turns from the same object.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

logger = logging.getLogger(__name__)

ChatKey = int | str | None  # a chat id, an @username (a channel or supergroup), or no chat
Callback = Callable[..., Coroutine[Any, Any, Any]]
_KEPT_CHATS = 1024  # idle chats' paces are dropped beyond this many
# Methods that put a message in a chat, which Telegram's limits count. Edits, answers to button
# presses and "typing…" do not, and are never held back.
_NOT_A_MESSAGE = frozenset({"sendChatAction"})
_COPIES = frozenset({"copyMessage", "copyMessages", "forwardMessage", "forwardMessages"})


def retry_seconds(exc: RetryAfter) -> float:
    """How long a 429 says to wait, in seconds."""
    with warnings.catch_warnings(action="ignore"):  # PTB 22 warns that the int form is going
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def chat_key(chat_id: object) -> ChatKey:
    """A chat id as sent (int or text) as one key: the number, else the @name."""
    if chat_id is None:
        return None
    try:
        return int(str(chat_id))
    except ValueError:
        return str(chat_id)  # "@name": a channel or supergroup, paced as a group


def _sends_a_message(endpoint: str) -> bool:
    return (endpoint.startswith("send") and endpoint not in _NOT_A_MESSAGE) or endpoint in _COPIES


class ChatPace:
    """One chat's leaky bucket: one message drains from it every `interval` seconds.

    A delivery goes only when the bucket is empty, so deliveries are evenly spaced and keep
    their distance from replies; a reply (someone is waiting for it) goes while fewer than
    `burst` are in the bucket, a short burst on the same steady rate, except for a while after
    a 429 in the chat.
    """

    def __init__(self, interval: float, burst: int, clock: Callable[[], float]) -> None:
        """An empty bucket."""
        self.interval, self.burst, self._clock = interval, burst, clock
        self._level, self._at = 0.0, clock()
        self._calm = self._at  # no bursts before this time (after a 429)

    def _wait(self, room: int) -> float:
        now = self._clock()
        self._level = max(0.0, self._level - (now - self._at) / self.interval)
        self._at = now
        over = self._level + 1 - room
        return over * self.interval if over > 1e-9 else 0.0

    async def take(self, *, reply: bool) -> None:
        """Wait until one more message fits, and count it."""
        room = self.burst if reply and self._clock() >= self._calm else 1
        while (wait := self._wait(room)) > 0:  # noqa: ASYNC110 (a time is awaited, not an event)
            await asyncio.sleep(wait)
        self._level += 1

    def calm(self, seconds: float) -> None:
        """A 429 asked to wait `seconds`: no bursts here for a while after it, replies too keep
        to the steady rate."""
        until = self._clock() + seconds + self.burst * self.interval
        self._calm = max(self._calm, until)

    def idle(self) -> bool:
        """Nothing in the bucket: forgetting it changes nothing."""
        return self._wait(1) == 0 and self._level < 1e-9


class TelegramRateLimiter(BaseRateLimiter[int]):
    """One bot token's sending budget, shared by the application's replies and the outbox.

    Per chat a `ChatPace`: one message per `private_interval` in a private chat, one per
    60/`group_per_minute` s in a group, deliveries evenly spaced and replies allowed a burst of
    `reply_burst` on that rate. Overall one message per 1/`overall_per_second` s, evenly spaced
    for everyone (a bucket of N would allow a burst of N on top of the steady N per period:
    twice the limit in the first period). A chat waits for its own turn before it takes an
    overall one, so a slow group never holds up the others.

    A 429 pauses the chat it came from, for replies and deliveries alike, for as long as
    Telegram said; other chats go on. Telegram's flood waits are per chat in practice, and the
    overall pace keeps the token under its global rate; a 429 outside any chat pauses all.

    As PTB's rate limiter (the application's bot), a reply that meets a 429 waits it out and is
    sent again, up to `max_retries` times (`rate_limit_args` overrides that per call). The
    outbox's channel calls `slot` and `flood` itself and leaves the waiting to the dispatcher,
    which knows how long it may hold a row.
    """

    def __init__(
        self,
        *,
        overall_per_second: float = 30,
        private_interval: float = 1.0,
        group_per_minute: float = 20,
        reply_burst: int = 3,
        max_retries: int = 3,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """Keep the rates; a chat's pace is made on first use. `monotonic` times the chats'
        paces and the 429 pauses (a test moves it along with its own clock)."""
        self.monotonic, self.max_retries = monotonic, max_retries
        self._overall = AsyncLimiter(1, 1 / overall_per_second)
        self._intervals = {True: private_interval, False: 60 / group_per_minute}
        self._burst = reply_burst
        self._chats: dict[int | str, ChatPace] = {}
        self._paused: dict[ChatKey, float] = {}  # chat -> monotonic time its 429 wait ends

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    def pace(self, chat_id: int | str) -> ChatPace:
        """The chat's own pace: private chats have positive ids, groups negative ones."""
        key = chat_key(chat_id)
        assert key is not None
        if key not in self._chats:
            if len(self._chats) >= _KEPT_CHATS:
                self._forget_idle()
            private = isinstance(key, int) and key > 0
            self._chats[key] = ChatPace(self._intervals[private], self._burst, self.monotonic)
        return self._chats[key]

    def _forget_idle(self) -> None:
        now = self.monotonic()
        self._paused = {k: end for k, end in self._paused.items() if end > now}
        for key, pace in list(self._chats.items()):
            if pace.idle() and key not in self._paused:
                del self._chats[key]

    async def slot(self, chat_id: object, *, reply: bool = False) -> None:
        """Wait until one more message to `chat_id` (None: no chat) fits into the budget: a
        delivery's, or (`reply`) an answer to someone waiting for it."""
        key = chat_key(chat_id)
        await self._pause_over(key)
        if key is not None:
            await self.pace(key).take(reply=reply)
            await self._pause_over(key)  # a 429 may have come in while this waited its turn
        await self._overall.acquire()

    def flood(self, chat_id: object, seconds: float) -> None:
        """Telegram answered 429 for `chat_id`: hold its messages back for `seconds`."""
        key, until = chat_key(chat_id), self.monotonic() + seconds
        self._paused[key] = max(self._paused.get(key, 0.0), until)
        if key is not None:
            self.pace(key).calm(seconds)

    async def _pause_over(self, key: ChatKey) -> None:
        while True:
            end = max(self._paused.get(key, 0.0), self._paused.get(None, 0.0))
            if (left := end - self.monotonic()) <= 0:
                return
            await asyncio.sleep(left)

    async def process_request(
        self,
        callback: Callback,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        """Send a reply when the budget has room, waiting out 429s; other calls go at once."""
        if not _sends_a_message(endpoint):
            return await callback(*args, **kwargs)
        chat = data.get("chat_id")
        retries = self.max_retries if rate_limit_args is None else rate_limit_args
        attempt = 0
        while True:
            await self.slot(chat, reply=True)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                seconds = retry_seconds(exc)
                self.flood(chat, seconds)
                if attempt >= retries:
                    raise
                attempt += 1
                logger.info("%s to %s: 429, again in %.1fs (%d)", endpoint, chat, seconds, attempt)
