"""What each cycle job draws and who receives it: `Report` rows and the outbox rows that deliver
them, written in the caller's transaction (the one that claimed the run).

Audiences come from the policy's `[audiences.JOB]`: `city` roles, Telegram group `chats` and the
`groups` (robots and webhooks: one row per destination, its channel and name) get the city's
report, `region` roles and the `regions.CODE` groups their own region's. Digests and chases go
to each handler, and to the digest's groups as the city's or a region's open items; progress
reminders go to the people concerned.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import date, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.bulletin import Book, city_and_regions, issue_row, load_book, project_row
from models.codes import OPEN_STATUSES, RegionKind, Role, Stage, Urgency
from models.cycle import BULLETIN_JOBS, claim, find_run
from models.cycle import Status as RunStatus
from models.periods import Period
from models.policy import Group, Recipients
from models.progress import reported_since
from models.report_data import (
    Agenda,
    AgendaRegion,
    Digest,
    IssueRow,
    ProgressAsk,
    Shape,
    Visit,
    dump,
)
from models.rules import Rules
from models.stats import period_cut
from models.tables.infra import TELEGRAM, Outbox, Report, ScheduleRun
from models.tables.org import Contact, Enterprise, Official, Region
from models.tables.project import Project
from models.tallies import IssueFacts

Produce = Callable[..., Awaitable[list[Outbox]]]

log = logging.getLogger(__name__)


async def _report(
    session: AsyncSession, job: str, period: Period, scope: str, shape: Shape, now: datetime
) -> Report:
    report = Report(job=job, period=period.key, scope=scope, created_at=now, data=dump(shape))
    session.add(report)
    await session.flush()
    return report


def _row(
    report: Report, now: datetime, who: str, ident: int | str, channel: str = TELEGRAM
) -> Outbox:
    """`who`: official, contact, chat (a Telegram group), or a group's channel (`ident` its
    name: the address its channel resolves at delivery)."""
    assert report.id is not None
    person = who in ("official", "contact")
    return Outbox(
        dedupe_key=f"report:{report.id}:{who}:{ident}",
        created_at=now,
        kind="report",
        payload={"report": report.id, "job": report.job},
        next_attempt_at=now,
        official_id=int(ident) if who == "official" else None,
        contact_id=int(ident) if who == "contact" else None,
        channel=channel,
        address=None if person else str(ident),
    )


async def _officials(
    session: AsyncSession, roles: Iterable[str], region: Region | None
) -> list[int]:
    query = select(Official.id).where(col(Official.role).in_(list(roles)))
    if region is not None:
        query = query.where(Official.region_id == region.id)
    return sorted(i for i in (await session.exec(query)).all() if i is not None)


async def _deliver(
    session: AsyncSession, report: Report, region: Region | None, who: Recipients, now: datetime
) -> list[Outbox]:
    """Rows for the audience: the city's roles, chats and groups, or the region's roles and
    groups."""
    roles = who.region if region is not None else who.city
    rows = [_row(report, now, "official", i) for i in await _officials(session, roles, region)]
    if region is None:
        rows += [_row(report, now, "chat", chat) for chat in who.chats]
    return rows + _to_groups(report, now, who.of(None if region is None else region.code))


def _to_groups(report: Report, now: datetime, groups: Iterable[Group]) -> list[Outbox]:
    return [_row(report, now, g.channel, g.address, g.channel) for g in groups]


def _audience(rules: Rules, job: str) -> Recipients:
    return rules.policy.audiences.get(job, Recipients())


async def bulletins(
    *, session: AsyncSession, rules: Rules, job: str, period: Period, now: datetime
) -> list[Outbox]:
    """月初一通报 / 一季一点评 / 全年一考核: the city's bulletin and each region's, drawn as at the
    period's end (or now, for a period still running) — the cut `ztc bulletin` uses too."""
    cut = period_cut(period, rules, now)
    drawn = await city_and_regions(
        session=session, rules=rules, period=period, cut=cut, verified_at=now
    )
    record = drawn[0][1].record
    if record is not None and not record.verified:  # ztc doctor says so too
        log.error(
            "the record does not verify (issue %s, event %s): the %s bulletins say so",
            record.broken_issue,
            record.broken_event,
            period.key,
        )
    return await _publish(session, rules, job, period, now, [(r, b.scope, b) for r, b in drawn])


async def _publish(
    session: AsyncSession,
    rules: Rules,
    job: str,
    period: Period,
    now: datetime,
    drawn: Iterable[tuple[Region | None, str, Shape]],
) -> list[Outbox]:
    """Store each scope's report (the city's: no region) and queue it for its audience."""
    rows: list[Outbox] = []
    for region, scope, shape in drawn:
        report = await _report(session, job, period, scope, shape, now)
        rows += await _deliver(session, report, region, _audience(rules, job), now)
    return rows


def _counties(book: Book) -> list[Region]:
    return [r for r in book.regions if r.kind != RegionKind.CITY]


def _open_rows(book: Book, region: Region) -> list[IssueRow]:
    issues = [
        i
        for i in book.issues
        if i.status in OPEN_STATUSES and book.by_id[i.project_id].region_id == region.id
    ]
    return _overdue_first(book, [issue_row(book, i) for i in issues])


def _overdue_first(book: Book, rows: Iterable[IssueRow]) -> list[IssueRow]:
    """Overdue issues first, then by deadline: how agendas and digests list them."""
    return sorted(rows, key=lambda r: (not r.overdue, r.due_at or book.cut, r.number))


async def agenda(
    *, session: AsyncSession, rules: Rules, job: str, period: Period, now: datetime
) -> list[Outbox]:
    """一月一会办: open and overdue issues by region, to the conveners and each region."""
    book = await load_book(session=session, rules=rules, period=period, cut=now)
    meeting_on = date(period.start.year, period.start.month, rules.policy.meeting.day)
    parts = [
        AgendaRegion(r.code, r.name_zh, r.name_en, _open_rows(book, r)) for r in _counties(book)
    ]
    city = Agenda(period.key, meeting_on, now, [p for p in parts if p.items])
    drawn: list[tuple[Region | None, str, Shape]] = [(None, "city", city)]
    drawn += [
        (region, region.code, Agenda(period.key, meeting_on, now, [part]))
        for region, part in zip(_counties(book), parts, strict=True)
        if part.items
    ]
    return await _publish(session, rules, job, period, now, drawn)


async def visit(
    *, session: AsyncSession, rules: Rules, job: str, period: Period, now: datetime
) -> list[Outbox]:
    """半年一观摩: the major projects with their state, largest first."""
    book = await load_book(session=session, rules=rules, period=period, cut=now)
    floor = rules.policy.cycle.visit_min_wan
    open_by = book.open_by_project()
    major = sorted(
        (p for p in book.projects if p.investment_wan >= floor),
        key=lambda p: (-p.investment_wan, p.code),
    )
    listed = [project_row(book, p, open_by.get(p.id or 0, [])) for p in major]
    drawn: list[tuple[Region | None, str, Shape]] = [
        (None, "city", Visit(period.key, now, floor, listed))
    ]
    for region in _counties(book):
        own = [p for p in listed if p.region == region.code]
        if own:
            drawn.append((region, region.code, Visit(period.key, now, floor, own)))
    return await _publish(session, rules, job, period, now, drawn)


async def digests(
    *, session: AsyncSession, rules: Rules, job: str, period: Period, now: datetime
) -> list[Outbox]:
    """周动态 (each handler's open issues) or 日跟踪 (their open urgent ones)."""
    book = await load_book(session=session, rules=rules, period=period, cut=now)
    urgent_only = job == "daily_chase"
    mine: dict[int, list[IssueFacts]] = {}
    for issue in book.issues:
        wanted = not urgent_only or issue.urgency == Urgency.URGENT
        if issue.status in OPEN_STATUSES and issue.assignee_id and wanted:
            mine.setdefault(issue.assignee_id, []).append(issue)
    rows = []
    for official in await _people(session, mine):
        items = _overdue_first(book, (issue_row(book, i) for i in mine[official.id or 0]))
        scope = f"official:{official.code}"
        report = await _report(session, job, period, scope, Digest(period.key, now, items), now)
        rows.append(_row(report, now, "official", official.id or 0))
    # the groups: the city's open items, or the region's (a scope with none: no digest)
    who = _audience(rules, job)
    every = _overdue_first(book, (issue_row(book, i) for ones in mine.values() for i in ones))
    scopes = [("city", who.groups, every)] if who.groups else []
    scopes += [
        (code, groups, [r for r in every if r.region == code])
        for code, groups in who.regions.items()
    ]
    for scope, groups, items in scopes:
        if items:
            report = await _report(
                session, job, period, scope, Digest(period.key, now, items, shared=True), now
            )
            rows += _to_groups(report, now, groups)
    return rows


async def _people(session: AsyncSession, ids: Iterable[int]) -> list[Official]:
    query = select(Official).where(col(Official.id).in_(list(ids))).order_by(col(Official.code))
    return list((await session.exec(query)).all())


def _unreported(book: Book, done: set[int]) -> list[Project]:
    """The projects still owing the month's report: not yet at capacity, none since it began."""
    return [p for p in book.projects if p.stage != Stage.AT_CAPACITY and p.id not in done]


def _ask(book: Book, period: Period, projects: list[Project], **how: bool) -> ProgressAsk:
    rows = [project_row(book, p, []) for p in projects]
    return ProgressAsk(period.key, period.start, rows, ids=[p.id or 0 for p in projects], **how)


async def progress(
    *, session: AsyncSession, rules: Rules, job: str, period: Period, now: datetime
) -> list[Outbox]:
    """The monthly progress reminder: each enterprise's projects not yet reported this month."""
    book = await load_book(session=session, rules=rules, period=period, cut=now)
    done = await reported_since(session=session, month=period.start)
    waiting: dict[int, list[Project]] = {}
    for project in _unreported(book, done):
        waiting.setdefault(project.enterprise_id, []).append(project)
    enterprises = select(Enterprise).where(col(Enterprise.id).in_(list(waiting)))
    rows = []
    for enterprise in (await session.exec(enterprises.order_by(col(Enterprise.code)))).all():
        ask = _ask(book, period, waiting[enterprise.id or 0], again=job == "progress_followup")
        scope = f"enterprise:{enterprise.code}"
        report = await _report(session, job, period, scope, ask, now)
        contacts = select(Contact.id).where(Contact.enterprise_id == enterprise.id)
        rows += [
            _row(report, now, "contact", c) for c in (await session.exec(contacts)).all() if c
        ]
    return rows


ESCALATION = "progress_escalation"  # claimed in `schedulerun` once per month, like a cycle job


async def escalation_due(*, session: AsyncSession, rules: Rules) -> tuple[Period, datetime] | None:
    """The latest month's reminder (not skipped) and when its unreported projects go to their
    agents: the morning of the `[progress] escalate_after`-th working day after it ran."""
    query = (
        select(ScheduleRun)
        .where(ScheduleRun.job == "progress_reminder", ScheduleRun.status != "skipped")
        .order_by(col(ScheduleRun.period).desc())
    )
    reminder = (await session.exec(query)).first()
    if reminder is None:
        return None
    span = rules.policy.progress.escalate_after
    day = rules.calendar.add_workdays(reminder.started_at, span.amount, rules.tz).at.date()
    return Period.parse(reminder.period), datetime.combine(
        day, rules.policy.reminders.morning, rules.tz
    )


async def escalate_progress(*, session: AsyncSession, rules: Rules, now: datetime) -> list[Outbox]:
    """Tell each agent of the projects still unreported when the month's escalation is due:
    once per month (claimed like a cycle run); missed by more than `[progress] grace`, skipped.
    Cheap when nothing is due: the clock watcher calls it every minute."""
    due = await escalation_due(session=session, rules=rules)
    if due is None or now < due[1]:
        return []
    period, at = due
    if await find_run(session=session, job=ESCALATION, period=period.key) is not None:
        return []
    late = now - at > rules.policy.progress.grace
    status: RunStatus = "skipped" if late else "done"
    await claim(
        session=session, job=ESCALATION, period=period, status=status, now=now, scheduled=at
    )
    if late:
        return []
    book = await load_book(session=session, rules=rules, period=period, cut=now)
    done = await reported_since(session=session, month=period.start)
    mine: dict[int, list[Project]] = {}
    for project in _unreported(book, done):
        for ident in await _escalated_to(session, project):
            mine.setdefault(ident, []).append(project)
    rows = []
    for official in await _people(session, mine):
        ask = _ask(book, period, mine[official.id or 0], again=True, escalated=True)
        report = await _report(session, ESCALATION, period, f"official:{official.code}", ask, now)
        rows.append(_row(report, now, "official", official.id or 0))
    session.add_all(rows)
    await session.flush()
    return rows


async def _escalated_to(session: AsyncSession, project: Project) -> list[int]:
    """Who hears of a project's missing report: its agent, else its manager, else the admins."""
    if project.agent_id or project.manager_id:
        return [project.agent_id or project.manager_id or 0]
    return await _officials(session, [Role.ADMIN], None)


PRODUCERS: dict[str, Produce] = {
    **dict.fromkeys(BULLETIN_JOBS, bulletins),
    "coordination_agenda": agenda,
    "half_year_visit": visit,
    "weekly_digest": digests,
    "daily_chase": digests,
    "progress_reminder": progress,
    "progress_followup": progress,
}


async def produce(
    *, session: AsyncSession, rules: Rules, job: str, period: Period, now: datetime
) -> list[Outbox]:
    """Draw the job's reports for the period and queue them to their audiences."""
    rows = await PRODUCERS[job](session=session, rules=rules, job=job, period=period, now=now)
    session.add_all(rows)
    await session.flush()
    return rows
