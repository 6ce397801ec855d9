"""The authorization matrix through the real chat (issue 17): for each role and each card button,
whoever may not act sees no button, and a press forged with that button's data is answered
politely and changes nothing; the commands per role, an unbound account included.

What each role may do is the table of tests/services/test_authorization_matrix.py (written from
docs/DOMAIN.md), at the county level this chat's project P1 (2亿, E1, r1, leader deputy-a) is at.
One running bot for every cell: the roles are bound once, then each tries everything.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, func, select

from bot.sandbox import FakeBotAPI
from handlers.callbacks import CB, pack
from handlers.cards import stamp
from handlers.common import refusal_text
from models.codes import Action, Level, Rating, Role
from models.db import session_scope
from models.issues import commands as c
from models.rules import Rules
from models.tables.infra import Outbox
from models.tables.issue import Issue, IssueCoHandler, IssueEvent
from models.tables.org import Contact, Official
from models.tables.project import Project
from tests.services.test_authorization_matrix import EXPECTED, ROLES, STATE
from tests.support.chat import Chat
from tests.support.factories import World, act, at, make_issue, make_project

A = Action
ALLOWED = EXPECTED[Level.COUNTY]
UNBOUND = "unbound"
UIDS = {role: 3001 + k for k, role in enumerate(ROLES)} | {UNBOUND: 3999}

# The buttons a card can carry, for an official and for the enterprise (a rating row is the
# enterprise's 满意 / 基本满意 / 不满意, i.e. CONFIRM).
BUTTONS = {
    "official": {
        A.ACCEPT,
        A.COMMENT,
        A.REQUEST_INFO,
        A.RESUME,
        A.ADD_COHANDLER,
        A.ESCALATE,
        A.DIRECT_LINE,
        A.RESOLVE,
        A.OPINION,
        A.TRANSFER,
    },
    "contact": {A.COMMENT, A.SUPPLY, A.DIRECT_LINE, A.REOPEN, A.CONFIRM},
}
# Which actions apply in each status (docs/DOMAIN.md §3 and §8), on an issue below the top that
# has missed a deadline before.
OPEN_ANY = {A.COMMENT, A.ADD_COHANDLER, A.ESCALATE, A.DIRECT_LINE, A.OPINION, A.TRANSFER}
APPLIES = {
    "submitted": OPEN_ANY | {A.ACCEPT},
    "accepted": OPEN_ANY | {A.REQUEST_INFO, A.RESOLVE},
    "awaiting_info": OPEN_ANY | {A.RESUME, A.SUPPLY},
    "resolved": {A.COMMENT, A.CONFIRM, A.REOPEN},
}
# Who may log a problem on P1 (docs/DOMAIN.md "Who may report"): its enterprise's contact; the
# city's leaders and admins; r1's staff. Not r2's, not a department head off its team.
REPORTS_ON_P1 = {
    "contact_own",
    "agent_own",
    "region_head_own",
    "deputy_leading",
    "deputy_other",
    "principal",
    "admin",
}
# Each command for each kind of person: "starts", "not_yours" (a bound person's polite "not
# available to you"), or "stranger" (the unbound account's invitation notice). /report and /new
# both start a report for everybody bound; the project step applies the reporting rule.
COMMANDS = {
    "contact": {
        "/report": "starts",
        "/new": "starts",
        "/my": "starts",
        "/inbox": "not_yours",
        "/stats": "not_yours",
        "/progress": "starts",
    },
    "official": {
        "/report": "starts",
        "/new": "starts",
        "/my": "not_yours",
        "/inbox": "starts",
        "/stats": "starts",
        "/progress": "starts",
    },
    UNBOUND: dict.fromkeys(
        ("/report", "/new", "/my", "/inbox", "/stats", "/progress"), "stranger"
    ),
}
NOT_YOURS = "您无法使用此命令"
REFUSED = "您无权"  # "You may not {action} {issue}."
# Forged presses in all: each role × each button action it may not take (a rating forged three
# ways, a co-handler and a transfer also at their second step); 13 people, 190 presses.
FORGED = 190


def kind_of(role: str) -> str:
    return UNBOUND if role == UNBOUND else "contact" if role.startswith("contact") else "official"


async def prepare(chat: Chat, engine: AsyncEngine, rules: Rules, world: World) -> dict[str, int]:
    """P1's four issues, one per status a button applies in (the handler r1-head moves them);
    E2's own project P2; a second head in r1 to transfer to. The setup's notices are dropped,
    so each chat holds only what the test asks for. Returns the issue ids by status."""
    async with session_scope(engine) as session:
        session.add(
            Official(
                code="r1-head-b", name="二号", role=Role.REGION_HEAD, region_id=world.region.id
            )
        )
        p1 = (await session.exec(select(Project).where(Project.code == "P1"))).one()
        other = await make_project(session, world, 20_000, code="P2", region=world.other_region)
        assert world.other_contact is not None
        other.enterprise_id = world.other_contact.enterprise_id
        session.add(other)
        handler = world.actor("r1-head")
        ids: dict[str, int] = {}
        for status in APPLIES:
            issue = await make_issue(
                session, rules, world, p1, chat.now, actor=world.actor("admin")
            )
            assert issue.id is not None and issue.assignee_id == world.officials["r1-head"].id
            if status != "submitted":
                await act(session, rules, handler, c.Accept(issue.id), chat.now)
            if status == "awaiting_info":
                await act(
                    session, rules, handler, c.RequestInfo(issue.id, note="请补充"), chat.now
                )
            if status == "resolved":
                await act(session, rules, handler, c.Resolve(issue.id, note="已办结"), chat.now)
            issue.missed_deadlines = 1  # overdue before: the enterprise may take the direct line
            session.add(issue)
            ids[status] = issue.id
        await session.flush()
        for notice in (await session.exec(select(Outbox))).all():
            notice.sent_at = chat.now
            session.add(notice)
    return ids


async def bind_everyone(chat: Chat, engine: AsyncEngine) -> dict[str, dict[str, Any]]:
    """Bind every role by invite; the unbound account only says /start. Returns the message
    each got, which their forged presses are made on."""
    greeted: dict[str, dict[str, Any]] = {}
    async with session_scope(engine) as session:
        people: dict[str, Official | Contact] = {}
        for role, code in ROLES.items():
            if kind_of(role) == "contact":
                query = select(Contact).where(Contact.code == code)
                people[role] = (await session.exec(query)).one()
            else:
                people[role] = (
                    await session.exec(select(Official).where(Official.code == code))
                ).one()
    for role, person in people.items():
        greeted[role] = await chat.bind(person, UIDS[role])
        chat.users[role] = UIDS[role]  # the test names people by role
    chat.api.add_user(UIDS[UNBOUND], first_name="路人", language_code="zh-hans")
    chat.users[UNBOUND] = UIDS[UNBOUND]
    chat.api.user_says(UIDS[UNBOUND], "/start")
    greeted[UNBOUND] = await chat.next(UNBOUND)
    assert greeted[UNBOUND]["text"] == refusal_text()
    return greeted


async def everything(engine: AsyncEngine) -> dict[str, Any]:
    """What a refused press must leave as it was: every issue row, events, co-handlers, outbox."""
    async with session_scope(engine) as session:
        issues = (await session.exec(select(Issue).order_by(col(Issue.id)))).all()
        counts = {
            t.__name__: (await session.exec(select(func.count()).select_from(t))).one()
            for t in (IssueEvent, IssueCoHandler, Outbox)
        }
        return {"issues": [i.model_dump() for i in issues], **counts}


def actions_on(chat: Chat, message: dict[str, Any]) -> set[Action]:
    """The issue actions a message's buttons offer, read from their callback data."""
    found: set[Action] = set()
    for _label, data in chat.api.buttons(message):
        parts = (data or "").split(":")
        if parts[0] == CB.ACT.value:
            found.add(Action(parts[1]))
        elif parts[0] == CB.RATE.value:
            found.add(A.CONFIRM)
    return found


def unrevealing(answer: dict[str, Any], issue: Issue) -> bool:
    """A press on an issue the person may not see is answered (the phone stops spinning) with
    words that neither name the issue nor say it exists ("you may not …" would)."""
    text = answer.get("text") or ""
    return bool(text) and REFUSED not in text and (issue.number or "?") not in text


def forgeries(action: Action, issue: Issue, extra: dict[str, int]) -> list[str]:
    """The callback data a person could forge for the action on the issue: the card's button,
    and the second step's buttons where there is one (the rating row, the departments to add,
    the officials to transfer to)."""
    s = stamp(issue)
    datas = [pack(CB.ACT, action.value, issue.id, s)] if action != A.CONFIRM else []
    if action == A.CONFIRM:
        datas += [pack(CB.RATE, issue.id, r.value, s) for r in Rating]
    if action == A.ADD_COHANDLER:
        datas.append(pack(CB.COHANDLER, issue.id, extra["fgw"], s))
    if action == A.TRANSFER:
        datas.append(pack(CB.TRANSFER, issue.id, extra["r1-head-b"], s))
    return datas


@pytest.fixture
async def chat(
    api: FakeBotAPI, engine: AsyncEngine, rules: Rules, world: World
) -> AsyncIterator[Chat]:
    """The running bot (tests/e2e/conftest.py's) without the per-minute message limit: each
    account here presses some thirty buttons on purpose (tests/e2e/test_chat_limits.py tests
    the limit)."""
    limits = rules.policy.limits.model_copy(update={"messages_per_account_per_minute": 0})
    harness = Chat(api=api, engine=engine, rules=rules, now=at("2026-11-20 10:00"))
    harness.app_rules = Rules.build(rules.policy.model_copy(update={"limits": limits}), rules.tz)
    await harness.start()
    yield harness
    if harness.app is not None:
        await harness.stop()


async def cards_and_forgeries(
    chat: Chat,
    engine: AsyncEngine,
    role: str,
    on: dict[str, Any],
    issues: dict[str, Issue],
    extra: dict[str, int],
    before: dict[str, Any],
) -> int:
    """One person's side of the matrix: each card as drawn for them, then every button action
    they may not take, forged; returns how many forged presses were tried. `on` is the message
    they press on (any of theirs: the data is what counts)."""
    uid, kind, allowed = UIDS[role], kind_of(role), ALLOWED.get(role, set())
    for status, issue in issues.items():
        seen = chat.api.sent_count(uid)
        answer = await chat.api.wait_answer(
            chat.api.press(uid, on["message_id"], pack(CB.CARD, issue.id))
        )
        if role == UNBOUND:
            assert (await chat.next(role))["text"] == refusal_text()
        elif A.VIEW not in allowed:  # not theirs to see: a polite answer, not a word more
            await chat.settle()
            assert unrevealing(answer, issue) and chat.api.sent_count(uid) == seen, (role, status)
        else:
            card = await chat.next(role)
            assert issue.number is not None and issue.number in card["text"], (role, status)
            shown = actions_on(chat, card)
            assert shown == allowed & APPLIES[status] & BUTTONS[kind], (role, status, shown)
    tried = 0
    for action in sorted(BUTTONS["official"] | BUTTONS["contact"]):
        if action in allowed:
            continue
        for data in forgeries(action, issues[STATE[action]], extra):
            tried += 1
            seen = chat.api.sent_count(uid)
            answer = await chat.api.wait_answer(chat.api.press(uid, on["message_id"], data))
            await chat.settle()
            new = [m.get("text", "") for m in chat.api.outbox(uid)[seen:]]
            if role == UNBOUND:
                assert new == [refusal_text()], data
            elif A.VIEW not in allowed:  # not theirs to see: answered, nothing told
                assert unrevealing(answer, issues[STATE[action]]) and new == [], (role, data, new)
            else:  # theirs to see: told why not (the card is redrawn), never asked for more
                assert REFUSED in answer.get("text", "") and new == [], (role, data, new)
            assert await everything(engine) == before, (role, data)
    return tried


async def test_cards_show_only_allowed_buttons_and_forged_presses_change_nothing(
    chat: Chat, engine: AsyncEngine, rules: Rules, world: World
) -> None:
    ids = await prepare(chat, engine, rules, world)
    greeted = await bind_everyone(chat, engine)
    async with session_scope(engine) as session:
        head_b = (await session.exec(select(Official).where(Official.code == "r1-head-b"))).one()
        issues: dict[str, Issue] = {}
        for status, ident in ids.items():
            issue = await session.get(Issue, ident)
            assert issue is not None
            issues[status] = issue
    extra = {"fgw": world.departments["fgw"].id or 0, "r1-head-b": head_b.id or 0}
    before = await everything(engine)
    # every person at once (the bot serves chats concurrently; each chat gets 1 message/s)
    people = [*ROLES, UNBOUND]
    tried = await asyncio.gather(
        *(cards_and_forgeries(chat, engine, r, greeted[r], issues, extra, before) for r in people)
    )
    assert sum(tried) == FORGED, dict(zip(people, tried, strict=True))


async def say_all(chat: Chat, said: dict[str, str]) -> dict[str, str]:
    """Each person sends their text at once; their replies by role."""
    for role, text in said.items():
        chat.api.user_says(UIDS[role], text)
    return {role: (await chat.next(role))["text"] for role in said}


async def test_commands_per_role(
    chat: Chat, engine: AsyncEngine, rules: Rules, world: World
) -> None:
    await prepare(chat, engine, rules, world)
    await bind_everyone(chat, engine)
    before = await everything(engine)
    people = [*ROLES, UNBOUND]
    bound = [r for r in people if r != UNBOUND]
    for command in COMMANDS[UNBOUND]:
        answers = await say_all(chat, dict.fromkeys(people, command))
        for role, answer in answers.items():
            outcome = COMMANDS[kind_of(role)][command]
            if outcome == "stranger":
                assert answer == refusal_text(), (role, command)
            elif outcome == "not_yours":
                assert NOT_YOURS in answer, (role, command)
            else:
                assert NOT_YOURS not in answer and answer != refusal_text(), (role, command)
        if command in ("/report", "/new"):
            for role in bound:
                check_report_start(role, answers[role])
            officials = [r for r in bound if kind_of(r) == "official"]
            steps = await say_all(chat, dict.fromkeys(officials, "P1"))
            for role, step in steps.items():
                taken = "项目 P1 P1。问题属于哪一类" in step
                refused = "您名下没有编号为 P1 的项目" in step
                assert (taken, refused) == (role in REPORTS_ON_P1, role not in REPORTS_ON_P1), (
                    role,
                    step,
                )
        await say_all(chat, dict.fromkeys(bound, "/cancel"))
    assert await everything(engine) == before


def check_report_start(role: str, answer: str) -> None:
    """A contact's report goes straight to its enterprise's one project; an official is asked
    which project (the next step takes P1 only from those who may report on it)."""
    if kind_of(role) == "contact":
        own = "P1" if role == "contact_own" else "P2"
        assert f"项目 {own} {own}。问题属于哪一类" in answer, (role, answer)
    else:
        assert "哪个项目" in answer, (role, answer)
