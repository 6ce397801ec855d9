"""Who serves an issue: the assignee at a level, and the co-handling department of a category."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.codes import Category, Level, Role
from models.policy import Policy
from models.tables.org import Department, Official
from models.tables.project import Project

_CITY_ROLE = {Level.CITY_DEPUTY: Role.CITY_DEPUTY, Level.CITY_PRINCIPAL: Role.CITY_PRINCIPAL}


async def _first(session: AsyncSession, role: Role, region_id: int | None) -> Official | None:
    query = select(Official).where(Official.role == role).order_by(col(Official.code)).limit(1)
    if region_id is not None:
        query = query.where(Official.region_id == region_id)
    return (await session.exec(query)).first()


async def assignee_for(
    *, session: AsyncSession, project: Project, level: Level, category: Category | None = None
) -> Official | None:
    """The official who handles the project's issues at `level`, or None if nobody holds the role.

    service_desk: the project's agent, else the region's first service_agent by code; county: the
    region's first region_head; city levels: the project's leader if the leader holds that role,
    else (for the deputies) the one whose portfolio (分管领域) names the project's industry or the
    issue's category, else the first official of that role by code.
    """
    if level == Level.SERVICE_DESK:
        if project.agent_id is not None:
            return await session.get(Official, project.agent_id)
        return await _first(session, Role.SERVICE_AGENT, project.region_id)
    if level == Level.COUNTY:
        return await _first(session, Role.REGION_HEAD, project.region_id)
    role = _CITY_ROLE[level]
    if project.leader_id is not None:
        leader = await session.get(Official, project.leader_id)
        if leader is not None and leader.role == role:
            return leader
    if level == Level.CITY_DEPUTY:
        deputies = await session.exec(
            select(Official).where(Official.role == role).order_by(col(Official.code))
        )
        topic = category.value if category else None
        chosen = next((d for d in deputies.all() if d.covers(project.industry, topic)), None)
        if chosen is not None:
            return chosen
    return await _first(session, role, None)


def may_handle(official: Official, project: Project, level: Level) -> bool:
    """Whether the official holds the role that handles the project's issues at `level`: the
    transfer (转办) target's test."""
    if level == Level.SERVICE_DESK:
        return official.role == Role.SERVICE_AGENT and official.region_id == project.region_id
    if level == Level.COUNTY:
        return official.role == Role.REGION_HEAD and official.region_id == project.region_id
    return official.role == _CITY_ROLE[level]


async def department_for(
    *, session: AsyncSession, category: Category, policy: Policy
) -> Department | None:
    """The co-handling department: the first (by code) listing the category, else the policy's."""
    departments = (await session.exec(select(Department).order_by(col(Department.code)))).all()
    for department in departments:
        if category.value in department.categories:
            return department
    fallback = policy.categories.get(category, "")
    return next((d for d in departments if fallback and d.code == fallback), None)
