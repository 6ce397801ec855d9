"""The policy's abuse limits through the chat (issue 17 item 5): a contact past the day's new
reports is told politely and keeps the draft; an account flooding past the minute's messages gets
one "too many" and then silence, while others go on; both counted in the metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from bot.runtime import ztc_application
from bot.sandbox import FakeBotAPI
from models.db import session_scope
from models.policy import Limits
from models.rules import Rules
from models.tables.issue import Issue
from tests.support.chat import CONTACT, HEAD, Chat, labels
from tests.support.factories import World, at

PER_MINUTE = 5
FLOOD = 3  # updates past the limit


def with_limits(rules: Rules, **limits: int) -> Rules:
    """The shipped rules with these [limits]."""
    policy = rules.policy.model_copy(update={"limits": Limits(**limits)})
    return Rules.build(policy, rules.tz)


def limited(chat: Chat, limit: str) -> float:
    """ztc_limited_total{limit=…} of the running bot."""
    assert chat.app is not None
    registry = ztc_application(chat.app).runtime.metrics.registry
    return registry.get_sample_value("ztc_limited_total", {"limit": limit}) or 0.0


async def running(api: FakeBotAPI, engine: AsyncEngine, rules: Rules) -> Chat:
    harness = Chat(api=api, engine=engine, rules=rules, now=at("2026-11-20 10:00"))
    harness.app_rules = rules
    await harness.start()
    return harness


@pytest.fixture
async def one_a_day(
    api: FakeBotAPI, engine: AsyncEngine, rules: Rules, world: World
) -> AsyncIterator[Chat]:
    """The bot with one new report a contact a day (and no message limit)."""
    harness = await running(
        api,
        engine,
        with_limits(rules, reports_per_contact_per_day=1, messages_per_account_per_minute=0),
    )
    yield harness
    await harness.stop()


@pytest.fixture
async def five_a_minute(
    api: FakeBotAPI, engine: AsyncEngine, rules: Rules, world: World
) -> AsyncIterator[Chat]:
    """The bot with five messages an account a minute."""
    harness = await running(
        api, engine, with_limits(rules, messages_per_account_per_minute=PER_MINUTE)
    )
    yield harness
    await harness.stop()


async def numbers(engine: AsyncEngine) -> list[str | None]:
    async with session_scope(engine) as session:
        return [i.number for i in (await session.exec(select(Issue).order_by(Issue.id))).all()]


async def test_past_the_days_reports_the_contact_is_told_and_keeps_the_draft(
    one_a_day: Chat, engine: AsyncEngine, world: World
) -> None:
    chat = one_a_day
    assert world.contact is not None
    await chat.bind(world.contact, CONTACT)
    first = await chat.report(
        "C1", category="土地", urgency="普通", submit="确认提交", text="围挡占道，请协调"
    )
    assert "2026-00001" in first["text"]
    categories = await chat.say("C1", "/report")
    await chat.press("C1", categories, "规划")
    await chat.next("C1")
    urgencies = await chat.say("C1", "规划许可证迟迟未批")
    summary = await chat.press_and_wait("C1", urgencies, "普通")
    await chat.press("C1", summary, "确认提交")
    told = await chat.next("C1")
    assert "您今天已反映新问题 1 个，每天限 1 个" in told["text"], told["text"]
    assert "代办员" in told["text"] and "明天可再点“确认提交”" in told["text"]
    await chat.settle()
    kept = next(m for m in chat.api.sent(CONTACT) if m["message_id"] == summary["message_id"])
    assert "规划许可证迟迟未批" in kept["text"]  # nothing typed is lost
    assert labels(chat.api, kept) == ["确认提交", "取消"]
    assert await numbers(engine) == ["2026-00001"]
    assert limited(chat, "reports_per_day") == 1
    chat.now = at("2026-11-21 09:00")  # the next day, the same draft
    await chat.press("C1", kept, "确认提交")
    received = await chat.next("C1")
    assert "已收到：问题 2026-00002" in received["text"], received["text"]
    assert await numbers(engine) == ["2026-00001", "2026-00002"]
    assert limited(chat, "reports_per_day") == 1


async def test_a_flood_gets_one_answer_then_silence_and_others_go_on(
    five_a_minute: Chat, world: World
) -> None:
    chat = five_a_minute
    assert world.contact is not None
    await chat.bind(world.contact, CONTACT)
    await chat.bind(world.officials["r1-head"], HEAD)
    chat.now += timedelta(minutes=2)  # the /start of binding is a minute ago
    before = chat.api.sent_count(CONTACT)
    for _ in range(PER_MINUTE + FLOOD):
        chat.api.user_says(CONTACT, "/help")
    await chat.settle()
    replies = chat.api.outbox(CONTACT)[before:]
    assert len(replies) == PER_MINUTE + 1, [m["text"][:30] for m in replies]
    assert all("消息太频繁" not in m["text"] for m in replies[:PER_MINUTE])
    assert "消息太频繁：每分钟最多 5 条" in replies[-1]["text"]
    assert limited(chat, "messages_per_minute") == FLOOD
    # Another account is not held up; a press of the flooder's in the same minute: no answer.
    helped = await chat.say("r1-head", "/help")
    assert "消息太频繁" not in helped["text"]
    press = chat.api.press(CONTACT, replies[0]["message_id"], "lang:en")
    await chat.settle()
    assert press not in chat.api.answers and chat.api.sent_count(CONTACT) == before + 6
    assert limited(chat, "messages_per_minute") == FLOOD + 1
    # A minute later the account is served again; its first press past the limit is answered.
    chat.now += timedelta(minutes=1, seconds=1)
    for _ in range(PER_MINUTE):
        chat.api.user_says(CONTACT, "/help")
    await chat.settle()
    assert chat.api.sent_count(CONTACT) == before + 6 + PER_MINUTE
    press = chat.api.press(CONTACT, replies[0]["message_id"], "lang:en")
    answer = await chat.api.wait_answer(press)
    assert "消息太频繁" in answer["text"] and answer["show_alert"]
    assert limited(chat, "messages_per_minute") == FLOOD + 2
