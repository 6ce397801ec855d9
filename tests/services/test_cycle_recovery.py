"""Cycle recovery: a bulletin missed beyond its grace window is recorded skipped, the admins are
told once, `ztc doctor` lists it, and an admin runs it by hand once and only once; `--json` on
every `jobs` command."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cli import cli
from jobs.channels import Rendered
from jobs.cycle import catch_up, run_cycle_job
from jobs.notices import notice_renderer
from models.cycle import SKIPPED_NOTICE, find_run, recover, skipped_runs
from models.db import make_engine, session_scope
from models.rules import Rules
from models.tables.infra import Outbox, Report, ScheduleRun
from models.tables.org import Official
from tests.support.factories import World, at

T = TypeVar("T")
LEADERS_AND_HEADS = 7  # 2 principals, 2 deputies, the admin; r1's and r2's head
DOWN_UNTIL = at("2026-12-04 09:01")  # the November bulletin was due 1 December 09:00; grace 3d


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """`ztc` on the test's database, in English, from an empty directory."""
    for name in list(os.environ):
        if name.startswith("ZTC_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ZTC_DATABASE_URL", database_url)
    monkeypatch.setenv("ZTC_DEFAULT_LOCALE", "en")
    monkeypatch.chdir(tmp_path)
    yield database_url


def db(url: str, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run `work` on an engine of its own, in a loop of its own (for the tests that drive the
    CLI, which runs its own loops: an engine never crosses loops)."""

    async def go() -> T:
        engine = make_engine(url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def ztc(*args: str, code: int = 0) -> Result:
    """`ztc ARGS` in-process: the exit code checked, never a traceback."""
    result = CliRunner().invoke(cli, list(args), prog_name="ztc")
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"ztc {' '.join(args)} raised {result.exception!r}")
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def ztc_json(*args: str) -> Any:
    """`ztc ARGS --json`, parsed."""
    return json.loads(ztc(*args, "--json").stdout)


async def count(engine: AsyncEngine, model: type, *where: object) -> int:
    async with AsyncSession(engine) as session:
        query = select(func.count()).select_from(model).where(*where)  # type: ignore[arg-type]
        return (await session.exec(query)).one()


async def bulletin_rows(engine: AsyncEngine, period: str) -> int:
    """The outbox rows that deliver the monthly bulletin of `period`."""
    async with AsyncSession(engine) as session:
        reports = select(Report.id).where(
            Report.job == "monthly_bulletin", Report.period == period
        )
        ids = set((await session.exec(reports)).all())
        rows = (await session.exec(select(Outbox).where(Outbox.kind == "report"))).all()
        return sum(row.payload.get("report") in ids for row in rows)


async def skipped_notices(engine: AsyncEngine) -> list[Outbox]:
    async with AsyncSession(engine) as session:
        query = select(Outbox).where(Outbox.kind == SKIPPED_NOTICE).order_by(col(Outbox.id))
        return list((await session.exec(query)).all())


async def render_notice(engine: AsyncEngine, rules: Rules, row: Outbox) -> Rendered | None:
    """The skipped notice as the dispatcher would draw it for the admin, now."""

    async def no_card(**_: object) -> tuple[str, list[object]]:
        raise AssertionError("a skipped notice has no issue card")

    render = notice_renderer(
        rules=rules, default_locale="en", clock=lambda: DOWN_UNTIL, card=no_card
    )
    async with AsyncSession(engine) as session:
        admin = await session.get(Official, row.official_id)
        return await render(session, row, admin)


async def a_deployment_that_ran(engine: AsyncEngine, rules: Rules) -> None:
    """The bot ran the October bulletin (Monday 2 November), then was down until 4 December."""
    october = await run_cycle_job(
        engine=engine, rules=rules, job="monthly_bulletin", now=at("2026-11-02 09:00")
    )
    assert (october.outcome, october.period) == ("done", "2026-10")


def test_a_skipped_bulletin_run_by_an_admin_once_and_only_once(
    rules: Rules, world: World, cli_env: str
) -> None:
    def run(work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
        return db(cli_env, work)

    run(lambda engine: a_deployment_that_ran(engine, rules))

    # Back on 4 December, past the 3 days' grace: the November bulletin is recorded skipped
    # and the one admin is told, once however often the bot restarts.
    first = run(lambda engine: catch_up(engine=engine, rules=rules, now=DOWN_UNTIL))
    bulletin = next(r for r in first if r.job == "monthly_bulletin")
    assert (bulletin.outcome, bulletin.period, bulletin.notices) == ("skipped", "2026-11", 1)
    again = run(lambda engine: catch_up(engine=engine, rules=rules, now=at("2026-12-04 10:00")))
    assert {r.outcome for r in again} <= {"taken"}
    told = [r for r in run(skipped_notices) if r.payload["job"] == "monthly_bulletin"]
    assert [(r.official_id, r.payload["period"]) for r in told] == [
        (world.officials["admin"].id, "2026-11")
    ]
    assert run(lambda engine: bulletin_rows(engine, "2026-11")) == 0
    notice = run(lambda engine: render_notice(engine, rules, told[0]))
    assert notice is not None
    assert "The monthly bulletin of November 2026 was not sent" in notice.text
    assert "ztc jobs run monthly_bulletin --period 2026-11 --by admin" in notice.text

    # ztc doctor lists it, with the command that runs it.
    doctor = ztc("doctor").stdout
    assert "The monthly bulletin of November 2026 was skipped" in doctor
    assert "ztc jobs run monthly_bulletin --period 2026-11 --by ADMIN_CODE" in doctor

    # The admin runs it: recorded late, with who ran it; the bulletin is queued once.
    done = ztc_json(
        "jobs", "run", "monthly_bulletin", "--period", "2026-11", "--by", "admin",
        "--at", "2026-12-04T10:30",
    )  # fmt: skip
    assert (done["outcome"], done["period"], done["by"]) == ("recovered", "2026-11", "admin")
    assert done["notices"] == LEADERS_AND_HEADS
    assert done["scheduled"] == "2026-12-01T09:00:00+08:00"  # ISO, in the city's zone
    assert run(lambda engine: bulletin_rows(engine, "2026-11")) == LEADERS_AND_HEADS
    record = run(lambda engine: stored_run(engine, "2026-11"))
    assert record.status == "late" and record.note is not None
    assert record.note.startswith("by hand by admin at 2026-12-04T10:30:00+08:00; skipped at")

    # A second run is refused (exit 1), and nothing more is queued.
    refused = ztc(
        "jobs", "run", "monthly_bulletin", "--period", "2026-11", "--by", "admin", code=1
    )
    assert "2026-11 was already run late" in refused.stderr
    ztc("jobs", "run", "monthly_bulletin", "--period", "2026-11", "--json", code=1)
    assert run(lambda engine: bulletin_rows(engine, "2026-11")) == LEADERS_AND_HEADS
    # So is a period that ran on time.
    on_time = ztc("jobs", "run", "monthly_bulletin", "--period", "2026-10", code=1)
    assert "2026-10 was already run on time" in on_time.stderr

    # Nothing is left to say: the doctor lists it no more, the notice (if still queued) is moot.
    assert "monthly bulletin of November 2026 was skipped" not in ztc("doctor").stdout
    assert run(lambda engine: render_notice(engine, rules, told[0])) is None


async def stored_run(engine: AsyncEngine, period: str) -> ScheduleRun:
    async with AsyncSession(engine) as session:
        found = await find_run(session=session, job="monthly_bulletin", period=period)
        assert found is not None
        return found


def test_only_an_admin_runs_a_period_by_hand(rules: Rules, world: World, cli_env: str) -> None:
    db(cli_env, lambda engine: a_deployment_that_ran(engine, rules))
    db(cli_env, lambda engine: catch_up(engine=engine, rules=rules, now=DOWN_UNTIL))
    args = ("jobs", "run", "monthly_bulletin", "--period", "2026-11")
    assert "is not an admin" in ztc(*args, "--by", "r1-head", code=1).stderr
    assert "nobody" not in ztc(*args, "--by", "nobody", code=1).stdout
    ztc("jobs", "run", "monthly_bulletin", "--by", "admin", code=2)  # --by needs --period
    # Without --by the CLI itself is recorded as having run it.
    done = ztc_json(*args, "--at", "2026-12-04T10:30")
    assert (done["outcome"], done["by"]) == ("recovered", "cli")


async def test_a_fresh_deployment_is_not_told_of_periods_it_never_ran(
    engine: AsyncEngine, rules: Rules, world: World
) -> None:
    # First start ever on 4 December: every job's latest period is unrun and recorded skipped,
    # but nothing was lost: nobody is told and the doctor lists none.
    first = await catch_up(engine=engine, rules=rules, now=DOWN_UNTIL)
    assert {r.job for r in first if r.outcome == "skipped"} >= {"monthly_bulletin"}
    assert await skipped_notices(engine) == []
    async with AsyncSession(engine) as session:
        assert await skipped_runs(session=session) == []


async def test_digests_and_chases_missed_are_not_announced(
    engine: AsyncEngine, rules: Rules, world: World
) -> None:
    await a_deployment_that_ran(engine, rules)
    runs = await catch_up(engine=engine, rules=rules, now=DOWN_UNTIL)
    skipped = {r.job for r in runs if r.outcome == "skipped"}
    assert {"weekly_digest", "monthly_bulletin"} <= skipped  # Monday's digest: grace 1 day
    told = {r.payload["job"] for r in await skipped_notices(engine)}
    assert "monthly_bulletin" in told and not told & {"weekly_digest", "daily_chase"}
    async with AsyncSession(engine) as session:
        listed = {r.job for r in await skipped_runs(session=session)}
    assert listed == told


async def test_of_two_recoveries_at_once_only_one_runs(
    engine: AsyncEngine, rules: Rules, world: World
) -> None:
    await a_deployment_that_ran(engine, rules)
    await catch_up(engine=engine, rules=rules, now=DOWN_UNTIL)
    async with (
        AsyncSession(engine, expire_on_commit=False) as first,
        AsyncSession(engine, expire_on_commit=False) as second,
    ):
        mine = await find_run(session=first, job="monthly_bulletin", period="2026-11")
        theirs = await find_run(session=second, job="monthly_bulletin", period="2026-11")
        assert mine is not None and theirs is not None
        assert theirs.status == mine.status == "skipped"  # both read it skipped
        assert await recover(session=first, run=mine, by="admin", now=DOWN_UNTIL)
        await first.commit()
        assert not await recover(session=second, run=theirs, by="cli", now=DOWN_UNTIL)
    async with session_scope(engine) as session:
        found = await find_run(session=session, job="monthly_bulletin", period="2026-11")
        assert found is not None and found.note is not None and "by admin" in found.note


def test_jobs_json_everywhere(world: World, cli_env: str) -> None:
    listed = ztc_json("jobs", "list")
    assert [j["job"] for j in listed][:2] == ["clocks", "monthly_bulletin"]
    bulletin = next(j for j in listed if j["job"] == "monthly_bulletin")
    assert bulletin["cron"] == "0 9 1 * *"
    assert bulletin["next_run"].endswith("+08:00") and "T09:00:00" in bulletin["next_run"]
    # Once crashed: a datetime is not JSON serialisable.
    done = ztc_json("jobs", "run", "monthly_bulletin", "--at", "2026-12-01T09:00")
    assert (done["job"], done["outcome"], done["period"]) == (
        "monthly_bulletin",
        "done",
        "2026-11",
    )
    assert done["scheduled"] == "2026-12-01T09:00:00+08:00"
    assert done["notices"] == LEADERS_AND_HEADS and done["by"] is None
    taken = ztc_json("jobs", "run", "monthly_bulletin", "--at", "2026-12-01T09:05")
    assert (taken["outcome"], taken["note"]) == ("taken", "done")  # the latest due: no refusal
    by_hand = ztc_json("jobs", "run", "quarterly_review", "--period", "2026-Q2", "--by", "admin")
    assert (by_hand["outcome"], by_hand["scheduled"], by_hand["by"]) == ("done", None, "admin")
    clocks = ztc_json("jobs", "run", "clocks", "--at", "2026-12-01T09:00")
    assert clocks["job"] == "clocks" and isinstance(clocks["escalated"], list)
