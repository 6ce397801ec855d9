"""End to end, over HTTP: /new by phone, /inbox and /my with pages, /progress, /stats, /lang."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from models.codes import Stage
from models.db import session_scope
from models.rules import Rules
from models.tables.project import ProgressReport, Project
from tests.support.chat import CONTACT, HEAD, Chat, labels
from tests.support.factories import World, make_issue, make_project


async def test_an_official_logs_a_phone_call_with_new(chat: Chat, world: World) -> None:
    await chat.bind(world.officials["r1-agent-a"], HEAD)
    prompt = await chat.say("r1-agent-a", "/new")
    assert "项目编号" in prompt["text"]
    refused = await chat.say("r1-agent-a", "P404")
    assert "P404" in refused["text"]
    categories = await chat.say("r1-agent-a", "P1")
    await chat.press("r1-agent-a", categories, "用工")
    await chat.next("r1-agent-a")
    urgencies = await chat.say("r1-agent-a", "企业电话反映：招工困难")
    summary = await chat.press_and_wait("r1-agent-a", urgencies, "普通")
    await chat.press("r1-agent-a", summary, "确认提交")
    done = await chat.next("r1-agent-a")
    assert "已收到：问题 2026-00001" in done["text"] and "r1-head" in done["text"]


async def test_inbox_puts_overdue_first_and_pages_by_five(
    chat: Chat, world: World, engine: AsyncEngine, rules: Rules
) -> None:
    async with session_scope(engine) as session:
        p1 = (await session.exec(select(Project).where(Project.code == "P1"))).one()
        old = await make_issue(session, rules, world, p1, chat.now.replace(day=10))
        for day in range(11, 17):
            await make_issue(session, rules, world, p1, chat.now.replace(day=day))
    await chat.bind(world.officials["r1-head"], HEAD)
    first = await chat.say("r1-head", "/inbox")
    assert "待您办理（7 件）" in first["text"] and "第 1/2 页" in first["text"]
    rows = labels(chat.api, first)
    assert rows[0].startswith("⚠ " + old.number) and rows[-1] == "▶" and len(rows) == 6
    second = await chat.press_and_wait("r1-head", first, "▶")
    assert "第 2/2 页" in second["text"] and labels(chat.api, second)[-1] == "◀"


async def test_my_progress_stats_and_lang(
    chat: Chat, world: World, engine: AsyncEngine, rules: Rules
) -> None:
    async with session_scope(engine) as session:
        p1 = (await session.exec(select(Project).where(Project.code == "P1"))).one()
        await make_issue(session, rules, world, p1, chat.now)
        await make_project(session, world, 600_000, code="P2", leader="principal-a")
        session.add(
            ProgressReport(
                project_id=p1.id,
                month=date(2026, 10, 1),
                stage=Stage.STARTED,
                invested_wan=5_000,
                reported_at=chat.now,
            )
        )
    await chat.bind(world.contact, CONTACT)
    my = await chat.say("C1", "/my")
    assert "贵企业的问题（1 件）" in my["text"]
    card_opened = chat.api.press(CONTACT, my["message_id"], chat.data(my, labels(chat.api, my)[0]))
    await chat.api.wait_answer(card_opened)
    card = await chat.next("C1")
    assert "<b>问题 2026-00001</b>" in card["text"] and "补充信息" in labels(chat.api, card)
    progress = await chat.say("C1", "/progress")
    assert "P1 P1：开工，总投资 2亿元" in progress["text"]
    assert "2026-10：开工，累计完成投资 5,000万元" in progress["text"]
    assert "P2 P2" in progress["text"] and "60亿元" in progress["text"]
    choose = await chat.say("C1", "/lang")
    done = await chat.press_and_wait("C1", choose, "English")
    assert done["text"] == "Language set: English."
    assert "Your enterprise's issues (1):" in (await chat.say("C1", "/my"))["text"]
    await chat.bind(world.officials["r1-head"], HEAD)
    stats = await chat.say("r1-head", "/stats")
    # this month so far in the head's region, counted as the bulletin counts it
    assert stats["text"].startswith("<b>清江浦区 · 2026年11月（截至")
    assert "新增问题 1" in stats["text"] and "按时签收率：—（0 件中 0 件）" in stats["text"]
    assert (
        "满意率：—（0 件中 0 件）" in stats["text"]
        and "发回重办率：—（0 件中 0 件）" in stats["text"]
    )
    assert "not available to you" in (await chat.say("C1", "/stats"))["text"]
