"""Small factories for test data: a city with one region, its officials, one project per call."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from models.codes import Category, RegionKind, Role, Stage, Urgency
from models.issues.commands import Command
from models.issues.context import Ctx
from models.issues.intake import report_issue
from models.issues.runner import run
from models.permissions import Actor, actor_of
from models.rules import Rules
from models.tables.issue import Issue, IssueEvent
from models.tables.org import Contact, Department, Enterprise, Official, Region
from models.tables.project import Project

TZ = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    """A moment in the city's zone: at("2026-10-09 10:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@dataclass
class World:
    """A small city: two regions, officials for every role, one enterprise and its contact."""

    region: Region
    other_region: Region
    officials: dict[str, Official] = field(default_factory=dict)
    departments: dict[str, Department] = field(default_factory=dict)
    enterprise: Enterprise | None = None
    contact: Contact | None = None
    other_contact: Contact | None = None

    def actor(self, code: str) -> Actor:
        """The actor of an official by code."""
        return actor_of(self.officials[code])

    @property
    def contact_actor(self) -> Actor:
        """The enterprise contact as an actor."""
        assert self.contact is not None
        return actor_of(self.contact)


async def build_world(session: AsyncSession) -> World:
    """Regions r1 and r2, departments, and officials (codes tell their role)."""
    r1 = Region(code="r1", name_zh="清江浦区", kind=RegionKind.DISTRICT)
    r2 = Region(code="r2", name_zh="涟水县", kind=RegionKind.COUNTY)
    city = Region(code="city", name_zh="淮安市", kind=RegionKind.CITY)
    session.add_all([r1, r2, city])
    await session.flush()
    world = World(region=r1, other_region=r2)
    for code, cats in (("zgj", ["land", "planning"]), ("fgw", ["energy"]), ("rsj", ["labour"])):
        world.departments[code] = Department(code=code, name_zh=code, categories=cats)
    session.add_all(world.departments.values())
    await session.flush()
    people = [
        ("r1-agent-b", Role.SERVICE_AGENT, r1, None),
        ("r1-agent-a", Role.SERVICE_AGENT, r1, None),
        ("r1-head", Role.REGION_HEAD, r1, None),
        ("r2-agent", Role.SERVICE_AGENT, r2, None),
        ("r2-head", Role.REGION_HEAD, r2, None),
        ("zgj-head", Role.DEPT_HEAD, city, "zgj"),
        ("fgw-head", Role.DEPT_HEAD, city, "fgw"),
        ("deputy-a", Role.CITY_DEPUTY, city, None),
        ("deputy-b", Role.CITY_DEPUTY, city, None),
        ("principal-a", Role.CITY_PRINCIPAL, city, None),
        ("principal-b", Role.CITY_PRINCIPAL, city, None),
        ("admin", Role.ADMIN, city, None),
    ]
    for code, role, region, dept in people:
        world.officials[code] = Official(
            code=code,
            name=code,
            role=role,
            region_id=region.id,
            department_id=world.departments[dept].id if dept else None,
        )
    session.add_all(world.officials.values())
    enterprise = Enterprise(code="E1", name="天合光能", credit_code="91350100M000100Y43")
    other = Enterprise(code="E2", name="中天钢铁", credit_code="914403001922038216")
    session.add_all([enterprise, other])
    await session.flush()
    world.enterprise = enterprise
    world.contact = Contact(code="C1", enterprise_id=enterprise.id, name="王")
    world.other_contact = Contact(code="C2", enterprise_id=other.id, name="李")
    session.add_all([world.contact, world.other_contact])
    await session.flush()
    return world


async def make_project(
    session: AsyncSession,
    world: World,
    investment_wan: int,
    *,
    code: str = "P1",
    region: Region | None = None,
    leader: str | None = None,
    manager: str | None = None,
    agent: str | None = None,
) -> Project:
    """A project of the world's enterprise."""
    assert world.enterprise is not None
    officials = world.officials
    project = Project(
        code=code,
        name=code,
        enterprise_id=world.enterprise.id,
        region_id=(region or world.region).id,
        investment_wan=investment_wan,
        stage=Stage.STARTED,
        leader_id=officials[leader].id if leader else None,
        manager_id=officials[manager].id if manager else None,
        agent_id=officials[agent].id if agent else None,
    )
    session.add(project)
    await session.flush()
    return project


async def make_issue(
    session: AsyncSession,
    rules: Rules,
    world: World,
    project: Project,
    when: datetime,
    *,
    category: Category = Category.LAND,
    urgency: Urgency = Urgency.NORMAL,
    actor: Actor | None = None,
) -> Issue:
    """An issue reported by the world's contact (or `actor`) at `when`."""
    return await report_issue(
        Ctx(session=session, rules=rules, actor=actor or world.contact_actor, now=when),
        project=project,
        category=category,
        text="用地指标迟迟未落实",
        urgency=urgency,
    )


async def act(
    session: AsyncSession, rules: Rules, actor: Actor, command: Command, when: datetime
) -> IssueEvent | None:
    """Run an issue command as `actor` at `when` through the runner; the event it recorded."""
    outcome = await run(Ctx(session=session, rules=rules, actor=actor, now=when), command)
    return outcome.event
