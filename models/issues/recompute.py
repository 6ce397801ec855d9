"""Deadlines counted again when the calendar learns a year's holidays (`ztc calendar load`).

A deadline counted through a year nobody knew was a guess (weekdays and the fixed days off) and
is marked provisional. When the year becomes known, each open issue's running deadline that was
provisional, or that was counted through a year just loaded, is counted again from the same
start, keeping the pauses; so is each co-handling department's deadline counted through such a
year. An issue whose deadline moved gets a `deadline_recomputed` event (its handler is told; the
enterprise too when the issue's own deadline moved), and its next check follows.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.codes import AWAITING_ACCEPT, OPEN_STATUSES, Audience, EventKind
from models.issues.context import Change, Ctx
from models.issues.deadlines import cohandler_check, cohandler_due, next_check, recounted_due
from models.issues.runner import record
from models.permissions import SYSTEM
from models.rules import Rules
from models.tables.issue import Issue, IssueCoHandler, IssueEvent
from models.tables.org import Department
from models.workcal import Due, package_knows


@dataclass(frozen=True)
class _Moved:
    """What a recount changed on one issue."""

    clock: str | None = None  # accept | resolve: the issue's own deadline moved
    before: datetime | None = None
    due: Due | None = None
    cohandlers: tuple[str, ...] = ()  # codes of the departments whose deadline moved


async def recompute_deadlines(
    *, session: AsyncSession, rules: Rules, now: datetime, years: Collection[int] = ()
) -> list[str]:
    """Count again the open issues' deadlines that were provisional or ran through `years`
    (and the co-handlers'), recording an event on each issue that changed; their numbers."""
    query = (
        select(Issue)
        .where(col(Issue.status).in_(OPEN_STATUSES))
        .order_by(col(Issue.id))
        .with_for_update()
    )
    issues = list((await session.exec(query)).all())
    accepted = await _accepted_at(session, [i.id for i in issues if i.id is not None])
    ctx = Ctx(session=session, rules=rules, actor=SYSTEM, now=now)
    changed = []
    for issue in issues:
        moved = await _recount(ctx, issue, accepted.get(issue.id or 0), set(years))
        if moved.clock is None and not moved.cohandlers:
            fresh = next_check(issue, rules)  # a reminder's working morning may have moved
            if fresh != issue.next_check_at:
                issue.next_check_at = fresh
                session.add(issue)
            continue
        await record(ctx, issue, _change(moved))
        changed.append(issue.number or str(issue.id))
    return changed


async def _recount(
    ctx: Ctx, issue: Issue, accepted_at: datetime | None, years: set[int]
) -> _Moved:
    """Count the issue's deadlines again and set what moved (the caller records it)."""
    rules, moved = ctx.rules, _Moved()
    due = recounted_due(issue, rules, accepted_at)
    clock = "accept" if issue.status in AWAITING_ACCEPT else "resolve"
    before = issue.accept_due if clock == "accept" else issue.resolve_due
    start = issue.clock_start if clock == "accept" else accepted_at or issue.clock_start
    if (
        due is not None
        and before is not None
        and start is not None
        and (issue.provisional or _touches(rules, start, before, years))
        and (due.at != before or due.provisional != issue.provisional)
    ):
        if clock == "accept":
            issue.accept_due = due.at
        else:
            issue.resolve_due = due.at
        issue.provisional = due.provisional
        moved = _Moved(clock, before, due)
    departments = await _recount_cohandlers(ctx, issue, years)
    return _Moved(moved.clock, moved.before, moved.due, departments)


async def _recount_cohandlers(ctx: Ctx, issue: Issue, years: set[int]) -> tuple[str, ...]:
    """The co-handlers still owing an opinion whose deadline ran through a year just loaded or
    one the package does not know: counted again; the codes of those that moved."""
    query = (
        select(IssueCoHandler, Department.code)
        .join(Department, col(Department.id) == IssueCoHandler.department_id)
        .where(
            IssueCoHandler.issue_id == issue.id,
            col(IssueCoHandler.answered_at).is_(None),
            col(IssueCoHandler.overdue).is_(False),
            col(IssueCoHandler.due_at).is_not(None),
        )
        .order_by(col(IssueCoHandler.id))
    )
    moved = []
    for row, code in (await ctx.session.exec(query)).all():
        assert row.due_at is not None
        if not _touches(ctx.rules, row.added_at, row.due_at, years, unknown=True):
            continue
        due = cohandler_due(issue, ctx.rules, row.added_at)
        if due != row.due_at:
            row.due_at = due
            row.next_check_at = cohandler_check(row, issue, ctx.rules)
            ctx.session.add(row)
            moved.append(code)
    return tuple(moved)


def _touches(
    rules: Rules, start: datetime, end: datetime, years: set[int], *, unknown: bool = False
) -> bool:
    """Whether a span's local dates run through one of `years` (or, with `unknown`, through a
    year the package does not know: its days were guessed or came from a load)."""
    spanned = range(start.astimezone(rules.tz).year, end.astimezone(rules.tz).year + 1)
    return any(y in years or (unknown and not package_knows(y)) for y in spanned)


def _change(moved: _Moved) -> Change:
    """The event of a recount: what moved, from when to when."""
    data: dict[str, object] = {"cohandlers": list(moved.cohandlers)}
    also: tuple[Audience, ...] = (Audience.COHANDLERS,) if moved.cohandlers else ()
    if moved.clock is not None and moved.due is not None:
        data |= {
            "clock": moved.clock,
            "from": moved.before.astimezone(UTC).isoformat() if moved.before else None,
            "to": moved.due.at.astimezone(UTC).isoformat(),
            "provisional": moved.due.provisional,
        }
        also = (*also, Audience.ENTERPRISE)
    return Change(EventKind.DEADLINE_RECOMPUTED, data=data, also=also)


async def _accepted_at(session: AsyncSession, issue_ids: list[int]) -> dict[int, datetime]:
    """Each issue's latest acceptance (受理): when its resolve clock started."""
    if not issue_ids:
        return {}
    query = (
        select(IssueEvent.issue_id, func.max(IssueEvent.at))
        .where(col(IssueEvent.issue_id).in_(issue_ids), IssueEvent.kind == EventKind.ACCEPTED)
        .group_by(col(IssueEvent.issue_id))
    )
    return {issue_id: at for issue_id, at in (await session.exec(query)).all() if at is not None}
