"""Layer 2: the clock sweep: reminders, escalation at deadlines, the top, the pause cap."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.codes import EventKind, Level, Rating, Status, Urgency
from models.db import make_engine, session_scope
from models.issues.commands import Accept, Confirm, RequestInfo, Resolve, Resume
from models.issues.sweep import process_clocks
from models.permissions import SYSTEM
from models.rules import Rules
from models.tables.infra import Outbox
from models.tables.issue import Issue, IssueEvent
from models.tables.project import Project
from tests.support.factories import World, act, at, build_world, make_issue, make_project

T0 = at("2026-11-20 10:00")  # Friday; accept due Monday 2026-11-23 10:00


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await build_world(session)


async def desk_issue(
    session: AsyncSession, rules: Rules, world: World, when: datetime = T0, **kw: object
) -> Issue:
    project = await make_project(session, world, 9999, agent="r1-agent-b")
    return await make_issue(session, rules, world, project, when, **kw)  # type: ignore[arg-type]


async def counts(session: AsyncSession) -> tuple[int, int]:
    events = (await session.exec(select(func.count()).select_from(IssueEvent))).one()
    notices = (await session.exec(select(func.count()).select_from(Outbox))).one()
    return events, notices


async def sweep(session: AsyncSession, rules: Rules, when: str):
    return await process_clocks(session=session, rules=rules, now=at(when))


async def test_nothing_before_the_first_reminder(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    await desk_issue(session, rules, world, at("2026-11-23 10:00"))  # Monday; due Tuesday 10:00
    before = await counts(session)
    report = await sweep(session, rules, "2026-11-23 21:59")  # 50 % is Monday 22:00
    assert report.changed == 0 and await counts(session) == before


async def test_reminders_at_each_fraction_exactly_once(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    issue = await desk_issue(session, rules, world, at("2026-11-23 10:00"))
    assert (await sweep(session, rules, "2026-11-23 22:00")).reminded == [issue.number]
    assert (await sweep(session, rules, "2026-11-23 22:00")).changed == 0
    assert (await sweep(session, rules, "2026-11-24 05:11")).changed == 0  # 80 % is 05:12
    assert (await sweep(session, rules, "2026-11-24 05:12")).reminded == [issue.number]
    assert (await sweep(session, rules, "2026-11-24 09:59")).changed == 0
    reminders = (
        await session.exec(
            select(IssueEvent.data)
            .where(IssueEvent.kind == EventKind.REMINDER)
            .order_by(col(IssueEvent.id))
        )
    ).all()
    assert [r["fraction"] for r in reminders] == [0.5, 0.8]
    rows = (await session.exec(select(Outbox).where(Outbox.kind == "reminder"))).all()
    assert {r.official_id for r in rows} == {world.officials["r1-agent-b"].id}


async def test_no_reminder_on_the_weekend_for_a_normal_issue(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    issue = await desk_issue(session, rules, world)  # Friday 10:00: 50 % Sat 22:00, 80 % Sun
    for moment in ("2026-11-21 22:00", "2026-11-22 19:36", "2026-11-23 08:59"):
        assert (await sweep(session, rules, moment)).changed == 0
    report = await sweep(session, rules, "2026-11-23 09:00")  # Monday morning: one, not two
    assert report.reminded == [issue.number]
    assert (await sweep(session, rules, "2026-11-23 09:30")).changed == 0


async def test_an_urgent_issue_is_reminded_on_a_holiday(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    # 2026-10-01 to 07 is the National Day holiday. Urgent: 4 hours to accept, reminded at 2 h.
    issue = await desk_issue(session, rules, world, at("2026-10-01 10:00"), urgency=Urgency.URGENT)
    assert (await sweep(session, rules, "2026-10-01 11:59")).changed == 0
    assert (await sweep(session, rules, "2026-10-01 12:00")).reminded == [issue.number]
    # A normal issue of the same moment is due 8 October 10:00 (the first working day); its
    # reminders (4 and 6 October) wait for that morning, and come as one.
    project = await session.get(Project, issue.project_id)
    assert project is not None
    normal = await make_issue(session, rules, world, project, at("2026-10-01 10:00"))
    assert normal.accept_due == at("2026-10-08 10:00")
    assert normal.number not in (await sweep(session, rules, "2026-10-07 23:59")).reminded
    assert normal.reminders_sent == 0
    assert (await sweep(session, rules, "2026-10-08 09:00")).reminded == [normal.number]


async def test_the_adjusted_saturday_is_a_working_day_for_reminders(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    # 2026-02-14 is a 调休 Saturday (a working day before the Spring Festival). Reported on
    # Friday 13 February 10:00, accept due Saturday 10:00; 80 % falls Saturday 05:12 and goes.
    issue = await desk_issue(session, rules, world, at("2026-02-13 10:00"))
    assert issue.accept_due == at("2026-02-14 10:00")
    assert (await sweep(session, rules, "2026-02-13 22:00")).reminded == [issue.number]
    assert (await sweep(session, rules, "2026-02-14 05:12")).reminded == [issue.number]
    assert (await sweep(session, rules, "2026-02-14 10:00")).escalated == [issue.number]


async def test_after_downtime_one_reminder_not_two(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    await desk_issue(session, rules, world)
    report = await sweep(session, rules, "2026-11-23 09:00")  # past 50 % and 80 %
    assert len(report.reminded) == 1
    assert (await sweep(session, rules, "2026-11-23 09:30")).changed == 0


async def test_escalates_exactly_at_the_deadline_and_once(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    issue = await desk_issue(session, rules, world)
    assert not (await sweep(session, rules, "2026-11-23 09:59")).escalated
    report = await sweep(session, rules, "2026-11-23 10:00")
    assert report.escalated == [issue.number]
    assert (issue.level, issue.status, issue.escalations) == (Level.COUNTY, Status.SUBMITTED, 1)
    assert issue.assignee_id == world.officials["r1-head"].id
    assert issue.missed_deadlines == 1
    assert issue.accept_due == at("2026-11-24 10:00")  # the new level's clock starts at the run
    snapshot = await counts(session)
    again = await sweep(session, rules, "2026-11-23 10:00")
    assert again.changed == 0 and await counts(session) == snapshot
    assert issue.level == Level.COUNTY


async def test_long_downtime_still_escalates_one_level_per_run(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    issue = await desk_issue(session, rules, world)
    late = "2026-12-15 10:00"  # weeks past every deadline
    assert (await sweep(session, rules, late)).escalated == [issue.number]
    assert issue.level == Level.COUNTY
    assert (await sweep(session, rules, late)).changed == 0
    assert issue.accept_due == at("2026-12-16 10:00")


async def test_the_resolve_deadline_escalates_too(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    issue = await desk_issue(session, rules, world)
    await act(session, rules, world.actor("r1-agent-b"), Accept(issue.id), at("2026-11-20 11:00"))
    assert issue.resolve_due == at("2026-11-27 11:00")
    assert not (await sweep(session, rules, "2026-11-27 10:59")).escalated
    assert (await sweep(session, rules, "2026-11-27 11:00")).escalated == [issue.number]
    assert (issue.level, issue.status) == (Level.COUNTY, Status.SUBMITTED)


async def test_up_the_whole_ladder_and_flagged_once_at_the_top(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    issue = await desk_issue(session, rules, world, urgency=Urgency.URGENT)
    moment = T0
    for level in (Level.COUNTY, Level.CITY_DEPUTY, Level.CITY_PRINCIPAL):
        moment += timedelta(hours=4)  # urgent: 4 hours to accept at every level
        report = await process_clocks(session=session, rules=rules, now=moment)
        assert report.escalated == [issue.number] and issue.level == level
    moment += timedelta(hours=4)
    top = await process_clocks(session=session, rules=rules, now=moment)
    assert top.flagged == [issue.number] and not top.escalated
    assert issue.level == Level.CITY_PRINCIPAL and issue.escalations == 3
    flagged = (await session.exec(select(Outbox).where(Outbox.kind == "overdue"))).all()
    assert {r.official_id for r in flagged} == {
        world.officials["principal-a"].id,
        world.officials["admin"].id,
    }
    later = await process_clocks(session=session, rules=rules, now=moment + timedelta(days=3))
    assert later.changed == 0


async def test_paused_issues_do_not_escalate(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    issue = await desk_issue(session, rules, world)
    agent = world.actor("r1-agent-b")
    await act(session, rules, agent, Accept(issue.id), T0)
    await act(session, rules, agent, RequestInfo(issue.id, note="请提供不动产权证"), T0)
    report = await sweep(session, rules, "2026-12-03 09:00")  # past the resolve deadline
    assert report.changed == 0 and issue.status == Status.AWAITING_INFO


async def test_the_pause_cap_resumes_the_clock_from_the_cap(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    issue = await desk_issue(session, rules, world)
    agent = world.actor("r1-agent-b")
    await act(session, rules, agent, Accept(issue.id), T0)
    due = issue.resolve_due
    assert due == at("2026-11-27 10:00")
    await act(session, rules, agent, RequestInfo(issue.id, note="请提供不动产权证"), T0)
    cap = at("2026-12-04 10:00")  # 10 working days after the pause
    assert (await sweep(session, rules, "2026-12-04 09:59")).changed == 0
    report = await sweep(session, rules, "2026-12-07 10:00")  # found late, after a weekend
    assert report.resumed == [issue.number]
    assert issue.status == Status.ACCEPTED
    assert issue.resolve_due == due + (cap - T0)  # extended by the capped pause only
    assert (await sweep(session, rules, "2026-12-07 10:00")).changed == 0


async def test_a_resolved_issue_is_asked_to_rate_once_then_closed_unrated(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    # Issue 13 changed this rule: a resolved issue nobody rates no longer stays open for ever.
    issue = await desk_issue(session, rules, world)
    agent = world.actor("r1-agent-b")
    await act(session, rules, agent, Accept(issue.id), T0)
    await act(session, rules, agent, Resolve(issue.id, note="已办结"), T0)  # Friday 10:00
    assert (await sweep(session, rules, "2026-11-25 09:59")).changed == 0
    asked = await sweep(session, rules, "2026-11-25 10:00")  # 3 working days later
    assert asked.asked_to_rate == [issue.number] and asked.changed == 1
    assert (await sweep(session, rules, "2026-11-30 10:00")).changed == 0  # asked once
    closed = await sweep(session, rules, "2026-12-01 10:00")  # 7 working days later
    assert closed.closed_unrated == [issue.number]
    assert (issue.status, issue.rating) == (Status.CLOSED, None)
    assert (await sweep(session, rules, "2027-03-01 10:00")).changed == 0  # closed: left alone


async def test_two_sweeps_at_once_on_postgresql_escalate_once(
    postgres_url: str, engine: AsyncEngine, rules: Rules
) -> None:
    async with session_scope(engine) as s:
        world = await build_world(s)
        project = await make_project(s, world, 9999, agent="r1-agent-b")
        for _ in range(20):  # logged by the staff: a contact's own reports are limited per day
            await make_issue(s, rules, world, project, T0, actor=SYSTEM)
    engines = [make_engine(postgres_url), make_engine(postgres_url)]

    async def one(eng: AsyncEngine) -> int:
        async with session_scope(eng) as s:
            report = await process_clocks(session=s, rules=rules, now=at("2026-11-23 10:00"))
            await asyncio.sleep(0.2)  # hold the row locks while the other sweep runs
            return len(report.escalated)

    done = await asyncio.gather(*(one(e) for e in engines))
    for eng in engines:
        await eng.dispose()
    assert sum(done) == 20
    async with session_scope(engine) as s:
        escalated = (
            await s.exec(
                select(func.count())
                .select_from(IssueEvent)
                .where(IssueEvent.kind == EventKind.ESCALATED)
            )
        ).one()
        assert escalated == 20


async def test_next_check_follows_the_clock(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    issue = await desk_issue(session, rules, world)
    # The 50 % and 80 % reminders fall on the weekend: both wait for Monday 09:00.
    assert issue.next_check_at == at("2026-11-23 09:00")
    await sweep(session, rules, "2026-11-23 09:00")
    assert issue.next_check_at == at("2026-11-23 10:00")  # the deadline itself
    agent = world.actor("r1-agent-b")
    await act(session, rules, agent, Accept(issue.id), T0)
    await act(session, rules, agent, RequestInfo(issue.id, note="请提供不动产权证"), T0)
    assert issue.next_check_at == at("2026-12-04 10:00")  # the pause cap
    await act(session, rules, world.contact_actor, Resume(issue.id), T0)
    await act(session, rules, agent, Resolve(issue.id, note="已办结"), T0)
    # Issue 13: a resolved issue is looked at again to ask for a rating, then to close it.
    assert issue.next_check_at == at("2026-11-25 10:00")  # 3 working days: the reminder
    await act(session, rules, world.contact_actor, Confirm(issue.id, rating=Rating.SATISFIED), T0)
    assert issue.next_check_at is None  # rated and closed: nothing left to watch


async def test_the_sweep_reads_only_issues_due_for_a_look(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    issue = await desk_issue(session, rules, world)
    issue.next_check_at = None  # as if nothing were due: the sweep must not even look
    session.add(issue)
    assert (await sweep(session, rules, "2026-12-01 10:00")).changed == 0
    assert issue.level == Level.SERVICE_DESK


async def test_a_deadline_before_the_morning_reminders_still_escalates_on_time(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    # Reported at 08:00 on the eve of National Day: due 8 Oct 08:00, one working day later.
    # Both reminders fall in the holiday and move to 8 Oct 09:00, after the deadline: the sweep
    # must look at 08:00 (it looked at 09:00 and escalated an hour late, reminding nobody).
    project = await make_project(session, world, 9999, agent="r1-agent-b")
    issue = await make_issue(session, rules, world, project, at("2026-09-30 08:00"))
    assert issue.accept_due == at("2026-10-08 08:00")
    assert issue.next_check_at == at("2026-10-08 08:00")
    report = await sweep(session, rules, "2026-10-08 08:00")
    assert report.escalated == [issue.number] and report.reminded == []
