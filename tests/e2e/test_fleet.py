"""A webhook fleet: two bot processes' applications on one PostgreSQL database behind one URL.

A balancer in front of them hands each update Telegram pushes to the next instance in turn, as
a round-robin nginx upstream would; the fake Bot API pushes to the balancer. So every step of a
conversation is handled by the other instance than the step before it: the conversation state
must come from the database (bot/turns.py), and no report or notice may happen twice.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session
from sqlmodel import select

from bot.app import build_application
from bot.sandbox import FakeBotAPI
from models.codes import Stage
from models.db import session_scope
from models.rules import Rules
from models.tables.issue import Issue
from models.tables.project import Project
from tests.support.chat import CONTACT, HEAD, Chat, Json
from tests.support.database import PG_URL
from tests.support.factories import World, at
from tests.support.fleet import Balancer, free_port

pytestmark = pytest.mark.skipif(
    not (PG_URL or "").startswith("postgres"),
    reason="a fleet shares a PostgreSQL database: set ZTC_TEST_DATABASE_URL",
)
SECRET = "fleet-secret"
OTHER_CONTACT = 1002


@pytest.fixture
async def fleet(
    api: FakeBotAPI, engine: AsyncEngine, database_url: str, rules: Rules
) -> AsyncIterator[tuple[Chat, list[Any], Balancer]]:
    """Two instances (each with its own engine, as two processes) and their balancer, on
    Friday 2026-11-20 10:00."""
    harness = Chat(api=api, engine=engine, rules=rules, now=at("2026-11-20 10:00"))
    front = f"http://127.0.0.1:{free_port()}/ztc"
    ports = [free_port(), free_port()]
    balancer = Balancer([f"http://127.0.0.1:{port}/ztc" for port in ports])
    serving = await balancer.start(front)
    apps = []
    try:
        for port in ports:
            # No `shared=`: a webhook on PostgreSQL makes the bot one of a fleet by itself,
            # and such a bot takes no lock on the database (a second one starts).
            app = build_application(
                harness.settings(
                    webhook_url=front, webhook_secret=SECRET, database_url=database_url
                ),
                clock=lambda: harness.now,
                scheduler=False,
            )
            assert app.runtime.turns is not None and app.runtime.lock is None
            await app.initialize()
            assert app.post_init is not None and app.updater is not None
            await app.post_init(app)
            await app.updater.start_webhook(
                listen="127.0.0.1",
                port=port,
                url_path="ztc",
                webhook_url=front,
                secret_token=SECRET,
            )
            await app.start()
            apps.append(app)
        yield harness, apps, balancer
    finally:
        for app in apps:
            await app.updater.stop()
            await app.stop()
            await app.post_stop(app)
            await app.shutdown()
        await balancer.stop(serving)


async def test_a_report_walked_across_two_instances_is_made_once(
    fleet: tuple[Chat, list[Any], Balancer], engine: AsyncEngine, world: World
) -> None:
    chat, _apps, balancer = fleet
    assert world.contact is not None
    await chat.bind(world.contact, CONTACT)
    await chat.bind(world.officials["r1-head"], HEAD)
    # /report, the category, the text, the urgency, the confirmation: five steps, and each
    # reaches the other instance than the one before it
    done = await chat.report(
        "C1", category="土地", urgency="普通", submit="确认提交", text="围挡占道，请协调"
    )
    assert "2026-00001" in done["text"]
    notice = await chat.until("r1-head", "2026-00001")
    assert "新问题" in notice["text"]
    assert min(balancer.handed) >= 3  # both instances took steps of it
    async with session_scope(engine) as session:
        issues = (await session.exec(select(Issue))).all()
    assert [issue.number for issue in issues] == ["2026-00001"]
    await asyncio.sleep(0.5)  # a second notice, if any, would be out by now
    assert len([m for m in chat.api.sent(HEAD) if "2026-00001" in m.get("text", "")]) == 1


async def test_two_enterprises_report_at_once_across_the_fleet(
    fleet: tuple[Chat, list[Any], Balancer], engine: AsyncEngine, world: World
) -> None:
    chat, _apps, _balancer = fleet
    assert world.contact is not None and world.other_contact is not None
    await chat.bind(world.contact, CONTACT)
    async with session_scope(engine) as session:  # the other enterprise's one project
        session.add(
            Project(
                code="P2",
                name="P2",
                enterprise_id=world.other_contact.enterprise_id,
                region_id=world.region.id,
                investment_wan=5000,
                stage=Stage.STARTED,
            )
        )
    await chat.bind(world.other_contact, OTHER_CONTACT)

    async def report(code: str, text: str) -> str:
        done = await chat.report(
            code, category="用工", urgency="普通", submit="确认提交", text=text
        )
        return str(done["text"])

    answers = await asyncio.gather(*(report(code, f"{code}的问题") for code in ("C1", "C2")))
    async with session_scope(engine) as session:
        numbers = sorted(issue.number for issue in (await session.exec(select(Issue))).all())
    assert numbers == ["2026-00001", "2026-00002"]
    assert sorted(number for number in numbers for a in answers if number in a) == numbers


async def test_an_update_delivered_to_both_instances_is_handled_once(
    fleet: tuple[Chat, list[Any], Balancer], world: World
) -> None:
    chat, _apps, balancer = fleet
    assert world.contact is not None
    await chat.bind(world.contact, CONTACT)
    before = len(chat.api.sent(CONTACT))
    update = {
        "update_id": 900001,
        "message": {
            "message_id": 9001,
            "date": 1763604000,
            "chat": {"id": CONTACT, "type": "private", "first_name": "王"},
            "from": {"id": CONTACT, "is_bot": False, "first_name": "王"},
            "text": "/help",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        },
    }
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with aiohttp.ClientSession() as session:
        for target in balancer.targets:  # Telegram's retry, or a balancer that sent it twice
            async with session.post(target, json=update, headers=headers) as answer:
                assert answer.status == 200
    help_text = await chat.next("C1")
    assert "/report" in help_text["text"]
    await asyncio.sleep(0.5)  # a second answer, if any, would be out by now
    assert len(chat.api.sent(CONTACT)) == before + 1


async def _walk_to_confirm(chat: Chat, who: str, text: str, category: str = "土地") -> Json:
    """/report up to its summary with the submit button (one project: no project step)."""
    categories = await chat.say(who, "/report")
    await chat.press(who, categories, category)
    await chat.next(who)
    urgencies = await chat.say(who, text)
    return await chat.press_and_wait(who, urgencies, "普通")


async def test_a_report_whose_commit_fails_is_answered_with_an_error_never_a_number(
    fleet: tuple[Chat, list[Any], Balancer], engine: AsyncEngine, world: World
) -> None:
    chat, _apps, _balancer = fleet
    assert world.contact is not None
    await chat.bind(world.contact, CONTACT)
    summary = await _walk_to_confirm(chat, "C1", "围挡占道")
    failing = {"left": 1}

    def noted(session: Session, _context: object) -> None:
        if any(isinstance(new, Issue) for new in session.new):
            session.info["report"] = True

    def fail_once(session: Session) -> None:
        if session.info.pop("report", False) and failing["left"]:
            failing["left"] -= 1  # the report's COMMIT meets a connection that just died
            raise OperationalError("COMMIT", {}, ConnectionResetError("connection lost"))

    event.listen(Session, "after_flush", noted)
    event.listen(Session, "before_commit", fail_once)
    try:
        await chat.press("C1", summary, "确认提交")
        answer = await chat.next("C1")
    finally:
        event.remove(Session, "after_flush", noted)
        event.remove(Session, "before_commit", fail_once)
    assert failing["left"] == 0
    assert "2026-" not in answer["text"] and "请重试" in answer["text"]
    async with session_scope(engine) as session:
        assert (await session.exec(select(Issue))).all() == []
    # the draft is kept: the same button submits it, now with a number (the failed one's
    # number may be skipped, as a sequence skips: numbers are unique, not gapless)
    await chat.press("C1", summary, "确认提交")
    confirmed = (await chat.until("C1", "2026-"))["text"]
    async with session_scope(engine) as session:
        issues = (await session.exec(select(Issue))).all()
    assert len(issues) == 1 and f"{issues[0].number}。" in confirmed


async def test_the_fleet_recovers_when_the_database_drops_every_connection(
    fleet: tuple[Chat, list[Any], Balancer], engine: AsyncEngine, world: World
) -> None:
    chat, apps, _balancer = fleet
    assert world.contact is not None
    await chat.bind(world.contact, CONTACT)
    answered: list[str] = []
    for n in range(3):
        # three problems of three kinds (the same kind again would be offered as a repeat)
        summary = await _walk_to_confirm(chat, "C1", f"第{n + 1}件", ("土地", "规划", "审批")[n])
        # Between two turns (one still writing its step back when its lock's session is
        # dropped may be overtaken by the next: see bot/turns.py)
        await asyncio.gather(*(app.update_queue.join() for app in apps))
        async with engine.connect() as admin:  # a restart or failover drops every session
            await admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        for _attempt in range(3):  # the person presses again after an apology
            await chat.press("C1", summary, "确认提交")
            answer = (await chat.next("C1"))["text"]
            if "2026-" in answer:
                answered.append(answer)
                break
            assert "请重试" in answer, answer
        else:
            raise AssertionError("the bot did not recover")
    async with session_scope(engine) as session:
        numbers = sorted(i.number or "" for i in (await session.exec(select(Issue))).all())
    assert numbers == ["2026-00001", "2026-00002", "2026-00003"]
    assert [number for number, a in zip(numbers, answered, strict=True) if number in a] == numbers


async def test_a_notice_queued_by_a_follower_wakes_the_leaders_dispatcher_at_once(
    fleet: tuple[Chat, list[Any], Balancer], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat, apps, balancer = fleet
    assert world.contact is not None
    leaders = [app.runtime.leader is not None and app.runtime.leader.held for app in apps]
    assert sorted(leaders) == [False, True]  # one sender
    leader = apps[leaders.index(True)]
    assert leader.runtime.dispatcher is not None
    # every update through the follower from now on: it queues the notice, the leader sends it
    follower = balancer.targets[leaders.index(False)]
    monkeypatch.setattr(balancer, "targets", [follower])
    monkeypatch.setattr(balancer, "_next", itertools.cycle([0]))
    woken: list[float] = []
    listening = leader.runtime.wakeup
    assert listening is not None
    wake = listening.on_wake
    monkeypatch.setattr(listening, "on_wake", lambda: (woken.append(time.monotonic()), wake()))
    await chat.bind(world.contact, CONTACT)
    await chat.bind(world.officials["r1-head"], HEAD)
    woken.clear()
    done = await chat.report(
        "C1", category="土地", urgency="普通", submit="确认提交", text="围挡占道，请协调"
    )
    assert "2026-00001" in done["text"]
    await chat.until("r1-head", "2026-00001")
    assert woken, "the leader's dispatcher was not called by the follower's NOTIFY"
