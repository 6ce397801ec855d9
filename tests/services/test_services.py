"""Layer 2: the issue services on a real session (SQLite, or PostgreSQL in the second CI run)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.codes import Category, EventKind, Level, Rating, Status, Urgency
from models.errors import AtTop, InvalidInput, InvalidTransition, NotAllowed
from models.issues.commands import (
    Accept,
    AddCoHandler,
    Comment,
    Confirm,
    DirectLine,
    Escalate,
    Reopen,
    RequestInfo,
    Resolve,
    Resume,
)
from models.issues.context import Ctx
from models.issues.intake import report_issue
from models.issues.retier import change_investment
from models.permissions import SYSTEM
from models.queries import issue_json
from models.rules import Rules
from models.tables.infra import Outbox
from models.tables.issue import Issue, IssueEvent
from tests.support.factories import TZ, World, act, at, build_world, make_issue, make_project

T0 = at("2026-11-20 10:00")  # a Friday


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await build_world(session)


async def kinds(session: AsyncSession, issue: Issue) -> list[str]:
    rows = await session.exec(
        select(IssueEvent.kind).where(IssueEvent.issue_id == issue.id).order_by(col(IssueEvent.id))
    )
    return [k.value for k in rows.all()]


async def recipients(
    session: AsyncSession, issue: Issue, kind: EventKind, event: IssueEvent | None = None
) -> set[str]:
    query = select(Outbox).where(Outbox.issue_id == issue.id, Outbox.kind == kind.value)
    if event is not None:
        query = query.where(Outbox.event_id == event.id)
    rows = (await session.exec(query)).all()
    return {f"o{r.official_id}" if r.official_id else f"c{r.contact_id}" for r in rows}


def ids(world: World, *codes: str) -> set[str]:
    return {f"o{world.officials[c].id}" for c in codes}


# --- routing ---


@pytest.mark.parametrize(
    ("investment", "leader", "agent", "level", "assignee"),
    [
        (9999, None, "r1-agent-b", Level.SERVICE_DESK, "r1-agent-b"),  # the project's own agent
        (9999, None, None, Level.SERVICE_DESK, "r1-agent-a"),  # else first agent by code
        (10000, None, "r1-agent-b", Level.COUNTY, "r1-head"),  # exactly 1亿
        (99999, None, None, Level.COUNTY, "r1-head"),
        (100000, "deputy-b", None, Level.CITY_DEPUTY, "deputy-b"),  # exactly 10亿: its leader
        (100000, "principal-b", None, Level.CITY_DEPUTY, "deputy-a"),  # leader of another rank
        (499999, None, None, Level.CITY_DEPUTY, "deputy-a"),
        (500000, None, None, Level.CITY_PRINCIPAL, "principal-a"),  # exactly 50亿
        (600000, "principal-b", None, Level.CITY_PRINCIPAL, "principal-b"),
    ],
)
async def test_route_by_tier(
    session: AsyncSession,
    rules: Rules,
    world: World,
    investment: int,
    leader: str | None,
    agent: str | None,
    level: Level,
    assignee: str,
) -> None:
    project = await make_project(session, world, investment, leader=leader, agent=agent)
    issue = await make_issue(session, rules, world, project, T0)
    assert issue.level == level
    assert issue.assignee_id == world.officials[assignee].id
    assert issue.status == Status.SUBMITTED
    assert issue.accept_due == at("2026-11-23 10:00")  # Friday + 1 working day
    assert issue.resolve_due is None
    assert issue.number == f"2026-{issue.id:05d}"


async def test_new_issue_events_and_notices(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    project = await make_project(session, world, 20000, manager="r1-head", agent="r1-agent-b")
    issue = await make_issue(session, rules, world, project, T0, category=Category.LAND)
    data = await issue_json(session=session, issue=issue, tz=TZ)
    assert data["co_handlers"] == ["zgj"]
    assert await kinds(session, issue) == ["created"]
    # handler (also the manager), the co-handling department's head, the agent; not the reporter
    assert await recipients(session, issue, EventKind.CREATED) == ids(
        world, "r1-head", "zgj-head", "r1-agent-b"
    )


async def test_staff_intake_informs_the_enterprise(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    project = await make_project(session, world, 20000)
    issue = await make_issue(session, rules, world, project, T0, actor=world.actor("admin"))
    assert issue.reporter_official_id == world.officials["admin"].id
    assert f"c{world.contact.id}" in await recipients(session, issue, EventKind.CREATED)


async def test_a_contact_cannot_report_for_another_enterprise(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    from models.permissions import actor_of

    project = await make_project(session, world, 20000)
    with pytest.raises(NotAllowed):
        await make_issue(session, rules, world, project, T0, actor=actor_of(world.other_contact))
    with pytest.raises(NotAllowed):  # a county head of another region
        await make_issue(session, rules, world, project, T0, actor=world.actor("r2-head"))


async def test_nobody_to_assign_keeps_the_issue_and_tells_the_admins(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    from models.codes import RegionKind
    from models.tables.org import Region

    empty = Region(code="r3", name_zh="金湖县", kind=RegionKind.COUNTY)
    session.add(empty)
    await session.flush()
    project = await make_project(session, world, 20000, region=empty)
    issue = await make_issue(session, rules, world, project, T0)
    assert issue.id is not None and issue.assignee_id is None
    assert await kinds(session, issue) == ["created", "unassigned"]
    assert await recipients(session, issue, EventKind.UNASSIGNED) == ids(world, "admin")


@pytest.mark.parametrize(
    ("category", "department"),
    [(Category.ENERGY, "fgw"), (Category.PLANNING, "zgj"), (Category.POLICY, None)],
)
async def test_co_handler_by_category(
    session: AsyncSession, rules: Rules, world: World, category: Category, department: str | None
) -> None:
    project = await make_project(session, world, 20000)
    issue = await make_issue(session, rules, world, project, T0, category=category)
    data = await issue_json(session=session, issue=issue, tz=TZ)
    assert data["co_handlers"] == ([department] if department else [])


async def test_text_limits(session: AsyncSession, rules: Rules, world: World) -> None:
    project = await make_project(session, world, 20000)
    with pytest.raises(InvalidInput) as too_long:
        await report_issue(
            Ctx(session=session, rules=rules, actor=world.contact_actor, now=T0),
            project=project,
            category=Category.LAND,
            text="字" * 4001,
        )
    assert too_long.value.params["limit"] == 4000
    with pytest.raises(InvalidInput):
        await report_issue(
            Ctx(session=session, rules=rules, actor=world.contact_actor, now=T0),
            project=project,
            category=Category.LAND,
            text="   ",
        )
    issue = await report_issue(
        Ctx(session=session, rules=rules, actor=world.contact_actor, now=T0),
        project=project,
        category=Category.LAND,
        text="字" * 4000,
    )
    assert len(issue.text) == 4000


async def test_a_failed_transaction_leaves_no_issue_and_no_notice(
    engine: object, rules: Rules
) -> None:
    from models.db import session_scope

    async with session_scope(engine) as s:  # type: ignore[arg-type]
        world = await build_world(s)
        project = await make_project(s, world, 20000)
    with pytest.raises(RuntimeError):
        async with session_scope(engine) as s:  # type: ignore[arg-type]
            await make_issue(s, rules, world, project, T0)
            raise RuntimeError("crash after the change, before the commit")
    async with session_scope(engine) as s:  # type: ignore[arg-type]
        assert (await s.exec(select(func.count()).select_from(Issue))).one() == 0
        assert (await s.exec(select(func.count()).select_from(Outbox))).one() == 0


# --- the life cycle ---


async def county_issue(session: AsyncSession, rules: Rules, world: World, **kw: object) -> Issue:
    project = await make_project(session, world, 20000, manager="r1-agent-b")
    return await make_issue(session, rules, world, project, T0, **kw)  # type: ignore[arg-type]


async def test_accept_starts_the_resolve_clock(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    issue = await county_issue(session, rules, world)
    await act(session, rules, world.actor("r1-head"), Accept(issue.id), at("2026-11-20 15:00"))
    assert issue.status == Status.ACCEPTED
    assert issue.resolve_due == at("2026-11-27 15:00")  # 5 working days
    with pytest.raises(InvalidTransition):
        await act(session, rules, world.actor("r1-head"), Accept(issue.id), at("2026-11-20 16:00"))


async def test_urgent_clocks(session: AsyncSession, rules: Rules, world: World) -> None:
    issue = await county_issue(session, rules, world, urgency=Urgency.URGENT)
    assert issue.accept_due == T0 + timedelta(hours=4)
    await act(session, rules, world.actor("r1-head"), Accept(issue.id), at("2026-11-20 11:00"))
    assert issue.resolve_due == at("2026-11-24 11:00")  # 2 working days


async def test_comment_from_both_sides(session: AsyncSession, rules: Rules, world: World) -> None:
    issue = await county_issue(session, rules, world)
    event = await act(
        session, rules, world.contact_actor, Comment(issue.id, note="补充：用地红线图已上传"), T0
    )
    assert event.actor_contact_id == world.contact.id
    assert ids(world, "r1-head") <= await recipients(session, issue, EventKind.COMMENT)
    with pytest.raises(NotAllowed):
        await act(session, rules, world.actor("r2-head"), Comment(issue.id, note="…"), T0)


async def test_pause_and_resume_extend_the_deadline(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    issue = await county_issue(session, rules, world)
    head = world.actor("r1-head")
    await act(session, rules, head, Accept(issue.id), T0)
    due = issue.resolve_due
    assert due is not None
    await act(
        session, rules, head, RequestInfo(issue.id, note="请补充环评批复"), at("2026-11-23 10:00")
    )
    assert issue.status == Status.AWAITING_INFO
    assert await recipients(session, issue, EventKind.INFO_REQUESTED) == {f"c{world.contact.id}"}
    await act(session, rules, world.contact_actor, Resume(issue.id), at("2026-11-24 16:00"))
    assert issue.status == Status.ACCEPTED
    assert issue.resolve_due == due + timedelta(hours=30)


async def test_add_cohandler_once(session: AsyncSession, rules: Rules, world: World) -> None:
    issue = await county_issue(session, rules, world)
    await act(
        session,
        rules,
        world.actor("r1-head"),
        AddCoHandler(issue.id, department_id=world.departments["fgw"].id),
        T0,
    )
    assert (await issue_json(session=session, issue=issue, tz=TZ))["co_handlers"] == ["zgj", "fgw"]
    with pytest.raises(InvalidInput):
        await act(
            session,
            rules,
            world.actor("r1-head"),
            AddCoHandler(issue.id, department_id=world.departments["fgw"].id),
            T0,
        )


async def test_escalate_one_level_at_a_time_to_the_top_and_no_further(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    project = await make_project(session, world, 9999, agent="r1-agent-b")
    issue = await make_issue(session, rules, world, project, T0)
    steps = [
        ("r1-agent-b", Level.COUNTY, "r1-head"),
        ("r1-head", Level.CITY_DEPUTY, "deputy-a"),
        ("deputy-a", Level.CITY_PRINCIPAL, "principal-a"),
    ]
    now = T0
    for n, (actor, level, assignee) in enumerate(steps, start=1):
        now += timedelta(hours=1)
        event = await act(
            session, rules, world.actor(actor), Escalate(issue.id, note="超出本级权限"), now
        )
        assert (issue.level, issue.escalations, issue.status) == (level, n, Status.SUBMITTED)
        assert issue.assignee_id == world.officials[assignee].id
        assert issue.accept_due == rules.accept_due(now, level, Urgency.NORMAL).at
        assert event.to_level == level
        told = await recipients(session, issue, EventKind.ESCALATED, event)
        assert ids(world, assignee) <= told and not ids(world, actor) & told  # not the actor
    with pytest.raises(AtTop):
        await act(session, rules, world.actor("principal-a"), Escalate(issue.id), now)
    assert issue.level == Level.CITY_PRINCIPAL and issue.escalations == 3


async def test_direct_line_jumps_to_the_principal_leaders(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    issue = await county_issue(session, rules, world)
    await act(
        session,
        rules,
        world.actor("r1-head"),
        DirectLine(issue.id, note="县级无法协调能耗指标"),
        T0,
    )
    assert (issue.level, issue.direct_line, issue.status) == (
        Level.CITY_PRINCIPAL,
        True,
        Status.SUBMITTED,
    )
    assert issue.assignee_id == world.officials["principal-a"].id
    assert await kinds(session, issue) == ["created", "direct_line"]


async def test_enterprise_direct_line_only_once_overdue(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    issue = await county_issue(session, rules, world)
    with pytest.raises(NotAllowed):
        await act(session, rules, world.contact_actor, DirectLine(issue.id), T0)
    await act(session, rules, world.contact_actor, DirectLine(issue.id), at("2026-11-23 10:00"))
    assert issue.level == Level.CITY_PRINCIPAL


async def test_resolve_then_rate(session: AsyncSession, rules: Rules, world: World) -> None:
    issue = await county_issue(session, rules, world)
    head = world.actor("r1-head")
    await act(session, rules, head, Accept(issue.id), T0)
    with pytest.raises(InvalidInput):
        await act(session, rules, head, Resolve(issue.id, note=""), T0)
    await act(session, rules, head, Resolve(issue.id, note="已协调土地指标"), T0)
    assert await recipients(session, issue, EventKind.RESOLVED) >= {f"c{world.contact.id}"}
    with pytest.raises(NotAllowed):
        await act(session, rules, head, Confirm(issue.id, rating=Rating.SATISFIED), T0)
    await act(
        session,
        rules,
        world.contact_actor,
        Confirm(issue.id, rating=Rating.BASICALLY_SATISFIED),
        T0,
    )
    assert (issue.status, issue.rating) == (Status.CLOSED, Rating.BASICALLY_SATISFIED)
    with pytest.raises(InvalidTransition):
        await act(session, rules, world.contact_actor, Reopen(issue.id), T0)


async def resolved(session: AsyncSession, rules: Rules, world: World) -> Issue:
    issue = await county_issue(session, rules, world)
    head = world.actor("r1-head")
    await act(session, rules, head, Accept(issue.id), T0)
    await act(session, rules, head, Resolve(issue.id, note="已办结"), T0)
    return issue


async def test_unsatisfied_reopens_one_level_up(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    issue = await resolved(session, rules, world)
    later = at("2026-11-24 09:00")
    await act(
        session,
        rules,
        world.contact_actor,
        Confirm(issue.id, rating=Rating.UNSATISFIED, note="问题并未解决"),
        later,
    )
    assert (issue.status, issue.level) == (Status.REOPENED, Level.CITY_DEPUTY)
    assert issue.assignee_id == world.officials["deputy-a"].id
    assert issue.reopen_count == 1 and issue.accept_due == at("2026-11-25 09:00")
    await act(session, rules, world.actor("deputy-a"), Accept(issue.id), later)
    assert issue.status == Status.ACCEPTED


async def test_reopen_goes_back_to_the_same_handler(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    issue = await resolved(session, rules, world)
    await act(session, rules, world.contact_actor, Reopen(issue.id), T0)
    assert (issue.status, issue.level) == (Status.REOPENED, Level.COUNTY)
    assert issue.assignee_id == world.officials["r1-head"].id
    # a reopened issue lets the enterprise take the direct line (shipped policy)
    await act(session, rules, world.contact_actor, DirectLine(issue.id), T0)
    assert issue.level == Level.CITY_PRINCIPAL


async def test_events_are_append_only_and_complete(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    issue = await resolved(session, rules, world)
    await act(session, rules, world.contact_actor, Confirm(issue.id, rating=Rating.SATISFIED), T0)
    assert await kinds(session, issue) == ["created", "accepted", "resolved", "confirmed"]
    data = await issue_json(session=session, issue=issue, tz=TZ, events=True)
    assert [e["actor"] for e in data["events"]] == ["C1", "r1-head", "r1-head", "C1"]
    assert data["events"][2]["note"] == "已办结"


async def test_deadlines_into_an_unknown_year_are_provisional_and_admins_told(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    project = await make_project(session, world, 20000)
    issue = await make_issue(session, rules, world, project, at("2026-12-31 10:00"))
    assert issue.provisional
    data = await issue_json(session=session, issue=issue, tz=TZ)
    assert data["provisional"] is True and data["accept_due"] == "2027-01-04T10:00:00+08:00"
    assert ids(world, "admin") <= await recipients(session, issue, EventKind.CREATED)


# --- re-tiering ---


async def test_retier_moves_open_issues_up(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    project = await make_project(session, world, 9999, agent="r1-agent-b")
    issue = await make_issue(session, rules, world, project, T0)
    closed = await make_issue(session, rules, world, project, T0)
    closed.status = Status.CLOSED
    moved = await change_investment(
        Ctx(session=session, rules=rules, actor=SYSTEM, now=at("2026-11-21 09:00")),
        project,
        100000,
    )
    assert moved == [issue.number]
    assert (issue.level, issue.status) == (Level.CITY_DEPUTY, Status.SUBMITTED)
    assert issue.assignee_id == world.officials["deputy-a"].id
    assert closed.level == Level.SERVICE_DESK
    assert await kinds(session, issue) == ["created", "retiered"]


async def test_retier_never_pulls_an_escalated_issue_down(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    project = await make_project(session, world, 100000)
    escalated = await make_issue(session, rules, world, project, T0)
    await act(session, rules, world.actor("deputy-a"), Escalate(escalated.id), T0)
    plain = await make_issue(session, rules, world, project, T0)
    moved = await change_investment(
        Ctx(session=session, rules=rules, actor=SYSTEM, now=T0), project, 9000
    )
    assert moved == [plain.number]
    assert escalated.level == Level.CITY_PRINCIPAL
    assert plain.level == Level.SERVICE_DESK


async def test_same_tier_change_moves_nothing(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    project = await make_project(session, world, 10000)
    await make_issue(session, rules, world, project, T0)
    assert (
        await change_investment(
            Ctx(session=session, rules=rules, actor=SYSTEM, now=T0), project, 99999
        )
        == []
    )
