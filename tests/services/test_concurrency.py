"""Optimistic concurrency on issues: of two writers holding the same version, the second fails."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel.ext.asyncio.session import AsyncSession

from models.codes import Urgency
from models.db import session_scope
from models.issues.sweep import process_clocks
from models.rules import Rules
from models.tables.issue import Issue
from tests.support.factories import at, build_world, make_issue, make_project

T0 = at("2026-11-20 10:00")  # Friday; accept due Monday 2026-11-23 10:00


async def an_issue(engine: AsyncEngine, rules: Rules) -> int:
    """A committed desk issue's id."""
    async with session_scope(engine) as session:
        world = await build_world(session)
        project = await make_project(session, world, 9999, agent="r1-agent-b")
        issue = await make_issue(session, rules, world, project, T0)
        assert issue.id is not None
        return issue.id


async def load(session: AsyncSession, issue_id: int) -> Issue:
    """The issue as this session sees it."""
    issue = await session.get(Issue, issue_id)
    assert issue is not None
    return issue


async def test_every_update_bumps_the_version(engine: AsyncEngine, rules: Rules) -> None:
    issue_id = await an_issue(engine, rules)
    async with session_scope(engine) as session:
        issue = await load(session, issue_id)
        assert issue.version >= 1
        start = issue.version
        issue.urgency = Urgency.URGENT
        session.add(issue)
        await session.flush()
        assert issue.version == start + 1


async def test_the_second_of_two_concurrent_writers_gets_stale_data(
    engine: AsyncEngine, rules: Rules
) -> None:
    issue_id = await an_issue(engine, rules)
    async with (
        AsyncSession(engine, expire_on_commit=False) as first_session,
        AsyncSession(engine, expire_on_commit=False) as second_session,
    ):
        first = await load(first_session, issue_id)
        second = await load(second_session, issue_id)
        assert first.version == second.version
        first.urgency = Urgency.URGENT
        first_session.add(first)
        await first_session.commit()
        second.text = "我后写的"
        second_session.add(second)
        with pytest.raises(StaleDataError):
            await second_session.commit()
        await second_session.rollback()

    async with session_scope(engine) as session:
        stored = await load(session, issue_id)
    assert stored.urgency == Urgency.URGENT and stored.text != "我后写的"
    assert stored.version == first.version


async def test_a_button_racing_the_clock_sweep_loses_cleanly(
    engine: AsyncEngine, rules: Rules
) -> None:
    # An official's session reads the issue; the sweep changes and commits it first.
    issue_id = await an_issue(engine, rules)
    async with AsyncSession(engine, expire_on_commit=False) as button:
        pressed = await load(button, issue_id)
        async with session_scope(engine) as sweep:
            report = await process_clocks(session=sweep, rules=rules, now=at("2026-11-23 09:00"))
        assert report.reminded  # the sweep did write the issue (reminders_sent)
        pressed.text = "按钮写的"
        button.add(pressed)
        with pytest.raises(StaleDataError):
            await button.commit()
        await button.rollback()

    async with session_scope(engine) as session:
        stored = await load(session, issue_id)
    assert stored.reminders_sent == 2 and stored.text != "按钮写的"  # both, on Monday morning
