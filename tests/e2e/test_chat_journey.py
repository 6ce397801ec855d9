"""End to end, over HTTP: a contact reports, the county accepts and escalates, the deputy
resolves, the contact rates — in Chinese and in English."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from models.codes import Rating, Status
from models.db import session_scope
from models.tables.issue import Issue
from tests.support.chat import CONTACT, DEPUTY, HEAD, Chat, labels
from tests.support.factories import World


async def test_journey_in_chinese(chat: Chat, world: World, engine: AsyncEngine) -> None:
    api = chat.api
    greeting = await chat.bind(world.contact, CONTACT)
    assert "您好" in greeting["text"] and "/report" in greeting["text"]
    assert [c["command"] for c in api.commands({"type": "chat", "chat_id": CONTACT})] == [
        "report",
        "my",
        "progress",
        "lang",
        "help",
        "cancel",
    ]
    await chat.bind(world.officials["r1-head"], HEAD)
    assert [c["command"] for c in api.commands({"type": "chat", "chat_id": HEAD})] == [
        "inbox",
        "new",
        "stats",
        "progress",
        "lang",
        "help",
        "cancel",
    ]
    await chat.bind(world.officials["deputy-a"], DEPUTY)

    done = await chat.report(
        "C1",
        category="土地",
        urgency="普通",
        submit="确认提交",
        text="用地指标迟迟未落实，影响开工",
    )
    assert "已收到：问题 2026-00001" in done["text"]
    assert "县区" in done["text"] and "r1-head" in done["text"]
    assert "2026年11月23日" in done["text"]  # Friday 10:00 + 1 working day = Monday 10:00
    assert "受理后 5 个工作日内办结" in done["text"]

    notice = await chat.next("r1-head")
    assert "新问题 2026-00001" in notice["text"]
    assert {"受理", "回复", "协办", "提级", "直通车"} <= set(labels(api, notice))
    card = await chat.press_and_wait("r1-head", notice, "受理")
    assert "已受理" in card["text"] and "办结" in labels(api, card)
    assert "已受理" in (await chat.next("C1"))["text"]

    card = await chat.press_and_wait("r1-head", card, "提级")
    assert "市分管领导" in card["text"]
    assert "提级" in (await chat.next("C1"))["text"]
    informed = await chat.next("deputy-a")  # the project's leader hears of every new issue
    assert "新问题 2026-00001" in informed["text"] and "受理" not in labels(api, informed)
    escalated = await chat.until("deputy-a", "已提级至市分管领导")
    assert "受理" in labels(api, escalated)

    card = await chat.press_and_wait("deputy-a", escalated, "受理")
    await chat.next("C1")  # accepted again, now by the deputy
    await chat.press("deputy-a", card, "办结")
    assert "办结说明" in (await chat.next("deputy-a"))["text"]
    assert "已办理" in (await chat.say("deputy-a", "已协调自然资源局落实用地指标"))["text"]

    resolved = await chat.next("C1")
    assert "已办结：已协调自然资源局落实用地指标" in resolved["text"]
    assert labels(api, resolved)[:3] == ["满意", "基本满意", "不满意"]
    closed = await chat.press_and_wait("C1", resolved, "满意")
    assert "评价：满意" in closed["text"]
    await chat.until("deputy-a", "已评价：满意")
    async with session_scope(engine) as session:
        issue = await session.get(Issue, 1)
        assert issue is not None
        assert (issue.status, issue.rating, issue.escalations) == (
            Status.CLOSED,
            Rating.SATISFIED,
            1,
        )


async def test_journey_in_english(chat: Chat, world: World) -> None:
    api = chat.api
    greeting = await chat.bind(world.contact, CONTACT, language="en")
    assert greeting["text"].startswith("Hello")
    await chat.bind(world.officials["r1-head"], HEAD, language="en-US")
    done = await chat.report(
        "C1",
        category="land",
        urgency="urgent",
        submit="Submit",
        text="The land quota is still missing",
    )
    assert "Received: issue 2026-00001" in done["text"]
    assert "county/park heads" in done["text"] and "Nov 20, 2026" in done["text"]  # urgent: 4h
    assert "then resolved within 2 working days" in done["text"]
    notice = await chat.next("r1-head")
    assert "New issue 2026-00001" in notice["text"]
    assert {"Accept", "Reply", "Co-handler", "Escalate", "Direct line"} <= set(labels(api, notice))
    card = await chat.press_and_wait("r1-head", notice, "Accept")
    await chat.press("r1-head", card, "Resolve")
    await chat.next("r1-head")
    await chat.say("r1-head", "Quota granted")
    assert "Issue 2026-00001 was accepted." in (await chat.next("C1"))["text"]
    resolved = await chat.next("C1")
    assert "was resolved: Quota granted" in resolved["text"]
    closed = await chat.press_and_wait("C1", resolved, "basically satisfied")
    assert "Rating: basically satisfied" in closed["text"]
