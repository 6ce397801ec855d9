"""End to end, over HTTP: the outbox dispatcher under Telegram's limits, 429s and a blocked bot."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from bot.sandbox import FakeBotAPI
from models.db import session_scope
from models.rules import Rules
from models.tables.infra import Outbox
from models.tables.org import Official
from tests.support.chat import CONTACT, HEAD, Chat
from tests.support.factories import World, at


@pytest.fixture
async def strict_api() -> AsyncIterator[FakeBotAPI]:
    """A fake Telegram that answers 429 when its limits are exceeded."""
    async with FakeBotAPI(rate_limits=True) as server:
        yield server


async def _report_many(chat: Chat, count: int) -> None:
    for n in range(count):
        done = await chat.report(
            "C1",
            category="用工" if n % 2 else "土地",
            urgency="普通",
            submit="确认提交",
            text=f"问题第{n + 1}件",
        )
        assert f"2026-{n + 1:05d}" in done["text"]


async def test_429s_lose_and_duplicate_nothing_and_keep_order(
    strict_api: FakeBotAPI, engine: AsyncEngine, rules: Rules, world: World
) -> None:
    chat = Chat(api=strict_api, engine=engine, rules=rules, now=at("2026-11-20 10:00"))
    await chat.start()
    try:
        await chat.bind(world.contact, CONTACT)
        await chat.bind(world.officials["r1-head"], HEAD)
        strict_api.fail_next("sendMessage", code=429, retry_after=1, times=2, chat_id=HEAD)
        await _report_many(chat, 4)
        notices = [await chat.next("r1-head") for _ in range(4)]
    finally:
        await chat.stop()
    assert [n["text"].split("。")[0] for n in notices] == [
        f"<b>新问题 2026-{k:05d}" for k in range(1, 5)
    ]
    assert len([m for m in strict_api.sent(HEAD) if "新问题" in m["text"]]) == 4
    assert strict_api.too_many >= 2
    async with session_scope(engine) as session:
        rows = (await session.exec(select(Outbox).where(Outbox.official_id != None))).all()  # noqa: E711
    head_rows = [r for r in rows if r.official_id == world.officials["r1-head"].id]
    assert len(head_rows) == 4 and all(r.sent_at is not None for r in head_rows)


async def test_a_blocked_person_is_marked_unreachable_and_served_on_return(
    chat: Chat, world: World, engine: AsyncEngine
) -> None:
    await chat.bind(world.contact, CONTACT)
    await chat.bind(world.officials["r1-head"], HEAD)
    chat.api.block(HEAD)
    await chat.report("C1", category="土地", urgency="普通", submit="确认提交", text="缺电")
    head_id = world.officials["r1-head"].id
    for _ in range(100):  # until the dispatcher has met the 403
        async with session_scope(engine) as session:
            head = await session.get(Official, head_id)
        if head is not None and head.unreachable:
            break
        await chat.api.wait_for_calls(1) if hasattr(chat.api, "wait_for_calls") else None
        import asyncio

        await asyncio.sleep(0.05)
    assert head is not None and head.unreachable
    chat.api.unblock(HEAD)
    chat.api.user_says(HEAD, "/inbox")
    messages = [await chat.next("r1-head"), await chat.next("r1-head")]
    texts = " ".join(m["text"] for m in messages)
    assert "新问题 2026-00001" in texts and "待您办理（1 件）" in texts
    async with session_scope(engine) as session:
        head = await session.get(Official, head_id)
    assert head is not None and not head.unreachable
