"""One sending budget per bot token: the application's replies (PTB's rate limiter) and the
outbox's deliveries (the Telegram channel) take their turns from the same limiter, over HTTP on
the fake Bot API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot
from telegram.error import RetryAfter
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.runtime import Runtime
from bot.sandbox import FakeBotAPI
from jobs.channels import Rendered
from jobs.channels.telegram import TelegramChannel, TextPart
from jobs.channels.telegram_limits import TelegramRateLimiter
from jobs.dispatch import Dispatcher, Person
from models.db import session_scope
from models.tables.infra import Outbox
from tests.support.chat import Chat
from tests.support.factories import at

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@dataclass
class Sends:
    """When each sendMessage left, by either bot: (monotonic time, who, chat)."""

    log: list[tuple[float, str, int]] = field(default_factory=list)

    def request(self, who: str) -> HTTPXRequest:
        sends = self

        class Recording(HTTPXRequest):
            async def do_request(  # type: ignore[override]
                self, url: str, method: str, request_data: Any = None, **kw: Any
            ) -> tuple[int, bytes]:
                if url.endswith("/sendMessage"):
                    chat = int(request_data.parameters["chat_id"])
                    sends.log.append((time.monotonic(), who, chat))
                return await super().do_request(url, method, request_data, **kw)

        return Recording(connection_pool_size=64)

    def at(self, who: str, chat: int) -> list[float]:
        return [t for t, sender, to in self.log if (sender, to) == (who, chat)]

    def most_in_a_second(self) -> int:
        times = sorted(t for t, _, _ in self.log)
        return max(sum(1 for u in times[i:] if u < t + 1.0) for i, t in enumerate(times))


Bots = tuple[ExtBot[Any], Bot, TelegramRateLimiter, Sends]


@pytest.fixture
async def bots(api: FakeBotAPI) -> AsyncIterator[Bots]:
    """The application's bot (PTB's limiter: ours) and the dispatcher's own, one budget of
    20 a second (private chats' own interval short, so only a 429 holds one back)."""
    sends, limiter = Sends(), TelegramRateLimiter(overall_per_second=20, private_interval=0.01)
    base, files = f"{api.url}/bot", f"{api.url}/file/bot"
    replies = ExtBot(api.token, base, files, sends.request("reply"), rate_limiter=limiter)
    deliveries = Bot(api.token, base, files, sends.request("delivery"))
    async with replies, deliveries:
        yield replies, deliveries, limiter, sends


async def render(session: AsyncSession, row: Outbox, person: Person | None) -> Rendered:
    return Rendered(row.dedupe_key)


async def test_replies_and_deliveries_together_keep_to_the_overall_rate(
    api: FakeBotAPI, engine: AsyncEngine, bots: Bots
) -> None:
    replies, deliveries, limiter, sends = bots
    people, groups = range(5001, 5016), range(-1001, -1016, -1)
    for user in people:
        api.add_user(user)
    for group in groups:
        api.add_group(group, f"群{-group}")
    async with session_scope(engine) as session:
        for group in groups:
            session.add(
                Outbox(
                    dedupe_key=f"d{group}",
                    created_at=at("2026-11-20 10:00"),
                    kind="report",
                    address=str(group),
                    next_attempt_at=at("2026-11-20 10:00"),
                )
            )
    channel = TelegramChannel(deliveries, limiter=limiter)
    dispatcher = Dispatcher(
        engine=engine,
        channels={"telegram": channel},
        render=render,
        clock=lambda: at("2026-11-20 10:00"),
    )
    answered = asyncio.gather(*(replies.send_message(user, "收到") for user in people))
    report, _ = await asyncio.gather(dispatcher.run_once(), answered)
    assert report.sent == 15
    assert all(api.sent_count(chat) == 1 for chat in (*people, *groups))
    assert sorted(who for _, who, _ in sends.log) == ["delivery"] * 15 + ["reply"] * 15
    # Twenty a second between them, evenly spaced: at most 20 (+1 for the window's edge) in any
    # second, and 30 messages take at least 29 intervals (either alone would be done in 0.7 s).
    assert sends.most_in_a_second() <= 21
    times = sorted(t for t, _, _ in sends.log)
    assert times[-1] - times[0] >= 29 / 20 * 0.95


async def test_a_reply_waits_out_a_429_and_so_does_a_delivery_to_that_chat_only(
    api: FakeBotAPI, bots: Bots
) -> None:
    replies, deliveries, limiter, sends = bots
    for user in (5001, 5002):
        api.add_user(user)
    api.fail_next("sendMessage", code=429, retry_after=1, chat_id=5001)
    channel = TelegramChannel(deliveries, limiter=limiter)
    flooded, flood = asyncio.Event(), limiter.flood

    def noted(chat: object, seconds: float) -> None:
        flood(chat, seconds)
        flooded.set()

    limiter.flood = noted  # type: ignore[method-assign,assignment]
    reply = asyncio.create_task(replies.send_message(5001, "收到"))
    await asyncio.wait_for(flooded.wait(), 5)  # the 429 is in: chat 5001 waits for a second
    await channel.send("5002", TextPart("another chat goes on"))
    await channel.send("5001", TextPart("after the pause"))
    assert (await reply).text == "收到" and api.too_many == 1
    assert sorted(m["text"] for m in api.sent(5001)) == ["after the pause", "收到"]
    (first, again), [delivered], [other] = (
        sends.at("reply", 5001),
        sends.at("delivery", 5001),
        sends.at("delivery", 5002),
    )
    assert again - first >= 0.95 and delivered - first >= 0.95  # the whole chat waited
    assert other - first < 0.5  # another chat did not


async def test_a_reply_gives_up_after_its_retries(api: FakeBotAPI, bots: Bots) -> None:
    replies, _, limiter, _ = bots
    api.add_user(5001)
    api.fail_next("sendMessage", code=429, retry_after=1, times=2, chat_id=5001)
    limiter.max_retries = 1
    with pytest.raises(RetryAfter):
        await replies.send_message(5001, "收到")
    assert api.too_many == 2 and api.sent(5001) == []


async def test_calls_that_send_no_message_are_never_held(api: FakeBotAPI, bots: Bots) -> None:
    replies, _, limiter, _ = bots
    api.add_user(5001)
    limiter.flood(5001, 60)  # the chat is paused for a minute
    await asyncio.wait_for(replies.send_chat_action(5001, "typing"), 2)
    await asyncio.wait_for(replies.get_chat(5001), 2)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(replies.send_message(5001, "later"), 0.3)


async def test_the_running_bot_has_one_budget_for_replies_and_deliveries(chat: Chat) -> None:
    assert chat.app is not None
    runtime: Runtime = chat.app.runtime  # type: ignore[attr-defined]
    assert runtime.dispatcher is not None
    channel = runtime.dispatcher.channels["telegram"]
    assert isinstance(channel, TelegramChannel)
    assert isinstance(chat.app.bot.rate_limiter, TelegramRateLimiter)
    assert channel.limiter is chat.app.bot.rate_limiter
    assert channel.bot is not chat.app.bot  # its own connections, and no PTB limiter to wait
