"""Figures of an official's scope: what /stats shows (the bulletins build on the same counts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from models.codes import OPEN_STATUSES, Level, Rating, Role, Status
from models.permissions import Actor
from models.queries import is_overdue
from models.tables.issue import Issue, IssueCoHandler
from models.tables.project import Project

CITY_LEVELS = (Level.CITY_DEPUTY, Level.CITY_PRINCIPAL)


@dataclass(frozen=True)
class Figures:
    """Counts of issues in a scope, and the rates built from them."""

    total: int
    open: int
    overdue: int
    resolved: int  # resolved or closed
    escalated: int
    direct_line: int
    rated: int
    satisfied: int  # 满意 + 基本满意

    @property
    def resolution_rate(self) -> float | None:
        """解决率: resolved or closed over all (None when there is nothing)."""
        return self.resolved / self.total if self.total else None

    @property
    def satisfaction_rate(self) -> float | None:
        """满意率: (满意 + 基本满意) over rated (None when nothing is rated)."""
        return self.satisfied / self.rated if self.rated else None


def _scoped(actor: Actor) -> SelectOfScalar[Issue]:
    query = select(Issue)
    if actor.role in (Role.ADMIN, Role.CITY_PRINCIPAL):
        return query
    if actor.role == Role.CITY_DEPUTY:
        return query.where(col(Issue.level).in_(CITY_LEVELS) | (Issue.assignee_id == actor.id))
    if actor.role == Role.DEPT_HEAD:
        mine = select(IssueCoHandler.issue_id).where(
            IssueCoHandler.department_id == actor.department_id
        )
        return query.where(col(Issue.id).in_(mine) | (Issue.assignee_id == actor.id))
    projects = select(Project.id).where(Project.region_id == actor.region_id)
    return query.where(col(Issue.project_id).in_(projects) | (Issue.assignee_id == actor.id))


async def scope_figures(*, session: AsyncSession, actor: Actor, now: datetime) -> Figures:
    """The figures of every issue the official's role lets them see."""
    issues = list((await session.exec(_scoped(actor))).all())
    rated = [i for i in issues if i.rating is not None]
    return Figures(
        total=len(issues),
        open=sum(i.status in OPEN_STATUSES for i in issues),
        overdue=sum(i.status in OPEN_STATUSES and is_overdue(i, now) for i in issues),
        resolved=sum(i.status in (Status.RESOLVED, Status.CLOSED) for i in issues),
        escalated=sum(i.escalations > 0 for i in issues),
        direct_line=sum(i.direct_line for i in issues),
        rated=len(rated),
        satisfied=sum(i.rating != Rating.UNSATISFIED for i in rated),
    )
