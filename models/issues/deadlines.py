"""An issue's clocks: which deadline runs now, when the reminders fall, when the pause runs out,
and when the sweep must next look at it. Pure functions of the issue's columns and the rules."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from models.codes import AWAITING_ACCEPT, Status, Urgency
from models.rules import Rules
from models.tables.issue import Issue, IssueCoHandler
from models.workcal import Due

# The key of every event's data that holds the deadline running after it (ISO, or None).
RUNNING_DUE = "running_due"


class Clocked(Protocol):
    """What `running_due` reads of an issue (the table row, or the reports' lean copy)."""

    @property
    def status(self) -> Status: ...
    @property
    def accept_due(self) -> datetime | None: ...
    @property
    def resolve_due(self) -> datetime | None: ...


def running_due(issue: Clocked) -> datetime | None:
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


def reminders_passed(issue: Issue, rules: Rules, due: datetime, now: datetime) -> int:
    """How many of the running clock's reminders have fallen by `now`."""
    return sum(1 for moment in reminder_moments(issue, rules, due) if moment <= now)


def closeout_moments(issue: Issue, rules: Rules) -> tuple[datetime, datetime] | None:
    """A resolved issue's rating reminder and its close as 未评价 (None unless resolved)."""
    if issue.status != Status.RESOLVED or issue.resolved_at is None:
        return None
    closeout = rules.policy.closeout
    remind = rules.due(issue.resolved_at, closeout.remind_after).at
    return rules.working_morning(remind), rules.due(issue.resolved_at, closeout.close_after).at


def next_check(issue: Issue, rules: Rules) -> datetime | None:
    """When the clock sweep must next look at the issue: a reminder, a deadline, the pause cap,
    or a resolved issue's rating reminder and close-out.

    Kept in an indexed column so the every-minute sweep reads only the issues that need it.
    """
    if issue.status == Status.AWAITING_INFO:
        return pause_end(issue, rules)
    closeout = closeout_moments(issue, rules)
    if closeout is not None:
        remind, close = closeout
        return remind if issue.reminders_sent == 0 else close
    due = running_due(issue)
    if due is None or issue.clock_start is None or issue.overdue_flagged:
        return None
    pending = reminder_moments(issue, rules, due)[issue.reminders_sent :]
    return min((*pending, due))  # a reminder moved to a morning may fall after the deadline


def cohandler_due(issue: Issue, rules: Rules, start: datetime) -> datetime:
    """A co-handling department's deadline (协办时限), from when it joined."""
    spans = rules.policy.cohandling
    return rules.due(start, spans.urgent if issue.urgency == Urgency.URGENT else spans.normal).at


def cohandler_moments(row: IssueCoHandler, issue: Issue, rules: Rules) -> list[datetime]:
    """The moments of a co-handler's reminders within its span (as `reminder_moments`)."""
    assert row.due_at is not None
    span = row.due_at - row.added_at
    moments = [row.added_at + span * f for f in rules.policy.reminders.fractions]
    if issue.urgency != Urgency.URGENT:
        moments = [rules.working_morning(moment) for moment in moments]
    return moments


def cohandler_check(row: IssueCoHandler, issue: Issue, rules: Rules) -> datetime | None:
    """When the sweep must next look at a co-handler: a reminder, or its deadline."""
    if row.answered_at is not None or row.overdue or row.due_at is None:
        return None
    moments = cohandler_moments(row, issue, rules)
    return min((*moments[row.reminders_sent :], row.due_at))


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


def recounted_due(issue: Issue, rules: Rules, accepted_at: datetime | None = None) -> Due | None:
    """The deadline of the issue's clock counted again with today's calendar (None: no clock).

    The accept clock runs from `clock_start`. The resolve clock ran from acceptance
    (`accepted_at`, the latest 受理 event) and every pause for material since moved both
    `clock_start` and the deadline on by its length, so the pauses are kept: the deadline is
    recounted from acceptance and moved on by `clock_start - accepted_at`.
    """
    if issue.clock_start is None:
        return None
    if issue.status in AWAITING_ACCEPT:
        return rules.accept_due(issue.clock_start, issue.level, issue.urgency)
    if issue.status not in (Status.ACCEPTED, Status.AWAITING_INFO) or issue.resolve_due is None:
        return None
    start = issue.clock_start
    if accepted_at is not None and accepted_at <= start:
        start = accepted_at
    due = rules.resolve_due(start, issue.level, issue.urgency)
    return Due(due.at + (issue.clock_start - start), due.provisional)
