"""The clock sweep: reminders at the policy's fractions, escalation at deadlines, the pause cap,
the co-handlers' deadlines, and a resolved issue's rating reminder and close-out.

`process_clocks(now=T)` is idempotent: everything it does moves the issue's own columns on
(`reminders_sent`, a fresh clock started at T, `overdue_flagged`), so a second run for the same T
finds nothing to do. On PostgreSQL rows are locked with SKIP LOCKED, so two sweeps at once share
the work instead of doubling it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.codes import OPEN_STATUSES, Status
from models.issues.commands import (
    ChaseCoHandlers,
    CloseUnrated,
    Escalate,
    FlagOverdue,
    Remind,
    RemindRating,
    Resume,
)
from models.issues.context import Ctx
from models.issues.deadlines import pause_end, running_due
from models.issues.runner import run
from models.permissions import SYSTEM
from models.rules import Rules, level_above
from models.tables.issue import Issue, IssueCoHandler


@dataclass
class ClockReport:
    """What one sweep did, by issue number."""

    reminded: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    asked_to_rate: list[str] = field(default_factory=list)
    closed_unrated: list[str] = field(default_factory=list)
    cohandlers: list[str] = field(default_factory=list)  # process_cohandlers' (the job adds it)
    recomputed: list[str] = field(default_factory=list)  # deadlines counted again (the job's)

    @property
    def changed(self) -> int:
        """How many things the sweep did."""
        return sum(len(getattr(self, name)) for name in self.__dataclass_fields__)


async def process_clocks(*, session: AsyncSession, rules: Rules, now: datetime) -> ClockReport:
    """Act on every open issue's clock as at `now`."""
    swept = (*OPEN_STATUSES, Status.RESOLVED)
    query = (
        select(Issue)
        .where(col(Issue.status).in_(swept), col(Issue.next_check_at) <= now)
        .order_by(col(Issue.id))
        .with_for_update(skip_locked=True)
    )
    ctx = Ctx(session=session, rules=rules, actor=SYSTEM, now=now)
    report = ClockReport()
    for issue in (await session.exec(query)).all():
        if issue.status == Status.RESOLVED:
            await _close_out(ctx, issue, report)
        else:
            await _sweep_one(ctx, issue, report)
    return report


async def process_cohandlers(*, session: AsyncSession, rules: Rules, now: datetime) -> list[str]:
    """The co-handling departments' own clocks (协办时限): reminders, then named late once.
    Returns the numbers of the issues whose co-handlers were chased."""
    due = select(IssueCoHandler.issue_id).where(col(IssueCoHandler.next_check_at) <= now)
    query = (
        select(Issue)
        .where(col(Issue.status).in_(OPEN_STATUSES), col(Issue.id).in_(due))
        .order_by(col(Issue.id))
        .with_for_update(skip_locked=True)
    )
    ctx = Ctx(session=session, rules=rules, actor=SYSTEM, now=now)
    chased = []
    for issue in (await session.exec(query)).all():
        assert issue.id is not None
        if (await run(ctx, ChaseCoHandlers(issue.id), issue=issue)).event is not None:
            chased.append(issue.number or str(issue.id))
    return chased


async def _close_out(ctx: Ctx, issue: Issue, report: ClockReport) -> None:
    """Resolved and not rated: the reminder to rate, then the close as 未评价."""
    assert issue.id is not None
    number = issue.number or str(issue.id)
    if (await run(ctx, CloseUnrated(issue.id), issue=issue)).event is not None:
        report.closed_unrated.append(number)
    elif (await run(ctx, RemindRating(issue.id), issue=issue)).event is not None:
        report.asked_to_rate.append(number)


async def _sweep_one(ctx: Ctx, issue: Issue, report: ClockReport) -> None:
    """The pause cap, then the deadline, then the reminders: each a command of the system's."""
    assert issue.id is not None
    number = issue.number or str(issue.id)
    cap = pause_end(issue, ctx.rules)
    if cap is not None:
        if cap > ctx.now:
            return
        await run(ctx, Resume(issue.id, resumed_at=cap), issue=issue)
        report.resumed.append(number)
    due = running_due(issue)
    if due is None or issue.clock_start is None:
        return
    if due <= ctx.now:
        if level_above(issue.level) is not None:
            await run(ctx, Escalate(issue.id, missed=True), issue=issue)
            report.escalated.append(number)
        elif (await run(ctx, FlagOverdue(issue.id), issue=issue)).event is not None:
            report.flagged.append(number)
        return
    if (await run(ctx, Remind(issue.id), issue=issue)).event is not None:
        report.reminded.append(number)
