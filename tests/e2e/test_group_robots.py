"""The monthly bulletin in the city leaders' WeCom and DingTalk groups and at a signed webhook,
over real HTTP against the fake platforms (bot/sandbox/robots.py), through the real cycle job,
renderer and dispatcher: exactly once each, in order, signed, through the platforms' rate-limit
answers, 5xx and timeouts; and a webhook that does not answer never holds back Telegram."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any, cast

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot

from bot.channels import group_channels
from bot.sandbox.robots import FakeRobots
from bot.settings import Settings
from handlers.cards import draw_card
from jobs.channels.telegram import TelegramChannel
from jobs.channels.telegram_limits import TelegramRateLimiter
from jobs.channels.webhook import WebhookChannel
from jobs.cycle import run_cycle_job
from jobs.dispatch import Dispatcher
from jobs.notices import notice_renderer
from models.db import session_scope
from models.policy import Group
from models.rules import Rules
from models.tables.infra import Outbox
from tests.support.dispatch import AGENT_A, Clock, FakeBot, bind_people, make, outbox, queue, to
from tests.support.factories import at, build_world, make_issue, make_project
from tests.support.robots import (
    DINGTALK_TOKEN,
    HOOK,
    WECOM_KEY,
    leaders,
    rules_with_groups,
)

GROUP_CHANNELS = ("wecom", "dingtalk", "webhook")


@pytest.fixture
async def robots() -> AsyncIterator[FakeRobots]:
    """The fake platforms; a held answer lasts 2 s (the channels give up after 1 s)."""
    async with FakeRobots(hang=2.0) as server:
        yield server


@pytest.fixture
def rules() -> Rules:
    """The shipped policy, the leaders' three groups in the monthly bulletin's audience."""
    return rules_with_groups()


async def a_city_with_two_bulletins(engine: AsyncEngine, rules: Rules) -> None:
    """October's and November's bulletins, both queued before anything is delivered."""
    async with session_scope(engine) as session:
        world = await build_world(session)
        project = await make_project(session, world, 20_000, code="P1", leader="deputy-a")
        await make_issue(session, rules, world, project, at("2026-10-12 10:00"))
    for moment in ("2026-11-02 09:00", "2026-12-01 09:00"):
        run = await run_cycle_job(
            engine=engine, rules=rules, job="monthly_bulletin", now=at(moment)
        )
        assert run.outcome == "done"


async def group_rows(engine: AsyncEngine) -> list[Outbox]:
    async with AsyncSession(engine) as session:
        query = select(Outbox).where(col(Outbox.channel).in_(GROUP_CHANNELS))
        return list((await session.exec(query.order_by(col(Outbox.id)))).all())


def dispatcher_for(
    engine: AsyncEngine, rules: Rules, robots: FakeRobots, clock: Clock, **options: Any
) -> Dispatcher:
    """The real renderer and the group channels as `ztc run` builds them; Telegram on a
    recording stand-in (the officials are not bound: their rows are held)."""
    settings = Settings(wecom_api_url=robots.url, dingtalk_api_url=robots.url)
    channels: dict[str, Any] = group_channels(settings, rules, timeout=1.0, **options)
    limiter = TelegramRateLimiter(private_interval=0.001, overall_per_second=1000)
    channels["telegram"] = TelegramChannel(cast(Bot, FakeBot()), limiter=limiter)
    render = notice_renderer(rules=rules, default_locale="zh_CN", clock=clock, card=draw_card)
    return Dispatcher(engine=engine, channels=channels, render=render, clock=clock)


async def deliver(dispatcher: Dispatcher, engine: AsyncEngine, clock: Clock) -> int:
    """Passes until no group row is pending, a minute apart (the back-off's time); the passes."""
    for passes in range(1, 20):
        await dispatcher.run_once()
        if all(r.sent_at or r.failed_at for r in await group_rows(engine)):
            return passes
        clock.advance(60)
    raise AssertionError("the group rows never went out")


async def test_the_bulletin_reaches_each_group_once_in_order_through_rate_limits_and_5xx(
    engine: AsyncEngine, rules: Rules, robots: FakeRobots, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in leaders(robots).items():
        monkeypatch.setenv(name, value)
    await a_city_with_two_bulletins(engine, rules)
    rows = await group_rows(engine)
    assert [(r.channel, r.address) for r in rows] == [
        ("wecom", "ZTC_WECOM_LEADERS"),
        ("dingtalk", "ZTC_DINGTALK_LEADERS"),
        ("webhook", "ZTC_HOOK_URL"),
    ] * 2
    robots.fail(WECOM_KEY, "rate", 502)  # 45009, waited out in its task; then a 502
    robots.fail(DINGTALK_TOKEN, 503, "rate")  # a 503; then 130101, "sending too fast"
    robots.fail(HOOK, "late", 500)  # taken, but answered too late; then a 500
    clock = Clock()
    clock.now = at("2026-12-01 09:05")
    dispatcher = dispatcher_for(engine, rules, robots, clock, throttle_wait=0.2)
    assert await deliver(dispatcher, engine, clock) > 1

    rows = await group_rows(engine)
    assert all(r.sent_at and not r.failed_at for r in rows)
    wecom = robots.messages(WECOM_KEY)
    assert [m["msgtype"] for m in wecom] == ["markdown", "file", "image"] * 2
    assert "2026年10月" in wecom[0]["content"] and "2026年11月" in wecom[3]["content"]
    assert wecom[1]["name"].endswith(".xlsx") and wecom[1]["data"].startswith(b"PK")
    assert wecom[2]["data"].startswith(b"\x89PNG")
    dingtalk = robots.messages(DINGTALK_TOKEN)  # signed: the fake checked every sign
    assert [("10月" in m["title"], "11月" in m["title"]) for m in dingtalk] == [
        (True, False),
        (False, True),
    ]
    assert "ztc bulletin --period 2026-11 --format xlsx" in dingtalk[1]["text"]
    hook = robots.robot(HOOK)
    assert [m["key"] for m in hook.messages] == [r.dedupe_key for r in rows[2::3]]
    assert hook.duplicates == 1  # the copy sent after the late answer was recognised
    assert [f["name"].rsplit(".", 1)[1] for f in hook.messages[0]["files"]] == ["xlsx", "png"]
    # the late answer (a 200 never heard), the 500, the copy (200, a duplicate), November's
    assert sorted(status for status, _ in hook.answers) == [200, 200, 200, 500]

    clock.advance(3600)  # nothing is ever sent twice
    await dispatcher.run_once()
    assert len(robots.messages(WECOM_KEY)) == 6 and len(robots.messages(DINGTALK_TOKEN)) == 2
    assert len(hook.messages) == 2


async def test_a_wrong_signing_secret_fails_that_group_only_and_says_why(
    engine: AsyncEngine, rules: Rules, robots: FakeRobots, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in leaders(robots).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ZTC_DINGTALK_LEADERS_SECRET", "SECnot-the-robots")
    await a_city_with_two_bulletins(engine, rules)
    clock = Clock()
    clock.now = at("2026-12-01 09:05")
    await deliver(dispatcher_for(engine, rules, robots, clock), engine, clock)
    rows = await group_rows(engine)
    failed = [r for r in rows if r.failed_at]
    assert [r.channel for r in failed] == ["dingtalk", "dingtalk"]
    assert "errcode 310000: sign not match" in (failed[0].last_error or "")
    assert "SECnot-the-robots" not in (failed[0].last_error or "")
    assert robots.messages(DINGTALK_TOKEN) == []
    assert len(robots.messages(WECOM_KEY)) == 6 and len(robots.robot(HOOK).messages) == 2


# --- a webhook that does not answer -------------------------------------------------------------


class BlackHole:
    """A TCP server that takes connections and never answers."""

    def __init__(self) -> None:
        self.connected = asyncio.Event()
        self.server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> BlackHole:
        self.server = await asyncio.start_server(self._hold, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connected.set()
        await reader.read()  # until the client gives up and closes
        writer.close()

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


def closed_port() -> int:
    """A loopback port nothing listens on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("endpoint", ["silent", "refused"])
async def test_an_unreachable_webhook_does_not_hold_back_telegram(
    engine: AsyncEngine, endpoint: str
) -> None:
    ids = await bind_people(engine)
    async with BlackHole() as hole:
        port = hole.port if endpoint == "silent" else closed_port()
        env = {"ZTC_HOOK_URL": f"http://127.0.0.1:{port}/hook", "ZTC_HOOK_SECRET": "s"}
        groups = {
            "ZTC_HOOK_URL": Group(
                channel="webhook", url_env="ZTC_HOOK_URL", secret_env="ZTC_HOOK_SECRET"
            )
        }
        webhook = WebhookChannel(groups=groups, lookup=env.get, timeout=3.0)
        bot, clock = FakeBot(), Clock()
        dispatcher = make(engine, bot, clock, channels={"webhook": webhook})
        stop = asyncio.Event()
        task = asyncio.create_task(dispatcher.run(stop, idle=0.2))
        await queue(engine, ("hook-1", {"channel": "webhook", "address": "ZTC_HOOK_URL"}))
        dispatcher.wake()
        if endpoint == "silent":
            await asyncio.wait_for(hole.connected.wait(), 2)  # its request hangs from here
        else:
            await asyncio.sleep(0.3)
        started = time.monotonic()
        await queue(engine, ("a1", to(ids["a"])))
        dispatcher.wake()
        await asyncio.wait_for(bot.delivered.wait(), 2)
        assert time.monotonic() - started < 1.0
        assert bot.texts(AGENT_A) == ["a1"]
        rows = await outbox(engine)
        assert rows["hook-1"].sent_at is None
        stop.set()
        await asyncio.wait_for(task, 5)
    rows = await outbox(engine)
    assert rows["hook-1"].sent_at is None and rows["hook-1"].attempts == 1
    expected = "timed out" if endpoint == "silent" else "no answer (ConnectError)"
    assert expected in (rows["hook-1"].last_error or "")
    assert rows["hook-1"].next_attempt_at and rows["hook-1"].next_attempt_at > clock.now
    assert rows["hook-1"].next_attempt_at <= clock.now + timedelta(seconds=3)
