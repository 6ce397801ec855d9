"""The clock sweep: reminders at the policy's fractions, escalation at deadlines, the pause cap.

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

from models.codes import OPEN_STATUSES, EventKind
from models.issues import (
    escalate_issue,
    pause_end,
    record,
    reminder_moments,
    resume_issue,
    running_due,
)
from models.permissions import SYSTEM
from models.rules import Rules, level_above
from models.tables.issue import Issue


@dataclass
class ClockReport:
    """What one sweep did, by issue number."""

    reminded: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> int:
        """How many things the sweep did."""
        return sum(map(len, (self.reminded, self.escalated, self.flagged, self.resumed)))


async def process_clocks(*, session: AsyncSession, rules: Rules, now: datetime) -> ClockReport:
    """Act on every open issue's clock as at `now`."""
    query = (
        select(Issue)
        .where(col(Issue.status).in_(OPEN_STATUSES), col(Issue.next_check_at) <= now)
        .order_by(col(Issue.id))
        .with_for_update(skip_locked=True)
    )
    report = ClockReport()
    for issue in (await session.exec(query)).all():
        await _sweep_one(session=session, rules=rules, issue=issue, now=now, report=report)
    return report


async def _sweep_one(
    *, session: AsyncSession, rules: Rules, issue: Issue, now: datetime, report: ClockReport
) -> None:
    number = issue.number or str(issue.id)
    cap = pause_end(issue, rules)
    if cap is not None:
        if cap > now:
            return
        await resume_issue(
            session=session,
            rules=rules,
            actor=SYSTEM,
            issue=issue,
            now=now,
            resumed_at=cap,
            note=None,
        )
        report.resumed.append(number)
    due = running_due(issue)
    if due is None or issue.clock_start is None:
        return
    if due <= now:
        if level_above(issue.level) is not None:
            await escalate_issue(
                session=session, rules=rules, actor=SYSTEM, issue=issue, now=now, missed=True
            )
            report.escalated.append(number)
        elif not issue.overdue_flagged:
            issue.overdue_flagged = True
            issue.missed_deadlines += 1
            await record(
                session=session,
                rules=rules,
                issue=issue,
                kind=EventKind.OVERDUE,
                actor=SYSTEM,
                now=now,
                data={"due": due.isoformat()},
            )
            report.flagged.append(number)
        return
    passed = sum(1 for moment in reminder_moments(issue, rules, due) if moment <= now)
    if passed > issue.reminders_sent:
        issue.reminders_sent = passed
        fraction = rules.policy.reminders.fractions[passed - 1]
        await record(
            session=session,
            rules=rules,
            issue=issue,
            kind=EventKind.REMINDER,
            actor=SYSTEM,
            now=now,
            data={"fraction": fraction, "due": due.isoformat()},
        )
        report.reminded.append(number)
