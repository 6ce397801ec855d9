"""Notification rows: who hears of an event, resolved to people and written to the outbox.

Rows are written in the transaction of the change itself and keyed by (event, recipient), so a
notice is queued exactly once however often a sweep runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import partial

from sqlalchemy import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.codes import Audience, EventKind, Role
from models.policy import Group, GroupAudience
from models.tables.infra import TELEGRAM, Outbox
from models.tables.issue import Issue, IssueCoHandler, IssueEvent
from models.tables.org import Contact, Department, Official, Region
from models.tables.project import Project

A = Audience
AUDIENCES: dict[EventKind, tuple[Audience, ...]] = {
    EventKind.CREATED: (A.ASSIGNEE, A.COHANDLERS, A.TEAM, A.ENTERPRISE),
    EventKind.UNASSIGNED: (A.ADMINS,),
    EventKind.ACCEPTED: (A.ENTERPRISE, A.TEAM),
    EventKind.COMMENT: (A.ASSIGNEE, A.COHANDLERS, A.ENTERPRISE),
    EventKind.INFO_REQUESTED: (A.ENTERPRISE,),
    EventKind.RESUMED: (A.ASSIGNEE, A.ENTERPRISE),
    EventKind.COHANDLER_ADDED: (A.ASSIGNEE, A.COHANDLERS),
    EventKind.ESCALATED: (A.ASSIGNEE, A.PREVIOUS_ASSIGNEE, A.COHANDLERS, A.TEAM, A.ENTERPRISE),
    EventKind.DIRECT_LINE: (A.ASSIGNEE, A.PREVIOUS_ASSIGNEE, A.COHANDLERS, A.TEAM, A.ENTERPRISE),
    EventKind.RETIERED: (A.ASSIGNEE, A.PREVIOUS_ASSIGNEE, A.TEAM, A.ENTERPRISE),
    EventKind.RESOLVED: (A.ENTERPRISE, A.TEAM, A.COHANDLERS, A.REPORTER),
    EventKind.CONFIRMED: (A.ASSIGNEE, A.TEAM, A.REPORTER),
    EventKind.REOPENED: (A.ASSIGNEE, A.PREVIOUS_ASSIGNEE, A.TEAM),
    EventKind.REMINDER: (A.ASSIGNEE,),
    EventKind.OVERDUE: (A.ASSIGNEE, A.ADMINS),
    EventKind.SUPPLIED: (A.ASSIGNEE,),
    EventKind.REPEATED: (A.ASSIGNEE,),  # the handler sees the problem came up again
    EventKind.OPINION: (A.ASSIGNEE,),
    EventKind.TRANSFERRED: (A.ASSIGNEE, A.PREVIOUS_ASSIGNEE, A.ENTERPRISE),
    EventKind.COHANDLER_REMINDER: (A.LATE_COHANDLERS,),
    EventKind.COHANDLER_OVERDUE: (A.ASSIGNEE, A.LATE_COHANDLERS),
    EventKind.RATING_REMINDER: (A.ENTERPRISE,),
    EventKind.CLOSED_UNRATED: (A.ASSIGNEE, A.TEAM, A.REPORTER),
    # The enterprise and the co-handlers too when their own deadline moved (Change.also).
    EventKind.DEADLINE_RECOMPUTED: (A.ASSIGNEE,),
}


async def _officials(
    session: AsyncSession,
    audience: Audience,
    issue: Issue,
    event: IssueEvent,
    previous: int | None,
) -> set[int]:
    if audience == A.ASSIGNEE:
        return {issue.assignee_id} if issue.assignee_id else set()
    if audience == A.PREVIOUS_ASSIGNEE:
        return {previous} if previous else set()
    if audience == A.REPORTER:
        return {issue.reporter_official_id} if issue.reporter_official_id else set()
    if audience == A.TEAM:
        project = await session.get(Project, issue.project_id)
        assert project is not None
        return set(project.team_ids)
    if audience == A.ADMINS:
        query = select(Official.id).where(Official.role == Role.ADMIN)
        return {i for i in (await session.exec(query)).all() if i is not None}
    if audience == A.COHANDLERS:
        departments = select(IssueCoHandler.department_id).where(
            IssueCoHandler.issue_id == issue.id
        )
        return await _heads(session, col(Department.id).in_(departments), issue)
    if audience == A.LATE_COHANDLERS:
        codes = [*event.data.get("departments", ()), *event.data.get("reminded", ())]
        return await _heads(session, col(Department.code).in_(codes), issue)
    return set()


async def _heads(session: AsyncSession, which: ColumnElement[bool], issue: Issue) -> set[int]:
    """The heads of the departments `which` selects; in a department with several, those whose
    portfolio names the issue's category, if any does (else all of its heads)."""
    query = select(Official).join(Department, col(Department.id) == Official.department_id)
    heads = (await session.exec(query.where(Official.role == Role.DEPT_HEAD, which))).all()
    by_department: dict[int | None, list[Official]] = {}
    for head in heads:
        by_department.setdefault(head.department_id, []).append(head)
    chosen: set[int] = set()
    for members in by_department.values():
        covering = [h for h in members if h.covers(issue.category.value)]
        chosen |= {h.id for h in (covering or members) if h.id is not None}
    return chosen


async def _contacts(session: AsyncSession, issue: Issue) -> set[int]:
    project = await session.get(Project, issue.project_id)
    assert project is not None
    query = select(Contact.id).where(Contact.enterprise_id == project.enterprise_id)
    return {i for i in (await session.exec(query)).all() if i is not None}


# Events the policy's `[escalations]` groups hear of: the city's, and the issue's region's.
GROUP_EVENTS = (EventKind.ESCALATED, EventKind.DIRECT_LINE)


async def _groups(
    session: AsyncSession, issue: Issue, event: IssueEvent, groups: GroupAudience
) -> list[Group]:
    if event.kind not in GROUP_EVENTS or not (groups.groups or groups.regions):
        return []
    project = await session.get(Project, issue.project_id)
    region = await session.get(Region, project.region_id) if project else None
    own = groups.of(region.code) if region else ()
    return list({g.address: g for g in (*groups.groups, *own)}.values())


async def notify(
    *,
    session: AsyncSession,
    issue: Issue,
    event: IssueEvent,
    now: datetime,
    previous_assignee: int | None = None,
    extra: Iterable[Audience] = (),
    groups: GroupAudience | None = None,
) -> list[Outbox]:
    """Queue the event's notices for everyone concerned except whoever caused it, and for the
    `groups` that hear of it (escalations: models/policy.py `Policy.escalations`)."""
    audiences = (*AUDIENCES.get(event.kind, ()), *extra)
    officials: set[int] = set()
    for audience in audiences:
        officials |= await _officials(session, audience, issue, event, previous_assignee)
    contacts = await _contacts(session, issue) if A.ENTERPRISE in audiences else set()
    officials.discard(event.actor_official_id or 0)
    contacts.discard(event.actor_contact_id or 0)
    payload = {
        "event": event.kind.value,
        "issue": issue.number,
        "status": issue.status.value,
        "level": issue.level.value,
        "note": event.note,
        **event.data,
    }
    row = partial(
        Outbox,
        created_at=now,
        kind=event.kind.value,
        issue_id=issue.id,
        event_id=event.id,
        payload=payload,
        next_attempt_at=now,
    )
    rows = [
        row(
            dedupe_key=f"event:{event.id}:{who}:{person}",
            channel=TELEGRAM,  # to the person's own chat there (no address)
            official_id=person if who == "official" else None,
            contact_id=person if who == "contact" else None,
        )
        for who, people in (("official", officials), ("contact", contacts))
        for person in sorted(people)
    ]
    rows += [
        row(
            dedupe_key=f"event:{event.id}:{group.channel}:{group.address}",
            channel=group.channel,
            address=group.address,  # the group's name: its channel finds the URL
        )
        for group in await _groups(session, issue, event, groups or GroupAudience())
    ]
    session.add_all(rows)
    return rows
