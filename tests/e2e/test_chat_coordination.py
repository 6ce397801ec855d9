"""End to end, over HTTP, in Chinese and in English (issue 13): the handler asks for material and
the enterprise sends a PDF and a sentence; the co-handler misses its deadline and is named, then
gives its opinion; the issue is transferred; a deputy receives an issue by portfolio; a resolved
issue nobody rates closes as 未评价 and the rates count it apart."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from jobs.clocks import run_clocks
from models.bulletin import city_and_regions
from models.codes import Role, Stage, Status
from models.db import session_scope
from models.periods import Period
from models.rules import Rules
from models.tables.issue import Attachment, Issue
from models.tables.org import Official
from models.tables.project import Project
from tests.support.chat import CONTACT, HEAD, OTHER_CONTACT, Chat, labels
from tests.support.factories import World, at

SECOND_HEAD, ZGJ_HEAD, DEPUTY_B = 2101, 2102, 2103
WORDS = {
    "zh": {
        "language": "zh-hans",
        "category": "土地",
        "normal": "普通",
        "submit": "确认提交",
        "received": "已收到：问题",
        "accept": "受理",
        "ask": "要求补充材料",
        "send": "补充材料",
        "paused": "最迟于",
        "attached": "（1/5）",
        "resumed": "计时已恢复",
        "supplied": "补充材料：红线图见附件",
        "files": "附件：1 个",
        "late": "zgj对问题 2026-00001 的协办意见已超期",
        "opinion": "协办意见",
        "opinion_in": "协办意见：用地指标正在调剂",
        "transfer": "转办",
        "transferred": "转办给二号",
        "resolve": "办结",
        "rate_please": "请评价",
        "deputy": "阎立军",
    },
    "en": {
        "language": "en",
        "category": "land",
        "normal": "normal",
        "submit": "Submit",
        "received": "Received: issue",
        "accept": "Accept",
        "ask": "Ask for material",
        "send": "Send the material",
        "paused": "at the latest",
        "attached": "(1 of 5)",
        "resumed": "Its clock runs again",
        "supplied": "the material for issue",
        "files": "Files: 1",
        "late": "The co-handling opinion of zgj on issue 2026-00001 is late",
        "opinion": "Co-handling opinion",
        "opinion_in": "Co-handling opinion of",
        "transfer": "Transfer",
        "transferred": "transferred to 二号",
        "resolve": "Resolve",
        "rate_please": "please rate",
        "deputy": "阎立军",
    },
}


async def with_button(chat: Chat, who: str, label: str) -> dict[str, object]:
    """Their next message that carries a button so labelled (the fresh card, after notices)."""
    for _ in range(8):
        message = await chat.next(who)
        if label in labels(chat.api, message):
            return message
    raise AssertionError(f"no message with a {label!r} button for {who}")


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_the_loop_around_the_ladder(
    chat: Chat, world: World, engine: AsyncEngine, rules: Rules, lang: str
) -> None:
    w = WORDS[lang]
    async with session_scope(engine) as session:
        second = Official(code="r1-head-2", name="二号", role=Role.REGION_HEAD, region_id=1)
        deputy_b = await session.get(Official, world.officials["deputy-b"].id)
        assert deputy_b is not None
        deputy_b.name, deputy_b.portfolio = "阎立军", "新能源;energy"
        solar = Project(code="P2", name="光伏", enterprise_id=2, region_id=1, industry="新能源",
                        investment_wan=120_000, stage=Stage.STARTED)  # fmt: skip
        session.add_all([second, deputy_b, solar])
    await chat.bind(world.contact, CONTACT, w["language"])
    await chat.bind(world.officials["r1-head"], HEAD, w["language"])
    await chat.bind(world.officials["zgj-head"], ZGJ_HEAD, w["language"])
    async with session_scope(engine) as session:
        second = (await session.exec(select(Official).where(Official.code == "r1-head-2"))).one()
    await chat.bind(second, SECOND_HEAD, w["language"])
    await chat.bind(world.officials["deputy-b"], DEPUTY_B, w["language"])

    # The contact reports a land problem; 资规局 (zgj) co-handles it with its own deadline.
    done = await chat.report(
        "C1", category=w["category"], urgency=w["normal"], submit=w["submit"], text="用地指标"
    )
    assert w["received"] in done["text"]
    notice = await chat.next("r1-head")
    card = await chat.press_and_wait("r1-head", notice, w["accept"])

    # 1. Material: asked, then a PDF and a sentence; the clock resumes and the handler sees both.
    await chat.press("r1-head", card, w["ask"])
    await chat.next("r1-head")  # the prompt
    chat.api.user_says(HEAD, "请提供用地红线图")
    assert w["paused"] in (await chat.until("r1-head", w["paused"]))["text"]  # the card
    asked = await chat.until("C1", "请提供用地红线图")
    assert w["send"] in labels(chat.api, asked)
    chat.api.user_says(CONTACT, document=("红线图.pdf", b"%PDF-1.4 redline", "application/pdf"))
    assert w["attached"] in (await chat.next("C1"))["text"]
    assert w["resumed"] in (await chat.say("C1", "红线图见附件"))["text"]
    supplied = await chat.until("r1-head", w["supplied"])
    assert w["files"] in supplied["text"]
    async with session_scope(engine) as session:
        issue = (await session.exec(select(Issue))).one()
        files = (await session.exec(select(Attachment))).all()
    assert issue.status == Status.ACCEPTED and [f.file_name for f in files] == ["红线图.pdf"]

    # 2. The co-handler lets its deadline pass (3 working days): it is named, then answers.
    chat.now = at("2026-11-25 10:00")
    await run_clocks(engine=engine, rules=rules, now=chat.now)
    await chat.until("r1-head", w["late"], limit=8)  # the lead handler is told who is late
    inbox = await chat.say("zgj-head", "/inbox")
    chat.api.press(ZGJ_HEAD, inbox["message_id"], "c:1")
    zgj_card = await with_button(chat, "zgj-head", w["opinion"])
    await chat.press("zgj-head", zgj_card, w["opinion"])
    await chat.next("zgj-head")  # the prompt
    await chat.say("zgj-head", "用地指标正在调剂")
    assert w["opinion_in"] in (await chat.until("r1-head", "用地指标正在调剂", limit=8))["text"]

    # 3. Transfer within the level: the new handler and the enterprise hear of it.
    help_message = await chat.say("r1-head", "/help")
    chat.api.press(HEAD, help_message["message_id"], "c:1")
    card = await with_button(chat, "r1-head", w["transfer"])
    picker = await chat.press_and_wait("r1-head", card, w["transfer"])
    await chat.press("r1-head", picker, "二号")
    await chat.next("r1-head")  # the prompt for the reason
    await chat.say("r1-head", "分工调整")
    new_card = await chat.until("r1-head-2", "分工调整", limit=8)
    assert w["transferred"] in (await chat.until("C1", "分工调整", limit=8))["text"]

    # 4. Resolved, never rated: asked once, then closed as 未评价 — apart from 满意率.
    await chat.press("r1-head-2", new_card, w["resolve"])
    await chat.next("r1-head-2")
    await chat.say("r1-head-2", "已调剂用地指标")
    chat.now = at("2026-11-30 10:00")  # 3 working days after the 25th
    await run_clocks(engine=engine, rules=rules, now=chat.now)
    assert w["rate_please"] in (await chat.until("C1", w["rate_please"], limit=8))["text"]
    chat.now = at("2026-12-04 10:00")  # 7 working days
    await run_clocks(engine=engine, rules=rules, now=chat.now)
    await chat.settle()
    async with session_scope(engine) as session:
        issue = (await session.exec(select(Issue))).one()
        drawn = await city_and_regions(
            session=session,
            rules=rules,
            period=Period.parse("2026-12"),
            cut=at("2026-12-05 00:00"),
        )
    assert (issue.status, issue.rating) == (Status.CLOSED, None)
    city = dict((b.scope, b) for _region, b in drawn)["city"].issues
    assert (city.unrated, city.rated, city.satisfaction_rate) == (1, 0, None)

    # 5. A deputy receives an issue by portfolio: P2 is 新能源, 阎立军's.
    await chat.bind(world.other_contact, OTHER_CONTACT, w["language"])
    routed = await chat.report(
        "C2", category=w["category"], urgency=w["normal"], submit=w["submit"], text="并网接入"
    )
    assert w["deputy"] in routed["text"]
    assert "2026-00002" in (await chat.until("deputy-b", "2026-00002", limit=8))["text"]
