"""The bulletins' reading of the database: the issues a period's reports list, each as it stood
at the cut, and the issue figures of every project counted by the database.

A bulletin names the issues open at its cut and those active in its period; the rest of history
only counts. So `listed_issues` reads those few (their columns, not their text), with the state
their last event before the cut left them in, and `project_tallies` counts the flows per project
with GROUP BY, however long the history. `models.bulletin.counts` computes the same figures from
the listed issues one by one, for the scopes that are not made of projects (a department's, an
official's); a test holds the two to the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, case, distinct, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.codes import (
    AWAITING_ACCEPT,
    OPEN_STATUSES,
    Category,
    EventKind,
    Level,
    Rating,
    Status,
    Urgency,
)
from models.db import select_columns
from models.issues.deadlines import RUNNING_DUE, running_due
from models.report_data import IssueCounts
from models.tables.issue import Issue, IssueCoHandler, IssueEvent

FLOWS = (
    EventKind.ACCEPTED,
    EventKind.RESOLVED,
    EventKind.CONFIRMED,
    EventKind.ESCALATED,
    EventKind.DIRECT_LINE,
    EventKind.REOPENED,  # an 不满意 rating reopens the issue: a rating all the same
    EventKind.CLOSED_UNRATED,
)
RATINGS = (EventKind.CONFIRMED, EventKind.REOPENED)
MOVED_UP = (EventKind.ESCALATED, EventKind.DIRECT_LINE)


@dataclass(frozen=True, slots=True)
class IssueFacts:
    """An issue as the reports read it: the columns they list and count by (not its text)."""

    id: int
    number: str | None
    project_id: int
    category: Category
    urgency: Urgency
    status: Status
    level: Level
    assignee_id: int | None
    created_at: datetime
    accept_due: datetime | None
    resolve_due: datetime | None
    rating: Rating | None


_FACTS = tuple(col(getattr(Issue, f.name)) for f in fields(IssueFacts))


@dataclass(frozen=True, slots=True)
class FlowEvent:
    """A flow event as the figures count it."""

    issue_id: int
    kind: EventKind
    at: datetime
    data: dict[str, Any]


class LastStep(NamedTuple):
    """What an issue's last event before a cut left: its status, level and the event's data."""

    to_status: Status | None
    to_level: Level | None
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AtCut:
    """An issue as it stood at the cut: its status, level and the deadline then running."""

    status: Status
    level: Level
    due: datetime | None

    @property
    def open(self) -> bool:
        """Still open at the cut."""
        return self.status in OPEN_STATUSES

    def late(self, cut: datetime) -> bool:
        """Open and past the deadline running at `cut`."""
        return self.open and self.due is not None and self.due <= cut


def state_at_cut(issue: IssueFacts, last: LastStep | None) -> AtCut:
    """The issue at the cut from its last event before it (`last`); the row itself when it
    has none. Events recorded before the deadline was kept on them: the row's deadlines."""
    if last is None or last.to_status is None:
        return AtCut(issue.status, issue.level, running_due(issue))
    status = last.to_status
    if RUNNING_DUE in last.data:
        raw = last.data[RUNNING_DUE]
        due = datetime.fromisoformat(raw) if raw else None
    elif status in AWAITING_ACCEPT:
        due = issue.accept_due
    else:
        due = issue.resolve_due if status == Status.ACCEPTED else None
    return AtCut(status, last.to_level or issue.level, due)


@dataclass(frozen=True)
class Window:
    """Which issues and events a span's figures take: issues born by the cut, events from
    `start` until `end` (exclusive) and the cut (`to_cut`: the cut itself included)."""

    start: datetime
    end: datetime
    cut: datetime
    to_cut: bool = True

    def born(self) -> ColumnElement[bool]:
        """Issues that existed at the cut (what did not exist is not counted)."""
        created = col(Issue.created_at)
        return created <= self.cut if self.to_cut else created < self.cut

    def flows(self) -> ColumnElement[bool]:
        """The span's flow events."""
        at = col(IssueEvent.at)
        until = at <= self.cut if self.to_cut else at < self.cut
        return and_(col(IssueEvent.kind).in_(FLOWS), at >= self.start, at < self.end, until)


async def listed_issues(
    session: AsyncSession, window: Window, *, active: bool
) -> tuple[list[IssueFacts], dict[int, AtCut]]:
    """The issues open at the window's cut, and when `active` also those open now and those
    new, moved or co-handled in the window; with each one's state at the cut."""
    latest = (
        select(col(IssueEvent.issue_id), func.max(IssueEvent.id).label("last_id"))
        .where(col(IssueEvent.at) <= window.cut)
        .group_by(col(IssueEvent.issue_id))
        .subquery()
    )
    last = aliased(IssueEvent)
    then = case((col(last.to_status).is_(None), col(Issue.status)), else_=col(last.to_status))
    wanted = [then.in_(OPEN_STATUSES), *(_active(window) if active else [])]
    query = (
        select_columns(*_FACTS, last.to_status, last.to_level, last.data)
        .select_from(Issue)
        .outerjoin(latest, latest.c.issue_id == Issue.id)
        .outerjoin(last, col(last.id) == latest.c.last_id)
        .where(window.born(), or_(*wanted))
        .order_by(col(Issue.id))
    )
    issues, states = [], {}
    width = len(_FACTS)
    for row in await session.exec(query):
        issue = IssueFacts(*row[:width])
        to_status, to_level, data = row[width:]
        step = None if to_status is None else LastStep(to_status, to_level, data or {})
        issues.append(issue)
        states[issue.id] = state_at_cut(issue, step)
    return issues, states


def _active(window: Window) -> list[ColumnElement[bool]]:
    """Why else an issue is listed: open now (the agenda and the digests list those), new, moved
    or given a co-handling opinion in the window."""
    moved = select(IssueEvent.issue_id).where(window.flows())
    answered = select(IssueCoHandler.issue_id).where(
        col(IssueCoHandler.answered_at) >= window.start,
        col(IssueCoHandler.answered_at) < window.end,
        col(IssueCoHandler.answered_at) < window.cut,
    )
    return [
        col(Issue.status).in_(OPEN_STATUSES),
        col(Issue.created_at) >= window.start,
        col(Issue.id).in_(moved),
        col(Issue.id).in_(answered),
    ]


async def flow_events(session: AsyncSession, window: Window) -> list[FlowEvent]:
    """The window's flow events of the issues born by its cut."""
    query = (
        select_columns(IssueEvent.issue_id, IssueEvent.kind, IssueEvent.at, IssueEvent.data)
        .join(Issue, col(Issue.id) == IssueEvent.issue_id)
        .where(window.flows(), window.born())
        .order_by(col(IssueEvent.id))
    )
    return [FlowEvent(*row) for row in await session.exec(query)]


async def project_tallies(
    session: AsyncSession,
    window: Window,
    issues: Iterable[IssueFacts],
    states: Mapping[int, AtCut],
) -> dict[int, IssueCounts]:
    """Each project's issue figures over the window: new issues and flows counted by the
    database, the states at the cut (open past a deadline) from `issues` (those open at it)."""
    parts: dict[int, dict[str, int]] = {}

    def add(project_id: int, **values: int) -> None:
        part = parts.setdefault(project_id, {})
        for key, value in values.items():
            part[key] = part.get(key, 0) + int(value or 0)

    born = window.born()
    new = (
        select(Issue.project_id, func.count())
        .where(born, col(Issue.created_at) >= window.start, col(Issue.created_at) < window.end)
        .group_by(col(Issue.project_id))
    )
    for project_id, count in await session.exec(new):
        add(project_id, new=count)
    for project_id, kind, *sums in await session.exec(_flow_sums(window)):
        add(project_id, **_from_flows(kind, *sums))
    moved = (
        select(Issue.project_id, func.count(distinct(col(IssueEvent.issue_id))))
        .join(Issue, col(Issue.id) == IssueEvent.issue_id)
        .where(window.flows(), born, col(IssueEvent.kind).in_(MOVED_UP))
        .group_by(col(Issue.project_id))
    )
    for project_id, count in await session.exec(moved):
        add(project_id, escalated=count)
    for issue in issues:
        state = states[issue.id]
        if state.late(window.cut):
            awaiting = state.status in AWAITING_ACCEPT
            accepted = state.status == Status.ACCEPTED
            add(issue.project_id, overdue=1, due_accept=awaiting, due_resolve=accepted)
    return {project_id: IssueCounts(**part) for project_id, part in parts.items()}


def _flow_sums(window: Window) -> Any:
    """Per project and kind: how many events, those without an on-time mark, those marked on
    time, those unmarked but by the issue's resolve deadline, those rated, those satisfied."""
    data = col(IssueEvent.data)
    on_time, rating = data["on_time"].as_boolean(), data["rating"].as_string()
    resolve_due = col(Issue.resolve_due)
    in_time = or_(resolve_due.is_(None), col(IssueEvent.at) <= resolve_due)

    def count(condition: ColumnElement[bool]) -> Any:
        return func.sum(case((condition, 1), else_=0))

    return (
        select_columns(
            Issue.project_id,
            IssueEvent.kind,
            func.count(),
            count(on_time.is_(None)),
            count(on_time),
            count(and_(on_time.is_(None), in_time)),
            count(rating.is_not(None)),
            count(and_(rating.is_not(None), rating != Rating.UNSATISFIED.value)),
        )
        .join(Issue, col(Issue.id) == IssueEvent.issue_id)
        .where(window.flows(), window.born())
        .group_by(col(Issue.project_id), col(IssueEvent.kind))
    )


def _from_flows(
    kind: EventKind, n: int, unmarked: int, marked: int, unmarked_in_time: int, rated: int,
    satisfied: int,
) -> dict[str, int]:  # fmt: skip
    """One project's and kind's sums as counts (see `counts` in models/bulletin.py)."""
    if kind == EventKind.ACCEPTED:  # accepted before events said so: on time
        return {"accepted": n, "accepted_on_time": unmarked + marked, "due_accept": n}
    if kind == EventKind.RESOLVED:  # resolved before events said so: by the issue's deadline
        on_time = marked + unmarked_in_time
        return {"resolved": n, "resolved_on_time": on_time, "due_resolve": n}
    out = {"rated": rated, "satisfied": satisfied} if kind in RATINGS else {}
    if kind == EventKind.REOPENED:
        out["reopened"] = n
    if kind == EventKind.CLOSED_UNRATED:
        out["unrated"] = n
    return out


def total(parts: Iterable[IssueCounts]) -> IssueCounts:
    """The sum of several scopes' figures (projects into a region, regions into the city)."""
    sums = dict.fromkeys((f.name for f in fields(IssueCounts)), 0)
    for part in parts:
        for key in sums:
            sums[key] += getattr(part, key)
    return IssueCounts(**sums)


def scoped(tallies: Mapping[int, IssueCounts], projects: Sequence[int]) -> IssueCounts:
    """The figures of the issues of `projects` (ids) from the projects' tallies."""
    return total(tallies[p] for p in projects if p in tallies)
