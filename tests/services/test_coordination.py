"""Issue 13, the loop around the ladder, on a real database: material replies, co-handling as
real work (deadlines, opinions, the late named), routing by portfolio, transfer, close-out."""

from __future__ import annotations

import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.bulletin import city_and_regions
from models.codes import Category, EventKind, Level, Rating, Role, Status, Urgency
from models.errors import InvalidInput, InvalidTransition, NotAllowed
from models.issues.commands import (
    Accept,
    Confirm,
    FileIn,
    Opinion,
    RequestInfo,
    Resolve,
    Supply,
    Transfer,
)
from models.issues.sweep import process_cohandlers
from models.periods import Period
from models.permissions import Actor
from models.queries import inbox_issues, issue_json
from models.rules import Rules
from models.tables.infra import Outbox
from models.tables.issue import Attachment, Issue, IssueCoHandler, IssueEvent
from models.tables.org import Official
from tests.support.factories import TZ, World, act, at, build_world, make_issue, make_project

T0 = at("2026-11-20 10:00")  # a Friday


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await build_world(session)


async def county_issue(session: AsyncSession, rules: Rules, world: World, **kw: object) -> Issue:
    """A 2亿 project's land issue: at county level with r1-head, zgj co-handling."""
    project = await make_project(session, world, 20_000)
    return await make_issue(session, rules, world, project, T0, **kw)  # type: ignore[arg-type]


async def notified(session: AsyncSession, issue: Issue, kind: EventKind) -> set[int | None]:
    query = select(Outbox.official_id).where(Outbox.issue_id == issue.id, Outbox.kind == kind)
    return set((await session.exec(query)).all())


# --- material replies ----------------------------------------------------------------------


async def test_material_resumes_the_clock_at_once_and_keeps_the_files(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    issue = await county_issue(session, rules, world)
    head = world.actor("r1-head")
    await act(session, rules, head, Accept(issue.id), T0)
    due = issue.resolve_due
    assert due is not None
    await act(session, rules, head, RequestInfo(issue.id, note="请补充红线图"), T0)
    assert issue.status == Status.AWAITING_INFO
    data = (await issue_json(session=session, issue=issue, tz=TZ, rules=rules))["paused_until"]
    assert data == "2026-12-04T10:00:00+08:00"  # the 10 working days' cap
    pdf = FileIn(kind="document", data=b"%PDF-1.4", name="红线图.pdf", mime="application/pdf")
    later = at("2026-11-23 10:00")  # three days stood still
    event = await act(
        session, rules, world.contact_actor, Supply(issue.id, note="见附件", files=(pdf,)), later
    )
    assert event is not None and event.kind == EventKind.SUPPLIED
    assert issue.status == Status.ACCEPTED and issue.resolve_due == due + (later - T0)
    files = (await session.exec(select(Attachment).where(Attachment.event_id == event.id))).all()
    assert [(f.file_name, f.data) for f in files] == [("红线图.pdf", b"%PDF-1.4")]
    assert await notified(session, issue, EventKind.SUPPLIED) == {world.officials["r1-head"].id}
    assert event.data["paused_seconds"] == 3 * 24 * 3600


async def test_material_only_from_the_enterprise_and_only_when_asked(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    issue = await county_issue(session, rules, world)
    with pytest.raises(InvalidTransition):  # nothing was asked
        await act(session, rules, world.contact_actor, Supply(issue.id, note="…"), T0)
    head = world.actor("r1-head")
    await act(session, rules, head, Accept(issue.id), T0)
    await act(session, rules, head, RequestInfo(issue.id, note="请补充"), T0)
    other = Actor("contact", 999, enterprise_id=999)
    with pytest.raises(NotAllowed):
        await act(session, rules, other, Supply(issue.id, note="不是我的"), T0)
    with pytest.raises(InvalidInput):  # neither words nor files
        await act(session, rules, world.contact_actor, Supply(issue.id), T0)


# --- co-handling ---------------------------------------------------------------------------


async def test_a_co_handler_is_reminded_then_named_late_once(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    issue = await county_issue(session, rules, world)
    (row,) = (await session.exec(select(IssueCoHandler))).all()
    assert row.due_at == at("2026-11-25 10:00")  # 3 working days: Mon, Tue, Wed
    zgj = world.officials["zgj-head"].id
    assert await process_cohandlers(session=session, rules=rules, now=at("2026-11-23 08:59")) == []
    # 50 %: Sunday 22:00, so Monday's working morning; 80 %: Tuesday 12:00 (both before the due)
    assert await process_cohandlers(session=session, rules=rules, now=at("2026-11-23 09:00")) == [
        issue.number
    ]
    assert await notified(session, issue, EventKind.COHANDLER_REMINDER) == {zgj}
    assert await process_cohandlers(session=session, rules=rules, now=at("2026-11-23 09:00")) == []
    await process_cohandlers(session=session, rules=rules, now=at("2026-11-24 12:00"))
    late = await process_cohandlers(session=session, rules=rules, now=at("2026-11-25 10:00"))
    assert late == [issue.number] and row.overdue
    assert await notified(session, issue, EventKind.COHANDLER_OVERDUE) == {
        zgj,
        world.officials["r1-head"].id,
    }
    assert await process_cohandlers(session=session, rules=rules, now=at("2026-12-25 10:00")) == []
    card = await issue_json(session=session, issue=issue, tz=TZ)
    assert card["co_handling"] == [
        {"department": "zgj", "due": "2026-11-25T10:00:00+08:00", "answered_at": None}
    ]


async def test_an_urgent_issue_gives_its_co_handler_one_working_day(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    await county_issue(session, rules, world, urgency=Urgency.URGENT)
    (row,) = (await session.exec(select(IssueCoHandler))).all()
    assert row.due_at == at("2026-11-23 10:00")


async def test_an_opinion_answers_the_co_handling_and_only_its_head_gives_it(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    issue = await county_issue(session, rules, world)
    for outsider in ("fgw-head", "r1-head", "r1-agent-a"):
        with pytest.raises(NotAllowed):
            await act(session, rules, world.actor(outsider), Opinion(issue.id, note="…"), T0)
    zgj = world.actor("zgj-head")
    assert [i.id for i in await inbox_issues(session=session, official_id=zgj.id, now=T0)] == [
        issue.id
    ]
    event = await act(session, rules, zgj, Opinion(issue.id, note="用地指标已在调剂"), T0)
    assert event is not None and event.data["on_time"] is True
    assert event.data["names"]["zh_CN"] == "zgj"
    (row,) = (await session.exec(select(IssueCoHandler))).all()
    assert row.answered_at == T0 and row.next_check_at is None
    assert await inbox_issues(session=session, official_id=zgj.id, now=T0) == []  # answered
    assert await notified(session, issue, EventKind.OPINION) == {world.officials["r1-head"].id}


async def test_the_bulletin_rates_departments_and_names_the_late(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    project = await make_project(session, world, 20_000)
    on_time = await make_issue(session, rules, world, project, T0)
    late_one = await make_issue(session, rules, world, project, T0, category=Category.PLANNING)
    zgj = world.actor("zgj-head")
    await act(session, rules, zgj, Opinion(on_time.id, note="同意"), at("2026-11-24 10:00"))
    await process_cohandlers(session=session, rules=rules, now=at("2026-11-26 10:00"))
    drawn = await city_and_regions(
        session=session, rules=rules, period=Period.parse("2026-11"), cut=at("2026-12-01 00:00")
    )
    city = dict((b.scope, b) for _region, b in drawn)["city"]
    (department,) = city.departments
    assert (department.code, department.on_time, department.due) == ("zgj", 1, 2)
    assert department.late == [late_one.number] and department.rate == pytest.approx(0.5)


# --- routing by portfolio, and transfer ----------------------------------------------------


async def test_a_deputy_gets_the_issues_of_their_portfolio(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    world.officials["deputy-b"].portfolio = "新能源;energy"
    session.add(world.officials["deputy-b"])
    solar = await make_project(session, world, 120_000, code="P2")
    solar.industry = "新能源"
    steel = await make_project(session, world, 120_000, code="P3")
    steel.industry = "钢铁"
    by_industry = await make_issue(session, rules, world, solar, T0)
    by_category = await make_issue(session, rules, world, steel, T0, category=Category.ENERGY)
    by_code = await make_issue(session, rules, world, steel, T0)
    led = await make_project(session, world, 120_000, code="P4", leader="deputy-a")
    led.industry = "新能源"
    leader_first = await make_issue(session, rules, world, led, T0)
    deputy = {code: world.officials[code].id for code in ("deputy-a", "deputy-b")}
    assert by_industry.assignee_id == deputy["deputy-b"]
    assert by_category.assignee_id == deputy["deputy-b"]
    assert by_code.assignee_id == deputy["deputy-a"]  # nobody's portfolio: the first by code
    assert leader_first.assignee_id == deputy["deputy-a"]  # the project's own leader comes first
    assert by_industry.level == Level.CITY_DEPUTY


async def test_a_transfer_moves_the_issue_within_its_level_and_tells_both(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    second = Official(
        code="r1-head-2", name="二号", role=Role.REGION_HEAD, region_id=world.region.id
    )
    session.add(second)
    await session.flush()
    issue = await county_issue(session, rules, world)
    due, head = issue.accept_due, world.actor("r1-head")
    with pytest.raises(NotAllowed):  # not the handler, not an admin
        await act(
            session, rules, world.actor("r1-agent-a"), Transfer(issue.id, second.id, "…"), T0
        )
    with pytest.raises(InvalidInput):  # another region's head handles no issue of r1
        other = world.officials["r2-head"].id
        await act(session, rules, head, Transfer(issue.id, other, note="转给涟水"), T0)
    with pytest.raises(InvalidInput):  # a transfer says why
        await act(session, rules, head, Transfer(issue.id, second.id, note=""), T0)
    event = await act(session, rules, head, Transfer(issue.id, second.id, note="分工调整"), T0)
    assert event is not None and event.data["to"] == "r1-head-2"
    assert issue.assignee_id == second.id and issue.accept_due == due  # the clock runs on
    assert issue.level == Level.COUNTY and issue.status == Status.SUBMITTED
    assert await notified(session, issue, EventKind.TRANSFERRED) == {second.id, None}  # + contact
    admin = world.actor("admin")  # an admin may transfer too: both handlers hear of it
    first = world.officials["r1-head"].id
    await act(session, rules, admin, Transfer(issue.id, first, note="复原"), T0)
    assert issue.assignee_id == first
    assert await notified(session, issue, EventKind.TRANSFERRED) == {second.id, first, None}


# --- close-out -----------------------------------------------------------------------------


async def test_not_satisfied_says_why(session: AsyncSession, rules: Rules, world: World) -> None:
    issue = await county_issue(session, rules, world)
    head = world.actor("r1-head")
    await act(session, rules, head, Accept(issue.id), T0)
    await act(session, rules, head, Resolve(issue.id, note="已协调"), T0)
    with pytest.raises(InvalidInput):
        await act(session, rules, world.contact_actor, Confirm(issue.id, Rating.UNSATISFIED), T0)
    assert issue.status == Status.RESOLVED  # nothing changed
    event = await act(
        session,
        rules,
        world.contact_actor,
        Confirm(issue.id, Rating.UNSATISFIED, note="指标仍未到位"),
        T0,
    )
    assert event is not None and event.note == "指标仍未到位"
    assert (issue.status, issue.level) == (Status.REOPENED, Level.CITY_DEPUTY)


async def test_staff_who_logged_a_call_follow_it_and_hear_of_its_end(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    project = await make_project(session, world, 20_000)
    agent = world.actor("r1-agent-a")
    issue = await make_issue(session, rules, world, project, T0, actor=agent)
    assert issue.assignee_id == world.officials["r1-head"].id
    mine = await inbox_issues(session=session, official_id=agent.id, now=T0)
    assert [i.id for i in mine] == [issue.id]
    head = world.actor("r1-head")
    await act(session, rules, head, Accept(issue.id), T0)
    await act(session, rules, head, Resolve(issue.id, note="已办结"), T0)
    assert agent.id in await notified(session, issue, EventKind.RESOLVED)
    query = select(IssueEvent.kind).where(IssueEvent.issue_id == issue.id)
    assert EventKind.RESOLVED in (await session.exec(query.order_by(col(IssueEvent.id)))).all()
