"""The five-ones cycle on a real database: exactly once per period, catch-up after downtime, who
hears of what (when each job is due: tests/unit/test_cycle.py)."""

from __future__ import annotations

import asyncio
import os
from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from jobs.cycle import catch_up, run_cycle_job
from models.codes import Role, Urgency
from models.db import make_engine, session_scope
from models.periods import Period
from models.rules import Rules
from models.tables.infra import Outbox, Report, ScheduleRun
from models.tables.org import Official
from tests.support.factories import World, at, build_world, make_issue, make_project


@pytest.fixture
async def world(engine: AsyncEngine) -> World:
    async with session_scope(engine) as session:
        return await build_world(session)


async def count(engine: AsyncEngine, model: type, *where: object) -> int:
    async with AsyncSession(engine) as session:
        query = select(func.count()).select_from(model).where(*where)  # type: ignore[arg-type]
        return (await session.exec(query)).one()


async def runs(engine: AsyncEngine, job: str) -> list[tuple[str, str]]:
    async with AsyncSession(engine) as session:
        query = select(ScheduleRun.period, ScheduleRun.status).where(ScheduleRun.job == job)
        return list((await session.exec(query.order_by(col(ScheduleRun.id)))).all())


LEADERS_AND_HEADS = 7  # 2 principals, 2 deputies, the admin; r1's and r2's head


async def test_the_monthly_bulletin_runs_exactly_once_across_a_restart(
    engine: AsyncEngine, rules: Rules, world: World, database_url: str
) -> None:
    first = await run_cycle_job(
        engine=engine, rules=rules, job="monthly_bulletin", now=at("2026-12-01 09:00")
    )
    assert (first.outcome, first.period, first.notices) == ("done", "2026-11", LEADERS_AND_HEADS)
    again = await run_cycle_job(
        engine=engine, rules=rules, job="monthly_bulletin", now=at("2026-12-01 09:01")
    )
    assert again.outcome == "taken"
    restarted = make_engine(database_url)  # a new process: nothing shared but the database
    try:
        after = await catch_up(engine=restarted, rules=rules, now=at("2026-12-01 09:30"))
    finally:
        await restarted.dispose()
    assert [r.outcome for r in after if r.job == "monthly_bulletin"] == ["taken"]
    assert await count(engine, Outbox, Outbox.kind == "report") == LEADERS_AND_HEADS
    assert await count(engine, Report, Report.job == "monthly_bulletin") == 3  # city, r1, r2
    assert await runs(engine, "monthly_bulletin") == [("2026-11", "done")]


async def test_catch_up_inside_the_grace_window_runs_late(
    engine: AsyncEngine, rules: Rules, world: World
) -> None:
    # Down from 30 November to 3 December 08:00: the bulletin is 47 hours late, grace is 3 days.
    result = await catch_up(engine=engine, rules=rules, now=at("2026-12-03 08:00"))
    bulletin = next(r for r in result if r.job == "monthly_bulletin")
    assert (bulletin.outcome, bulletin.period) == ("late", "2026-11")
    assert bulletin.notices == LEADERS_AND_HEADS
    assert await runs(engine, "monthly_bulletin") == [("2026-11", "late")]


async def test_catch_up_beyond_the_grace_window_is_recorded_skipped(
    engine: AsyncEngine, rules: Rules, world: World
) -> None:
    result = await catch_up(engine=engine, rules=rules, now=at("2026-12-04 09:01"))
    bulletin = next(r for r in result if r.job == "monthly_bulletin")
    assert (bulletin.outcome, bulletin.notices) == ("skipped", 0)
    assert await runs(engine, "monthly_bulletin") == [("2026-11", "skipped")]
    assert await count(engine, Report, Report.job == "monthly_bulletin") == 0
    assert await count(engine, Outbox) == 0
    later = await catch_up(engine=engine, rules=rules, now=at("2026-12-04 10:00"))
    assert {r.outcome for r in later} <= {"taken"}  # nothing runs twice, skipped or not


async def test_a_period_already_run_is_refused_by_hand_too(
    engine: AsyncEngine, rules: Rules, world: World
) -> None:
    period = Period.parse("2026-10")
    first = await run_cycle_job(
        engine=engine, rules=rules, job="monthly_bulletin", now=at("2026-11-22"), period=period
    )
    second = await run_cycle_job(
        engine=engine, rules=rules, job="monthly_bulletin", now=at("2026-11-22"), period=period
    )
    assert (first.outcome, second.outcome, second.note) == ("done", "taken", "done")


async def test_digests_and_the_chase_go_to_handlers_on_working_days(
    engine: AsyncEngine, rules: Rules, world: World
) -> None:
    async with session_scope(engine) as session:
        project = await make_project(session, world, 20000, code="P1")  # county: r1-head
        await make_issue(session, rules, world, project, at("2026-11-20 10:00"))
        await make_issue(
            session, rules, world, project, at("2026-11-20 11:00"), urgency=Urgency.URGENT
        )
    # Saturday 21 November: no chase at all (the latest one is Friday's, not run yet).
    saturday = await run_cycle_job(
        engine=engine, rules=rules, job="daily_chase", now=at("2026-11-21 08:30")
    )
    assert (saturday.period, saturday.outcome) == ("2026-11-20", "skipped")
    monday = await run_cycle_job(
        engine=engine, rules=rules, job="daily_chase", now=at("2026-11-23 08:30")
    )
    assert (monday.period, monday.outcome, monday.notices) == ("2026-11-23", "done", 1)
    digest = await run_cycle_job(
        engine=engine, rules=rules, job="weekly_digest", now=at("2026-11-23 08:00")
    )
    assert (digest.period, digest.notices) == ("2026-W48", 1)
    async with AsyncSession(engine) as session:
        reports = (await session.exec(select(Report).order_by(col(Report.id)))).all()
    head = world.officials["r1-head"].code
    assert [(r.job, r.scope, len(r.data["items"])) for r in reports] == [
        ("daily_chase", f"official:{head}", 1),  # the urgent one only
        ("weekly_digest", f"official:{head}", 2),
    ]


async def test_the_progress_reminder_asks_again_only_who_has_not_reported(
    engine: AsyncEngine, rules: Rules, world: World
) -> None:
    from models.tables.project import ProgressReport

    async with session_scope(engine) as session:
        p1 = await make_project(session, world, 20000, code="P1")
        await make_project(session, world, 30000, code="P2")
    first = await run_cycle_job(
        engine=engine, rules=rules, job="progress_reminder", now=at("2026-11-25 09:00")
    )
    assert first.notices == 1  # the enterprise's one contact
    async with session_scope(engine) as session:
        session.add(
            ProgressReport(
                project_id=p1.id or 0,
                month=date(2026, 11, 1),
                stage=p1.stage,
                invested_wan=5000,
                reported_at=at("2026-11-26 10:00"),
            )
        )
    again = await run_cycle_job(
        engine=engine, rules=rules, job="progress_followup", now=at("2026-11-30 09:00")
    )
    assert again.notices == 1
    async with AsyncSession(engine) as session:
        report = (
            await session.exec(select(Report).where(Report.job == "progress_followup"))
        ).one()
    assert [p["code"] for p in report.data["projects"]] == ["P2"] and report.data["again"]


@pytest.mark.skipif(
    not os.environ.get("ZTC_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="PostgreSQL-only test: set ZTC_TEST_DATABASE_URL",
)
async def test_two_schedulers_on_one_postgresql_give_one_bulletin(
    engine: AsyncEngine, rules: Rules, world: World, database_url: str
) -> None:
    engines = [make_engine(database_url) for _ in range(2)]
    try:
        both = await asyncio.gather(
            *(
                run_cycle_job(
                    engine=e, rules=rules, job="monthly_bulletin", now=at("2026-12-01 09:00")
                )
                for e in engines
            )
        )
    finally:
        for e in engines:
            await e.dispose()
    assert sorted(r.outcome for r in both) == ["done", "taken"]
    assert await count(engine, Outbox, Outbox.kind == "report") == LEADERS_AND_HEADS
    assert await runs(engine, "monthly_bulletin") == [("2026-11", "done")]


async def test_audiences_follow_the_policy(
    engine: AsyncEngine, rules: Rules, world: World
) -> None:
    await run_cycle_job(
        engine=engine, rules=rules, job="monthly_bulletin", now=at("2026-12-01 09:00")
    )
    async with AsyncSession(engine) as session:
        rows = (
            await session.exec(
                select(Outbox, Report).join(
                    Report, Report.id == col(Outbox.payload)["report"].as_integer()
                )
            )
        ).all()
        officials = {o.id: o for o in (await session.exec(select(Official))).all()}
    got = sorted((report.scope, officials[row.official_id or 0].code) for row, report in rows)
    city = sorted(
        ("city", o.code)
        for o in officials.values()
        if o.role in (Role.CITY_PRINCIPAL, Role.CITY_DEPUTY, Role.ADMIN)
    )
    assert got == sorted([*city, ("r1", "r1-head"), ("r2", "r2-head")])
