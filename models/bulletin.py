"""The bulletins' figures (月初一通报, 一季一点评, 全年一考核) for the city and each region.

`load_book` reads everything a period's bulletins need in a few queries; `bulletin_for` then cuts
one scope out of it, so the city's and nine regions' bulletins cost one read. Flows (new,
accepted, resolved, rated, escalated, new stages) count events inside the period up to the cut;
states (open, overdue, unaccepted past a deadline) are as at the cut, read from each issue's
history (the status and the running deadline its last event before the cut left), so a bulletin
drawn again later shows the same figures. The rates are defined once in models/figures.py.

The book holds only the issues the reports list (open at the cut, or active in the period) and
each project's figures counted by the database (models/tallies.py): its size follows the
backlog and the month, not the years of history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from statistics import mean

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audit import verify
from models.codes import AWAITING_ACCEPT, EventKind, Rating, RegionKind, Status
from models.figures import RATE_KEYS, rate_def, worse_than
from models.periods import Period, year_elapsed
from models.policy import RateKey, RegionTargets
from models.progress import latest_invested
from models.report_data import (
    STAGE_KEYS,
    Bulletin,
    DepartmentRow,
    Flag,
    FourRates,
    Fraction,
    IssueCounts,
    IssueRow,
    ProjectRow,
    RecordCheck,
    RegionRow,
    StageCounts,
    TargetLine,
    Unreachable,
)
from models.rules import Rules
from models.tables.issue import IssueCoHandler
from models.tables.org import Contact, Department, Enterprise, Official, Region
from models.tables.project import Project
from models.tallies import (
    AtCut,
    FlowEvent,
    IssueFacts,
    Window,
    flow_events,
    listed_issues,
    project_tallies,
    scoped,
    state_at_cut,
)

YI = 10000  # 1亿元 in 万元
_STAGE_DATES = {
    "signed": "signed_on",
    "started": "started_on",
    "completed": "completed_on",
    "in_production": "production_on",
    "listed": "listed_on",
}


@dataclass
class Book:
    """What one period's bulletins are drawn from, read once."""

    period: Period
    cut: datetime
    rules: Rules
    regions: list[Region]
    projects: list[Project]
    issues: list[IssueFacts]  # those open at the cut (or now) and those active in the period
    events: list[FlowEvent]  # flow events inside the period
    names: dict[int, str]  # official id -> name
    enterprises: dict[int, str]
    invested: dict[int, int]  # project id -> latest cumulative investment reported by the cut
    unreachable: list[tuple[int | None, Unreachable]]  # (region id or None, person)
    cohandling: list[tuple[IssueCoHandler, Department]] = field(default_factory=list)
    states: dict[int, AtCut] = field(default_factory=dict)  # issue id -> as at the cut
    tallies: dict[int, IssueCounts] = field(default_factory=dict)  # project id -> its figures
    record: RecordCheck | None = None  # the record verified before the figures were drawn
    by_id: dict[int, Project] = field(init=False)
    region_by_id: dict[int, Region] = field(init=False)
    touched: set[int] = field(init=False)  # issues with a flow event in the period

    def __post_init__(self) -> None:
        self.by_id = {p.id: p for p in self.projects if p.id is not None}
        self.region_by_id = {r.id: r for r in self.regions if r.id is not None}
        self.touched = {e.issue_id for e in self.events}

    def open_by_project(
        self, issues: Iterable[IssueFacts] | None = None
    ) -> dict[int, list[IssueFacts]]:
        """The open ones of `issues` (default: all), grouped by project id."""
        grouped: dict[int, list[IssueFacts]] = {}
        for issue in self.issues if issues is None else issues:
            if self.at_cut(issue).open:
                grouped.setdefault(issue.project_id, []).append(issue)
        return grouped

    def at_cut(self, issue: IssueFacts) -> AtCut:
        """The issue as it stood at the cut."""
        return self.states.get(issue.id) or state_at_cut(issue, None)

    def overdue(self, issue: IssueFacts) -> bool:
        """Open and past the deadline running at the cut."""
        return self.at_cut(issue).late(self.cut)

    def local(self, moment: datetime) -> date:
        """A moment's local date."""
        return moment.astimezone(self.rules.tz).date()


async def load_book(
    *,
    session: AsyncSession,
    rules: Rules,
    period: Period,
    cut: datetime,
    verified_at: datetime | None = None,
) -> Book:
    """Read the regions, projects, the listed issues, the period's events, each project's
    figures and the people once; a bulletin's book (`verified_at`: now) verifies the record
    first (models/audit.py), and says so."""
    record = None
    if verified_at is not None:
        record = await record_check(session=session, now=verified_at)
    window = Window(*period.bounds(rules.tz), cut)
    regions = list((await session.exec(select(Region).order_by(col(Region.code)))).all())
    projects = list((await session.exec(select(Project).order_by(col(Project.code)))).all())
    issues, states = await listed_issues(session, window, active=True)
    officials = list((await session.exec(select(Official))).all())
    cohandling = select(IssueCoHandler, Department).join(
        Department, col(Department.id) == IssueCoHandler.department_id
    )
    enterprises = {e.id: e.name for e in (await session.exec(select(Enterprise))).all() if e.id}
    return Book(
        period=period,
        cut=cut,
        rules=rules,
        regions=regions,
        projects=projects,
        issues=issues,
        events=await flow_events(session, window),
        names={o.id: o.name for o in officials if o.id is not None},
        enterprises=enterprises,
        invested=await latest_invested(session=session, until=cut),
        unreachable=await _unreachable(session, officials, projects),
        cohandling=[(row, department) for row, department in await session.exec(cohandling)],
        states=states,
        tallies=await project_tallies(session, window, issues, states),
        record=record,
    )


async def record_check(*, session: AsyncSession, now: datetime) -> RecordCheck:
    """The record's hash chains walked (models/audit.py): what a bulletin says of its record."""
    verdict = await verify(session=session)
    first = verdict.first
    return RecordCheck(
        at=now,
        events=verdict.events,
        head_seq=verdict.head_seq,
        head_hash=verdict.head_hash,
        broken_issue=first.issue if first else None,
        broken_event=first.event_id if first else None,
    )


async def _unreachable(
    session: AsyncSession, officials: list[Official], projects: list[Project]
) -> list[tuple[int | None, Unreachable]]:
    def lost(person: Official | Contact) -> bool:
        return person.chat_id is None or person.unreachable

    people = [
        (o.region_id, Unreachable("official", o.code, o.name, o.chat_id is not None))
        for o in officials
        if lost(o)
    ]
    regions_of: dict[int, set[int]] = {}
    for project in projects:
        regions_of.setdefault(project.enterprise_id, set()).add(project.region_id)
    for contact in (await session.exec(select(Contact).order_by(col(Contact.code)))).all():
        if lost(contact):
            bound = contact.chat_id is not None
            person = Unreachable("contact", contact.code, contact.name, bound)
            people += [(r, person) for r in sorted(regions_of.get(contact.enterprise_id, {0}))]
    return people


def bulletin_for(book: Book, scope: Region | None) -> Bulletin:
    """The bulletin of the city (scope None) or of one region."""
    mine = {p.id for p in book.projects if scope is None or p.region_id == scope.id}
    issues = [i for i in book.issues if i.project_id in mine]
    projects = [p for p in book.projects if p.id in mine]
    city = next((r for r in book.regions if r.kind == RegionKind.CITY), None)
    named = scope or city
    overdue = sorted(
        (i for i in issues if book.overdue(i)),
        key=lambda i: (book.at_cut(i).due or book.cut, i.id or 0),
    )
    targets = _targets(book, scope)
    open_by = book.open_by_project(issues)
    rows = {i.id: issue_row(book, i) for i in issues if _active(book, i)}  # the overdue among them
    return Bulletin(
        period=book.period.key,
        start=book.period.start,
        end=book.period.end,
        cut=book.cut,
        scope="city" if scope is None else scope.code,
        scope_name_zh=named.name_zh if named else "",
        scope_name_en=named.name_en if named else None,
        issues=scoped(book.tallies, [p.id for p in projects if p.id is not None]),
        overdue=[rows[i.id] for i in overdue],
        stages=stage_counts(book, projects),
        rates=four_rates(book, projects, targets),
        year=book.period.year,
        elapsed=year_elapsed(book.cut, book.rules.tz, year=book.period.year),
        targets=target_lines(book, projects, targets),
        regions=ranking(book),
        unreachable=_people(book, scope),
        issue_rows=list(rows.values()),
        projects=[project_row(book, p, open_by.get(p.id or 0, [])) for p in projects],
        departments=department_rows(book, issues),
        limits=book.rules.policy.floors.model_dump(),
        record=book.record,
    )


def department_rows(book: Book, issues: Sequence[IssueFacts]) -> list[DepartmentRow]:
    """Each co-handling department's 按时协办率 over the scope's issues, and what it owes late."""
    start, end = book.period.bounds(book.rules.tz)
    by_issue = {i.id: i for i in issues}
    rows: dict[str, tuple[Department, list[bool], list[str]]] = {}
    for row, department in book.cohandling:
        issue = by_issue.get(row.issue_id)
        if issue is None or row.due_at is None:
            continue
        answers, late = rows.setdefault(department.code, (department, [], []))[1:]
        if row.answered_at is not None and start <= row.answered_at < min(end, book.cut):
            answers.append(row.answered_at <= row.due_at)
        elif row.answered_at is None and row.due_at <= book.cut and book.at_cut(issue).open:
            late.append(issue.number or str(issue.id))
    return [
        DepartmentRow(code, d.name_zh, d.name_en, sum(answers), len(answers), sorted(late))
        for code, (d, answers, late) in sorted(rows.items())
        if answers or late
    ]


def _in_year(book: Book, day: date | None) -> bool:
    """A date in the period's year, on or before the cut."""
    return day is not None and day.year == book.period.year and _by(book, day)


def counts(book: Book, issues: Sequence[IssueFacts]) -> IssueCounts:
    """The issue figures of a set of issues over the book's period, as at its cut, issue by
    issue: for the scopes not made of projects (a department's, an official's). Every issue that
    counts is in the book (new, moved or open at the cut). The bulletins' scopes read the same
    figures from the projects' tallies (`book.tallies`)."""
    ids = {i.id for i in issues}
    start, end = book.period.bounds(book.rules.tz)
    events = [e for e in book.events if e.issue_id in ids]
    by_id = {i.id: i for i in issues}

    def of(*kinds: EventKind) -> list[FlowEvent]:
        return [e for e in events if e.kind in kinds]

    def resolved_in_time(event: FlowEvent) -> bool:
        if "on_time" in event.data:
            return bool(event.data["on_time"])
        due = by_id[event.issue_id].resolve_due  # recorded before events said so
        return due is None or event.at <= due

    accepted, resolved = of(EventKind.ACCEPTED), of(EventKind.RESOLVED)
    ratings = [e for e in of(EventKind.CONFIRMED, EventKind.REOPENED) if "rating" in e.data]
    states = [book.at_cut(i) for i in issues]
    late = [s for s in states if s.late(book.cut)]
    return IssueCounts(
        new=sum(start <= i.created_at < end for i in issues),
        accepted=len(accepted),
        resolved=len(resolved),
        overdue=len(late),
        escalated=len({e.issue_id for e in of(EventKind.ESCALATED, EventKind.DIRECT_LINE)}),
        accepted_on_time=sum(bool(e.data.get("on_time", True)) for e in accepted),
        due_accept=len(accepted) + sum(s.status in AWAITING_ACCEPT for s in late),
        resolved_on_time=sum(resolved_in_time(e) for e in resolved),
        due_resolve=len(resolved) + sum(s.status == Status.ACCEPTED for s in late),
        rated=len(ratings),
        satisfied=sum(e.data.get("rating") != Rating.UNSATISFIED for e in ratings),
        unrated=len(of(EventKind.CLOSED_UNRATED)),
        reopened=len(of(EventKind.REOPENED)),
    )


def _reached(book: Book, project: Project, stage: str, start: date, end: date) -> bool:
    day: date | None = getattr(project, _STAGE_DATES[stage])
    return day is not None and start <= day < end


def stage_counts(book: Book, projects: Iterable[Project]) -> StageCounts:
    """Projects that reached each stage inside the period."""
    start, end = book.period.start, book.period.end
    listed = list(projects)
    return StageCounts(
        **{k: sum(_reached(book, p, k, start, end) for p in listed) for k in STAGE_KEYS}
    )


def _by(book: Book, day: date | None) -> bool:
    return day is not None and day <= book.local(book.cut)


def four_rates(
    book: Book, projects: Sequence[Project], targets: RegionTargets | None
) -> FourRates:
    """签约率, 开工率, 投产率, 达效率 of the scope's projects as at the cut."""
    signed = [p for p in projects if _by(book, p.signed_on)]
    started = [p for p in signed if _by(book, p.started_on)]
    producing = [p for p in started if _by(book, p.production_on)]
    at_capacity = [p for p in producing if _by(book, p.capacity_on)]
    new_1yi = sum(_signed_in_year(book, p) and p.investment_wan >= YI for p in projects)
    return FourRates(
        signing=Fraction(new_1yi, targets.new_projects_1yi if targets else 0),
        starting=Fraction(len(started), len(signed)),
        production=Fraction(len(producing), len(started)),
        capacity=Fraction(len(at_capacity), len(producing)),
    )


def _signed_in_year(book: Book, project: Project) -> bool:
    day = project.signed_on
    return day is not None and day.year == book.period.year and _by(book, day)


def _targets(book: Book, scope: Region | None) -> RegionTargets | None:
    year = book.rules.policy.targets.get(book.period.year)
    if year is None:
        return None
    return year if scope is None else year.regions.get(scope.code)


def target_lines(
    book: Book, projects: Sequence[Project], targets: RegionTargets | None
) -> list[TargetLine]:
    """The year's targets against what the scope's projects reached by the cut; the optional
    ones only when the policy sets them (none at all: no lines, and the reports say so)."""
    if targets is None:
        return []
    year = [p for p in projects if _signed_in_year(book, p)]
    started = [p for p in year if p.started_on and p.started_on.year == book.period.year]
    starts = sum(_in_year(book, p.started_on) for p in projects)
    actual = {
        "agreed_investment_wan": sum(p.investment_wan for p in year),
        "new_projects_1yi": sum(p.investment_wan >= YI for p in year),
        "projects_50yi": sum(p.investment_wan >= 50 * YI for p in year),
        "signed_and_started": sum(_by(book, p.started_on) for p in started),
        # The cumulative investment completed, as each project last reported it by the cut.
        "industrial_investment_wan": sum(book.invested.get(p.id or 0, 0) for p in projects),
        "new_starts": starts,
        "listed_from_completed": sum(
            _in_year(book, p.listed_on) and p.completed_on is not None for p in projects
        ),
    }
    goals: dict[str, int | None] = {k: getattr(targets, k) for k in actual}
    lines = [TargetLine(k, goal, actual[k]) for k, goal in goals.items() if goal is not None]
    share, year_starts = targets.started_share_by_midyear, targets.new_starts
    midyear = date(book.period.year, 7, 1)  # the period ends by 30 June (`end` is exclusive)
    if share is not None and year_starts is not None and book.period.end <= midyear:
        lines.append(TargetLine("started_share_by_midyear", year_starts, starts, against=share))
    return lines


def ranking(book: Book) -> list[RegionRow]:
    """Every region (the city level aside) with its rates, ranked best first, and flagged."""
    rows = []
    for region in (r for r in book.regions if r.kind != RegionKind.CITY):
        projects = [p for p in book.projects if p.region_id == region.id]
        figures = scoped(book.tallies, [p.id for p in projects if p.id is not None])
        rates = [
            r if rate_def(k).higher_is_better else 1 - r
            for k in RATE_KEYS
            if (r := figures.rate(k)) is not None
        ]  # each the higher the better
        known = rates
        score = mean(known) if known else None
        rows.append((region, figures, stage_counts(book, projects), score))
    rows.sort(key=lambda row: (row[3] is None, -(row[3] or 0), row[0].code))
    return [
        RegionRow(
            region.code, region.name_zh, region.name_en, figures, stages, score, rank,
            *_flag(book, figures),
        )
        for rank, (region, figures, stages, score) in enumerate(rows, start=1)
    ]  # fmt: skip


def _flag(book: Book, figures: IssueCounts) -> tuple[Flag | None, tuple[RateKey, ...]]:
    floors = book.rules.policy.floors
    flags: tuple[tuple[Flag, dict[RateKey, float]], ...] = (
        ("red", floors.red),
        ("yellow", floors.yellow),
    )
    for flag, limits in flags:
        rates = {key: figures.rate(key) for key in limits}
        below = tuple(
            k
            for k, limit in limits.items()
            if (r := rates[k]) is not None and worse_than(k, r, limit)
        )
        if below:
            return flag, below
    return None, ()


def _people(book: Book, scope: Region | None) -> list[Unreachable]:
    seen: dict[tuple[str, str], Unreachable] = {}
    for region_id, person in book.unreachable:
        if scope is None or region_id == scope.id:
            seen.setdefault((person.kind, person.code), person)
    return sorted(seen.values(), key=lambda p: (p.kind != "official", p.code))


def _active(book: Book, issue: IssueFacts) -> bool:
    start, _ = book.period.bounds(book.rules.tz)
    return issue.id in book.touched or book.at_cut(issue).open or issue.created_at >= start


def issue_row(book: Book, issue: IssueFacts) -> IssueRow:
    """An issue as the reports list it."""
    project = book.by_id[issue.project_id]
    region = book.region_by_id.get(project.region_id)
    state = book.at_cut(issue)
    return IssueRow(
        number=issue.number or str(issue.id),
        project_code=project.code,
        project_name=project.name,
        region=region.code if region else "",
        category=issue.category.value,
        urgency=issue.urgency.value,
        status=state.status.value,
        level=state.level.value,
        handler=book.names.get(issue.assignee_id or 0),
        created_at=issue.created_at,
        due_at=state.due,
        overdue=book.overdue(issue),
        rating=issue.rating.value if issue.rating else None,
        region_zh=region.name_zh if region else "",
        region_en=region.name_en if region else None,
    )


def project_row(book: Book, project: Project, own: Sequence[IssueFacts]) -> ProjectRow:
    """A project as the reports list it, with its open issues `own` and how many are overdue."""
    start, end = book.period.start, book.period.end
    region = book.region_by_id.get(project.region_id)
    return ProjectRow(
        code=project.code,
        name=project.name,
        enterprise=book.enterprises.get(project.enterprise_id, ""),
        region=region.code if region else "",
        investment_wan=project.investment_wan,
        stage=project.stage.value,
        invested_wan=book.invested.get(project.id or 0),
        new_stages=tuple(k for k in STAGE_KEYS if _reached(book, project, k, start, end)),
        open_issues=len(own),
        overdue_issues=sum(book.overdue(i) for i in own),
    )


async def city_and_regions(
    *,
    session: AsyncSession,
    rules: Rules,
    period: Period,
    cut: datetime,
    verified_at: datetime | None = None,
) -> list[tuple[Region | None, Bulletin]]:
    """The city's bulletin and each region's, from one read (the record verified at
    `verified_at`, when given: the scheduled ones)."""
    book = await load_book(
        session=session, rules=rules, period=period, cut=cut, verified_at=verified_at
    )
    scopes: list[Region | None] = [None]
    scopes += [r for r in book.regions if r.kind != RegionKind.CITY]
    drawn = [(scope, bulletin_for(book, scope)) for scope in scopes]
    return await with_context(session=session, book=book, drawn=drawn)


async def with_context(
    *, session: AsyncSession, book: Book, drawn: list[tuple[Region | None, Bulletin]]
) -> list[tuple[Region | None, Bulletin]]:
    """A month's bulletins with their context: the month before, drawn as at its own end (as
    its own bulletin counted it), and the year from 1 January to the cut (环比, 年内). Other
    periods are returned as they are."""
    period = book.period
    if period.grain != "month":
        return drawn
    before = period.previous()
    before_start, before_end = before.bounds(book.rules.tz)
    before_window = Window(before_start, before_end, min(before_end, book.cut), to_cut=False)
    issues, states = await listed_issues(session, before_window, active=False)
    last = await project_tallies(session, before_window, issues, states)
    year = Period("year", str(period.year), date(period.year, 1, 1), period.end)
    year_window = Window(*year.bounds(book.rules.tz), book.cut, to_cut=False)
    born = [i for i in book.issues if i.created_at < book.cut]  # its states: the book's own
    to_date = await project_tallies(session, year_window, born, book.states)
    return [
        (
            scope,
            replace(
                b, previous=_scoped(book, last, scope), year_to_date=_scoped(book, to_date, scope)
            ),
        )
        for scope, b in drawn
    ]


def _scoped(book: Book, tallies: dict[int, IssueCounts], scope: Region | None) -> IssueCounts:
    """The issue figures of the city (None) or one region from its projects' tallies."""
    mine = [
        p.id
        for p in book.projects
        if p.id is not None and (scope is None or p.region_id == scope.id)
    ]
    return scoped(tallies, mine)
