"""Benchmark the core at a city's real scale: import 600 projects; sweep 5,000 open issues.

Run:  .venv/bin/python bench/bench_core.py [DATABASE_URL]
(default: a temporary SQLite file). It resets the database's schema: never point it at real data.
Prints a Markdown row: database, open issues, the import's time, the three sweeps' times
(a quiet minute; every reminder due; every deadline passed at once) and the peak RSS.
bench/RESULTS.md keeps them.
"""

from __future__ import annotations

import asyncio
import csv
import io
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from models.codes import Category
from models.db import make_engine, session_scope
from models.importer import KINDS, import_csv
from models.issues.context import Ctx
from models.issues.intake import report_issue
from models.issues.sweep import process_clocks
from models.migrate import recreate
from models.permissions import SYSTEM
from models.policy import load_policy
from models.rules import Rules
from models.tables.project import Project

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PROJECTS = 600
ISSUES = int(__import__("os").environ.get("BENCH_ISSUES", "5000"))


def projects_csv() -> str:
    """600 projects spread over the sample regions, enterprises and every tier."""
    regions = ["hetdz", "qjp", "haq", "hyq", "hzq", "lsx", "xyx", "jhx", "hagy"]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["code", "name", "enterprise", "region", "investment_wan", "stage"])
    for n in range(PROJECTS):
        investment = [5000, 20000, 150000, 600000][n % 4] + n
        writer.writerow(
            [f"B{n:04d}", f"项目{n}", f"E0{1 + n % 8}", regions[n % 9], investment, "signed"]
        )
    return out.getvalue()


async def main(url: str) -> None:
    rules = Rules.build(load_policy())
    engine = make_engine(url)
    await recreate(engine)
    now = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    async with session_scope(engine) as s:
        for kind in KINDS[:-1]:
            text_ = (EXAMPLES / f"{kind}.csv").read_text("utf-8")
            await import_csv(session=s, rules=rules, kind=kind, text=text_, now=now)
    started = time.perf_counter()
    async with session_scope(engine) as s:
        await import_csv(session=s, rules=rules, kind="projects", text=projects_csv(), now=now)
    import_s = time.perf_counter() - started
    async with session_scope(engine) as s:
        projects = (await s.exec(select(Project).where(Project.code.startswith("B")))).all()
        for n in range(ISSUES):
            await report_issue(
                Ctx(session=s, rules=rules, actor=SYSTEM, now=now),
                project=projects[n % PROJECTS],
                category=Category.LAND,
                text="bench",
            )
    timings = []
    # a quiet minute (nothing due), then every reminder due, then every deadline passed at once
    moments = (now + timedelta(hours=1), now + timedelta(hours=40), now + timedelta(days=3))
    for moment in moments:
        started = time.perf_counter()
        async with session_scope(engine) as s:
            report = await process_clocks(session=s, rules=rules, now=moment)
        timings.append((time.perf_counter() - started, report.changed))
    await engine.dispose()
    cells = [f"{seconds:.3f} s, {acted} acted" for seconds, acted in timings]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    row = [engine.dialect.name, str(ISSUES), f"{import_s:.2f} s", *cells, f"{peak:.0f} MiB"]
    print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    asyncio.run(main(target))
