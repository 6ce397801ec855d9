"""A contact reports the same problem twice: the chat offers to add it to the open issue (one
ticket, counted, its handler told) or to make a new one for a different problem."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from models.db import session_scope
from models.tables.issue import Issue
from tests.support.chat import CONTACT, HEAD, Chat, Json, labels
from tests.support.factories import World


async def _second_report(chat: Chat, text: str) -> Json:
    """/report the same project and category again, up to the press of 确认提交; the answer."""
    categories = await chat.say("C1", "/report")
    await chat.press("C1", categories, "土地")
    await chat.next("C1")
    urgencies = await chat.say("C1", text)
    summary = await chat.press_and_wait("C1", urgencies, "普通")
    return await chat.press_and_wait("C1", summary, "确认提交")


async def issues(engine: AsyncEngine) -> list[Issue]:
    async with session_scope(engine) as session:
        return list((await session.exec(select(Issue).order_by(Issue.id))).all())


async def test_a_repeat_is_added_to_the_open_issue_and_its_handler_told(
    chat: Chat, engine: AsyncEngine, world: World
) -> None:
    assert world.contact is not None
    await chat.bind(world.contact, CONTACT)
    await chat.bind(world.officials["r1-head"], HEAD)
    first = await chat.report(
        "C1", category="土地", urgency="普通", submit="确认提交", text="围挡占道，请协调"
    )
    assert "2026-00001" in first["text"]
    await chat.until("r1-head", "2026-00001")
    offer = await _second_report(chat, "围挡还在，仍未解决")
    assert "问题 2026-00001（土地）尚未办结" in offer["text"], offer["text"]
    assert labels(chat.api, offer) == ["并入 2026-00001", "另一个问题", "取消"]
    await chat.press("C1", offer, "并入 2026-00001")
    added = await chat.next("C1")
    assert "已并入问题 2026-00001" in added["text"] and "已反映 2 次" in added["text"]
    [issue] = await issues(engine)
    assert issue.repeats == 1
    told = await chat.until("r1-head", "再次反映")
    assert "2026-00001" in told["text"] and "围挡还在" in told["text"]


async def test_a_different_problem_gets_its_own_issue(
    chat: Chat, engine: AsyncEngine, world: World
) -> None:
    assert world.contact is not None
    await chat.bind(world.contact, CONTACT)
    await chat.report("C1", category="土地", urgency="普通", submit="确认提交", text="用地指标")
    offer = await _second_report(chat, "另一块地的红线图有误")
    await chat.press("C1", offer, "另一个问题")
    assert "2026-00002" in (await chat.next("C1"))["text"]
    assert [issue.repeats for issue in await issues(engine)] == [0, 0]
