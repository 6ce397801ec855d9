"""End to end, over HTTP: forged, replayed and stale input (issue 17, item 2).

Callback data is the client's to write: another issue's id, another action, garbage, more than
Telegram's 64 bytes; an old card pressed after the issue moved on; a press by an account that
is not the card's owner or by none at all; invite tokens guessed, reused, expired; admin-only
actions by others. Each case checks the three things a refusal owes: (a) a polite answer (the
toast of answerCallbackQuery, or a message), (b) nothing changed in the database, (c) one log
record naming the refusal (from the handlers' loggers) and no personal text in it.

Who may press which button in general is tests/e2e/test_chat_authorization.py's; plain odd data
and double taps are tests/e2e/test_chat_hostile.py's.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, func, select

from handlers.cards import stamp
from handlers.presses import PROMPTS
from locales import gettext_for
from models.codes import Action, Category, Stage, Status
from models.db import session_scope
from models.invites import create_invite
from models.issues.commands import Accept, Resolve
from models.permissions import actor_of
from models.rules import Rules
from models.tables.infra import Invite, Outbox
from models.tables.issue import Issue, IssueCoHandler, IssueEvent
from models.tables.org import Contact, Official
from models.tables.project import Project
from tests.support.chat import CONTACT, HEAD, OTHER_CONTACT, Chat, Json, labels
from tests.support.factories import World, act, make_issue

STRANGER, AGENT = 9999, 2005
REFUSED = "此按钮在这里无效，未作任何操作。"  # NOT_VALID: the one answer to a forged press
DEAD = "此按钮已失效。"
ISSUE_TEXT = "缺电三天"  # personal text: the enterprise's words never reach the log


# --- what each case checks ------------------------------------------------------------------


async def state(engine: AsyncEngine) -> dict[str, Any]:
    """Everything a refused input must leave as it was: every issue row, the counts of events,
    co-handlers, notices and used invites, and who is bound to which account."""
    async with session_scope(engine) as session:
        issues = (await session.exec(select(Issue).order_by(col(Issue.id)))).all()
        counts = {
            table.__name__: (await session.exec(select(func.count()).select_from(table))).one()
            for table in (IssueEvent, IssueCoHandler, Outbox)
        }
        used = select(func.count()).where(col(Invite.used_at).is_not(None))
        counts["used invites"] = (await session.exec(used)).one()
        bound = [
            (person.code, person.telegram_user_id)
            for table in (Contact, Official)
            for person in (await session.exec(select(table).order_by(col(table.id)))).all()
        ]
        return {"issues": [i.model_dump() for i in issues], "counts": counts, "bound": bound}


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The handlers' log records at INFO and above: one per refused input."""
    ours = [r for r in caplog.records if r.name == "handlers" or r.name.startswith("handlers.")]
    return [r.getMessage() for r in ours if r.levelno >= logging.INFO]


def logged_once(caplog: pytest.LogCaptureFixture, word: str) -> None:
    """Exactly one refusal record, naming `word`; nothing recorded on any issue; no personal
    text in any record."""
    found = refusals(caplog)
    assert len(found) == 1 and word in found[0], found
    assert [r for r in caplog.records if r.name == "models.issues.runner"] == []
    assert not any(ISSUE_TEXT in r.getMessage() or "王" in r.getMessage() for r in caplog.records)


async def press(
    chat: Chat, caplog: pytest.LogCaptureFixture, user: int, message: Json, data: str
) -> Json:
    """Press `data` on `message`, wait until the update is handled; the answer."""
    caplog.clear()
    with caplog.at_level(logging.INFO):
        query = chat.api.press(user, message["message_id"], data)
        answer = await chat.api.wait_answer(query)
        await chat.settle()
    return answer


async def says(chat: Chat, caplog: pytest.LogCaptureFixture, user: int, text: str) -> str:
    """The account sends `text`, the update is handled; the bot's reply."""
    caplog.clear()
    with caplog.at_level(logging.INFO):
        chat.api.user_says(user, text)
        answer = await chat.api.next_message(user)
        await chat.settle()
    return str(answer.get("text", ""))


async def reported(chat: Chat, world: World) -> Json:
    """C1 reports an issue and r1-head (its handler) is bound: r1-head's notice with 受理."""
    await chat.bind(world.contact, CONTACT)
    await chat.bind(world.officials["r1-head"], HEAD)
    await chat.report("C1", category="土地", urgency="普通", submit="确认提交", text=ISSUE_TEXT)
    notice = await chat.next("r1-head")
    assert "受理" in labels(chat.api, notice)
    return notice


async def stamp_of(engine: AsyncEngine, issue_id: int) -> str:
    """The stamp a card of the issue carries now."""
    async with session_scope(engine) as session:
        issue = await session.get(Issue, issue_id)
        assert issue is not None
        return stamp(issue)


async def foreign_issue(engine: AsyncEngine, rules: Rules, world: World, when: Any) -> int:
    """An issue of the other enterprise (E2), on a project in r2; its id."""
    async with session_scope(engine) as session:
        assert world.other_contact is not None
        project = Project(
            code="P2",
            name="P2",
            enterprise_id=world.other_contact.enterprise_id,
            region_id=world.other_region.id,
            investment_wan=3_000,
            stage=Stage.STARTED,
        )
        session.add(project)
        await session.flush()
        issue = await make_issue(
            session, rules, world, project, when, actor=actor_of(world.other_contact)
        )
        assert issue.id is not None
        return issue.id


# --- callback data altered ------------------------------------------------------------------


async def test_another_enterprises_issue_gets_the_same_answer_as_no_issue(
    chat: Chat, world: World, engine: AsyncEngine, rules: Rules, caplog: pytest.LogCaptureFixture
) -> None:
    await reported(chat, world)
    other = await foreign_issue(engine, rules, world, chat.now)
    theirs = await stamp_of(engine, other)
    where = await chat.say("C1", "/help")
    before = await state(engine)
    for issue_id in (other, 424242):
        for data in (
            f"c:{issue_id}",
            f"f:{issue_id}",
            f"a:comment:{issue_id}:{theirs}",
            f"a:direct_line:{issue_id}:{theirs}",
            f"rt:{issue_id}:satisfied:{theirs}",
            f"rt:{issue_id}:unsatisfied:{theirs}",
        ):
            answer = await press(chat, caplog, CONTACT, where, data)
            assert answer.get("text") == REFUSED, data  # no oracle: foreign reads as absent
            logged_once(caplog, "forged")
    assert await state(engine) == before
    assert not any("2026-00002" in m.get("text", "") for m in chat.api.outbox(CONTACT))


async def test_another_action_on_ones_own_issue_is_refused_with_why(
    chat: Chat, world: World, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    await reported(chat, world)
    card_stamp = await stamp_of(engine, 1)
    where = await chat.say("C1", "/help")
    before = await state(engine)
    for data in (f"a:accept:1:{card_stamp}", f"a:escalate:1:{card_stamp}"):  # an official's
        answer = await press(chat, caplog, CONTACT, where, data)
        assert "不能" in answer["text"] or "无权" in answer["text"], answer
        logged_once(caplog, "refused")
    for data in (f"a:remind:1:{card_stamp}", f"a:no_such_thing:1:{card_stamp}", "a:accept:1"):
        answer = await press(chat, caplog, CONTACT, where, data)  # the system's, or none
        assert answer.get("text") == REFUSED, data
        logged_once(caplog, "malformed")
    head = await chat.say("r1-head", "/help")  # the handler, but resolving before accepting
    answer = await press(chat, caplog, HEAD, head, f"a:resolve:1:{card_stamp}")
    assert "2026-00001" in answer["text"]
    logged_once(caplog, "refused")
    assert await state(engine) == before


@pytest.mark.parametrize(
    "data",
    [
        "\x00\x01\x02\x7f",
        "ÿþ\ufeff",
        "💥💥💥",
        ":::",
        "a::",
        "rt:1:😀:x",
        "co:1::x",
        "tr:1:x:y",
        "pg:inbox:-1",
        "lang:xx",
        "a:accept:1:\x00",
    ],
)
async def test_garbage_data_is_answered_and_changes_nothing(
    chat: Chat, world: World, engine: AsyncEngine, caplog: pytest.LogCaptureFixture, data: str
) -> None:
    await reported(chat, world)
    where = await chat.say("r1-head", "/help")
    before = await state(engine)
    answer = await press(chat, caplog, HEAD, where, data)
    assert answer.get("text"), data  # something polite, never a silent spinner stop
    assert len(refusals(caplog)) == 1, refusals(caplog)
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)
    assert await state(engine) == before


async def test_data_over_64_bytes_is_refused_before_any_handler(
    chat: Chat, world: World, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    notice = await reported(chat, world)
    accept = chat.data(notice, "受理")
    before = await state(engine)
    for data in (accept + ":" + "x" * (64 - len(accept)), "c:1" + " " * 62, "é" * 33):
        assert len(data.encode()) > 64
        answer = await press(chat, caplog, HEAD, notice, data)
        assert answer.get("text") == REFUSED
        logged_once(caplog, "over-long")
    assert await state(engine) == before
    answer = await press(chat, caplog, HEAD, notice, accept)  # exactly as sent: still works
    assert answer.get("text") == "已办理。"


# --- replayed after the issue moved on ------------------------------------------------------


async def test_a_replayed_accept_shows_where_the_issue_stands(
    chat: Chat, world: World, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    notice = await reported(chat, world)
    accept = chat.data(notice, "受理")
    card = await chat.press_and_wait("r1-head", notice, "受理")
    assert "受理" not in labels(chat.api, card)
    old = await chat.say("r1-head", "/help")  # a message that still shows the old state
    before = await state(engine)
    seen = chat.api.edit_count(HEAD, old["message_id"])
    answer = await press(chat, caplog, HEAD, old, accept)  # the old button, replayed
    assert "已过期" in answer["text"]
    redrawn = await chat.api.wait_edit(HEAD, old["message_id"], seen)
    assert "已受理" in redrawn["text"] and "受理" not in labels(chat.api, redrawn)
    logged_once(caplog, "stale")
    assert await state(engine) == before


async def test_a_replayed_rating_changes_nothing(
    chat: Chat, world: World, engine: AsyncEngine, rules: Rules, caplog: pytest.LogCaptureFixture
) -> None:
    await reported(chat, world)
    head = actor_of(world.officials["r1-head"])
    async with session_scope(engine) as session:
        await act(session, rules, head, Accept(1), chat.now)
        await act(session, rules, head, Resolve(1, note="已协调供电"), chat.now)
    where = await chat.say("C1", "/help")
    chat.api.press(CONTACT, where["message_id"], "c:1")
    card = await chat.until("C1", "2026-00001")
    satisfied, unsatisfied = chat.data(card, "满意"), chat.data(card, "不满意")
    closed = await chat.press_and_wait("C1", card, "满意")
    assert "已关闭" in closed["text"] or "已办结" in closed["text"]
    before = await state(engine)
    for data in (satisfied, unsatisfied):  # 不满意 would ask why first: refused before it asks
        answer = await press(chat, caplog, CONTACT, closed, data)
        assert "已过期" in answer["text"]
        logged_once(caplog, "stale")
    assert await state(engine) == before
    prompt = gettext_for("zh_CN")(PROMPTS[Action.CONFIRM]).format(number="2026-00001")
    assert not any(prompt in m.get("text", "") for m in chat.api.outbox(CONTACT))


# --- pressed by another account ---------------------------------------------------------------


async def test_the_handlers_button_pressed_by_others_in_scope(
    chat: Chat, world: World, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    notice = await reported(chat, world)
    accept = chat.data(notice, "受理")
    await chat.bind(world.officials["r1-agent-a"], AGENT)  # same region: sees it, not its handler
    before = await state(engine)
    for user, code in ((CONTACT, "C1"), (AGENT, "r1-agent-a")):
        where = await chat.say(code, "/help")
        answer = await press(chat, caplog, user, where, accept)
        assert "不能" in answer["text"] or "无权" in answer["text"], answer
        logged_once(caplog, "refused")
    assert await state(engine) == before


async def test_an_unbound_account_pressing_or_commanding_is_told_to_get_an_invite(
    chat: Chat, world: World, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    notice = await reported(chat, world)
    accept = chat.data(notice, "受理")
    chat.api.add_user(STRANGER, "陌生人", "zh-hans")
    where = await says(chat, caplog, STRANGER, "/start")
    assert "尚未登记" in where
    logged_once(caplog, "without an invite")
    message = chat.api.sent(STRANGER)[-1]
    before = await state(engine)
    for data in (accept, "c:1", "f:1", "rt:1:satisfied:0", "pg:my:1"):
        answer = await press(chat, caplog, STRANGER, message, data)
        assert "text" not in answer or answer["text"] == DEAD
        refusal = await chat.api.next_message(STRANGER)
        assert "尚未登记" in refusal["text"] and "2026" not in refusal["text"], data
        logged_once(caplog, "unregistered")
    for command in ("/my", "/inbox", "/stats", "/report", "/new", "/progress", "hello"):
        answer_text = await says(chat, caplog, STRANGER, command)
        assert "尚未登记" in answer_text and "2026" not in answer_text, command
        logged_once(caplog, "unregistered")
    assert await state(engine) == before


# --- invite tokens ---------------------------------------------------------------------------


async def test_guessed_reused_and_expired_invites_bind_nobody(
    chat: Chat, world: World, engine: AsyncEngine, rules: Rules, caplog: pytest.LogCaptureFixture
) -> None:
    used = await _used_token(chat, world, engine, rules)  # C2 bound with it already
    async with session_scope(engine) as session:
        fresh, _ = await create_invite(
            session=session, rules=rules, person=world.officials["r1-agent-b"], now=chat.now
        )
    chat.api.add_user(STRANGER, "陌生人", "zh-hans")
    guessed = secrets.token_urlsafe(24)
    before = await state(engine)
    cases = [
        (guessed, "无效", "unknown"),
        (guessed + "x" * 80, "无效", "unknown"),  # a payload past Telegram's 64 characters
        (used, "已被使用", "used"),
    ]
    for token, said, reason in cases:
        assert said in await says(chat, caplog, STRANGER, f"/start {token}")
        logged_once(caplog, reason)
        assert not any(token[:64] in message for message in refusals(caplog))  # never the token
    chat.now += timedelta(days=rules.policy.invites.ttl_days, minutes=1)  # the clock moves on
    assert "已过期" in await says(chat, caplog, STRANGER, f"/start {fresh}")
    logged_once(caplog, "expired")
    assert await state(engine) == before


async def _used_token(chat: Chat, world: World, engine: AsyncEngine, rules: Rules) -> str:
    """A token that has bound its person already (C2 binds with it here)."""
    async with session_scope(engine) as session:
        token, _ = await create_invite(
            session=session, rules=rules, person=world.other_contact, now=chat.now
        )
    chat.api.add_user(OTHER_CONTACT, "李", "zh-hans")
    chat.api.user_says(OTHER_CONTACT, f"/start {token}")
    assert "您好" in (await chat.api.next_message(OTHER_CONTACT))["text"]
    await chat.settle()
    return token


async def test_an_account_bound_to_someone_else_moves_to_the_newer_invite(
    chat: Chat, world: World, engine: AsyncEngine, rules: Rules
) -> None:
    """By design (models/identity.py): one account speaks for one person, the newest invite
    wins; the person it spoke for before is left unbound, never two people on one account."""
    await chat.bind(world.other_contact, CONTACT)
    async with session_scope(engine) as session:
        token, _ = await create_invite(
            session=session, rules=rules, person=world.contact, now=chat.now
        )
    chat.api.user_says(CONTACT, f"/start {token}")
    assert "王" in (await chat.api.next_message(CONTACT))["text"]
    async with session_scope(engine) as session:
        c1 = await session.get(Contact, world.contact.id)
        c2 = await session.get(Contact, world.other_contact.id)
    assert c1.telegram_user_id == CONTACT and c2.telegram_user_id is None


# --- admin-only actions by others ------------------------------------------------------------


async def test_transfer_and_cohandlers_are_the_handlers_or_an_admins(
    chat: Chat, world: World, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    await reported(chat, world)
    await chat.bind(world.officials["r1-agent-a"], AGENT)
    card_stamp = await stamp_of(engine, 1)
    target = world.officials["r1-agent-b"].id
    department = world.departments["fgw"].id
    where = await chat.say("r1-agent-a", "/help")
    before = await state(engine)
    for data in (
        f"a:transfer:1:{card_stamp}",
        f"tr:1:{target}:{card_stamp}",  # the pick of an official, forged: no reason asked
        f"a:add_cohandler:1:{card_stamp}",
        f"co:1:{department}:{card_stamp}",
        f"a:escalate:1:{card_stamp}",
    ):
        answer = await press(chat, caplog, AGENT, where, data)
        assert "不能" in answer["text"] or "无权" in answer["text"], (data, answer)
        logged_once(caplog, "refused")
    prompt = gettext_for("zh_CN")(PROMPTS[Action.TRANSFER]).format(number="2026-00001")
    assert not any(prompt in m.get("text", "") for m in chat.api.outbox(AGENT))
    nudge = await says(chat, caplog, AGENT, "请转给我")  # no step waits for a reason
    assert "按钮" in nudge
    assert await state(engine) == before
    async with session_scope(engine) as session:
        issue = await session.get(Issue, 1)
    assert issue.status == Status.SUBMITTED and issue.category == Category.LAND
