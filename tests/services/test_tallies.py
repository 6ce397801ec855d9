"""The bulletins' figures counted by the database (models/tallies.py) against the way they were
computed before, issue by issue over every issue and every event, on a generated history: random
flows with and without their on-time marks and ratings, events with and without the running
deadline, events and births on the cuts and on the months' edges, issues in every region.

The reference below is the old computation kept as it was: each issue's state from its last
event at or before the cut, the window's flow events, `counts` over the scope's issues.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.bulletin import Book, bulletin_for, counts, load_book, with_context
from models.codes import Category, EventKind, Level, Rating, Status, Urgency
from models.issues.deadlines import RUNNING_DUE
from models.periods import Period
from models.report_data import IssueCounts
from models.rules import Rules
from models.tables.issue import Issue, IssueEvent
from models.tables.org import Region
from models.tallies import FLOWS, FlowEvent, IssueFacts, LastStep, state_at_cut
from tests.support.factories import at, build_world, make_project

CUT = at("2026-11-20 09:00")  # a November bulletin drawn while the month runs
STEPS = [
    (EventKind.ACCEPTED, Status.ACCEPTED),
    (EventKind.RESOLVED, Status.RESOLVED),
    (EventKind.CONFIRMED, Status.CLOSED),
    (EventKind.REOPENED, Status.REOPENED),
    (EventKind.ESCALATED, Status.SUBMITTED),
    (EventKind.DIRECT_LINE, Status.ACCEPTED),
    (EventKind.CLOSED_UNRATED, Status.CLOSED),
    (EventKind.COMMENT, None),  # no status: the row's own state
    (EventKind.INFO_REQUESTED, Status.AWAITING_INFO),
]


def _moment(rng: random.Random) -> datetime:
    """Mostly anywhere from September to the cut's day after; sometimes on an edge."""
    edges = [CUT, at("2026-11-01 00:00"), at("2026-10-01 00:00"), at("2026-12-01 00:00")]
    if rng.random() < 0.08:
        return rng.choice(edges)
    return at("2026-09-01 00:00") + timedelta(minutes=rng.randrange(82 * 24 * 60))


def _data(rng: random.Random, kind: EventKind) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if kind in (EventKind.ACCEPTED, EventKind.RESOLVED) and rng.random() < 0.7:
        data["on_time"] = rng.random() < 0.6
    if kind in (EventKind.CONFIRMED, EventKind.REOPENED) and rng.random() < 0.8:
        data["rating"] = rng.choice([Rating.SATISFIED, Rating.UNSATISFIED]).value
    if rng.random() < 0.5:
        due = _moment(rng) if rng.random() < 0.8 else None
        data[RUNNING_DUE] = due.astimezone(UTC).isoformat() if due else None
    return data


async def _history(session: AsyncSession, rng: random.Random) -> None:
    world = await build_world(session)
    city = (await session.exec(select(Region).where(Region.code == "city"))).one()
    projects = [
        await make_project(session, world, 20_000, code=f"P{n}", region=region)
        for n, region in enumerate([world.region, world.other_region, city, world.region])
    ]
    for n in range(160):
        created = _moment(rng)
        status = rng.choice(list(Status))
        issue = Issue(
            number=f"2026-{n:05d}",
            project_id=rng.choice(projects).id or 0,
            category=Category.LAND,
            urgency=Urgency.NORMAL,
            text="…",
            status=status,
            level=Level.COUNTY,
            created_at=created,
            updated_at=created,
            accept_due=created + timedelta(days=rng.randrange(-3, 20)),
            resolve_due=None
            if rng.random() < 0.2
            else created + timedelta(days=rng.randrange(25)),
        )
        session.add(issue)
        await session.flush()
        moments = sorted(_moment(rng) for _ in range(rng.randrange(6)))
        for when in [m for m in moments if m >= created] + ([created] if n % 7 == 0 else []):
            kind, to_status = rng.choice(STEPS)
            session.add(
                IssueEvent(
                    issue_id=issue.id or 0,
                    at=when,
                    kind=kind,
                    to_status=to_status,
                    to_level=rng.choice([None, Level.COUNTY, Level.CITY_DEPUTY]),
                    data=_data(rng, kind),
                )
            )
    await session.commit()


async def _reference(
    session: AsyncSession, book: Book, period: Period, cut: datetime, *, to_cut: bool
) -> dict[int | None, IssueCounts]:
    """The old way: every issue born by the cut, each one's state from its last event at or
    before it, the window's flow events, then `counts` over each scope's issues."""
    start, end = period.bounds(book.rules.tz)
    rows = (await session.exec(select(Issue).order_by(col(Issue.id)))).all()
    issues = [
        IssueFacts(**{f: getattr(i, f) for f in IssueFacts.__dataclass_fields__})
        for i in rows
        if (i.created_at <= cut if to_cut else i.created_at < cut)
    ]
    events = (await session.exec(select(IssueEvent).order_by(col(IssueEvent.id)))).all()
    last: dict[int, IssueEvent] = {}
    for event in events:
        if event.at <= cut:
            last[event.issue_id] = event
    states = {}
    for issue in issues:
        event = last.get(issue.id)
        step = None if event is None else LastStep(event.to_status, event.to_level, event.data)
        states[issue.id] = state_at_cut(issue, step)
    flows = [
        FlowEvent(e.issue_id, e.kind, e.at, e.data)
        for e in events
        if e.kind in FLOWS and start <= e.at < end and (e.at <= cut if to_cut else e.at < cut)
    ]
    old = replace(book, period=period, cut=cut, issues=issues, events=flows, states=states)
    scopes: list[Region | None] = [None, *book.regions]
    return {
        None if scope is None else scope.id: counts(
            old,
            [i for i in issues if scope is None or old.by_id[i.project_id].region_id == scope.id],
        )
        for scope in scopes
    }


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
async def test_the_database_counts_as_the_issues_did(
    session: AsyncSession, rules: Rules, seed: int
) -> None:
    rng = random.Random(seed)
    await _history(session, rng)
    november = Period.parse("2026-11")
    book = await load_book(session=session, rules=rules, period=november, cut=CUT)
    scopes: list[Region | None] = [None, *book.regions]
    drawn = [(scope, bulletin_for(book, scope)) for scope in scopes]
    drawn = await with_context(session=session, book=book, drawn=drawn)
    main = await _reference(session, book, november, CUT, to_cut=True)
    october_end = at("2026-11-01 00:00")
    before = await _reference(session, book, Period.parse("2026-10"), october_end, to_cut=False)
    year = Period("year", "2026", at("2026-01-01 00:00").date(), november.end)
    to_date = await _reference(session, book, year, CUT, to_cut=False)
    for scope, bulletin in drawn:
        key = None if scope is None else scope.id
        assert bulletin.issues == main[key], scope
        assert bulletin.previous == before[key], scope
        assert bulletin.year_to_date == to_date[key], scope
        mine = [
            i for i in book.issues if scope is None or book.by_id[i.project_id].region_id == key
        ]
        assert counts(book, mine) == main[key], scope  # `/stats`' way, over the listed issues
    ranked = {row.code: row.issues for row in drawn[0][1].regions}
    assert ranked == {r.code: main[r.id] for r in book.regions if r.code != "city"}
    assert main[None].accepted and main[None].overdue and before[None].rated  # a real test
