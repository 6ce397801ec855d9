"""Property-based tests (issue 17, item 3), with hypothesis.

(a) Random sequences of actions by random actors, and the clock moving on with the sweep, keep
every issue in a valid state, and its events replay to that state. Each invariant is stated in
the docstring of the function that checks it; they come from models/issues (actions.py,
deadlines.py, sweep.py), models/permissions.py and models/routing.py.

(b) Deadlines counted in working days are never earlier than their start and never land on a
day off, judged by an oracle independent of models/workcal.py (the `chinesecalendar` package
itself for the years it knows; else weekends and the days fixed by law).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import chinese_calendar
import pytest
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.codes import (
    AWAITING_ACCEPT,
    Action,
    Category,
    EventKind,
    Level,
    Rating,
    Status,
    Urgency,
)
from models.db import make_engine
from models.errors import DomainError
from models.issues import commands as c
from models.issues.context import Ctx
from models.issues.deadlines import next_check, running_due
from models.issues.runner import facts_for, run
from models.issues.sweep import process_clocks, process_cohandlers
from models.permissions import Actor, actor_of, allowed_actions
from models.policy import LADDER, Span
from models.routing import may_handle
from models.rules import Rules, level_above, top_level
from models.tables.issue import Issue, IssueCoHandler, IssueEvent
from models.tables.org import Department, Official
from models.tables.project import Project
from models.workcal import FIXED_DAYS_OFF, package_knows
from tests.support.database import empty_tables
from tests.support.factories import TZ, at, build_world, make_issue, make_project

# --- (a) random actions keep every issue valid ------------------------------------------------

VERBS = (
    "accept",
    "request_info",
    "supply",
    "resume",
    "comment",
    "cohandler",
    "opinion",
    "escalate",
    "direct_line",
    "resolve",
    "confirm",
    "reopen",
    "transfer",
    "tick",
)
# "next": one of the actions the issue's own people may take now (models/permissions.py), so
# that sequences reach deep states (a comment changes no state: not among them); the other
# verbs are tried whether allowed or not.
# "forward": the step that moves the issue on along its usual way, by whose it is.
FORWARD = {
    Status.SUBMITTED: ("accept", "handler"),
    Status.REOPENED: ("accept", "handler"),
    Status.ACCEPTED: ("resolve", "handler"),
    Status.AWAITING_INFO: ("supply", "reporter"),
    Status.RESOLVED: ("confirm", "reporter"),
}
NEXT = {
    Action.ACCEPT: "accept",
    Action.REQUEST_INFO: "request_info",
    Action.RESUME: "resume",
    Action.ADD_COHANDLER: "cohandler",
    Action.ESCALATE: "escalate",
    Action.DIRECT_LINE: "direct_line",
    Action.RESOLVE: "resolve",
    Action.CONFIRM: "confirm",
    Action.REOPEN: "reopen",
    Action.SUPPLY: "supply",
    Action.OPINION: "opinion",
    Action.TRANSFER: "transfer",
}
# Who acts: the issue's own people (its handler, its reporter, a co-handling head) half the
# time, so that actions get through; anybody of the small city the other half.
OWN = ("handler", "reporter", "cohead")
CAST = OWN * 4 + ("C1", "C2", "r1-agent-a", "r1-agent-b", "r1-head", "r2-head", "zgj-head")
CAST += ("fgw-head", "deputy-a", "deputy-b", "principal-a", "admin")
HOURS = (1, 3, 8, 24, 72, 240)  # how far one tick moves the clock
STEP = st.tuples(
    st.sampled_from(("next",) * 6 + ("forward",) * 4 + VERBS),
    st.sampled_from(CAST),
    st.integers(0, 2),  # which issue
    st.integers(0, 11),  # a parameter: rating, department, target, hours, an empty note
)
RUNS: Counter[str] = Counter()  # what the generated cases did, printed at the end


@dataclass
class City:
    """What one example plays on: the rules, the clock, the people and the issues."""

    rules: Rules
    now: datetime
    officials: dict[str, Official] = field(default_factory=dict)
    actors: dict[str, Actor] = field(default_factory=dict)
    departments: list[int] = field(default_factory=list)
    issues: list[int] = field(default_factory=list)


async def _city(session: AsyncSession, rules: Rules) -> City:
    """The factories' city, with three issues starting on three rungs of the ladder (one
    urgent): 500万 at the service desk, 2亿 at the county, 20亿 with a city deputy."""
    world = await build_world(session)
    city = City(rules=rules, now=at("2026-11-20 10:00"))
    city.officials = dict(world.officials)
    city.actors = {code: actor_of(o) for code, o in world.officials.items()}
    assert world.contact is not None and world.other_contact is not None
    city.actors["C1"], city.actors["C2"] = actor_of(world.contact), actor_of(world.other_contact)
    city.departments = [d.id for d in world.departments.values() if d.id is not None]
    tiers = (("P1", 500, Urgency.NORMAL), ("P2", 20_000, Urgency.URGENT))
    for code, wan, urgency in (*tiers, ("P3", 200_000, Urgency.NORMAL)):
        project = await make_project(session, world, wan, code=code, leader="deputy-a")
        issue = await make_issue(
            session, rules, world, project, city.now, category=Category.LAND, urgency=urgency
        )
        assert issue.id is not None
        city.issues.append(issue.id)
    await session.commit()
    return city


async def _actor(session: AsyncSession, city: City, who: str, issue: Issue) -> Actor:
    """The actor a cast name stands for, on this issue."""
    if who == "handler":
        official = await session.get(Official, issue.assignee_id or 0)
        return actor_of(official) if official is not None else city.actors["admin"]
    if who == "reporter":
        return city.actors["C1"]
    if who == "cohead":
        rows = await session.exec(
            select(IssueCoHandler.department_id).where(IssueCoHandler.issue_id == issue.id)
        )
        departments = set(rows.all())
        heads = [o for o in city.officials.values() if o.department_id in departments]
        return actor_of(heads[0]) if heads else city.actors["zgj-head"]
    return city.actors[who]


async def _allowed(session: AsyncSession, city: City, issue: Issue, param: int) -> tuple[str, str]:
    """One of the actions the issue's own people may take now, and who (else a comment)."""
    facts = await facts_for(session=session, issue=issue)
    choices = []
    for who in OWN:
        actor = await _actor(session, city, who, issue)
        allowed = allowed_actions(actor, facts, city.rules.policy, city.now)
        choices += [(NEXT[action], who) for action in allowed if action in NEXT]
    return choices[param % len(choices)] if choices else ("comment", "reporter")


def _command(verb: str, issue_id: int, param: int, city: City) -> c.Command:
    """The command of a step; an odd parameter leaves a required note empty (refused)."""
    note = "" if param % 4 == 3 else "说明"
    rating = list(Rating)[param % 3]
    targets = sorted(city.officials.values(), key=lambda o: o.code)
    made: dict[str, Any] = {
        "accept": lambda: c.Accept(issue_id),
        "request_info": lambda: c.RequestInfo(issue_id, note=note),
        "supply": lambda: c.Supply(issue_id, note=note),
        "resume": lambda: c.Resume(issue_id),
        "comment": lambda: c.Comment(issue_id, note=note),
        "cohandler": lambda: c.AddCoHandler(
            issue_id, department_id=city.departments[param % len(city.departments)]
        ),
        "opinion": lambda: c.Opinion(issue_id, note=note),
        "escalate": lambda: c.Escalate(issue_id),
        "direct_line": lambda: c.DirectLine(issue_id),
        "resolve": lambda: c.Resolve(issue_id, note=note),
        "confirm": lambda: c.Confirm(issue_id, rating=rating, note=note or None),
        "reopen": lambda: c.Reopen(issue_id, note=note or None),
        "transfer": lambda: c.Transfer(
            issue_id, to_official_id=targets[param % len(targets)].id or 0, note=note
        ),
    }
    return made[verb]()  # type: ignore[no-any-return]


async def _snapshot(session: AsyncSession, issue_id: int) -> tuple[Any, ...]:
    """An issue's row, its co-handlers and its events: what a refusal must leave alone."""
    issue = await session.get(Issue, issue_id, populate_existing=True)
    assert issue is not None
    rows = await session.exec(
        select(IssueCoHandler)
        .where(IssueCoHandler.issue_id == issue_id)
        .order_by(col(IssueCoHandler.id))
    )
    events = await session.exec(select(IssueEvent.id).where(IssueEvent.issue_id == issue_id))
    return issue.model_dump(), [r.model_dump() for r in rows.all()], sorted(events.all())


async def _act(engine: Any, city: City, step: tuple[str, str, int, int]) -> None:
    """One step: an action by an actor (refused or done), or the clock moving on and the sweep."""
    verb, who, which, param = step
    RUNS["steps"] += 1
    if verb == "tick":
        city.now += timedelta(hours=HOURS[param % len(HOURS)])
        await _sweep(engine, city)
        return
    issue_id = city.issues[which]
    async with AsyncSession(engine, expire_on_commit=False) as session:
        issue = await session.get(Issue, issue_id)
        assert issue is not None
        if verb == "next":
            verb, who = await _allowed(session, city, issue, param)
        elif verb == "forward":
            verb, who = FORWARD.get(issue.status, ("comment", "reporter"))
        actor = await _actor(session, city, who, issue)
        before = await _snapshot(session, issue_id)
        ctx = Ctx(session=session, rules=city.rules, actor=actor, now=city.now)
        try:
            await run(ctx, _command(verb, issue_id, param, city))
        except DomainError as exc:
            RUNS["refused"] += 1
            RUNS[f"refused {verb}: {exc.code}"] += 1
            await session.rollback()
        else:
            RUNS["done"] += 1
            RUNS[f"done {verb}"] += 1
            await session.commit()
            return
    async with AsyncSession(engine) as session:  # refused: nothing changed, nothing recorded
        assert await _snapshot(session, issue_id) == before, step


async def _sweep(engine: Any, city: City) -> None:
    """The clock sweep as the job runs it (the issues' clocks, then the co-handlers'), then
    again for the same moment: the second finds nothing to do (idempotent)."""
    RUNS["sweeps"] += 1
    for attempt in range(2):
        async with AsyncSession(engine, expire_on_commit=False) as session:
            report = await process_clocks(session=session, rules=city.rules, now=city.now)
            RUNS["sweep changes"] += report.changed
            chased = await process_cohandlers(session=session, rules=city.rules, now=city.now)
            await session.commit()
        if attempt == 1:
            assert report.changed == 0 and chased == [], report


def _replayed(events: list[IssueEvent]) -> tuple[Status, Level]:
    """Fold an issue's events into where it must stand, from what each kind of event does.

    CREATED starts it submitted at its tier; ACCEPTED, RESUMED and SUPPLIED leave it accepted;
    INFO_REQUESTED awaiting material; RESOLVED resolved; CONFIRMED and CLOSED_UNRATED closed;
    ESCALATED one rung up and DIRECT_LINE at the top, both submitted afresh; REOPENED reopened,
    one rung up when a 不满意 rating did it (its data names the rating), else on the same rung.
    Every other kind (comments, reminders, opinions, transfers …) moves neither. Each event's
    from_status/from_level is where the one before it left the issue.
    """
    status, level = Status.SUBMITTED, events[0].to_level
    assert events[0].kind == EventKind.CREATED and level is not None
    moves = {
        EventKind.ACCEPTED: Status.ACCEPTED,
        EventKind.RESUMED: Status.ACCEPTED,
        EventKind.SUPPLIED: Status.ACCEPTED,
        EventKind.INFO_REQUESTED: Status.AWAITING_INFO,
        EventKind.RESOLVED: Status.RESOLVED,
        EventKind.CONFIRMED: Status.CLOSED,
        EventKind.CLOSED_UNRATED: Status.CLOSED,
        EventKind.REOPENED: Status.REOPENED,
        EventKind.ESCALATED: Status.SUBMITTED,
        EventKind.DIRECT_LINE: Status.SUBMITTED,
    }
    for event in events[1:]:
        assert (event.from_status, event.from_level) == (status, level), event
        status = moves.get(event.kind, status)
        if event.kind == EventKind.ESCALATED:
            above = level_above(level)
            assert above is not None, "escalated past the top"
            level = above
        elif event.kind == EventKind.DIRECT_LINE:
            level = top_level()
        elif event.kind == EventKind.REOPENED and "rating" in event.data:
            level = level_above(level) or level
        assert (event.to_status, event.to_level) == (status, level), event
    return status, level


def _check_clocks(issue: Issue, rules: Rules) -> None:
    """Deadlines are set iff a clock runs, and the sweep's next look is where they say.

    Awaiting acceptance (submitted, reopened): the accept clock runs — accept_due set, not
    before clock_start, no resolve deadline yet, not paused. Accepted: the resolve clock runs —
    resolve_due set, not before clock_start, not paused. Awaiting material: paused (paused_at
    set) with the resolve deadline kept. Resolved or closed: no clock runs (running_due None).
    Always: next_check_at is what `next_check` makes of the row (every change recomputes it).
    """
    due = running_due(issue)
    assert (due is not None) == (issue.status in (*AWAITING_ACCEPT, Status.ACCEPTED))
    if issue.status in AWAITING_ACCEPT:
        assert issue.accept_due is not None and issue.clock_start is not None
        assert issue.accept_due >= issue.clock_start and issue.resolve_due is None
        assert issue.paused_at is None
    elif issue.status == Status.ACCEPTED:
        assert issue.resolve_due is not None and issue.clock_start is not None
        assert issue.resolve_due >= issue.clock_start and issue.paused_at is None
    elif issue.status == Status.AWAITING_INFO:
        assert issue.paused_at is not None and issue.resolve_due is not None
    assert issue.next_check_at == next_check(issue, rules)


def _check_counters(issue: Issue, events: list[IssueEvent], rules: Rules) -> None:
    """Counters are never negative and count their events.

    escalations = ESCALATED + DIRECT_LINE events; missed_deadlines = ESCALATED events the
    clock made (reason "deadline") + OVERDUE flags; reopen_count = REOPENED events; direct_line
    is set iff a DIRECT_LINE event exists; reminders_sent never passes the policy's fractions
    (while resolved it counts the one rating reminder). Resolved and closed issues have
    resolved_at; an open one has not (a reopen clears it); closed_at is set iff closed, and a
    rating is the one its CONFIRMED event recorded.
    """
    kinds = [e.kind for e in events]
    for counter in ("escalations", "missed_deadlines", "reopen_count", "reminders_sent"):
        assert getattr(issue, counter) >= 0, counter
    assert issue.escalations == kinds.count(EventKind.ESCALATED) + kinds.count(
        EventKind.DIRECT_LINE
    )
    by_clock = [
        e for e in events if e.kind == EventKind.ESCALATED and e.data.get("reason") == "deadline"
    ]
    assert issue.missed_deadlines == len(by_clock) + kinds.count(EventKind.OVERDUE)
    assert issue.reopen_count == kinds.count(EventKind.REOPENED)
    assert issue.direct_line == (EventKind.DIRECT_LINE in kinds)
    limit = 1 if issue.status == Status.RESOLVED else len(rules.policy.reminders.fractions)
    assert issue.reminders_sent <= limit
    assert (issue.resolved_at is not None) == (issue.status in (Status.RESOLVED, Status.CLOSED))
    assert (issue.closed_at is not None) == (issue.status == Status.CLOSED)
    if kinds[-1] == EventKind.CONFIRMED:
        assert issue.rating is not None and issue.rating.value == events[-1].data["rating"]


async def _check(engine: Any, city: City) -> None:
    """Every issue: its events replay to its row, its clocks and counters agree, its level is
    on the ladder and never below its project's tier, its handler may handle that level (the
    routing's and the transfer's test), its co-handlers each joined by an event (or with the
    report) and answered iff an OPINION of theirs is on the record."""
    async with AsyncSession(engine) as session:
        for issue_id in city.issues:
            issue = await session.get(Issue, issue_id)
            assert issue is not None
            events = list(
                (
                    await session.exec(
                        select(IssueEvent)
                        .where(IssueEvent.issue_id == issue_id)
                        .order_by(col(IssueEvent.id))
                    )
                ).all()
            )
            assert _replayed(events) == (issue.status, issue.level)
            assert all(a.at <= b.at for a, b in itertools.pairwise(events))
            project = await session.get(Project, issue.project_id)
            assert project is not None
            assert LADDER.index(issue.level) >= LADDER.index(
                city.rules.level_for(project.investment_wan)
            )
            assignee = await session.get(Official, issue.assignee_id or 0)
            assert assignee is not None and may_handle(assignee, project, issue.level)
            _check_clocks(issue, city.rules)
            _check_counters(issue, events, city.rules)
            await _check_cohandlers(session, issue, events)


async def _check_cohandlers(session: AsyncSession, issue: Issue, events: list[IssueEvent]) -> None:
    """One row per department; rows = COHANDLER_ADDED events (+ the one the report brought);
    a row is answered iff an OPINION event of its department is on the record."""
    rows = (
        await session.exec(select(IssueCoHandler).where(IssueCoHandler.issue_id == issue.id))
    ).all()
    added = sum(e.kind == EventKind.COHANDLER_ADDED for e in events)
    assert len(rows) - added in (0, 1)
    assert len({r.department_id for r in rows}) == len(rows)
    opinions = {e.data["department"] for e in events if e.kind == EventKind.OPINION}
    for row in rows:
        department = await session.get(Department, row.department_id)
        assert department is not None
        assert (row.answered_at is not None) == (department.code in opinions)


async def _play(url: str, rules: Rules, steps: list[tuple[str, str, int, int]]) -> None:
    engine = make_engine(url)
    try:
        await empty_tables(engine)
        async with AsyncSession(engine, expire_on_commit=False) as session:
            city = await _city(session, rules)
        await _check(engine, city)
        for step in steps:
            await _act(engine, city, step)
            await _check(engine, city)
    finally:
        await engine.dispose()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(STEP, min_size=8, max_size=20))
@example(  # the whole life of the service desk's issue, then a 不满意 that takes it up
    steps=[
        ("accept", "handler", 0, 0),
        ("request_info", "handler", 0, 0),
        ("supply", "reporter", 0, 0),
        ("opinion", "cohead", 0, 0),
        ("resolve", "handler", 0, 0),
        ("confirm", "reporter", 0, 2),
        ("transfer", "handler", 0, 1),
        ("direct_line", "reporter", 0, 0),
        ("tick", "admin", 0, 5),
        ("tick", "admin", 0, 5),
    ]
)
@example(steps=[("tick", "admin", 0, 5)] * 8)  # nobody acts: the clock takes every rung
# Fri 10:00, +24 h, +72 h: both of a co-handler's reminders have fallen, its deadline not. The
# chase sent one per sweep (the second a minute later); now one notice, as the issue's own.
@example(steps=[("tick", "admin", 0, 3), ("tick", "admin", 0, 4)] * 4)
def test_random_actions_keep_every_issue_valid(
    database_url: str, rules: Rules, steps: list[tuple[str, str, int, int]]
) -> None:
    """Any sequence of actions by anyone, and the clock, leaves every issue valid (`_check`);
    a refused action changes nothing."""
    RUNS["examples"] += 1
    note(f"steps: {steps}")
    asyncio.run(_play(database_url, rules, steps))


# --- (b) deadlines ---------------------------------------------------------------------------

# The 调休 days of 2025 and 2026: weekends worked (the State Council's announcements).
SHIFTED = [
    date(2025, 1, 26), date(2025, 2, 8), date(2025, 4, 27), date(2025, 9, 28),
    date(2025, 10, 11), date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28),
    date(2026, 5, 9), date(2026, 9, 20), date(2026, 10, 10),
]  # fmt: skip
STARTS = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31, 23, 59), timezones=st.just(TZ)
).map(lambda moment: moment.replace(second=0, microsecond=0))


def day_off(day: date) -> bool:
    """The oracle: the package's own answer for the years it knows; else a weekend or a day
    the law fixes (元旦, 劳动节, 国庆)."""
    if package_knows(day.year):
        return not chinese_calendar.is_workday(day)
    return day.weekday() >= 5 or (day.month, day.day) in FIXED_DAYS_OFF


def test_the_shifted_weekends_are_working_days(rules: Rules) -> None:
    """The examples below are what they claim: weekends, worked, in both calendars."""
    for day in SHIFTED:
        assert day.weekday() >= 5 and not day_off(day)
        assert rules.calendar.is_workday(day) == (True, False)


def _check_due(rules: Rules, start: datetime, days: int) -> None:
    due = rules.due(start, Span(days, "wd")).at
    local = due.astimezone(TZ)
    assert due > start
    assert not day_off(local.date())
    assert local.time() == start.astimezone(TZ).time()  # the same clock time, n days on
    between = (start.astimezone(TZ).date() + timedelta(days=k) for k in range(1, 400))
    counted = [d for d in between if d <= local.date() and not day_off(d)]
    assert len(counted) == days  # exactly n working days after the start's date


@settings(max_examples=300, deadline=None)
@given(start=STARTS, days=st.integers(1, 30))
@example(start=datetime(2026, 2, 13, 17, 30, tzinfo=TZ), days=1)  # Friday → 调休 Saturday 2-14
@example(start=datetime(2026, 2, 14, 9, 0, tzinfo=TZ), days=1)  # starting on a 调休 Saturday
@example(start=datetime(2026, 2, 27, 23, 59, tzinfo=TZ), days=1)  # → Saturday 2-28, worked
@example(start=datetime(2025, 2, 7, 10, 0, tzinfo=TZ), days=1)  # → Saturday 2025-02-08
@example(start=datetime(2025, 10, 10, 10, 0, tzinfo=TZ), days=1)  # → Saturday 2025-10-11
@example(start=datetime(2026, 5, 8, 10, 0, tzinfo=TZ), days=1)  # → Saturday 2026-05-09
@example(start=datetime(2026, 10, 9, 10, 0, tzinfo=TZ), days=1)  # → Saturday 2026-10-10
@example(start=datetime(2026, 9, 30, 10, 0, tzinfo=TZ), days=1)  # over 国庆 and 中秋
@example(start=datetime(2026, 12, 31, 10, 0, tzinfo=TZ), days=5)  # into an unknown 2027
@example(start=datetime(2027, 9, 30, 10, 0, tzinfo=TZ), days=1)  # 2027's 国庆, fixed by law
def test_a_deadline_in_working_days_lands_on_a_working_day(
    rules: Rules, start: datetime, days: int
) -> None:
    """`days` working days after any minute of 2025–2027: later than the start, on a working
    day, at the start's clock time, exactly `days` working days on."""
    _check_due(rules, start, days)


@settings(max_examples=200, deadline=None)
@given(start=STARTS, level=st.sampled_from(LADDER), urgent=st.booleans())
@example(start=datetime(2026, 2, 13, 18, 0, tzinfo=TZ), level=Level.COUNTY, urgent=False)
@example(start=datetime(2026, 9, 19, 20, 0, tzinfo=TZ), level=Level.SERVICE_DESK, urgent=True)
def test_an_issues_deadlines_are_never_before_their_start(
    rules: Rules, start: datetime, level: Level, urgent: bool
) -> None:
    """The accept and resolve deadlines of every rung and urgency (models/rules.py): never
    before the start; those counted in working days land on a working day."""
    urgency = Urgency.URGENT if urgent else Urgency.NORMAL
    clock = rules.policy.clocks.for_issue(level, urgency)
    for span, due in (
        (clock.accept, rules.accept_due(start, level, urgency)),
        (clock.resolve, rules.resolve_due(start, level, urgency)),
    ):
        assert due.at >= start
        # counted through 2027, whose holidays nobody knows yet: marked, never a silent guess
        assert due.provisional == (span.unit == "wd" and due.at.astimezone(TZ).year >= 2027)
        if span.unit == "wd":
            _check_due(rules, start, span.amount)
        else:
            assert due.at == start + timedelta(hours=span.amount)


@pytest.fixture(scope="module", autouse=True)
def _report_runs() -> Any:
    """How many generated cases ran (printed with -s, for the record)."""
    yield
    print(f"\nproperties: {dict(sorted(RUNS.items()))}")
