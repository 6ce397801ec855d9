"""/healthz and /metrics (ZTC_OPS_PORT): the figures read from the database, the counters of
the running bot as a report flows through it, and a database that fails."""

from __future__ import annotations

import asyncio
import logging
import socket
from datetime import timedelta

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.logctx import UpdateTag
from bot.ops import QUIET, Metrics, Ops, ops_app, read_snapshot
from bot.sandbox import FakeBotAPI
from bot.serving import serve, stop_serving
from jobs.cycle import run_cycle_job
from models.db import session_scope
from models.issues.commands import DirectLine, Escalate
from models.rules import Rules
from models.tables.infra import TELEGRAM, Outbox
from tests.support.chat import CONTACT, HEAD, Chat
from tests.support.factories import World, act, at, make_issue, make_project

NOW = at("2026-12-01 09:30")


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus exposition, by name and labels (parsed, not grepped)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def get(url: str) -> tuple[int, str, dict[str, object] | None]:
    async with aiohttp.ClientSession() as client, client.get(url) as response:
        body = await response.text()
        data = await response.json() if response.content_type == "application/json" else None
        return response.status, body, data


async def test_the_database_figures_are_read_at_each_scrape(
    engine: AsyncEngine, rules: Rules, world: World
) -> None:
    quiet = await read_snapshot(engine, NOW)
    assert (quiet.backlog, quiet.oldest_pending_seconds) == (0, None)
    async with session_scope(engine) as session:
        project = await make_project(session, world, 20000, code="P9")
        issue, other = [await make_issue(session, rules, world, project, NOW) for _ in range(2)]
        head = world.actor("r1-head")
        await act(session, rules, head, Escalate(issue.id), NOW)
        await act(session, rules, head, DirectLine(other.id, note="需市里协调"), NOW)
        session.add(
            Outbox(
                dedupe_key="old",
                created_at=NOW - timedelta(minutes=10),
                kind="comment",
                payload={},
                next_attempt_at=NOW,
                channel=TELEGRAM,
                address="1",
            )
        )
    await run_cycle_job(engine=engine, rules=rules, job="monthly_bulletin", now=NOW)
    snapshot = await read_snapshot(engine, NOW)
    assert snapshot.escalations == {"escalated": 1, "direct_line": 1}
    assert snapshot.runs == {("monthly_bulletin", "late"): 1}  # 09:30: past 15 min late
    assert snapshot.oldest_pending_seconds == 600.0  # the row queued ten minutes ago
    async with session_scope(engine) as session:
        pending = await session.exec(
            Outbox.__table__.select().where(Outbox.sent_at.is_(None))  # type: ignore[attr-defined]
        )
        assert snapshot.backlog == len(pending.all()) > 10

    metrics = Metrics()
    metrics.delivery("wecom", "sent")
    metrics.delivery("telegram", "rate_limited")
    metrics.delivery("telegram", "waiting")  # another dispatcher's: not a send
    seen = samples(metrics.exposition(snapshot).decode())
    assert seen[("ztc_outbox_backlog", ())] == snapshot.backlog
    assert seen[("ztc_outbox_oldest_pending_seconds", ())] == 600.0
    assert seen[("ztc_escalations_total", (("kind", "direct_line"),))] == 1
    assert seen[("ztc_job_runs_total", (("job", "monthly_bulletin"), ("outcome", "late")))] == 1
    assert seen[("ztc_sends_total", (("channel", "wecom"), ("result", "sent")))] == 1
    assert seen[("ztc_rate_limited_total", (("channel", "telegram"),))] == 1
    assert ("ztc_sends_total", (("channel", "telegram"), ("result", "waiting"))) not in seen


async def test_health_says_when_the_database_fails() -> None:
    dead = create_async_engine("postgresql+asyncpg://ztc@127.0.0.1:9/none")  # nothing listens
    ops = Ops(engine=dead, clock=lambda: NOW, metrics=Metrics(), leading=lambda: False)
    running = await serve(ops_app(ops), host="127.0.0.1", port=0, **QUIET)
    try:
        status, _body, health = await get(f"{running.url}/healthz")
        assert status == 503 and health is not None
        assert (health["database"], health["scheduler"]) == ("error", "follower")
        status, body, _ = await get(f"{running.url}/metrics")  # the process's own still show
        assert status == 200 and "ztc_updates_total" in body and "ztc_outbox_backlog" not in body
    finally:
        await stop_serving(running)
        await dead.dispose()


async def test_the_running_bot_serves_health_and_counts_what_it_does(
    api: FakeBotAPI,
    engine: AsyncEngine,
    rules: Rules,
    world: World,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(UpdateTag())  # as `ztc run` tags its handlers
    harness = Chat(api=api, engine=engine, rules=rules, now=at("2026-11-20 10:00"))
    port = free_port()
    await harness.start(ops_port=port)
    root = f"http://127.0.0.1:{port}"
    try:
        status, _body, health = await get(f"{root}/healthz")
        assert status == 200 and health is not None
        assert set(health) == {
            "database",
            "scheduler",
            "outbox_backlog",
            "oldest_pending_seconds",
            "version",
        }
        assert (health["database"], health["outbox_backlog"]) == ("ok", 0)
        assert health["scheduler"] == "follower"  # the harness runs no scheduler
        assert health["version"]
        assert world.contact is not None
        await harness.bind(world.contact, CONTACT)
        await harness.bind(world.officials["r1-head"], HEAD)
        done = await harness.report(
            "C1", category="土地", urgency="普通", submit="确认提交", text="用地指标迟迟未落实"
        )
        assert "2026-00001" in done["text"]
        await harness.until("r1-head", "2026-00001")  # the notice, through the outbox
        await harness.settle()
        sent = ("ztc_sends_total", (("channel", "telegram"), ("result", "sent")))
        async with asyncio.timeout(10):  # the row is counted once its send is recorded
            while sent not in (seen := samples((await get(f"{root}/metrics"))[1])):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        messages = seen[("ztc_updates_total", (("type", "message"),))]
        presses = seen[("ztc_updates_total", (("type", "callback_query"),))]
        assert messages >= 3 and presses >= 2  # /start, /report, the text; the buttons
        assert seen[("ztc_update_seconds_count", (("type", "message"),))] == messages
        assert seen[sent] >= 1
        # one line per update, and the issue's line names the update that created it
        created = next(r for r in caplog.records if r.getMessage().startswith("issue 2026-00001"))
        assert "created by contact" in created.getMessage()
        handled = [r.getMessage() for r in caplog.records if "handled in" in r.getMessage()]
        assert len(handled) == messages + presses
        assert any(
            m.startswith(f"update {created.update_id} ") and "pressing" in m for m in handled
        )  # the press on 确认提交
    finally:
        await harness.stop()
