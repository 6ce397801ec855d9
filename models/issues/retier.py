"""Re-routing open issues when a project's investment moves it to another tier."""

from __future__ import annotations

from sqlmodel import col, select

from models.codes import OPEN_STATUSES
from models.issues.commands import Retier
from models.issues.context import Ctx
from models.issues.runner import run
from models.policy import LADDER
from models.tables.issue import Issue
from models.tables.project import Project


async def retier_project(ctx: Ctx, project: Project) -> list[str]:
    """Move the project's open issues to the level of its (new) tier; return their numbers.

    An issue that was escalated or sent by the direct line keeps the higher of its level and the
    new tier's: a bigger project never pulls an escalated problem back down the ladder.
    """
    tier = ctx.rules.level_for(project.investment_wan)
    query = (
        select(Issue)
        .where(Issue.project_id == project.id, col(Issue.status).in_(OPEN_STATUSES))
        .order_by(col(Issue.id))
    )
    moved: list[str] = []
    for issue in (await ctx.session.exec(query)).all():
        assert issue.id is not None
        target = tier
        if issue.escalations or issue.direct_line:
            target = max(tier, issue.level, key=LADDER.index)
        command = Retier(issue.id, level=target, investment_wan=project.investment_wan)
        if (await run(ctx, command, issue=issue)).event is not None:
            moved.append(issue.number or str(issue.id))
    return moved


async def change_investment(ctx: Ctx, project: Project, investment_wan: int) -> list[str]:
    """Set a project's total investment and re-route its open issues if its tier changed."""
    project.investment_wan = investment_wan
    ctx.session.add(project)
    await ctx.session.flush()
    return await retier_project(ctx, project)
