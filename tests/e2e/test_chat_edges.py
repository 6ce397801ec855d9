"""End to end, over HTTP: the chat's edges — strangers, bad invites, limits, stale and forged
buttons, two officials at once, a restart in the middle of /report."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from models.codes import Level, Status
from models.db import session_scope
from models.issues.commands import Escalate
from models.permissions import actor_of
from models.rules import Rules
from models.tables.issue import Attachment, Issue
from tests.support.chat import ADMIN, CONTACT, HEAD, OTHER_CONTACT, OTHER_HEAD, Chat, labels
from tests.support.factories import World, act, at

STRANGER = 9999


async def test_a_stranger_is_refused_politely_in_both_languages(chat: Chat) -> None:
    for text in ("/my", "/inbox", "hello", "/start"):
        chat.api.user_says(STRANGER, text)
        reply = await chat.api.next_message(STRANGER)
        assert "尚未登记" in reply["text"] and "not registered" in reply["text"], text
        assert "2026" not in reply["text"]  # and no data at all


async def test_an_invite_works_once_and_not_after_it_expires(
    chat: Chat, world: World, engine: AsyncEngine, rules: Rules
) -> None:
    from models.invites import create_invite

    async with session_scope(engine) as session:
        token, _ = await create_invite(
            session=session, rules=rules, person=world.contact, now=chat.now
        )
        old, _ = await create_invite(
            session=session, rules=rules, person=world.other_contact, now=at("2026-10-01 10:00")
        )
    chat.api.user_says(CONTACT, f"/start {token}")
    assert "您好" in (await chat.api.next_message(CONTACT))["text"]
    chat.api.user_says(STRANGER, f"/start {token}")
    assert "已被使用" in (await chat.api.next_message(STRANGER))["text"]
    chat.api.user_says(OTHER_CONTACT, f"/start {old}")
    assert "已过期" in (await chat.api.next_message(OTHER_CONTACT))["text"]
    chat.api.user_says(OTHER_CONTACT, "/start not-a-token")
    assert "无效" in (await chat.api.next_message(OTHER_CONTACT))["text"]


async def test_limits_are_stated_and_nothing_is_lost(chat: Chat, world: World) -> None:
    await chat.bind(world.contact, CONTACT)
    categories = await chat.say("C1", "/report")
    await chat.press("C1", categories, "规划")
    await chat.next("C1")
    for n in range(5):
        chat.api.user_says(CONTACT, photo=b"\xff\xd8photo%d" % n)
        assert f"（{n + 1}/5）" in (await chat.next("C1"))["text"]
    chat.api.user_says(CONTACT, document=("plan.pdf", b"%PDF-1.4", "application/pdf"))
    assert "最多可附 5 个文件" in (await chat.next("C1"))["text"]
    too_long = await chat.say("C1", "长" * 4001)
    assert "4001" in too_long["text"] and "4000" in too_long["text"]
    urgencies = await chat.say("C1", "长" * 4000)
    summary = await chat.press_and_wait("C1", urgencies, "紧急")
    assert "附件：5 个" in summary["text"]
    await chat.press("C1", summary, "确认提交")
    assert "2026-00001" in (await chat.next("C1"))["text"]
    async with session_scope(chat.engine) as session:
        files = (await session.exec(select(Attachment))).all()
        issue = await session.get(Issue, 1)
    assert len(files) == 5 and {f.kind for f in files} == {"photo"}
    assert issue is not None and len(issue.text) == 4000
    my = await chat.say("C1", "/my")
    chat.api.press(CONTACT, my["message_id"], "c:1")
    card = await chat.next("C1")
    assert "附件：5 个" in card["text"]
    await chat.press("C1", card, "查看附件")
    photos = [await chat.next("C1") for _ in range(5)]
    assert [p["caption"] for p in photos] == ["2026-00001 · photo"] * 5
    assert {p["photo"][-1]["file_id"] for p in photos} == {f.file_id for f in files}


async def test_cancel_drops_the_draft(chat: Chat, world: World) -> None:
    await chat.bind(world.contact, CONTACT)
    await chat.say("C1", "/report")
    assert "已取消" in (await chat.say("C1", "/cancel"))["text"]
    assert "没有可取消" in (await chat.say("C1", "/cancel"))["text"]
    assert "暂无问题" in (await chat.say("C1", "/my"))["text"]


async def test_a_stale_card_answers_with_the_current_state(
    chat: Chat, world: World, engine: AsyncEngine, rules: Rules
) -> None:
    await chat.bind(world.contact, CONTACT)
    await chat.bind(world.officials["r1-head"], HEAD)
    await chat.report("C1", category="土地", urgency="普通", submit="确认提交", text="缺电")
    notice = await chat.next("r1-head")
    async with session_scope(engine) as session:  # the admin escalates it meanwhile
        await act(session, rules, actor_of(world.officials["admin"]), Escalate(1), chat.now)
    seen = chat.api.edit_count(HEAD, notice["message_id"])
    query = await chat.press("r1-head", notice, "受理")
    answer = await chat.api.wait_answer(query)
    assert "已过期" in answer["text"]
    card = await chat.api.wait_edit(HEAD, notice["message_id"], seen)
    assert "市分管领导" in card["text"] and "受理" not in labels(chat.api, card)
    async with session_scope(engine) as session:
        issue = await session.get(Issue, 1)
    assert issue.status == Status.SUBMITTED and issue.level == Level.CITY_DEPUTY


async def test_a_forged_press_does_nothing_and_is_logged(
    chat: Chat, world: World, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    await chat.bind(world.contact, CONTACT)
    await chat.bind(world.officials["r1-head"], HEAD)
    other = await chat.bind(world.other_contact, OTHER_CONTACT)
    foreign = await chat.bind(world.officials["r2-head"], OTHER_HEAD)
    await chat.report("C1", category="土地", urgency="普通", submit="确认提交", text="缺电")
    notice = await chat.next("r1-head")
    accept = chat.data(notice, "受理")
    with caplog.at_level(logging.WARNING):
        for user, message in ((OTHER_CONTACT, other), (OTHER_HEAD, foreign)):
            query = chat.api.press(user, message["message_id"], accept)
            answer = await chat.api.wait_answer(query)  # the one polite refusal: no oracle
            assert answer["text"] == "此按钮在这里无效，未作任何操作。"
        query = chat.api.press(OTHER_CONTACT, other["message_id"], "c:1")  # someone else's card
        await chat.api.wait_answer(query)
    assert sum("forged" in r.message for r in caplog.records) == 3
    async with session_scope(engine) as session:
        issue = await session.get(Issue, 1)
    assert issue.status == Status.SUBMITTED
    assert [m for m in chat.api.sent(OTHER_CONTACT) if "2026-00001" in m["text"]] == []


async def test_two_officials_press_at_once_and_one_wins(
    chat: Chat, world: World, engine: AsyncEngine
) -> None:
    await chat.bind(world.contact, CONTACT)
    await chat.bind(world.officials["r1-head"], HEAD)
    await chat.bind(world.officials["admin"], ADMIN)
    await chat.report("C1", category="土地", urgency="普通", submit="确认提交", text="缺电")
    head_card = await chat.next("r1-head")
    help_message = await chat.say("admin", "/help")
    chat.api.press(ADMIN, help_message["message_id"], "c:1")  # the admin opens the issue's card
    admin_card = await chat.next("admin")
    data = chat.data(head_card, "提级")
    assert chat.data(admin_card, "提级") == data  # the same state, the same button
    first = chat.api.press(HEAD, head_card["message_id"], data)
    second = chat.api.press(ADMIN, admin_card["message_id"], data)
    answers = [await chat.api.wait_answer(q) for q in (first, second)]
    texts = sorted(a.get("text", "") for a in answers)
    assert texts.count("已办理。") == 1, texts
    assert any("他人" in t or "已过期" in t for t in texts), texts
    async with session_scope(engine) as session:
        issue = await session.get(Issue, 1)
    assert issue.escalations == 1 and issue.level == Level.CITY_DEPUTY


async def test_a_restart_in_the_middle_of_report_continues(chat: Chat, world: World) -> None:
    await chat.bind(world.contact, CONTACT)
    categories = await chat.say("C1", "/report")
    await chat.press("C1", categories, "审批")
    assert "4000" in (await chat.next("C1"))["text"]
    await chat.stop()
    await asyncio.sleep(0)
    await chat.start()
    urgencies = await chat.say("C1", "施工许可证办理卡在消防审验")
    summary = await chat.press_and_wait("C1", urgencies, "普通")
    assert "审批" in summary["text"]
    await chat.press("C1", summary, "确认提交")
    assert "已收到：问题 2026-00001" in (await chat.next("C1"))["text"]
