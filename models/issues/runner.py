"""What every action on an issue shares, written once: load and lock the issue, authorize the
actor against the permission matrix, apply the command, append its event, queue its notices.

`run(ctx, command)` is the one way an issue changes after it is reported — from a chat button,
the CLI, the clock sweep or an import. Each command's own work is a function in actions.py that
changes the issue and says what happened (`Change`); the event and the notices follow from that,
in the caller's transaction (the runner flushes, the caller commits).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audit import chain_event
from models.codes import Audience, EventKind, Level, Status
from models.errors import NotFound
from models.issues.actions import REGISTRY
from models.issues.commands import Command
from models.issues.context import Change, Ctx, Outcome
from models.issues.deadlines import RUNNING_DUE, next_check, running_due
from models.notify import notify
from models.permissions import IssueFacts, require
from models.tables.issue import Issue, IssueCoHandler, IssueEvent
from models.tables.project import Project

log = logging.getLogger(__name__)


async def facts_for(*, session: AsyncSession, issue: Issue) -> IssueFacts:
    """The facts the permission matrix needs about an issue."""
    project = await session.get(Project, issue.project_id)
    if project is None:
        raise NotFound(entity="project", key=str(issue.project_id))
    departments = await session.exec(
        select(IssueCoHandler.department_id).where(IssueCoHandler.issue_id == issue.id)
    )
    return IssueFacts(
        number=issue.number or str(issue.id),
        status=issue.status,
        level=issue.level,
        assignee_id=issue.assignee_id,
        enterprise_id=project.enterprise_id,
        region_id=project.region_id,
        team_ids=project.team_ids,
        cohandler_department_ids=frozenset(departments.all()),
        missed_deadlines=issue.missed_deadlines,
        reopen_count=issue.reopen_count,
        running_due=running_due(issue),
    )


async def run(ctx: Ctx, command: Command, *, issue: Issue | None = None) -> Outcome:
    """Do `command` as `ctx.actor` at `ctx.now`; raise the typed DomainError if it may not.

    `issue` is the command's issue when the caller holds it already (the sweep locked it).
    """
    if issue is None:
        issue = await _locked(ctx.session, command.issue_id)
    facts = await facts_for(session=ctx.session, issue=issue)
    require(ctx.actor, command.action, facts, ctx.rules.policy, ctx.now)
    before = (issue.level, issue.status)
    change = await REGISTRY[type(command)](ctx, issue, command)
    if change is None:
        return Outcome(issue, None)
    return Outcome(issue, await record(ctx, issue, change, before))


async def _locked(session: AsyncSession, issue_id: int) -> Issue:
    """The issue, its row locked until the transaction ends (PostgreSQL; SQLite writes one at
    a time anyway, and the version column catches a race either way)."""
    query = select(Issue).where(Issue.id == issue_id).with_for_update()
    issue = (await session.exec(query)).first()
    if issue is None:
        raise NotFound(entity="issue", key=str(issue_id))
    return issue


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


async def record(
    ctx: Ctx, issue: Issue, change: Change, before: tuple[Level, Status] | None = None
) -> IssueEvent:
    """Append the event for a change already made to `issue` and queue its notices."""
    issue.updated_at = ctx.now
    issue.next_check_at = next_check(issue, ctx.rules)
    ctx.session.add(issue)
    from_level, from_status = before or (issue.level, issue.status)
    assert issue.id is not None
    actor = ctx.actor
    event = IssueEvent(
        issue_id=issue.id,
        at=ctx.now,
        kind=change.kind,
        actor_official_id=actor.id if actor.kind == "official" else None,
        actor_contact_id=actor.id if actor.kind == "contact" else None,
        from_level=from_level,
        to_level=issue.level,
        from_status=from_status,
        to_status=issue.status,
        note=change.note,
        # The clock running after the change, so a figure drawn as at any moment reads the
        # deadline of that moment from the history (models/bulletin.py), not today's row.
        data={**change.data, RUNNING_DUE: _iso(running_due(issue))},
    )
    chain_event(issue, event)  # its issue's hash chain (models/audit.py)
    ctx.session.add(event)
    await ctx.session.flush()
    log.info(
        "issue %s: %s by %s%s (%s, %s)",
        issue.number,
        change.kind.value,
        actor.kind,
        f" {actor.id}" if actor.id is not None else "",
        issue.level.value,
        issue.status.value,
    )
    for file in change.files:
        file.issue_id, file.event_id = issue.id, event.id
        ctx.session.add(file)
    also = change.also
    if issue.provisional and change.kind in (EventKind.CREATED, EventKind.ESCALATED):
        also = (*also, Audience.ADMINS)  # a deadline in a year whose holidays are not known
    await notify(
        session=ctx.session,
        issue=issue,
        event=event,
        now=ctx.now,
        previous_assignee=change.previous_assignee,
        extra=also,
        groups=ctx.rules.policy.escalations,
    )
    return event
