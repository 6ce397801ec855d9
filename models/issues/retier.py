"""Re-routing open issues when a project's investment moves it to another tier."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.codes import OPEN_STATUSES, EventKind, Status
from models.issues import relocate
from models.permissions import Actor
from models.policy import LADDER
from models.rules import Rules
from models.tables.issue import Issue
from models.tables.project import Project


async def retier_project(
    *, session: AsyncSession, rules: Rules, project: Project, actor: Actor, now: datetime
) -> list[str]:
    """Move the project's open issues to the level of its (new) tier; return their numbers.

    An issue that was escalated or sent by the direct line keeps the higher of its level and the
    new tier's: a bigger project never pulls an escalated problem back down the ladder.
    """
    tier = rules.level_for(project.investment_wan)
    query = (
        select(Issue)
        .where(Issue.project_id == project.id, col(Issue.status).in_(OPEN_STATUSES))
        .order_by(col(Issue.id))
    )
    moved: list[str] = []
    for issue in (await session.exec(query)).all():
        target = tier
        if issue.escalations or issue.direct_line:
            target = max(tier, issue.level, key=LADDER.index)
        if target == issue.level:
            continue
        await relocate(
            session=session,
            rules=rules,
            actor=actor,
            issue=issue,
            level=target,
            kind=EventKind.RETIERED,
            now=now,
            data={"investment_wan": project.investment_wan},
            status=Status.REOPENED if issue.status == Status.REOPENED else Status.SUBMITTED,
        )
        moved.append(issue.number or str(issue.id))
    return moved


async def change_investment(
    *,
    session: AsyncSession,
    rules: Rules,
    project: Project,
    investment_wan: int,
    actor: Actor,
    now: datetime,
) -> list[str]:
    """Set a project's total investment and re-route its open issues if its tier changed."""
    project.investment_wan = investment_wan
    session.add(project)
    await session.flush()
    return await retier_project(
        session=session, rules=rules, project=project, actor=actor, now=now
    )
