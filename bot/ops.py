"""Operations: `/healthz` and `/metrics` (Prometheus, through prometheus-client) on a port of
their own (`ZTC_OPS_PORT`), served by `ztc run` beside the bot.

Two kinds of figures. What this process does is counted as it happens: updates by type and how
long each took, deliveries by channel and result, the platforms' "too many requests" answers,
what the policy's abuse limits refused (`ztc_limited_total`).
What the database holds is read at each scrape, so every instance reports the same totals and
a restart loses none: the outbox backlog and its oldest pending row, the cycle's runs by job and
outcome, escalations by kind (`escalated`, `direct_line`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.logctx import first_line
from models.codes import EventKind
from models.tables.infra import Outbox, ScheduleRun
from models.tables.issue import IssueEvent

log = logging.getLogger(__name__)
ESCALATIONS = (EventKind.ESCALATED, EventKind.DIRECT_LINE)
# An update's type: the first of these fields it carries (Telegram sends exactly one).
UPDATE_TYPES = (
    "message",
    "edited_message",
    "callback_query",
    "my_chat_member",
    "chat_member",
    "channel_post",
    "edited_channel_post",
    "inline_query",
    "chosen_inline_result",
    "poll",
    "poll_answer",
    "chat_join_request",
)


def ztc_version() -> str:
    """The installed package's version."""
    try:
        return version("ztc")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def update_type(update: object) -> str:
    """The kind of a Telegram update, as the metrics label it."""
    return next((t for t in UPDATE_TYPES if getattr(update, t, None) is not None), "other")


@dataclass(frozen=True)
class Snapshot:
    """What the database says at one moment (None: it could not be read)."""

    backlog: int
    oldest_pending_seconds: float | None
    runs: dict[tuple[str, str], int] = field(default_factory=dict)  # (job, outcome) -> count
    escalations: dict[str, int] = field(default_factory=dict)  # event kind -> count


async def read_snapshot(engine: AsyncEngine, now: datetime) -> Snapshot:
    """The outbox's backlog and oldest pending row, the cycle's runs, the escalations."""
    pending = (col(Outbox.sent_at).is_(None), col(Outbox.failed_at).is_(None))
    async with AsyncSession(engine) as session:
        backlog, oldest = (
            await session.exec(select(func.count(), func.min(Outbox.created_at)).where(*pending))
        ).one()
        runs = await session.exec(
            select(ScheduleRun.job, ScheduleRun.status, func.count()).group_by(
                col(ScheduleRun.job), col(ScheduleRun.status)
            )
        )
        kinds = await session.exec(
            select(IssueEvent.kind, func.count())
            .where(col(IssueEvent.kind).in_(ESCALATIONS))
            .group_by(col(IssueEvent.kind))
        )
        escalations = {EventKind(kind).value: int(n) for kind, n in kinds.all()}
        by_job = {(job, status): int(n) for job, status, n in runs.all()}
    age = None
    if oldest is not None:
        oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)  # stored in UTC
        age = max(0.0, (now - oldest).total_seconds())
    return Snapshot(int(backlog), age, by_job, escalations)


class _DatabaseFigures(Collector):
    """The snapshot read before each scrape, as Prometheus metrics."""

    def __init__(self) -> None:
        self.snapshot: Snapshot | None = None

    def collect(self) -> Iterator[Any]:
        s = self.snapshot
        if s is None:
            return
        yield GaugeMetricFamily(
            "ztc_outbox_backlog", "Notices waiting to be delivered.", value=s.backlog
        )
        oldest = GaugeMetricFamily(
            "ztc_outbox_oldest_pending_seconds",
            "Age of the oldest notice waiting to be delivered (0: none waits).",
            value=s.oldest_pending_seconds or 0.0,
        )
        yield oldest
        runs = CounterMetricFamily(
            "ztc_job_runs", "Runs of the cycle's jobs by outcome.", labels=["job", "outcome"]
        )
        for (job, outcome), n in sorted(s.runs.items()):
            runs.add_metric([job, outcome], n)
        yield runs
        escalations = CounterMetricFamily(
            "ztc_escalations", "Issues moved up the ladder, by how.", labels=["kind"]
        )
        for kind in ESCALATIONS:
            escalations.add_metric([kind.value], s.escalations.get(kind.value, 0))
        yield escalations


class Metrics:
    """One process's metrics, in a registry of its own (tests run several bots in a process)."""

    def __init__(self) -> None:
        """The counters at zero."""
        self.registry = CollectorRegistry()
        self.updates = Counter(
            "ztc_updates", "Telegram updates handled, by type.", ["type"], registry=self.registry
        )
        self.update_seconds = Histogram(
            "ztc_update_seconds",
            "Time to handle one update (its turn: handlers, database, replies), by type.",
            ["type"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=self.registry,
        )
        self.sends = Counter(
            "ztc_sends",
            "Outbox deliveries by channel and result (sent, skipped, retried, failed, blocked).",
            ["channel", "result"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "ztc_rate_limited",
            "Answers saying 'too many requests' (Telegram's 429, a robot's rate-limit code).",
            ["channel"],
            registry=self.registry,
        )
        self.limited = Counter(
            "ztc_limited",
            "Refused by the policy's abuse limits: a contact's report over the day's limit "
            "(reports_per_day), an account's update over the minute's (messages_per_minute).",
            ["limit"],
            registry=self.registry,
        )
        self.database = _DatabaseFigures()
        self.registry.register(self.database)

    def handled(self, update: object, seconds: float) -> None:
        """One update's turn ended after `seconds`."""
        kind = update_type(update)
        self.updates.labels(kind).inc()
        self.update_seconds.labels(kind).observe(seconds)

    def delivery(self, channel: str, result: str) -> None:
        """The dispatcher's word on one row (or "rate_limited" for a platform's busy answer)."""
        if result == "rate_limited":
            self.rate_limited.labels(channel).inc()
        elif result != "waiting":  # another dispatcher's row: nothing happened here
            self.sends.labels(channel, result).inc()

    def refused(self, limit: str) -> None:
        """An abuse limit refused one report or update (`limit`: reports_per_day or
        messages_per_minute)."""
        self.limited.labels(limit).inc()

    def exposition(self, snapshot: Snapshot | None) -> bytes:
        """The text a scrape gets, with the database's figures as of `snapshot`."""
        self.database.snapshot = snapshot
        return generate_latest(self.registry)


@dataclass
class Ops:
    """What the ops server reads: the engine, the clock, who leads, and the metrics."""

    engine: AsyncEngine
    clock: Callable[[], datetime]
    metrics: Metrics
    leading: Callable[[], bool]  # this instance runs the scheduler
    version: str = field(default_factory=ztc_version)

    async def health(self) -> tuple[int, dict[str, Any]]:
        """The health document and its HTTP status (503 while the database fails)."""
        body: dict[str, Any] = {
            "database": "ok",
            "scheduler": "leader" if self.leading() else "follower",
            "outbox_backlog": None,
            "oldest_pending_seconds": None,
            "version": self.version,
        }
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            snapshot = await read_snapshot(self.engine, self.clock())
        except Exception as exc:  # any driver failure: the database is not there for us
            log.warning("healthz: the database failed: %s", first_line(exc))
            body["database"] = "error"
            return 503, body
        body["outbox_backlog"] = snapshot.backlog
        seconds = snapshot.oldest_pending_seconds
        body["oldest_pending_seconds"] = None if seconds is None else round(seconds, 3)
        return 200, body

    async def scrape(self) -> bytes:
        """The metrics; the database's figures are left out while it cannot be read."""
        try:
            snapshot: Snapshot | None = await read_snapshot(self.engine, self.clock())
        except Exception as exc:
            log.warning("metrics: the database failed: %s", first_line(exc))
            snapshot = None
        return self.metrics.exposition(snapshot)


def ops_app(ops: Ops) -> web.Application:
    """The ops server's routes."""

    async def healthz(request: web.Request) -> web.Response:
        status, body = await ops.health()
        return web.json_response(body, status=status, headers={"Cache-Control": "no-store"})

    async def metrics(request: web.Request) -> web.Response:
        body = await ops.scrape()
        response = web.Response(body=body, headers={"Cache-Control": "no-store"})
        response.content_type = "text/plain"
        response.charset = "utf-8"
        response.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
        return response

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


QUIET = {"access_log": None, "shutdown_timeout": 1.0}  # a scrape every few seconds: no log line
