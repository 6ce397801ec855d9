"""The issue life cycle: report, accept, reply, pause, escalate, direct line, resolve, rate.

Each service takes a session, the rules, an actor and `now`; asks models.permissions; changes the
issue; appends its event; queues its notices — all in the caller's transaction (services flush,
the caller commits). An invalid request raises a typed models.errors.DomainError.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.codes import (
    AWAITING_ACCEPT,
    Action,
    Audience,
    Category,
    EventKind,
    Level,
    Rating,
    Status,
    Urgency,
)
from models.errors import InvalidInput, NotAllowed, NotFound
from models.notify import notify
from models.permissions import Actor, IssueFacts, may_report, require
from models.routing import assignee_for, department_for
from models.rules import Rules, level_above, top_level
from models.tables.issue import Issue, IssueCoHandler, IssueEvent
from models.tables.org import Department
from models.tables.project import Project
from models.text import clean_text

MAX_TEXT = 4000


def running_due(issue: Issue) -> datetime | None:
    """The deadline of the clock running now (None while paused or closed)."""
    if issue.status in AWAITING_ACCEPT:
        return issue.accept_due
    return issue.resolve_due if issue.status == Status.ACCEPTED else None


def pause_end(issue: Issue, rules: Rules) -> datetime | None:
    """When a pause for the enterprise's material runs out (None if not paused)."""
    if issue.status != Status.AWAITING_INFO or issue.paused_at is None:
        return None
    return rules.due(issue.paused_at, rules.policy.pause.cap).at


def reminder_moments(issue: Issue, rules: Rules, due: datetime) -> list[datetime]:
    """The moments of the policy's reminders within the running clock's span.

    A normal issue's reminder that falls on a weekend or holiday waits for the next working
    day's morning (one past the deadline never comes: the deadline acts first); an urgent
    issue's reminder goes out when it falls (急事急办).
    """
    assert issue.clock_start is not None
    span = due - issue.clock_start
    moments = [issue.clock_start + span * f for f in rules.policy.reminders.fractions]
    if issue.urgency == Urgency.URGENT:
        return moments
    return [rules.working_morning(moment) for moment in moments]


def next_check(issue: Issue, rules: Rules) -> datetime | None:
    """When the clock sweep must next look at the issue: a reminder, a deadline or the pause cap.

    Kept in an indexed column so the every-minute sweep reads only the issues that need it.
    """
    if issue.status == Status.AWAITING_INFO:
        return pause_end(issue, rules)
    due = running_due(issue)
    if due is None or issue.clock_start is None or issue.overdue_flagged:
        return None
    pending = reminder_moments(issue, rules, due)[issue.reminders_sent :]
    return min(pending, default=due)


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


async def authorize(
    *,
    session: AsyncSession,
    rules: Rules,
    actor: Actor,
    action: Action,
    issue: Issue,
    now: datetime,
) -> None:
    """Raise unless `actor` may do `action` on `issue` now."""
    require(actor, action, await facts_for(session=session, issue=issue), rules.policy, now)


async def record(
    *,
    session: AsyncSession,
    rules: Rules,
    issue: Issue,
    kind: EventKind,
    actor: Actor,
    now: datetime,
    before: tuple[Level, Status] | None = None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    previous_assignee: int | None = None,
    extra: tuple[Audience, ...] = (),
) -> IssueEvent:
    """Append the event for a change already made to `issue` and queue its notices."""
    issue.updated_at = now
    issue.next_check_at = next_check(issue, rules)
    session.add(issue)
    from_level, from_status = before or (issue.level, issue.status)
    assert issue.id is not None
    event = IssueEvent(
        issue_id=issue.id,
        at=now,
        kind=kind,
        actor_official_id=actor.id if actor.kind == "official" else None,
        actor_contact_id=actor.id if actor.kind == "contact" else None,
        from_level=from_level,
        to_level=issue.level,
        from_status=from_status,
        to_status=issue.status,
        note=note,
        data=data or {},
    )
    session.add(event)
    await session.flush()
    if issue.provisional and kind in (EventKind.CREATED, EventKind.ESCALATED):
        extra = (*extra, Audience.ADMINS)
    await notify(
        session=session,
        issue=issue,
        event=event,
        now=now,
        previous_assignee=previous_assignee,
        extra=extra,
    )
    return event


def start_accept_clock(issue: Issue, rules: Rules, now: datetime) -> None:
    """The level's assignee must accept afresh: the accept clock starts now."""
    due = rules.accept_due(now, issue.level, issue.urgency)
    issue.clock_start, issue.accept_due, issue.resolve_due = now, due.at, None
    issue.provisional, issue.reminders_sent, issue.overdue_flagged = due.provisional, 0, False
    issue.paused_at = None


def start_resolve_clock(issue: Issue, rules: Rules, now: datetime) -> None:
    """Accepted: the resolve clock starts now."""
    due = rules.resolve_due(now, issue.level, issue.urgency)
    issue.clock_start, issue.resolve_due = now, due.at
    issue.provisional, issue.reminders_sent, issue.overdue_flagged = due.provisional, 0, False


def _clean_text(text: str | None, field: str, *, required: bool) -> str | None:
    value = clean_text(text or "").strip()
    if required and not value:
        raise InvalidInput(field=field, reason="empty")
    if len(value) > MAX_TEXT:
        raise InvalidInput(field=field, reason="too_long", limit=MAX_TEXT, length=len(value))
    return value or None


async def move_to_level(
    *,
    session: AsyncSession,
    rules: Rules,
    issue: Issue,
    level: Level,
    now: datetime,
    status: Status = Status.SUBMITTED,
) -> int | None:
    """Put the issue at `level`, in `status`, with that level's assignee and a fresh accept clock.

    Returns the previous assignee. An issue nobody can take is kept, unassigned, for the admins.
    """
    project = await session.get(Project, issue.project_id)
    assert project is not None
    previous = issue.assignee_id
    official = await assignee_for(session=session, project=project, level=level)
    issue.level, issue.assignee_id = level, official.id if official else None
    issue.status = status
    start_accept_clock(issue, rules, now)
    return previous


async def issue_by_submission(*, session: AsyncSession, key: str) -> Issue | None:
    """The issue a report with this submission key created, if any."""
    query = select(Issue).where(Issue.submission_key == key)
    return (await session.exec(query)).first()


async def report_issue(
    *,
    session: AsyncSession,
    rules: Rules,
    actor: Actor,
    project: Project,
    category: Category,
    text: str,
    urgency: Urgency = Urgency.NORMAL,
    now: datetime,
    submission_key: str | None = None,
) -> Issue:
    """Create an issue for a project and route it to the level of the project's tier.

    With a `submission_key` (the chat's draft id) the report is idempotent: the same key again —
    a double tap, or a press repeated after a crash between commit and reply — returns the issue
    the first submit created, and changes nothing.
    """
    if submission_key is not None:
        existing = await issue_by_submission(session=session, key=submission_key)
        if existing is not None:
            return existing
    if not may_report(
        actor,
        enterprise_id=project.enterprise_id,
        region_id=project.region_id,
        team_ids=project.team_ids,
    ):
        raise NotAllowed(action="report", issue=project.code)
    body = _clean_text(text, "text", required=True)
    assert body is not None and project.id is not None
    issue = Issue(
        project_id=project.id,
        reporter_contact_id=actor.id if actor.kind == "contact" else None,
        reporter_official_id=actor.id if actor.kind == "official" else None,
        category=category,
        urgency=urgency,
        text=body,
        status=Status.SUBMITTED,
        level=rules.level_for(project.investment_wan),
        created_at=now,
        updated_at=now,
        submission_key=submission_key,
    )
    session.add(issue)
    await session.flush()
    issue.number = f"{now.astimezone(rules.tz).year}-{issue.id:05d}"
    await move_to_level(session=session, rules=rules, issue=issue, level=issue.level, now=now)
    department = await department_for(session=session, category=category, policy=rules.policy)
    if department is not None:
        assert department.id is not None and issue.id is not None
        session.add(IssueCoHandler(issue_id=issue.id, department_id=department.id, added_at=now))
    await record(
        session=session,
        rules=rules,
        issue=issue,
        kind=EventKind.CREATED,
        actor=actor,
        now=now,
        before=(issue.level, Status.SUBMITTED),
        note=body,
    )
    if issue.assignee_id is None:
        await record(
            session=session,
            rules=rules,
            issue=issue,
            kind=EventKind.UNASSIGNED,
            actor=actor,
            now=now,
        )
    return issue


async def accept_issue(
    *,
    session: AsyncSession,
    rules: Rules,
    actor: Actor,
    issue: Issue,
    now: datetime,
    note: str | None = None,
) -> IssueEvent:
    """受理: the handler takes the issue on; the resolve clock starts."""
    await authorize(
        session=session, rules=rules, actor=actor, action=Action.ACCEPT, issue=issue, now=now
    )
    before = (issue.level, issue.status)
    # Kept on the event for 响应率: the deadline moves on with the issue, the event stays.
    on_time = issue.accept_due is None or now <= issue.accept_due
    issue.status = Status.ACCEPTED
    start_resolve_clock(issue, rules, now)
    return await record(
        session=session,
        rules=rules,
        issue=issue,
        kind=EventKind.ACCEPTED,
        actor=actor,
        now=now,
        before=before,
        note=_clean_text(note, "note", required=False),
        data={"on_time": on_time},
    )


async def comment_issue(
    *, session: AsyncSession, rules: Rules, actor: Actor, issue: Issue, text: str, now: datetime
) -> IssueEvent:
    """A reply or comment on the issue's timeline, for the other side to read."""
    await authorize(
        session=session, rules=rules, actor=actor, action=Action.COMMENT, issue=issue, now=now
    )
    body = _clean_text(text, "note", required=True)
    return await record(
        session=session,
        rules=rules,
        issue=issue,
        kind=EventKind.COMMENT,
        actor=actor,
        now=now,
        note=body,
    )


async def request_info(
    *,
    session: AsyncSession,
    rules: Rules,
    actor: Actor,
    issue: Issue,
    reason: str,
    now: datetime,
) -> IssueEvent:
    """待补充材料: ask the enterprise for material; the resolve clock pauses (capped)."""
    await authorize(
        session=session, rules=rules, actor=actor, action=Action.REQUEST_INFO, issue=issue, now=now
    )
    body = _clean_text(reason, "note", required=True)
    before = (issue.level, issue.status)
    issue.status, issue.paused_at = Status.AWAITING_INFO, now
    return await record(
        session=session,
        rules=rules,
        issue=issue,
        kind=EventKind.INFO_REQUESTED,
        actor=actor,
        now=now,
        before=before,
        note=body,
    )


async def resume_issue(
    *,
    session: AsyncSession,
    rules: Rules,
    actor: Actor,
    issue: Issue,
    now: datetime,
    note: str | None = None,
    resumed_at: datetime | None = None,
) -> IssueEvent:
    """The material is in (or the pause cap ran out): the resolve clock runs again, extended by
    the time it stood still. `resumed_at` lets the clock sweep resume at the cap, not later."""
    await authorize(
        session=session, rules=rules, actor=actor, action=Action.RESUME, issue=issue, now=now
    )
    assert issue.paused_at is not None and issue.resolve_due is not None
    until = resumed_at or now
    paused = until - issue.paused_at
    before = (issue.level, issue.status)
    issue.status, issue.paused_at = Status.ACCEPTED, None
    issue.resolve_due += paused
    if issue.clock_start is not None:
        issue.clock_start += paused
    return await record(
        session=session,
        rules=rules,
        issue=issue,
        kind=EventKind.RESUMED,
        actor=actor,
        now=now,
        before=before,
        note=_clean_text(note, "note", required=False),
        data={"paused_seconds": int(paused.total_seconds())},
    )


async def add_cohandler(
    *,
    session: AsyncSession,
    rules: Rules,
    actor: Actor,
    issue: Issue,
    department: Department,
    now: datetime,
) -> IssueEvent:
    """协办: bring another department in on the issue."""
    await authorize(
        session=session,
        rules=rules,
        actor=actor,
        action=Action.ADD_COHANDLER,
        issue=issue,
        now=now,
    )
    existing = await session.exec(
        select(IssueCoHandler).where(
            IssueCoHandler.issue_id == issue.id, IssueCoHandler.department_id == department.id
        )
    )
    if existing.first() is not None:
        raise InvalidInput(
            field="department", reason="already_cohandler", department=department.code
        )
    assert issue.id is not None and department.id is not None
    session.add(IssueCoHandler(issue_id=issue.id, department_id=department.id, added_at=now))
    return await record(
        session=session,
        rules=rules,
        issue=issue,
        kind=EventKind.COHANDLER_ADDED,
        actor=actor,
        now=now,
        data={"department": department.code},
    )


async def relocate(
    *,
    session: AsyncSession,
    rules: Rules,
    actor: Actor,
    issue: Issue,
    level: Level,
    kind: EventKind,
    now: datetime,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    status: Status = Status.SUBMITTED,
) -> IssueEvent:
    """Move the issue to `level` (its assignee must accept afresh) and record why as `kind`."""
    before = (issue.level, issue.status)
    previous = await move_to_level(
        session=session, rules=rules, issue=issue, level=level, now=now, status=status
    )
    return await record(
        session=session,
        rules=rules,
        issue=issue,
        kind=kind,
        actor=actor,
        now=now,
        before=before,
        note=note,
        data=data,
        previous_assignee=previous,
    )


async def escalate_issue(
    *,
    session: AsyncSession,
    rules: Rules,
    actor: Actor,
    issue: Issue,
    now: datetime,
    note: str | None = None,
    missed: bool = False,
) -> IssueEvent:
    """提级: one rung up. `missed` marks an escalation by the clock at a missed deadline."""
    await authorize(
        session=session, rules=rules, actor=actor, action=Action.ESCALATE, issue=issue, now=now
    )
    above = level_above(issue.level)
    assert above is not None
    issue.escalations += 1
    issue.missed_deadlines += int(missed)
    return await relocate(
        session=session,
        rules=rules,
        actor=actor,
        issue=issue,
        level=above,
        kind=EventKind.ESCALATED,
        now=now,
        note=_clean_text(note, "note", required=False),
        data={"reason": "deadline" if missed else "handler"},
    )


async def direct_line(
    *,
    session: AsyncSession,
    rules: Rules,
    actor: Actor,
    issue: Issue,
    now: datetime,
    note: str | None = None,
) -> IssueEvent:
    """直通车: straight to the city's principal leaders."""
    await authorize(
        session=session, rules=rules, actor=actor, action=Action.DIRECT_LINE, issue=issue, now=now
    )
    issue.escalations += 1
    issue.direct_line = True
    return await relocate(
        session=session,
        rules=rules,
        actor=actor,
        issue=issue,
        level=top_level(),
        kind=EventKind.DIRECT_LINE,
        now=now,
        note=_clean_text(note, "note", required=False),
    )


async def resolve_issue(
    *, session: AsyncSession, rules: Rules, actor: Actor, issue: Issue, note: str, now: datetime
) -> IssueEvent:
    """办结: resolved, with a note to the enterprise."""
    await authorize(
        session=session, rules=rules, actor=actor, action=Action.RESOLVE, issue=issue, now=now
    )
    body = _clean_text(note, "note", required=True)
    before = (issue.level, issue.status)
    issue.status, issue.resolved_at = Status.RESOLVED, now
    return await record(
        session=session,
        rules=rules,
        issue=issue,
        kind=EventKind.RESOLVED,
        actor=actor,
        now=now,
        before=before,
        note=body,
    )


async def confirm_issue(
    *,
    session: AsyncSession,
    rules: Rules,
    actor: Actor,
    issue: Issue,
    rating: Rating,
    now: datetime,
    note: str | None = None,
) -> IssueEvent:
    """The enterprise rates the resolution: 满意/基本满意 close it, 不满意 reopens it higher."""
    await authorize(
        session=session, rules=rules, actor=actor, action=Action.CONFIRM, issue=issue, now=now
    )
    issue.rating = rating
    text = _clean_text(note, "note", required=False)
    if rating != Rating.UNSATISFIED:
        before = (issue.level, issue.status)
        issue.status, issue.closed_at = Status.CLOSED, now
        return await record(
            session=session,
            rules=rules,
            issue=issue,
            kind=EventKind.CONFIRMED,
            actor=actor,
            now=now,
            before=before,
            note=text,
            data={"rating": rating.value},
        )
    return await _reopen(
        session=session, rules=rules, actor=actor, issue=issue, now=now, note=text, up=True
    )


async def reopen_issue(
    *,
    session: AsyncSession,
    rules: Rules,
    actor: Actor,
    issue: Issue,
    now: datetime,
    note: str | None = None,
) -> IssueEvent:
    """Not solved after all: back to the handler, who must accept it afresh."""
    await authorize(
        session=session, rules=rules, actor=actor, action=Action.REOPEN, issue=issue, now=now
    )
    return await _reopen(
        session=session,
        rules=rules,
        actor=actor,
        issue=issue,
        now=now,
        note=_clean_text(note, "note", required=False),
        up=False,
    )


async def _reopen(
    *,
    session: AsyncSession,
    rules: Rules,
    actor: Actor,
    issue: Issue,
    now: datetime,
    note: str | None,
    up: bool,
) -> IssueEvent:
    issue.resolved_at = None
    issue.reopen_count += 1
    return await relocate(
        session=session,
        rules=rules,
        actor=actor,
        issue=issue,
        level=(level_above(issue.level) or issue.level) if up else issue.level,
        kind=EventKind.REOPENED,
        now=now,
        note=note,
        data={"rating": issue.rating.value} if up and issue.rating else {},
        status=Status.REOPENED,
    )
