"""Reporting a problem: a new issue on a project, routed to the level of the project's tier.

Idempotent by a submission key (the chat's draft id): the same report submitted again — a
double tap, or a press repeated after a crash between the commit and the reply — is the issue
the first submit made.

A repeat — the same reporter, the same project and category, while their issue is open — is
merged into that issue (`open_repeat`, `add_repeat`: counted in `Issue.repeats`, its text on a
REPEATED event the handler is told of) instead of a second ticket that would inflate the counts
and split the work; unless the reporter says it is a different problem (`ztc issues new
--separate`).

A contact opens at most `[limits] reports_per_contact_per_day` new issues per calendar day in the
city's zone (`TooMany`, before anything is written); repeats are not new issues and do not count,
and officials logging a call (代为登记) and the system are not limited.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.attachments import attach_files
from models.codes import OPEN_STATUSES, Category, EventKind, Status, Urgency
from models.errors import NotAllowed, TooMany
from models.issues.actions import join_cohandler, move_to_level
from models.issues.context import Change, Ctx
from models.issues.runner import record
from models.permissions import Actor, may_report
from models.routing import department_for
from models.tables.issue import Issue, IssueEvent
from models.tables.project import Project
from models.text import checked_text

SUBMISSION = "submission"  # a REPEATED event's draft key (the chat's), for a repeated press


async def issue_by_submission(*, session: AsyncSession, key: str) -> Issue | None:
    """The issue a report with this submission key created, if any."""
    query = select(Issue).where(Issue.submission_key == key)
    return (await session.exec(query)).first()


async def report_issue(
    ctx: Ctx,
    *,
    project: Project,
    category: Category,
    text: str,
    urgency: Urgency = Urgency.NORMAL,
    submission_key: str | None = None,
    data: dict[str, Any] | None = None,
) -> Issue:
    """Create an issue for a project and route it to the level of the project's tier; the
    category's department co-handles it. With a `submission_key` seen before, the issue of
    that first submit, unchanged. `data` is kept on the CREATED event (where the report came
    from: the intake API's system)."""
    if submission_key is not None:
        existing = await issue_by_submission(session=ctx.session, key=submission_key)
        if existing is not None:
            return existing
    actor = ctx.actor
    if not may_report(
        actor,
        enterprise_id=project.enterprise_id,
        region_id=project.region_id,
        team_ids=project.team_ids,
    ):
        raise NotAllowed(action="report", issue=project.code)
    body = checked_text(text, "text", required=True)
    assert body is not None and project.id is not None
    await _within_daily_limit(ctx)
    level = ctx.rules.level_for(project.investment_wan)
    issue = Issue(
        project_id=project.id,
        reporter_contact_id=actor.id if actor.kind == "contact" else None,
        reporter_official_id=actor.id if actor.kind == "official" else None,
        category=category,
        urgency=urgency,
        text=body,
        status=Status.SUBMITTED,
        level=level,
        created_at=ctx.now,
        updated_at=ctx.now,
        submission_key=submission_key,
    )
    ctx.session.add(issue)
    await ctx.session.flush()
    issue.number = f"{ctx.now.astimezone(ctx.rules.tz).year}-{issue.id:05d}"
    await move_to_level(ctx, issue, level)
    department = await department_for(
        session=ctx.session, category=category, policy=ctx.rules.policy
    )
    if department is not None:
        assert department.id is not None
        join_cohandler(ctx, issue, department.id)
    created = Change(EventKind.CREATED, note=body, data=dict(data or {}))
    await record(ctx, issue, created, (level, Status.SUBMITTED))
    if issue.assignee_id is None:
        await record(ctx, issue, Change(EventKind.UNASSIGNED))
    return issue


async def _within_daily_limit(ctx: Ctx) -> None:
    """Refuse a contact's new issue past the day's limit (TooMany); anyone else passes."""
    allowed = ctx.rules.policy.limits.reports_per_contact_per_day
    if ctx.actor.kind != "contact" or allowed == 0:
        return
    count = await reports_today(ctx)
    if count >= allowed:
        raise TooMany(limit="reports_per_contact_per_day", allowed=allowed, count=count)


async def reports_today(ctx: Ctx) -> int:
    """How many issues the acting contact opened on `ctx.now`'s day in the city's zone."""
    day, tz = ctx.now.astimezone(ctx.rules.tz).date(), ctx.rules.tz
    start, end = (datetime.combine(d, time(0), tz) for d in (day, day + timedelta(days=1)))
    query = select(func.count()).where(
        col(Issue.reporter_contact_id) == ctx.actor.id,
        col(Issue.created_at) >= start,
        col(Issue.created_at) < end,
    )
    return int((await ctx.session.exec(query)).one())


async def open_repeat(
    *, session: AsyncSession, reporter: Actor, project_id: int, category: Category
) -> Issue | None:
    """The reporter's open issue on this project and category (the oldest, if several), which
    a new report of theirs would repeat, or None. The system's are the unattributed ones (the
    staff's `ztc issues new` without `--by`, the intake API's)."""
    if reporter.kind == "contact":
        mine = col(Issue.reporter_contact_id) == reporter.id
    elif reporter.kind == "official":
        mine = col(Issue.reporter_official_id) == reporter.id
    else:
        mine = col(Issue.reporter_contact_id).is_(None) & col(Issue.reporter_official_id).is_(None)
    query = (
        select(Issue)
        .where(
            mine,
            col(Issue.project_id) == project_id,
            col(Issue.category) == category,
            col(Issue.status).in_(OPEN_STATUSES),
        )
        .order_by(col(Issue.id))
    )
    return (await session.exec(query)).first()


async def add_repeat(
    ctx: Ctx,
    issue: Issue,
    text: str,
    *,
    files: list[dict[str, Any]] | None = None,
    submission_key: str | None = None,
) -> Issue:
    """Count a repeat report on `issue` and keep its text (and `files`) on it; the handler is
    told. With a `submission_key` counted before (a double tap, a press again after a crash),
    the issue unchanged: neither counted nor its files attached again."""
    body = checked_text(text, "text", required=True)
    if submission_key is not None:
        query = select(IssueEvent).where(
            col(IssueEvent.issue_id) == issue.id, col(IssueEvent.kind) == EventKind.REPEATED
        )
        seen = (await ctx.session.exec(query)).all()
        if any(event.data.get(SUBMISSION) == submission_key for event in seen):
            return issue
    issue.repeats += 1
    data = {SUBMISSION: submission_key} if submission_key is not None else {}
    await record(ctx, issue, Change(EventKind.REPEATED, note=body, data=data))
    await attach_files(session=ctx.session, issue=issue, files=files or [], now=ctx.now)
    return issue
