"""`ztc demo`'s world on a real database: every tier, every state, and one problem's story up the
ladder (the rest of the demo: tests/unit/test_demo.py, tests/e2e/test_demo.py)."""

from __future__ import annotations

from collections import Counter

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, func, select

from bot.demo.data import FEATURED
from bot.demo.world import examples_folder, prepare_world
from models.codes import Level, Status
from models.db import session_scope
from models.queries import is_overdue
from models.rules import Rules
from models.tables.infra import Outbox
from models.tables.issue import Issue
from models.tables.org import Contact, Official, Region
from models.tables.project import ProgressReport, Project
from tests.support.factories import at

START = at("2026-11-20 10:00")  # a Friday


async def test_the_world_has_every_tier_every_state_and_a_story(
    engine: AsyncEngine, rules: Rules
) -> None:
    people = await prepare_world(
        engine=engine, rules=rules, examples=examples_folder(), now=START, seed=7, locale="zh_CN"
    )
    async with session_scope(engine) as session:
        projects = (await session.exec(select(Project))).all()
        issues = (await session.exec(select(Issue))).all()
        regions = (await session.exec(select(Region).where(Region.kind != "city"))).all()
        unsent = await session.scalar(
            select(func.count()).select_from(Outbox).where(col(Outbox.sent_at).is_(None))
        )
        contact = (await session.exec(select(Contact).where(Contact.code == FEATURED[0]))).one()
        officials = {o.code: o for o in (await session.exec(select(Official))).all()}
        contacts = (await session.exec(select(Contact))).all()
        reports = (await session.exec(select(ProgressReport))).all()
    # about thirty projects over the nine regions, every tier
    assert len(projects) == 30 and len(regions) == 9
    per_region = Counter(p.region_id for p in projects)
    assert all(per_region[r.id] >= 2 for r in regions)
    assert set(Counter(rules.level_for(p.investment_wan) for p in projects)) == set(Level)
    # issues in every state: open, accepted, resolved, rated, escalated, overdue
    statuses = Counter(i.status for i in issues)
    assert statuses[Status.CLOSED] and statuses[Status.ACCEPTED]
    assert any(i.rating for i in issues) and any(i.escalations for i in issues)
    assert any(is_overdue(i, START) for i in issues)
    # the history was delivered before the demo began: chats start empty
    assert unsent == 0
    # everyone can be chosen, each with their own account
    assert len(people) == len(contacts) + len(officials)
    assert len({p.user_id for p in people}) == len(people)
    # the five suggested people are one problem's way up the ladder
    featured = [p for p in people if p.featured]
    assert [p.role for p in featured] == [
        "contact",
        "region_head",
        "city_deputy",
        "city_principal",
        "admin",
    ]
    assert [p.code for p in featured] == list(FEATURED)
    (own,) = [p for p in projects if p.enterprise_id == contact.enterprise_id]
    assert rules.level_for(own.investment_wan) == Level.COUNTY
    assert own.manager_id == officials[FEATURED[1]].id
    assert own.leader_id == officials[FEATURED[2]].id
    # the story: one of her issues waits for her material, asked by the featured head
    waiting = [i for i in issues if i.project_id == own.id and i.status == Status.AWAITING_INFO]
    assert len(waiting) == 1 and waiting[0].assignee_id == officials[FEATURED[1]].id
    # her project reported October's progress, not yet November's: she can (/progress), and
    # every project with a contact shows an amount completed in the bulletin's workbook
    ours = [r for r in reports if r.project_id == own.id]
    assert [r.month.isoformat() for r in ours] == ["2026-10-01"]
    assert ours[0].invested_wan is not None and 0 < ours[0].invested_wan <= own.investment_wan
    with_contact = {
        p.id for p in projects if any(c.enterprise_id == p.enterprise_id for c in contacts)
    }
    assert {r.project_id for r in reports} == with_contact
    assert all(r.claim is None and r.reported_at.weekday() < 5 for r in reports)
