"""Notification rows: who hears of an event, resolved to people and written to the outbox.

Rows are written in the transaction of the change itself and keyed by (event, recipient), so a
notice is queued exactly once however often a sweep runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.codes import Audience, EventKind, Role
from models.tables.infra import TELEGRAM, Outbox
from models.tables.issue import Issue, IssueCoHandler, IssueEvent
from models.tables.org import Contact, Official
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
    EventKind.RESOLVED: (A.ENTERPRISE, A.TEAM, A.COHANDLERS),
    EventKind.CONFIRMED: (A.ASSIGNEE, A.TEAM),
    EventKind.REOPENED: (A.ASSIGNEE, A.PREVIOUS_ASSIGNEE, A.TEAM),
    EventKind.REMINDER: (A.ASSIGNEE,),
    EventKind.OVERDUE: (A.ASSIGNEE, A.ADMINS),
}


async def _officials(
    session: AsyncSession, audience: Audience, issue: Issue, previous: int | None
) -> set[int]:
    if audience == A.ASSIGNEE:
        return {issue.assignee_id} if issue.assignee_id else set()
    if audience == A.PREVIOUS_ASSIGNEE:
        return {previous} if previous else set()
    if audience == A.TEAM:
        project = await session.get(Project, issue.project_id)
        assert project is not None
        return set(project.team_ids)
    if audience == A.ADMINS:
        query = select(Official.id).where(Official.role == Role.ADMIN)
    elif audience == A.COHANDLERS:
        departments = select(IssueCoHandler.department_id).where(
            IssueCoHandler.issue_id == issue.id
        )
        query = select(Official.id).where(
            Official.role == Role.DEPT_HEAD, col(Official.department_id).in_(departments)
        )
    else:
        return set()
    return {i for i in (await session.exec(query)).all() if i is not None}


async def _contacts(session: AsyncSession, issue: Issue) -> set[int]:
    project = await session.get(Project, issue.project_id)
    assert project is not None
    query = select(Contact.id).where(Contact.enterprise_id == project.enterprise_id)
    return {i for i in (await session.exec(query)).all() if i is not None}


async def notify(
    *,
    session: AsyncSession,
    issue: Issue,
    event: IssueEvent,
    now: datetime,
    previous_assignee: int | None = None,
    extra: Iterable[Audience] = (),
) -> list[Outbox]:
    """Queue the event's notices for everyone concerned except whoever caused it."""
    audiences = (*AUDIENCES.get(event.kind, ()), *extra)
    officials: set[int] = set()
    for audience in audiences:
        officials |= await _officials(session, audience, issue, previous_assignee)
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
    rows = [
        Outbox(
            dedupe_key=f"event:{event.id}:{who}:{person}",
            created_at=now,
            kind=event.kind.value,
            issue_id=issue.id,
            event_id=event.id,
            payload=payload,
            next_attempt_at=now,
            channel=TELEGRAM,  # to the person's own chat there (no address)
            official_id=person if who == "official" else None,
            contact_id=person if who == "contact" else None,
        )
        for who, people in (("official", officials), ("contact", contacts))
        for person in sorted(people)
    ]
    session.add_all(rows)
    return rows
