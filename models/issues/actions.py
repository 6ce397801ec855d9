"""What each command does to its issue, and the registry that maps a command to it.

A function here runs after the runner has loaded, locked and authorized: it changes the issue
(and its co-handlers) and returns the `Change` to record, or None when there was nothing due.
Adding an action: a command class (commands.py), a function here, its line in REGISTRY, its
permission rule (models/permissions.py), and its labels — tests/unit/test_commands.py checks
them all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, select

from models.codes import EventKind, Level, Rating, Status
from models.errors import InvalidInput, NotFound
from models.issues import commands as c
from models.issues.context import Apply, Change, Ctx
from models.issues.deadlines import (
    closeout_moments,
    cohandler_check,
    cohandler_due,
    cohandler_moments,
    reminders_passed,
    running_due,
    start_accept_clock,
    start_resolve_clock,
)
from models.routing import assignee_for, may_handle
from models.rules import level_above, top_level
from models.tables.issue import Attachment, Issue, IssueCoHandler
from models.tables.org import Department, Official
from models.tables.project import Project
from models.text import checked_text


async def move_to_level(
    ctx: Ctx, issue: Issue, level: Level, status: Status = Status.SUBMITTED
) -> int | None:
    """Put the issue at `level`, in `status`, with that level's assignee and a fresh accept clock.

    Returns the previous assignee. An issue nobody can take is kept, unassigned, for the admins.
    """
    project = await ctx.session.get(Project, issue.project_id)
    assert project is not None
    previous = issue.assignee_id
    official = await assignee_for(
        session=ctx.session, project=project, level=level, category=issue.category
    )
    issue.level, issue.assignee_id = level, official.id if official else None
    issue.status = status
    start_accept_clock(issue, ctx.rules, ctx.now)
    return previous


async def _moved(
    ctx: Ctx,
    issue: Issue,
    level: Level,
    kind: EventKind,
    *,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    status: Status = Status.SUBMITTED,
) -> Change:
    """Move the issue to `level` (its assignee must accept afresh): the change to record."""
    previous = await move_to_level(ctx, issue, level, status)
    return Change(kind, note=note, data=data or {}, previous_assignee=previous)


async def accept(ctx: Ctx, issue: Issue, command: c.Accept) -> Change:
    """受理: the resolve clock starts; whether it was on time stays on the event (响应率)."""
    on_time = issue.accept_due is None or ctx.now <= issue.accept_due
    issue.status = Status.ACCEPTED
    start_resolve_clock(issue, ctx.rules, ctx.now)
    note = checked_text(command.note, "note", required=False)
    return Change(EventKind.ACCEPTED, note=note, data={"on_time": on_time})


async def comment(ctx: Ctx, issue: Issue, command: c.Comment) -> Change:
    """A message on the timeline."""
    return Change(EventKind.COMMENT, note=checked_text(command.note, "note", required=True))


async def request_info(ctx: Ctx, issue: Issue, command: c.RequestInfo) -> Change:
    """The resolve clock pauses while the enterprise gathers the material."""
    note = checked_text(command.note, "note", required=True)
    issue.status, issue.paused_at = Status.AWAITING_INFO, ctx.now
    return Change(EventKind.INFO_REQUESTED, note=note)


async def resume(ctx: Ctx, issue: Issue, command: c.Resume) -> Change:
    """The resolve clock runs again, extended by the time it stood still."""
    assert issue.paused_at is not None and issue.resolve_due is not None
    paused = (command.resumed_at or ctx.now) - issue.paused_at
    issue.status, issue.paused_at = Status.ACCEPTED, None
    issue.resolve_due += paused
    if issue.clock_start is not None:
        issue.clock_start += paused
    note = checked_text(command.note, "note", required=False)
    return Change(
        EventKind.RESUMED, note=note, data={"paused_seconds": int(paused.total_seconds())}
    )


async def add_cohandler(ctx: Ctx, issue: Issue, command: c.AddCoHandler) -> Change:
    """Another department co-handles the issue (once)."""
    department = await ctx.session.get(Department, command.department_id)
    if department is None:
        raise NotFound(entity="department", key=str(command.department_id))
    existing = await ctx.session.exec(
        select(IssueCoHandler).where(
            IssueCoHandler.issue_id == issue.id, IssueCoHandler.department_id == department.id
        )
    )
    if existing.first() is not None:
        raise InvalidInput(
            field="department", reason="already_cohandler", department=department.code
        )
    assert department.id is not None
    join_cohandler(ctx, issue, department.id)
    return Change(EventKind.COHANDLER_ADDED, data={"department": department.code})


def join_cohandler(ctx: Ctx, issue: Issue, department_id: int) -> IssueCoHandler:
    """A department co-handles the issue from now, with its own deadline (协办时限)."""
    assert issue.id is not None
    row = IssueCoHandler(
        issue_id=issue.id,
        department_id=department_id,
        added_at=ctx.now,
        due_at=cohandler_due(issue, ctx.rules, ctx.now),
    )
    row.next_check_at = cohandler_check(row, issue, ctx.rules)
    ctx.session.add(row)
    return row


async def escalate(ctx: Ctx, issue: Issue, command: c.Escalate) -> Change:
    """One rung up (the permission rule refuses it at the top)."""
    above = level_above(issue.level)
    assert above is not None
    issue.escalations += 1
    issue.missed_deadlines += int(command.missed)
    note = checked_text(command.note, "note", required=False)
    reason = "deadline" if command.missed else "handler"
    return await _moved(ctx, issue, above, EventKind.ESCALATED, note=note, data={"reason": reason})


async def direct_line(ctx: Ctx, issue: Issue, command: c.DirectLine) -> Change:
    """Straight to the top of the ladder."""
    issue.escalations += 1
    issue.direct_line = True
    note = checked_text(command.note, "note", required=False)
    return await _moved(ctx, issue, top_level(), EventKind.DIRECT_LINE, note=note)


async def resolve(ctx: Ctx, issue: Issue, command: c.Resolve) -> Change:
    """Resolved, with the note the enterprise reads."""
    note = checked_text(command.note, "note", required=True)
    on_time = issue.resolve_due is None or ctx.now <= issue.resolve_due
    issue.status, issue.resolved_at = Status.RESOLVED, ctx.now
    issue.reminders_sent = 0  # now counts the rating reminder (close-out)
    return Change(EventKind.RESOLVED, note=note, data={"on_time": on_time})  # 按时办结率


async def confirm(ctx: Ctx, issue: Issue, command: c.Confirm) -> Change:
    """满意/基本满意 close the issue; 不满意 reopens it one level up."""
    if command.rating is None:
        raise InvalidInput(field="rating", reason="empty")
    unsatisfied = command.rating == Rating.UNSATISFIED
    note = checked_text(command.note, "note", required=unsatisfied)  # 不满意 says why
    issue.rating = command.rating
    if unsatisfied:
        return await _reopened(ctx, issue, note, up=True)
    issue.status, issue.closed_at = Status.CLOSED, ctx.now
    return Change(EventKind.CONFIRMED, note=note, data={"rating": command.rating.value})


async def reopen(ctx: Ctx, issue: Issue, command: c.Reopen) -> Change:
    """Back to the same level's handler, who must accept it afresh."""
    return await _reopened(
        ctx, issue, checked_text(command.note, "note", required=False), up=False
    )


async def _reopened(ctx: Ctx, issue: Issue, note: str | None, *, up: bool) -> Change:
    issue.resolved_at = None
    issue.reopen_count += 1
    level = (level_above(issue.level) or issue.level) if up else issue.level
    data = {"rating": issue.rating.value} if up and issue.rating else {}
    return await _moved(
        ctx, issue, level, EventKind.REOPENED, note=note, data=data, status=Status.REOPENED
    )


async def supply(ctx: Ctx, issue: Issue, command: c.Supply) -> Change:
    """The material arrives: kept with the issue, and the resolve clock runs again at once."""
    note = checked_text(command.note, "note", required=not command.files)
    paused = _unpause(ctx, issue)
    files = tuple(
        Attachment(
            issue_id=issue.id or 0,
            kind=f.kind,
            file_id=f.file_id,
            data=f.data,
            file_name=f.name,
            mime_type=f.mime,
            size=f.size,
            created_at=ctx.now,
        )
        for f in command.files
    )
    data = {"paused_seconds": paused, "files": len(files)}
    return Change(EventKind.SUPPLIED, note=note, data=data, files=files)


def _unpause(ctx: Ctx, issue: Issue, at: datetime | None = None) -> int:
    """End a pause for material: the resolve clock runs on, its deadline moved by the pause;
    how many seconds it stood still."""
    assert issue.paused_at is not None and issue.resolve_due is not None
    paused = (at or ctx.now) - issue.paused_at
    issue.status, issue.paused_at = Status.ACCEPTED, None
    issue.resolve_due += paused
    if issue.clock_start is not None:
        issue.clock_start += paused
    return int(paused.total_seconds())


async def opinion(ctx: Ctx, issue: Issue, command: c.Opinion) -> Change:
    """A co-handling department's opinion: its deadline is met (or answered late)."""
    note = checked_text(command.note, "note", required=True)
    department = await ctx.session.get(Department, ctx.actor.department_id or 0)
    assert department is not None  # the permission rule let only a co-handling head through
    query = select(IssueCoHandler).where(
        IssueCoHandler.issue_id == issue.id, IssueCoHandler.department_id == department.id
    )
    row = (await ctx.session.exec(query)).one()
    on_time = row.due_at is None or ctx.now <= row.due_at
    if row.answered_at is None:
        row.answered_at, row.next_check_at = ctx.now, None
        ctx.session.add(row)
    data = {"department": department.code, "on_time": on_time, "names": _names([department])}
    return Change(EventKind.OPINION, note=note, data=data)


def _names(departments: list[Department]) -> dict[str, str]:
    """Departments' names for a notice, in each language (the event keeps them as they were)."""
    return {
        "zh_CN": "、".join(d.name_zh for d in departments),
        "en": ", ".join(d.name_en or d.name_zh for d in departments),
    }


async def transfer(ctx: Ctx, issue: Issue, command: c.Transfer) -> Change:
    """To another official who may handle this level; the clocks run on, both are told."""
    note = checked_text(command.note, "note", required=True)
    target = await ctx.session.get(Official, command.to_official_id)
    project = await ctx.session.get(Project, issue.project_id)
    assert project is not None
    if (
        target is None
        or target.id == issue.assignee_id
        or not may_handle(target, project, issue.level)
    ):
        raise InvalidInput(
            field="official", reason="not_eligible", official=str(command.to_official_id)
        )
    previous, issue.assignee_id = issue.assignee_id, target.id
    data = {"to": target.code, "to_name": target.name}
    return Change(EventKind.TRANSFERRED, note=note, data=data, previous_assignee=previous)


async def chase_cohandlers(ctx: Ctx, issue: Issue, command: c.ChaseCoHandlers) -> Change | None:
    """Remind co-handling departments whose reminders fell; flag those past their deadline."""
    query = select(IssueCoHandler, Department).join(
        Department, col(Department.id) == IssueCoHandler.department_id
    )
    rows = (await ctx.session.exec(query.where(IssueCoHandler.issue_id == issue.id))).all()
    late: list[Department] = []
    reminded: list[Department] = []
    for row, department in rows:
        if row.next_check_at is None or row.next_check_at > ctx.now:
            continue
        assert row.due_at is not None
        if row.due_at <= ctx.now:
            row.overdue = True
            late.append(department)
        else:  # every reminder fallen by now, in one notice (a sweep after a pause), as `remind`
            passed = sum(m <= ctx.now for m in cohandler_moments(row, issue, ctx.rules))
            row.reminders_sent = max(row.reminders_sent + 1, passed)
            reminded.append(department)
        row.next_check_at = cohandler_check(row, issue, ctx.rules)
        ctx.session.add(row)
    if not late and not reminded:
        return None
    kind = EventKind.COHANDLER_OVERDUE if late else EventKind.COHANDLER_REMINDER
    data = {
        "departments": [d.code for d in late or reminded],
        "reminded": [d.code for d in reminded] if late else [],
        "names": _names(late or reminded),
    }
    return Change(kind, data=data)


async def remind_rating(ctx: Ctx, issue: Issue, command: c.RemindRating) -> Change | None:
    """Resolved and not rated after a while: the enterprise is asked to rate, once."""
    moments = closeout_moments(issue, ctx.rules)
    if moments is None or issue.reminders_sent > 0 or moments[0] > ctx.now:
        return None
    issue.reminders_sent = 1
    return Change(EventKind.RATING_REMINDER)


async def close_unrated(ctx: Ctx, issue: Issue, command: c.CloseUnrated) -> Change | None:
    """Still not rated: closed as 未评价, apart from 满意率 (no rating is recorded)."""
    moments = closeout_moments(issue, ctx.rules)
    if moments is None or moments[1] > ctx.now:
        return None
    issue.status, issue.closed_at = Status.CLOSED, ctx.now
    return Change(EventKind.CLOSED_UNRATED)


async def remind(ctx: Ctx, issue: Issue, command: c.Remind) -> Change | None:
    """The reminders of the running clock that have fallen since the last (one notice)."""
    due = running_due(issue)
    if due is None or issue.clock_start is None:
        return None
    passed = reminders_passed(issue, ctx.rules, due, ctx.now)
    if passed <= issue.reminders_sent:
        return None
    issue.reminders_sent = passed
    fraction = ctx.rules.policy.reminders.fractions[passed - 1]
    return Change(EventKind.REMINDER, data={"fraction": fraction, "due": due.isoformat()})


async def flag_overdue(ctx: Ctx, issue: Issue, command: c.FlagOverdue) -> Change | None:
    """Past its deadline at the top: flagged once, for every bulletin until it is resolved."""
    due = running_due(issue)
    if due is None or issue.overdue_flagged:
        return None
    issue.overdue_flagged = True
    issue.missed_deadlines += 1
    return Change(EventKind.OVERDUE, data={"due": due.isoformat()})


async def retier(ctx: Ctx, issue: Issue, command: c.Retier) -> Change | None:
    """To the new tier's level (never below one it was escalated to: the caller decides)."""
    if command.level == issue.level:
        return None
    status = Status.REOPENED if issue.status == Status.REOPENED else Status.SUBMITTED
    data = {"investment_wan": command.investment_wan}
    return await _moved(ctx, issue, command.level, EventKind.RETIERED, data=data, status=status)


# Each command and the function that does it: the one place a command is wired.
REGISTRY: dict[type[c.Command], Apply] = {
    c.Accept: accept,
    c.Comment: comment,
    c.RequestInfo: request_info,
    c.Resume: resume,
    c.AddCoHandler: add_cohandler,
    c.Escalate: escalate,
    c.DirectLine: direct_line,
    c.Resolve: resolve,
    c.Confirm: confirm,
    c.Reopen: reopen,
    c.Supply: supply,
    c.Opinion: opinion,
    c.Transfer: transfer,
    c.ChaseCoHandlers: chase_cohandlers,
    c.RemindRating: remind_rating,
    c.CloseUnrated: close_unrated,
    c.Remind: remind,
    c.FlagOverdue: flag_overdue,
    c.Retier: retier,
}
