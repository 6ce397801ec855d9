"""B3, data scale: a year of history with N issues, then what an official, the clock and the
monthly bulletin cost on it.

Run:  .venv/bin/python bench/bench_scale.py [DATABASE_URL] [N ...]
(default: a temporary SQLite file and N = 10000). It resets the database's schema: never point
it at real data. For each N it seeds the database in this process (600 projects, N issues over
the past year — four in five closed, the rest open and quiet —, their events), then measures in
a fresh process, so that the peak RSS is the measuring's own:

- inbox: the first page of `/inbox` (`inbox_page`) for the busiest official and for the median
  one (p50/p95 of 30 runs);
- the quiet clock sweep (nothing due), a sweep with 1 % of the open issues due, and the
  escalation of 1,000 overdue issues (each one level up, with its event and notices);
- the monthly bulletin drawn as `ztc bulletin` draws it, in every format (JSON, text,
  workbook, chart);
- peak RSS of the measuring process.

Prints a Markdown row per N; bench/RESULTS.md keeps them with the command and the machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, update
from sqlalchemy import text as sql
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from bench_core import EXAMPLES, projects_csv  # noqa: E402

from models.audit import chain_existing, verify  # noqa: E402
from models.codes import OPEN_STATUSES, Category, EventKind, Level, Rating, Status, Urgency  # noqa: E402
from models.db import make_engine, session_scope  # noqa: E402
from models.importer import KINDS, import_csv  # noqa: E402
from models.issues.sweep import process_clocks  # noqa: E402
from models.migrate import recreate  # noqa: E402
from models.periods import Period  # noqa: E402
from models.policy import load_policy  # noqa: E402
from models.queries import inbox_page  # noqa: E402
from models.rules import Rules  # noqa: E402
from models.tables.issue import Issue, IssueEvent  # noqa: E402
from models.tables.org import Official  # noqa: E402
from models.tables.project import Project  # noqa: E402

NOW = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)  # 09:30 in the city, the bulletin's morning
BATCH = 5000
LADDER = {
    Level.SERVICE_DESK: "service_agent",
    Level.COUNTY: "region_head",
    Level.CITY_DEPUTY: "city_deputy",
    Level.CITY_PRINCIPAL: "city_principal",
}


async def seed(url: str, n: int) -> None:
    """600 projects and `n` issues over the year before NOW, with their events."""
    rules, engine, rng = Rules.build(load_policy()), make_engine(url), random.Random(7)
    await recreate(engine)
    async with session_scope(engine) as s:
        for kind in KINDS:
            text = projects_csv() if kind == "projects" else (EXAMPLES / f"{kind}.csv").read_text()
            await import_csv(session=s, rules=rules, kind=kind, text=text, now=NOW)
    async with AsyncSession(engine) as s:
        projects = list((await s.exec(select(Project))).all())
        officials = list((await s.exec(select(Official))).all())
    by_role: dict[str, list[int]] = {}
    for o in officials:
        by_role.setdefault(str(o.role), []).append(o.id or 0)
    categories, statuses = list(Category), [Status.SUBMITTED, Status.ACCEPTED]
    issue_id = event_id = 0
    for start in range(0, n, BATCH):
        issues, events = [], []
        for k in range(start, min(n, start + BATCH)):
            issue_id += 1
            project = projects[k % len(projects)]
            level = rules.level_for(project.investment_wan)
            people = by_role.get(LADDER[level], [0])
            # a skewed load: the first official of each level holds a tenth of its issues
            assignee = people[0] if k % 10 == 0 else people[k % len(people)]
            created = NOW - timedelta(minutes=rng.randrange(365 * 24 * 60))
            closed = rng.random() < 0.8 and created < NOW - timedelta(days=10)
            status = Status.CLOSED if closed else statuses[k % 2]
            accept_due = created + timedelta(days=1)
            accepted = created + timedelta(hours=rng.randrange(1, 48))
            resolved = accepted + timedelta(days=rng.randrange(1, 9))
            issues.append(
                {
                    "id": issue_id,
                    "number": f"{created.year}-{issue_id:07d}",
                    "project_id": project.id,
                    "category": categories[k % len(categories)],
                    "urgency": Urgency.URGENT if k % 17 == 0 else Urgency.NORMAL,
                    "text": f"第{issue_id}号问题：用地指标、施工许可、水电气接入需要协调解决。",
                    "status": status,
                    "level": level,
                    "assignee_id": assignee,
                    "created_at": created,
                    "updated_at": resolved if closed else created,
                    "clock_start": accepted if status != Status.SUBMITTED else created,
                    "accept_due": accept_due,
                    "resolve_due": accepted + timedelta(days=7)
                    if status != Status.SUBMITTED
                    else None,
                    # open ones are quiet: their next check is after NOW
                    "next_check_at": None if closed else NOW + timedelta(days=1 + k % 20),
                    "rating": Rating.SATISFIED if closed else None,
                    "resolved_at": resolved if closed else None,
                    "closed_at": resolved + timedelta(days=1) if closed else None,
                    "version": 1,
                }
            )
            steps = [(created, EventKind.CREATED, None, Status.SUBMITTED)]
            if status != Status.SUBMITTED:
                steps.append((accepted, EventKind.ACCEPTED, Status.SUBMITTED, Status.ACCEPTED))
            if closed:
                steps.append((resolved, EventKind.RESOLVED, Status.ACCEPTED, Status.RESOLVED))
                steps.append(
                    (
                        resolved + timedelta(days=1),
                        EventKind.CONFIRMED,
                        Status.RESOLVED,
                        Status.CLOSED,
                    )
                )
            for at, kind, before, after in steps:
                event_id += 1
                # as the services write them: the report's text on CREATED, the rating on
                # CONFIRMED (the record's check compares the row with its events)
                note = issues[-1]["text"] if kind == EventKind.CREATED else None
                data = {"rating": Rating.SATISFIED.value} if kind == EventKind.CONFIRMED else {}
                events.append(
                    {
                        "id": event_id,
                        "issue_id": issue_id,
                        "at": at,
                        "kind": kind,
                        "actor_official_id": assignee if kind != EventKind.CREATED else None,
                        "from_level": level,
                        "to_level": level,
                        "from_status": before,
                        "to_status": after,
                        "note": note,
                        "data": data,
                    }
                )
        async with session_scope(engine) as s:
            await s.exec(insert(Issue), params=issues)  # type: ignore[call-overload]
            await s.exec(insert(IssueEvent), params=events)  # type: ignore[call-overload]
    started = time.perf_counter()
    async with engine.begin() as connection:  # hash-chained and anchored, as migration 0013 does
        await connection.run_sync(chain_existing)
    print(
        f"<!-- chained and anchored in {time.perf_counter() - started:.1f} s -->", file=sys.stderr
    )
    if engine.dialect.name == "postgresql":  # the ids were given: move the sequences past them
        async with session_scope(engine) as s:
            for table in ("issue", "issueevent"):
                await s.exec(  # type: ignore[call-overload]
                    sql(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    await engine.dispose()


def _ms(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return f"{statistics.median(ordered) * 1000:.0f}/{p95 * 1000:.0f} ms"


async def _timed(work: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await work
    return time.perf_counter() - started, result


async def measure(url: str) -> dict[str, Any]:
    """Every figure of the row, in this (fresh) process."""
    rules, engine = Rules.build(load_policy()), make_engine(url)
    out: dict[str, Any] = {}
    async with AsyncSession(engine) as s:
        load = (
            select(Issue.assignee_id, func.count())
            .where(col(Issue.status).in_(OPEN_STATUSES), col(Issue.assignee_id).is_not(None))
            .group_by(col(Issue.assignee_id))
            .order_by(func.count().desc())
        )
        loads = list((await s.exec(load)).all())
        out["open"] = sum(c for _, c in loads)
    for name, (official, count) in (("busiest", loads[0]), ("median", loads[len(loads) // 2])):
        times = []
        for _ in range(30):
            async with AsyncSession(engine) as s:
                seconds, _rows = await _timed(  # the first page, as /inbox draws it
                    inbox_page(session=s, official_id=official or 0, now=NOW, page=0, size=5)
                )
            times.append(seconds)
        out[f"inbox_{name}"] = f"{_ms(times)} ({count})"
    async with session_scope(engine) as s:
        seconds, report = await _timed(process_clocks(session=s, rules=rules, now=NOW))
    out["quiet_sweep"] = f"{seconds:.3f} s"
    open_ids = select(Issue.id).where(col(Issue.status).in_(OPEN_STATUSES)).order_by(col(Issue.id))
    async with session_scope(engine) as s:
        ids = list((await s.exec(open_ids)).all())
        due = ids[::100]  # 1 %: checked now, their deadlines still ahead (nothing to do)
        await s.exec(update(Issue).where(col(Issue.id).in_(due)).values(next_check_at=NOW))  # type: ignore[call-overload]
    async with session_scope(engine) as s:
        seconds, report = await _timed(process_clocks(session=s, rules=rules, now=NOW))
    out["sweep_1pct"] = f"{seconds:.3f} s ({len(due)} due)"
    async with AsyncSession(engine) as s:
        below_top = select(Issue.id).where(
            col(Issue.status) == Status.SUBMITTED, col(Issue.level) != Level.CITY_PRINCIPAL
        )
        late = list((await s.exec(below_top.order_by(col(Issue.id)).limit(1000))).all())
    async with session_scope(engine) as s:
        past = NOW - timedelta(hours=1)
        await s.exec(  # type: ignore[call-overload]
            update(Issue)
            .where(col(Issue.id).in_(late))
            .values(accept_due=past, next_check_at=past, clock_start=past - timedelta(days=1))
        )
    async with session_scope(engine) as s:
        seconds, report = await _timed(process_clocks(session=s, rules=rules, now=NOW))
    out["escalate_1000"] = f"{seconds:.2f} s ({len(report.escalated)} escalated)"
    async with AsyncSession(engine) as s:
        seconds, verdict = await _timed(verify(session=s))
    out["verify"] = f"{seconds:.2f} s ({verdict.events} events, ok: {verdict.ok})"
    out["bulletin"] = await _bulletin(engine, rules)
    await engine.dispose()
    out["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    return out


async def _bulletin(engine: Any, rules: Rules) -> str:
    """The city's monthly bulletin as `ztc bulletin` draws it, in every format."""
    from jobs.reports.chart import bulletin_chart
    from jobs.reports.text import bulletin_text
    from jobs.reports.workbook import bulletin_workbook
    from models.bulletin import bulletin_for, load_book, with_context
    from models.stats import bulletin_json

    period = Period.parse("2026-11")
    started = time.perf_counter()
    async with AsyncSession(engine) as s:
        book = await load_book(session=s, rules=rules, period=period, cut=NOW, verified_at=NOW)
        drawn = (
            await with_context(session=s, book=book, drawn=[(None, bulletin_for(book, None))])
        )[0][1]
    figures = time.perf_counter() - started
    json.dumps(bulletin_json(drawn, rules), ensure_ascii=False)
    bulletin_text(drawn, "zh_CN", rules.tz, shown=None)
    book_started = time.perf_counter()
    bulletin_workbook(drawn, "zh_CN", rules.tz)
    workbook = time.perf_counter() - book_started
    bulletin_chart(drawn, "zh_CN", rules.tz)
    total = time.perf_counter() - started
    return f"{total:.2f} s (figures {figures:.2f}, workbook {workbook:.2f})"


def main() -> None:
    """Seed and measure for each N given (default 10,000)."""
    args = sys.argv[1:]
    if args and args[0] == "--measure":  # the child: measure and print JSON
        print(json.dumps(asyncio.run(measure(args[1]))))
        return
    url = args[0] if args and not args[0].isdigit() else None
    sizes = [int(a) for a in args if a.isdigit()] or [10000]
    with tempfile.TemporaryDirectory() as folder:
        url = url or f"sqlite:///{folder}/bench.db"
        print(
            "| database | issues | open | inbox busiest p50/p95 (its open) | inbox median | "
            "quiet sweep | sweep 1 % due | 1,000 escalations | audit verify | monthly bulletin | "
            "peak RSS |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for n in sizes:
            started = time.perf_counter()
            asyncio.run(seed(url, n))
            seeded = time.perf_counter() - started
            child = subprocess.run(
                [sys.executable, __file__, "--measure", url],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "PYTHONHASHSEED": "0"},
            )
            r = json.loads(child.stdout.strip().splitlines()[-1])
            backend = url.split(":", 1)[0].split("+")[0]
            print(
                f"| {backend} | {n} | {r['open']} | {r['inbox_busiest']} | {r['inbox_median']} | "
                f"{r['quiet_sweep']} | {r['sweep_1pct']} | {r['escalate_1000']} | "
                f"{r['verify']} | {r['bulletin']} | {r['rss_mib']} MiB |",
                flush=True,
            )
            print(f"<!-- seeded in {seeded:.0f} s -->", file=sys.stderr)


if __name__ == "__main__":
    main()
