"""The inbox ordered and cut in SQL (`inbox_page`) lists exactly what `inbox_issues` defines, in
its order — overdue first (a deadline at this very moment is overdue), then by the running
deadline, a paused issue (no running clock) last, ties by id — page after page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from models.codes import Status
from models.queries import inbox_issues, inbox_page
from models.rules import Rules
from tests.support.factories import World, at, build_world, make_issue, make_project

NOW = at("2026-11-25 10:00")


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await build_world(session)


async def test_the_sql_pages_follow_the_inbox_order_exactly(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    project = await make_project(session, world, 20000)  # the county: r1-head's
    hour = timedelta(hours=1)
    shapes = [  # (status, accept due, resolve due) from NOW
        (Status.SUBMITTED, -2 * hour, None),  # overdue
        (Status.SUBMITTED, 0 * hour, None),  # due this very moment: overdue too
        (Status.ACCEPTED, -5 * hour, 1 * hour),  # accepted: its resolve clock runs
        (Status.ACCEPTED, -9 * hour, -1 * hour),  # overdue on its resolve clock
        (Status.AWAITING_INFO, -9 * hour, -9 * hour),  # paused: no running clock, last
        (Status.REOPENED, 3 * hour, None),
        (Status.SUBMITTED, 3 * hour, None),  # the same deadline: by id
        (Status.RESOLVED, -9 * hour, None),  # not open: not listed
        (Status.AWAITING_INFO, 1 * hour, None),
    ]
    for status, accept, resolve in shapes:
        issue = await make_issue(session, rules, world, project, NOW - 10 * hour)
        issue.status, issue.accept_due = status, NOW + accept
        issue.resolve_due = None if resolve is None else NOW + resolve
        session.add(issue)
    await session.flush()
    head = world.officials["r1-head"].id
    assert head is not None
    expected = [i.id for i in await inbox_issues(session=session, official_id=head, now=NOW)]
    assert len(expected) == 8
    assert expected[:3] == [1, 4, 2]  # the overdue, by deadline: -2 h, -1 h (resolve), now
    for size in (1, 3, 5, 8, 20):
        pages, total = [], 0
        for page in range(0, 9):
            issues, total = await inbox_page(
                session=session, official_id=head, now=NOW, page=page, size=size
            )
            pages += [i.id for i in issues]
        assert (pages, total) == (expected, 8), size
    nobody = world.officials["r2-head"].id
    assert nobody is not None
    assert await inbox_page(session=session, official_id=nobody, now=NOW, page=0, size=5) == (
        [],
        0,
    )
