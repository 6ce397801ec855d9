"""Two `ztc run` processes in webhook mode on one PostgreSQL database behind one balancer, as
an admin deploys them; the scheduler leader is killed with SIGKILL (no goodbye: its sessions
die with it) and the other one leads within 15 s, catches up on nothing twice and serves on."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from bot.sandbox import FakeBotAPI
from models.db import session_scope
from models.invites import create_invite
from models.rules import Rules
from models.tables.infra import Outbox, ScheduleRun
from models.tables.issue import Issue
from models.tables.org import Contact, Official
from tests.support.chat import CONTACT, HEAD
from tests.support.database import PG_URL
from tests.support.factories import World
from tests.support.fleet import Balancer, free_port

pytestmark = pytest.mark.skipif(
    not (PG_URL or "").startswith("postgres"),
    reason="a fleet shares a PostgreSQL database: set ZTC_TEST_DATABASE_URL",
)
SECRET = "fleet-secret"
TAKEOVER = 15.0  # seconds the issue allows for another instance to lead


async def _invite(engine: AsyncEngine, rules: Rules, person: Official | Contact) -> str:
    async with session_scope(engine) as session:
        token, _ = await create_invite(
            session=session, rules=rules, person=person, now=datetime.now(UTC)
        )
    return token


async def _health(client: httpx.AsyncClient, port: int) -> dict[str, Any] | None:
    try:
        answer = await client.get(f"http://127.0.0.1:{port}/healthz")
    except httpx.TransportError:
        return None
    return dict(answer.json()) if answer.status_code == 200 else None


async def _counts(engine: AsyncEngine) -> tuple[list[tuple[str, str]], int]:
    """The cycle's runs so far (job, period) and the outbox's rows."""
    async with session_scope(engine) as session:
        runs = (await session.exec(select(ScheduleRun.job, ScheduleRun.period))).all()
        outbox = (await session.exec(select(func.count()).select_from(Outbox))).one()
    return sorted((job, period) for job, period in runs), int(outbox)


async def test_the_leader_killed_another_leads_within_15_s_and_nothing_runs_twice(
    api: FakeBotAPI,
    engine: AsyncEngine,
    database_url: str,
    rules: Rules,
    world: World,
    tmp_path: Path,
) -> None:
    assert world.contact is not None
    front = f"http://127.0.0.1:{free_port()}/ztc"
    hooks, ops = [free_port(), free_port()], [free_port(), free_port()]
    balancer = Balancer([f"http://127.0.0.1:{port}/ztc" for port in hooks])
    serving = await balancer.start(front)
    base = {k: v for k, v in os.environ.items() if not k.startswith("ZTC_")}
    processes = []
    try:
        for hook, op in zip(hooks, ops, strict=True):
            env = base | {
                "ZTC_DATABASE_URL": database_url,
                "ZTC_BOT_TOKEN": api.token,
                "ZTC_BOT_API_URL": api.url,
                "ZTC_WEBHOOK_URL": front,
                "ZTC_WEBHOOK_PORT": str(hook),
                "ZTC_WEBHOOK_SECRET": SECRET,
                "ZTC_OPS_PORT": str(op),
            }
            processes.append(
                await asyncio.create_subprocess_exec(
                    *(sys.executable, "-m", "bot", "run"),
                    env=env,
                    cwd=tmp_path,
                    stderr=asyncio.subprocess.DEVNULL,
                )
            )
        async with httpx.AsyncClient(timeout=5) as client:
            # both up: one leads, the other follows
            async with asyncio.timeout(60):
                while True:
                    states = [await _health(client, port) for port in ops]
                    if all(states) and {s["scheduler"] for s in states if s} == {
                        "leader",
                        "follower",
                    }:
                        break
                    await asyncio.sleep(0.2)
            leader = next(i for i, s in enumerate(states) if s and s["scheduler"] == "leader")
            other = 1 - leader
            api.add_user(HEAD, first_name="r1-head")
            head = await _invite(engine, rules, world.officials["r1-head"])
            api.user_says(HEAD, f"/start {head}")
            assert "/inbox" in (await api.next_message(HEAD, timeout=30))["text"]
            # the leader's catch-up at start is over once its runs stop changing
            before = await _counts(engine)
            while (now := await _counts(engine))[0] != before[0]:
                before = now
                await asyncio.sleep(2)

            processes[leader].send_signal(signal.SIGKILL)
            killed = time.monotonic()
            await processes[leader].wait()
            async with asyncio.timeout(TAKEOVER + 15):
                while (await _health(client, ops[other]) or {}).get("scheduler") != "leader":  # noqa: ASYNC110
                    await asyncio.sleep(0.2)
            took = time.monotonic() - killed
            assert took < TAKEOVER, f"took {took:.1f} s"

            # the new leader's catch-up found every period run already (the first one's ran
            # them, the month's bulletin among them): nothing again
            assert "monthly_bulletin" in {job for job, _period in before[0]}
            await asyncio.sleep(2)
            runs, _rows = await _counts(engine)
            assert runs == before[0]

            # and the survivor serves: a report, and its notice (sent by the new leader)
            api.add_user(CONTACT, first_name="王")
            api.user_says(CONTACT, f"/start {await _invite(engine, rules, world.contact)}")
            await api.next_message(CONTACT, timeout=30)
            api.user_says(CONTACT, "/report")
            categories = await api.next_message(CONTACT, timeout=30)
            land = next(data for text, data in api.buttons(categories) if text == "土地")
            assert land is not None
            api.press(CONTACT, categories["message_id"], land)
            await api.next_message(CONTACT, timeout=30)
            api.user_says(CONTACT, "围挡占道，请协调")
            urgencies = await api.next_message(CONTACT, timeout=30)
            normal = next(data for text, data in api.buttons(urgencies) if text == "普通")
            assert normal is not None
            seen = api.edit_count(CONTACT, urgencies["message_id"])
            api.press(CONTACT, urgencies["message_id"], normal)
            summary = await api.wait_edit(CONTACT, urgencies["message_id"], seen)
            submit = next(data for text, data in api.buttons(summary) if text == "确认提交")
            assert submit is not None
            api.press(CONTACT, summary["message_id"], submit)
            done = await api.next_message(CONTACT, timeout=30)
            async with session_scope(engine) as session:
                numbers = [i.number for i in (await session.exec(select(Issue))).all()]
            assert len(numbers) == 1 and f"{numbers[0]}" in done["text"]
            for _ in range(10):
                notice = await api.next_message(HEAD, timeout=30)
                if str(numbers[0]) in notice.get("text", ""):
                    break
            await asyncio.sleep(1)
            assert len([m for m in api.sent(HEAD) if str(numbers[0]) in m.get("text", "")]) == 1
    finally:
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()
        await balancer.stop(serving)
