"""Simulated activity for trying the bot and its bulletins: issues reported, accepted (mostly on
time), resolved and rated through the real services, at moments spread over a span of days.

Deterministic for a seed, so a demo or a screenshot can be made again. Never run on a production
database: it writes issues in the enterprises' names.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import partial

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.codes import Category, EventKind, Rating, Urgency
from models.errors import DomainError
from models.issues.commands import Accept, Command, Confirm, Escalate, RequestInfo, Resolve
from models.issues.context import Ctx
from models.issues.intake import report_issue
from models.issues.runner import run
from models.issues.sweep import process_clocks
from models.permissions import Actor, actor_of
from models.progress import report_progress
from models.rules import Rules
from models.tables.issue import Issue, IssueEvent
from models.tables.org import Contact, Official
from models.tables.project import Project

TEXTS = {
    Category.LAND: "新增用地指标尚未落实，影响二期厂房开工。",
    Category.PLANNING: "规划许可变更手续办理进度慢，请协调加快。",
    Category.PERMITS: "施工许可联审材料已提交两周，尚无反馈。",
    Category.FUNDING: "技改贷款贴息申请需要财政局确认额度。",
    Category.LABOUR: "投产在即，一线技术工人缺口约两百人。",
    Category.ENERGY: "新上产线能耗指标需要市级统筹。",
    Category.ENVIRONMENT: "环评批复前置条件需要生态环境局明确。",
    Category.UTILITIES: "厂区双回路供电接入时间需要电力部门确认。",
    Category.LOGISTICS: "园区道路限高影响大件设备进场。",
    Category.POLICY: "申报省级智能工厂的政策口径需要解读。",
}


@dataclass
class SampleReport:
    """What the simulation did."""

    reported: int = 0
    accepted: int = 0
    resolved: int = 0
    rated: int = 0
    escalated: int = 0
    numbers: list[str] = field(default_factory=list)


SAMPLE = {"via": "sample"}  # on the CREATED event of every issue the simulation reports


async def real_data(*, session: AsyncSession) -> tuple[int, int]:
    """What a database holds that no simulation made: issues reported otherwise, and people
    bound to a Telegram account (a demo database's people are not)."""
    created = select(IssueEvent).where(IssueEvent.kind == EventKind.CREATED)
    issues = sum(1 for e in (await session.exec(created)).all() if e.data.get("via") != "sample")
    bound = 0
    for model in (Contact, Official):
        query = select(func.count()).select_from(model).where(col(model.chat_id).is_not(None))
        bound += (await session.exec(query)).one()
    return issues, bound


async def simulate(
    *, session: AsyncSession, rules: Rules, start: datetime, end: datetime, seed: int = 7
) -> SampleReport:
    """Report and handle issues on the projects between `start` and `end`, then sweep the clocks
    as at `end` (what was left undone escalates or shows overdue)."""
    rng, report = random.Random(seed), SampleReport()
    projects = (await session.exec(select(Project).order_by(col(Project.code)))).all()
    for project in projects:
        contact = (
            await session.exec(
                select(Contact).where(Contact.enterprise_id == project.enterprise_id)
            )
        ).first()
        for _ in range(rng.choice((0, 1, 1, 2, 3)) if contact else 0):
            assert contact is not None
            when = _working_moment(rng, rules, start, end - timedelta(days=1))
            await _one_issue(session, rules, rng, project, actor_of(contact), when, end, report)
    await process_clocks(session=session, rules=rules, now=end)
    return report


def _working_moment(rng: random.Random, rules: Rules, start: datetime, end: datetime) -> datetime:
    for _ in range(50):
        day = (start + (end - start) * rng.random()).astimezone(rules.tz).date()
        if rules.calendar.is_workday(day)[0]:
            break
    moment = datetime.combine(day, time(rng.randint(8, 17), rng.choice((0, 15, 30, 45))), rules.tz)
    return min(max(moment, start), end)


async def _handler(session: AsyncSession, issue: Issue) -> Actor | None:
    official = await session.get(Official, issue.assignee_id) if issue.assignee_id else None
    return actor_of(official) if official else None


async def _one_issue(
    session: AsyncSession,
    rules: Rules,
    rng: random.Random,
    project: Project,
    contact: Actor,
    when: datetime,
    end: datetime,
    report: SampleReport,
) -> None:
    category = rng.choice(list(TEXTS))
    urgency = Urgency.URGENT if rng.random() < 0.15 else Urgency.NORMAL
    ctx = Ctx(session=session, rules=rules, actor=contact, now=when)
    issue = await report_issue(
        ctx,
        project=project,
        category=category,
        text=TEXTS[category],
        urgency=urgency,
        data=SAMPLE,  # so `ztc sample` can tell its own issues from real ones
    )
    report.reported += 1
    report.numbers.append(issue.number or "")
    try:
        await _handle(session, rules, rng, issue, contact, end, report)
    except DomainError:  # a step the rules refuse (a level with nobody to act): left as it is
        pass


async def _handle(
    session: AsyncSession,
    rules: Rules,
    rng: random.Random,
    issue: Issue,
    contact: Actor,
    end: datetime,
    report: SampleReport,
) -> None:
    handler = await _handler(session, issue)
    due = issue.accept_due
    if handler is None or due is None or rng.random() < 0.15:
        return  # never taken up: it will be overdue
    late = rng.random() < 0.2
    moment = (
        due + timedelta(hours=rng.randint(2, 30))
        if late
        else issue.created_at + (due - issue.created_at) * rng.uniform(0.05, 0.7)
    )
    if moment >= end:
        return
    assert issue.id is not None
    act = partial(_act, session, rules, issue)
    await act(handler, moment, Accept(issue.id))
    report.accepted += 1
    if rng.random() < 0.1:
        moment += timedelta(hours=rng.randint(2, 20))
        if moment < end:
            await act(handler, moment, Escalate(issue.id, note="需要市级协调"))
            report.escalated += 1
        return
    moment += timedelta(hours=rng.randint(4, 120))
    if rng.random() < 0.3 or moment >= end:
        return
    await act(handler, moment, Resolve(issue.id, note="已协调相关部门办结。"))
    report.resolved += 1
    moment += timedelta(hours=rng.randint(1, 48))
    if rng.random() < 0.25 or moment >= end:
        return
    rating = rng.choices(list(Rating), weights=(60, 25, 15))[0]
    await act(contact, moment, Confirm(issue.id, rating=rating))
    report.rated += 1


async def _act(
    session: AsyncSession, rules: Rules, issue: Issue, actor: Actor, now: datetime, cmd: Command
) -> None:
    await run(Ctx(session=session, rules=rules, actor=actor, now=now), cmd, issue=issue)


async def waiting_for_material(
    *, session: AsyncSession, rules: Rules, contact_code: str, now: datetime
) -> Issue | None:
    """The demo's story: the featured contact's project has an issue whose handler asked for
    material a little while ago, so the visitor can answer it (补充材料) as the contact."""
    contact = (await session.exec(select(Contact).where(Contact.code == contact_code))).first()
    if contact is None:
        return None
    query = select(Project).where(Project.enterprise_id == contact.enterprise_id)
    project = (await session.exec(query.order_by(col(Project.code)))).first()
    if project is None:
        return None
    reported = rules.working_morning(now - timedelta(days=3))
    ctx = Ctx(session=session, rules=rules, actor=actor_of(contact), now=reported)
    text = "项目环评批复前置审查卡在水资源论证环节，请协调"
    issue = await report_issue(ctx, project=project, category=Category.PERMITS, text=text)
    handler = await _handler(session, issue)
    if handler is None or issue.id is None:
        return issue
    accepted, asked = reported + timedelta(hours=2), reported + timedelta(hours=4)
    await _act(session, rules, issue, handler, min(accepted, now), Accept(issue.id))
    note = "请补充水资源论证报告和取水许可申请材料"
    await _act(session, rules, issue, handler, min(asked, now), RequestInfo(issue.id, note=note))
    return issue


async def progress_history(
    *, session: AsyncSession, rules: Rules, start: datetime, end: datetime, seed: int = 7
) -> int:
    """Monthly progress as the enterprises reported it: each project with a contact, on a
    working morning after the 25th of every month the span covers, the investment completed so
    far (growing month by month). Returns how many reports were made."""
    rng, made = random.Random(seed), 0
    months = _report_days(rules, start, end)
    projects = (await session.exec(select(Project).order_by(col(Project.code)))).all()
    for project in projects:
        query = select(Contact).where(Contact.enterprise_id == project.enterprise_id)
        contact = (await session.exec(query.order_by(col(Contact.id)))).first()
        if contact is None:
            continue
        share = rng.uniform(0.1, 0.5)
        for when in months:
            share = min(1.0, share + rng.uniform(0.02, 0.08))
            await report_progress(
                session=session,
                tz=rules.tz,
                contact=contact,
                project=project,
                now=when,
                invested_wan=int(project.investment_wan * share),
            )
            made += 1
    return made


def _report_days(rules: Rules, start: datetime, end: datetime) -> list[datetime]:
    """The working morning on or after the 26th of each month in [start, end)."""
    days: list[datetime] = []
    month = start.astimezone(rules.tz).date().replace(day=1)
    while True:
        when = rules.working_morning(
            datetime.combine(month.replace(day=26), time(9, 30), tzinfo=rules.tz)
        )
        if when >= end:
            return days
        if when >= start:
            days.append(when)
        month = (month + timedelta(days=32)).replace(day=1)
