"""Reading issues: find one by id or number, list with filters, and the contract's JSON shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case
from sqlmodel import col, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.codes import AWAITING_ACCEPT, OPEN_STATUSES, Status
from models.errors import NotFound
from models.issues.deadlines import pause_end, running_due
from models.routing import may_handle
from models.rules import Rules
from models.tables.issue import Attachment, Issue, IssueCoHandler, IssueEvent
from models.tables.org import Contact, Department, Official, Region
from models.tables.project import ProgressReport, Project


async def get_issue(*, session: AsyncSession, key: str) -> Issue:
    """An issue by its number ("2026-00012") or its id."""
    issue = (await session.exec(select(Issue).where(Issue.number == key))).first()
    if issue is None and key.isdigit():
        issue = await session.get(Issue, int(key))
    if issue is None:
        raise NotFound(entity="issue", key=key)
    return issue


async def get_by_code(*, session: AsyncSession, model: Any, code: str, entity: str) -> Any:
    """A row of a coded table (project, official, department …) by its code."""
    found = (await session.exec(select(model).where(model.code == code))).first()
    if found is None:
        raise NotFound(entity=entity, key=code)
    return found


def is_overdue(issue: Issue, now: datetime) -> bool:
    """Whether the running clock has run out."""
    due = running_due(issue)
    return due is not None and due <= now


async def list_issues(
    *,
    session: AsyncSession,
    now: datetime,
    status: Status | None = None,
    region: str | None = None,
    overdue: bool = False,
) -> list[Issue]:
    """Issues, newest first, filtered by status, region code and whether overdue now."""
    query = select(Issue).order_by(col(Issue.id).desc())
    if status is not None:
        query = query.where(Issue.status == status)
    if region is not None:
        region_row = await get_by_code(session=session, model=Region, code=region, entity="region")
        projects = select(Project.id).where(Project.region_id == region_row.id)
        query = query.where(col(Issue.project_id).in_(projects))
    if overdue:
        query = query.where(col(Issue.status).in_(OPEN_STATUSES))
    issues = list((await session.exec(query)).all())
    return [i for i in issues if is_overdue(i, now)] if overdue else issues


def _iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    return value.astimezone(tz).isoformat() if value else None


async def _codes(session: AsyncSession, model: Any, ids: set[int | None]) -> dict[int, str]:
    known = {i for i in ids if i is not None}
    if not known:
        return {}
    rows = await session.exec(select(model.id, model.code).where(model.id.in_(known)))
    return dict(rows.all())


async def issue_json(
    *,
    session: AsyncSession,
    issue: Issue,
    tz: ZoneInfo,
    events: bool = False,
    rules: Rules | None = None,
) -> dict[str, Any]:
    """The contract's JSON of an issue; with `events`, its timeline. With `rules`, when a pause
    for material runs out (`paused_until`; else null)."""
    paused_until = pause_end(issue, rules) if rules is not None else None
    project = await session.get(Project, issue.project_id)
    assert project is not None
    cohandling = (
        await session.exec(
            select(IssueCoHandler, Department.code)
            .join(Department, col(IssueCoHandler.department_id) == Department.id)
            .where(IssueCoHandler.issue_id == issue.id)
            .order_by(col(IssueCoHandler.id))
        )
    ).all()
    assignee = await _codes(session, Official, {issue.assignee_id} if issue.assignee_id else set())
    data: dict[str, Any] = {
        "id": issue.id,
        "number": issue.number,
        "project": project.code,
        "category": issue.category.value,
        "urgency": issue.urgency.value,
        "status": issue.status.value,
        "level": issue.level.value,
        "assignee": assignee.get(issue.assignee_id or 0),
        "co_handlers": [code for _row, code in cohandling],
        "co_handling": [
            {
                "department": code,
                "due": _iso(row.due_at, tz),
                "answered_at": _iso(row.answered_at, tz),
            }
            for row, code in cohandling
        ],
        "paused_until": _iso(paused_until, tz),
        "accept_due": _iso(issue.accept_due, tz),
        "resolve_due": _iso(issue.resolve_due, tz),
        "escalations": issue.escalations,
        "repeats": issue.repeats,  # reported again by its reporter while open
        "direct_line": issue.direct_line,
        "provisional": issue.provisional,
    }
    if events:
        data["text"] = issue.text
        data["rating"] = issue.rating.value if issue.rating else None
        data["events"] = await _events_json(session, issue, tz)
    return data


async def _events_json(session: AsyncSession, issue: Issue, tz: ZoneInfo) -> list[dict[str, Any]]:
    rows = list(
        (
            await session.exec(
                select(IssueEvent)
                .where(IssueEvent.issue_id == issue.id)
                .order_by(col(IssueEvent.id))
            )
        ).all()
    )
    officials = await _codes(session, Official, {e.actor_official_id for e in rows})
    contacts = await _codes(session, Contact, {e.actor_contact_id for e in rows})
    return [
        {
            "at": _iso(e.at, tz),
            "kind": e.kind.value,
            "actor": officials.get(e.actor_official_id or 0)
            or contacts.get(e.actor_contact_id or 0)
            or "system",
            "from_level": e.from_level.value if e.from_level else None,
            "to_level": e.to_level.value if e.to_level else None,
            "note": e.note,
        }
        for e in rows
    ]


@dataclass
class IssueView:
    """An issue with what a card shows: project, handler, co-handlers, latest events."""

    issue: Issue
    project: Project
    assignee: Official | None
    departments: list[Department]
    events: list[tuple[IssueEvent, str | None]]  # (event, actor's name; None for the system)
    files: int = 0  # photos and documents sent with the issue
    cohandling: list[IssueCoHandler] = field(default_factory=list)  # as `departments`, in order


async def issue_view(*, session: AsyncSession, issue: Issue, last: int = 8) -> IssueView:
    """Everything an issue card needs, in a few queries."""
    project = await session.get(Project, issue.project_id)
    assert project is not None
    assignee = await session.get(Official, issue.assignee_id) if issue.assignee_id else None
    cohandling = (
        await session.exec(
            select(IssueCoHandler, Department)
            .join(Department, col(IssueCoHandler.department_id) == Department.id)
            .where(IssueCoHandler.issue_id == issue.id)
            .order_by(col(IssueCoHandler.id))
        )
    ).all()
    timeline = (
        select(IssueEvent, Official.name, Contact.name)  # each event with who acted, at once
        .outerjoin(Official, col(IssueEvent.actor_official_id) == Official.id)
        .outerjoin(Contact, col(IssueEvent.actor_contact_id) == Contact.id)
        .where(IssueEvent.issue_id == issue.id)
        .order_by(col(IssueEvent.id).desc())
        .limit(last)
    )
    names: list[tuple[IssueEvent, str | None]] = [
        (event, official if event.actor_official_id else contact)
        for event, official, contact in reversed((await session.exec(timeline)).all())
    ]
    files = await session.exec(
        select(func.count()).select_from(Attachment).where(Attachment.issue_id == issue.id)
    )
    departments = [department for _row, department in cohandling]
    rows = [row for row, _department in cohandling]
    return IssueView(issue, project, assignee, departments, names, files.one(), rows)


async def issue_files(*, session: AsyncSession, issue: Issue) -> list[Attachment]:
    """The photos and documents sent with an issue, oldest first."""
    query = select(Attachment).where(Attachment.issue_id == issue.id).order_by(col(Attachment.id))
    return list((await session.exec(query)).all())


async def _inbox_filter(session: AsyncSession, official_id: int) -> ColumnElement[bool]:
    """An official's open issues: assigned to them, co-handled by their department (its
    opinion not given yet), or logged by them (a phone call)."""
    official = await session.get(Official, official_id)
    mine = or_(Issue.assignee_id == official_id, Issue.reporter_official_id == official_id)
    if official is not None and official.department_id is not None:
        waiting = select(IssueCoHandler.issue_id).where(
            IssueCoHandler.department_id == official.department_id,
            col(IssueCoHandler.answered_at).is_(None),
        )
        mine = or_(mine, col(Issue.id).in_(waiting))
    return and_(mine, col(Issue.status).in_(OPEN_STATUSES))


async def inbox_issues(*, session: AsyncSession, official_id: int, now: datetime) -> list[Issue]:
    """An official's open issues (see `_inbox_filter`), overdue first, then by deadline."""
    query = select(Issue).where(await _inbox_filter(session, official_id))
    issues = list((await session.exec(query)).all())
    far = datetime.max.replace(tzinfo=now.tzinfo)

    def key(issue: Issue) -> tuple[bool, datetime, int]:
        due = running_due(issue)
        return (not is_overdue(issue, now), due or far, issue.id or 0)

    return sorted(issues, key=key)


async def inbox_page(
    *, session: AsyncSession, official_id: int, now: datetime, page: int, size: int
) -> tuple[list[Issue], int]:
    """One page of `inbox_issues`, in its order, ordered and cut in SQL (an official with
    thousands of open issues is not loaded whole for five); and how many there are in all."""
    mine = await _inbox_filter(session, official_id)
    total = (await session.exec(select(func.count()).select_from(Issue).where(mine))).one()
    due = case(
        (col(Issue.status).in_(AWAITING_ACCEPT), col(Issue.accept_due)),
        (col(Issue.status) == Status.ACCEPTED, col(Issue.resolve_due)),
        else_=None,
    )
    overdue = and_(due.is_not(None), due <= now)
    query = (
        select(Issue)
        .where(mine)
        .order_by(
            case((overdue, 0), else_=1), case((due.is_(None), 1), else_=0), due, col(Issue.id)
        )
        .offset(page * size)
        .limit(size)
    )
    return list((await session.exec(query)).all()), int(total)


async def enterprise_issues(*, session: AsyncSession, enterprise_id: int) -> list[Issue]:
    """An enterprise's issues, newest first."""
    projects = select(Project.id).where(Project.enterprise_id == enterprise_id)
    query = select(Issue).where(col(Issue.project_id).in_(projects)).order_by(col(Issue.id).desc())
    return list((await session.exec(query)).all())


async def enterprise_projects(*, session: AsyncSession, enterprise_id: int) -> list[Project]:
    """An enterprise's projects by code."""
    query = select(Project).where(Project.enterprise_id == enterprise_id).order_by(Project.code)
    return list((await session.exec(query)).all())


async def latest_progress(*, session: AsyncSession, project_id: int) -> ProgressReport | None:
    """A project's most recent monthly progress report."""
    query = (
        select(ProgressReport)
        .where(ProgressReport.project_id == project_id)
        .order_by(col(ProgressReport.month).desc())
    )
    return (await session.exec(query)).first()


async def team_projects(*, session: AsyncSession, official_id: int) -> list[Project]:
    """The projects an official serves as leader, manager or agent, by code."""
    query = (
        select(Project)
        .where(
            (Project.leader_id == official_id)
            | (Project.manager_id == official_id)
            | (Project.agent_id == official_id)
        )
        .order_by(Project.code)
    )
    return list((await session.exec(query)).all())


async def transfer_targets(*, session: AsyncSession, issue: Issue) -> list[Official]:
    """The officials an issue may be transferred to (转办): those who may handle its level."""
    project = await session.get(Project, issue.project_id)
    assert project is not None
    officials = (await session.exec(select(Official).order_by(col(Official.code)))).all()
    return [
        o for o in officials if o.id != issue.assignee_id and may_handle(o, project, issue.level)
    ]


async def available_departments(*, session: AsyncSession, issue: Issue) -> list[Department]:
    """Departments that could still be added as co-handlers of an issue, by code."""
    taken = select(IssueCoHandler.department_id).where(IssueCoHandler.issue_id == issue.id)
    query = select(Department).where(col(Department.id).not_in(taken)).order_by(Department.code)
    return list((await session.exec(query)).all())


async def region_codes(*, session: AsyncSession) -> list[str]:
    """Every region's code (the city's too), sorted."""
    return sorted((await session.exec(select(Region.code))).all())
