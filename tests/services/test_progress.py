"""Progress reports on a real database: claims and their verdicts, who may, the history and
what counts, the reminder, and the agent told after N working days."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from jobs.clocks import run_clocks
from jobs.cycle import run_cycle_job
from jobs.progress import decision_text
from models.bulletin import city_and_regions
from models.codes import Stage
from models.cycle_reports import ESCALATION, escalate_progress
from models.db import session_scope
from models.errors import InvalidInput, NotAllowed
from models.periods import Period
from models.progress import (
    Claim,
    decide_claim,
    latest_invested,
    pending_claim,
    project_json,
    report_progress,
    report_view,
)
from models.rules import Rules
from models.tables.infra import Outbox, Report, ScheduleRun
from models.tables.org import Contact, Official
from models.tables.project import ProgressReport, Project
from tests.support.factories import TZ, World, at, make_project

NOW = at("2026-11-20 10:00")


async def _p1(session: AsyncSession, world: World) -> Project:
    """The world's P1 with its agent and manager, started on 1 June."""
    p1 = (await session.exec(select(Project).where(Project.code == "P1"))).one()
    p1.agent_id = world.officials["r1-agent-a"].id
    p1.manager_id = world.officials["r1-head"].id
    p1.signed_on, p1.started_on = date(2026, 3, 2), date(2026, 6, 1)
    session.add(p1)
    await session.flush()
    return p1


async def _report(
    session: AsyncSession,
    world: World,
    project: Project,
    *,
    claim: Claim | None = None,
    wan: int | None = 12_000,
    now: object = NOW,
    contact: Contact | None = None,
) -> ProgressReport:
    return await report_progress(
        session=session,
        tz=TZ,
        contact=contact or world.contact,  # type: ignore[arg-type]
        project=project,
        now=now,  # type: ignore[arg-type]
        claim=claim,
        invested_wan=wan,
    )


async def _rows(session: AsyncSession, kind: str) -> list[Outbox]:
    query = select(Outbox).where(Outbox.kind == kind).order_by(col(Outbox.id))
    return list((await session.exec(query)).all())


async def _completed_in_november(session: AsyncSession, rules: Rules) -> int:
    drawn = await city_and_regions(
        session=session, rules=rules, period=Period.parse("2026-11"), cut=at("2026-12-01 09:00")
    )
    return drawn[0][1].stages.completed


async def test_a_claim_counts_only_once_the_agent_confirms_it(
    engine: AsyncEngine, rules: Rules, world: World
) -> None:
    async with session_scope(engine) as session:
        p1 = await _p1(session, world)
        report = await _report(
            session, world, p1, claim=Claim("completed", date(2026, 11, 18)), wan=12_000
        )
        assert (report.claim_status, report.month, report.stage) == (
            "pending",
            date(2026, 11, 1),
            Stage.STARTED,
        )
        asked = await _rows(session, "progress_claim")
        assert {r.official_id for r in asked} == {
            world.officials["r1-agent-a"].id,
            world.officials["r1-head"].id,
        }
        assert (p1.stage, p1.completed_on) == (Stage.STARTED, None)
        assert await _completed_in_november(session, rules) == 0  # a claim is not a stage
        agent = world.officials["r1-agent-a"]
        await decide_claim(session=session, official=agent, project=p1, now=at("2026-11-23 09:30"))
        assert (p1.stage, p1.completed_on) == (Stage.COMPLETED, date(2026, 11, 18))
        assert await _completed_in_november(session, rules) == 1
        told = await _rows(session, "progress_decided")
        assert [r.contact_id for r in told] == [world.contact.id]  # type: ignore[union-attr]
        view = await report_view(session=session, report_id=report.id or 0)
        assert view is not None and view.decided_by == "r1-agent-a"
        assert "已认定" in decision_text(view, "zh_CN")
        data = await project_json(session=session, project=p1, tz=TZ)
    assert (data["stage"], data["completed_on"], data["invested_wan"], data["pending_claim"]) == (
        "completed",
        "2026-11-18",
        12_000,
        None,
    )


async def test_a_rejected_claim_leaves_the_project_and_the_contact_reads_why(
    engine: AsyncEngine, world: World
) -> None:
    async with session_scope(engine) as session:
        p1 = await _p1(session, world)
        await _report(session, world, p1, claim=Claim("completed", date(2026, 11, 18)))
        head = world.officials["r1-head"]  # the manager
        with pytest.raises(InvalidInput) as no_reason:
            await decide_claim(session=session, official=head, project=p1, now=NOW, confirm=False)
        assert no_reason.value.params == {"field": "note", "reason": "empty"}
        report = await decide_claim(
            session=session,
            official=head,
            project=p1,
            now=NOW,
            confirm=False,
            note="屋面尚未完工",
        )
        assert (report.claim_status, report.decision_note) == ("rejected", "屋面尚未完工")
        assert (p1.stage, p1.completed_on) == (Stage.STARTED, None)
        assert await pending_claim(session=session, project_id=p1.id or 0) is None
        view = await report_view(session=session, report_id=report.id or 0)
        assert view is not None
        text = decision_text(view, "zh_CN")
        assert "未获认定" in text and "原因：屋面尚未完工" in text and "仍为“开工”" in text
        assert len(await _rows(session, "progress_decided")) == 1
        # A new claim may follow the rejected one.
        await _report(session, world, p1, claim=Claim("completed", date(2026, 11, 19)))


async def test_who_may_report_and_who_may_confirm(engine: AsyncEngine, world: World) -> None:
    async with session_scope(engine) as session:
        p1 = await _p1(session, world)
        with pytest.raises(NotAllowed):  # a contact of another enterprise
            await _report(session, world, p1, contact=world.other_contact)
        with pytest.raises(InvalidInput) as nothing:
            await _report(session, world, p1, wan=None)
        assert nothing.value.params["reason"] == "nothing"
        for code in ("r1-agent-a", "admin"):
            with pytest.raises(InvalidInput) as none:  # allowed, but there is nothing to confirm
                await decide_claim(
                    session=session, official=world.officials[code], project=p1, now=NOW
                )
            assert none.value.params["reason"] == "no_claim"
        await _report(session, world, p1, claim=Claim("completed", date(2026, 11, 18)))
        with pytest.raises(InvalidInput) as twice:
            await _report(session, world, p1, claim=Claim(Stage.COMPLETED, date(2026, 11, 19)))
        assert twice.value.params["reason"] == "claim_pending"
        for code in ("r1-agent-b", "deputy-a", "principal-a"):  # another agent; the leader
            with pytest.raises(NotAllowed):
                await decide_claim(
                    session=session, official=world.officials[code], project=p1, now=NOW
                )
        await decide_claim(session=session, official=world.officials["admin"], project=p1, now=NOW)
        assert p1.stage == Stage.COMPLETED


async def test_a_project_without_agent_or_manager_asks_the_admins(
    engine: AsyncEngine, world: World
) -> None:
    async with session_scope(engine) as session:
        lone = await make_project(session, world, 5_000, code="P9")
        await _report(session, world, lone, claim=Claim("listed", date(2026, 11, 2)))
        asked = await _rows(session, "progress_claim")
    assert [r.official_id for r in asked] == [world.officials["admin"].id]


async def test_stage_dates_not_in_the_future_nor_before_the_earlier_stage(
    engine: AsyncEngine, world: World
) -> None:
    async with session_scope(engine) as session:
        p1 = await _p1(session, world)
        for day, reason in ((date(2026, 11, 21), "future"), (date(2026, 5, 1), "before_earlier")):
            with pytest.raises(InvalidInput) as refused:
                await _report(session, world, p1, claim=Claim("completed", day))
            assert refused.value.params["reason"] == reason
        assert (await session.exec(select(ProgressReport))).all() == []


async def test_reports_are_history_and_the_latest_counts(
    engine: AsyncEngine, rules: Rules, world: World
) -> None:
    async with session_scope(engine) as session:
        p1 = await _p1(session, world)
        await _report(session, world, p1, wan=10_000, now=at("2026-10-26 10:00"))
        await _report(session, world, p1, wan=12_000, now=at("2026-11-20 10:00"))
        await _report(session, world, p1, wan=12_500, now=at("2026-11-27 16:00"))  # a correction
        listed = Claim("listed", date(2026, 11, 27))
        await _report(session, world, p1, wan=None, claim=listed, now=at("2026-11-28 10:00"))
        await _report(session, world, p1, wan=13_000, now=at("2026-12-01 10:00"))  # after the cut
        reports = (await session.exec(select(ProgressReport))).all()
        assert len(reports) == 5 and {r.month for r in reports} == {
            date(2026, 10, 1),
            date(2026, 11, 1),
            date(2026, 12, 1),
        }
        cut = at("2026-12-01 09:00")
        assert await latest_invested(session=session, until=cut) == {p1.id: 12_500}
        drawn = await city_and_regions(
            session=session, rules=rules, period=Period.parse("2026-11"), cut=cut
        )
        (row,) = [p for p in drawn[0][1].projects if p.code == "P1"]
        assert row.invested_wan == 12_500
        data = await project_json(session=session, project=p1, tz=TZ)
        assert (data["invested_wan"], data["pending_claim"]) == (13_000, "listed")


async def test_a_repeated_submit_makes_one_report(engine: AsyncEngine, world: World) -> None:
    async with session_scope(engine) as session:
        p1 = await _p1(session, world)
        claim = Claim("completed", date(2026, 11, 18))
        made = [
            await report_progress(
                session=session,
                tz=TZ,
                contact=world.contact,  # type: ignore[arg-type]
                project=p1,
                now=NOW,
                claim=claim,
                invested_wan=12_000,
                key="k" * 32,
            )
            for _ in range(2)
        ]
        first, again = made
        assert first.id == again.id
        assert len(await _rows(session, "progress_claim")) == 2  # agent and manager, once


async def test_the_reminder_asks_only_for_projects_not_yet_reported(
    engine: AsyncEngine, rules: Rules, world: World
) -> None:
    async with session_scope(engine) as session:
        p1 = await _p1(session, world)
        await make_project(session, world, 30_000, code="P2")
        done = await make_project(session, world, 40_000, code="P3")
        done.stage = Stage.AT_CAPACITY  # nothing more to report
        session.add(done)
        await _report(session, world, p1, wan=8_000, now=at("2026-11-03 10:00"))
        await _report(session, world, p1, wan=9_000, now=at("2026-11-04 10:00"))
    run = await run_cycle_job(
        engine=engine, rules=rules, job="progress_reminder", now=at("2026-11-25 09:00")
    )
    assert run.notices == 1
    async with AsyncSession(engine) as session:
        report = (await session.exec(select(Report))).one()
        p2 = (await session.exec(select(Project).where(Project.code == "P2"))).one()
    assert [p["code"] for p in report.data["projects"]] == ["P2"]
    assert report.data["ids"] == [p2.id] and not report.data["escalated"]


async def test_the_agent_hears_after_three_working_days_a_tiaoxiu_saturday_counting(
    engine: AsyncEngine, rules: Rules, world: World
) -> None:
    assert rules.policy.progress.escalate_after.amount == 3
    async with session_scope(engine) as session:
        await _p1(session, world)
        await make_project(session, world, 30_000, code="P2", agent="r1-agent-b")
        await make_project(session, world, 5_000, code="P4")  # nobody serves it: the admins
        reported = await make_project(session, world, 6_000, code="P5", agent="r1-agent-a")
        await _report(session, world, reported, now=at("2026-10-09 15:00"))
    # The October reminder went out on Thursday 8 October (after National Day); Friday 9,
    # the 调休 Saturday 10 and Monday 12 are the three working days.
    october = Period.parse("2026-10")
    await run_cycle_job(
        engine=engine, rules=rules, job="progress_reminder", now=at("2026-10-08 09:00"),
        period=october,
    )  # fmt: skip
    async with session_scope(engine) as session:
        assert (
            await escalate_progress(session=session, rules=rules, now=at("2026-10-12 08:59")) == []
        )
    await run_clocks(engine=engine, rules=rules, now=at("2026-10-12 09:00"))
    async with session_scope(engine) as session:
        again = await escalate_progress(session=session, rules=rules, now=at("2026-10-12 09:05"))
        assert again == []  # once a month
        reports = (await session.exec(select(Report).where(Report.job == ESCALATION))).all()
        run = (await session.exec(select(ScheduleRun).where(ScheduleRun.job == ESCALATION))).one()
    got = {r.scope: [p["code"] for p in r.data["projects"]] for r in reports}
    assert got == {
        "official:r1-agent-a": ["P1"],
        "official:r1-agent-b": ["P2"],
        "official:admin": ["P4"],
    }
    assert all(r.data["escalated"] for r in reports)
    assert (run.period, run.status) == ("2026-10", "done")
    assert run.scheduled_for == at("2026-10-12 09:00")


async def test_an_escalation_missed_beyond_the_grace_is_skipped(
    engine: AsyncEngine, rules: Rules, world: World
) -> None:
    async with session_scope(engine) as session:
        await _p1(session, world)
    await run_cycle_job(
        engine=engine, rules=rules, job="progress_reminder", now=at("2026-11-25 09:00")
    )  # Wednesday: due Monday 30 November 09:00
    async with session_scope(engine) as session:
        late = at("2026-12-05 09:01")  # five days and a minute after
        assert await escalate_progress(session=session, rules=rules, now=late) == []
        run = (await session.exec(select(ScheduleRun).where(ScheduleRun.job == ESCALATION))).one()
        assert run.status == "skipped"
        assert (await session.exec(select(Report).where(Report.job == ESCALATION))).all() == []
        officials = (await session.exec(select(Official))).all()
    assert officials  # the world is intact
