"""The record nobody can quietly change (models/audit.py): each issue's events chained, all of
them anchored in one chain, and every way of editing the database behind the bot's back found
and named — the issue's number and the event's id of the first broken link."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.audit import (
    ORIGIN,
    Verdict,
    chain_event,
    event_hash,
    genesis,
    link_hash,
    seal,
    seal_all,
    verify,
)
from models.codes import Category, EventKind, Rating
from models.issues import commands as c
from models.issues.context import Ctx
from models.issues.intake import add_repeat
from models.migrate import downgrade, upgrade
from models.permissions import actor_of
from models.rules import Rules
from models.tables.issue import AuditLink, Issue, IssueEvent
from models.tables.project import Project
from tests.support.factories import World, act, at, make_issue

START = at("2026-11-20 10:00")


async def journey(session: AsyncSession, rules: Rules, world: World) -> tuple[Issue, Issue]:
    """Two issues: one reported, accepted, resolved, rated 满意 and closed; one reported and
    repeated. Everything committed."""
    project = (await session.exec(select(Project).where(Project.code == "P1"))).one()
    first = await make_issue(session, rules, world, project, START)
    assert first.id is not None and first.assignee_id is not None
    handler = next(o for o in world.officials.values() if o.id == first.assignee_id)
    official = actor_of(handler)
    await act(session, rules, official, c.Accept(issue_id=first.id), START + timedelta(hours=1))
    await act(
        session,
        rules,
        official,
        c.Resolve(issue_id=first.id, note="已协调"),
        START + timedelta(hours=2),
    )
    contact = world.contact_actor
    await act(
        session,
        rules,
        contact,
        c.Confirm(issue_id=first.id, rating=Rating.SATISFIED),
        START + timedelta(hours=3),
    )
    second = await make_issue(session, rules, world, project, START, category=Category.ENERGY)
    ctx = Ctx(session=session, rules=rules, actor=contact, now=START + timedelta(hours=4))
    await add_repeat(ctx, second, "还是没电")
    await session.commit()
    return first, second


async def events_of(session: AsyncSession, issue: Issue) -> list[IssueEvent]:
    query = select(IssueEvent).where(IssueEvent.issue_id == issue.id).order_by(col(IssueEvent.id))
    return list((await session.exec(query)).all())


async def fresh_verdict(engine: AsyncEngine, **kwargs: Any) -> Verdict:
    """Verify in a session of its own (nothing cached from the tampering session)."""
    async with AsyncSession(engine) as session:
        return await verify(session=session, **kwargs)


async def sealed(session: AsyncSession) -> int:
    count = await seal_all(session=session, now=START + timedelta(days=1))
    await session.commit()
    return count


async def test_each_event_links_to_the_one_before_and_the_first_to_the_issue(
    session: AsyncSession, rules: Rules, world: World, engine: AsyncEngine
) -> None:
    first, second = await journey(session, rules, world)
    for issue in (first, second):
        events = await events_of(session, issue)
        assert events[0].kind == EventKind.CREATED
        assert events[0].prev_hash == genesis(issue)
        for before, after in itertools.pairwise(events):
            assert after.prev_hash == before.hash
        for event in events:
            assert event.prev_hash is not None
            assert event.hash == event_hash(event.prev_hash, event)
        assert issue.audit_head == events[-1].hash
    verdict = await fresh_verdict(engine)
    assert verdict.ok and verdict.anchored == 0 and verdict.pending == verdict.events > 0
    assert (verdict.head_seq, verdict.head_hash) == (0, ORIGIN)


async def test_the_sealer_anchors_each_event_once_in_order(
    session: AsyncSession, rules: Rules, world: World, engine: AsyncEngine
) -> None:
    await journey(session, rules, world)
    total = len((await session.exec(select(IssueEvent))).all())
    assert await seal(session=session, now=START, batch=3) == 3  # a batch at a time
    await session.commit()
    assert await sealed(session) == total - 3
    assert await sealed(session) == 0  # nothing twice
    links = (await session.exec(select(AuditLink).order_by(col(AuditLink.seq)))).all()
    assert [link.seq for link in links] == list(range(1, total + 1))
    prev = ORIGIN
    for link in links:
        assert link.hash == link_hash(prev, link.event_id, link.event_hash)
        prev = link.hash
    verdict = await fresh_verdict(engine)
    assert verdict.ok and (verdict.anchored, verdict.pending) == (total, 0)
    assert (verdict.head_seq, verdict.head_hash) == (total, prev)


# Each way to change the record behind the bot's back, and the break it must show: the SQL
# (with the ids it needs), the reason, and whose event is named: "first"/"last"/"second"
# event of the closed issue, or None.
Tamper = Callable[[AsyncSession, Issue, list[IssueEvent]], Awaitable[None]]


async def _sql(session: AsyncSession, statement: str, **params: Any) -> None:
    await (await session.connection()).execute(text(statement), params)


async def _delete_event(session: AsyncSession, event_id: int | None) -> None:
    """The event and what points at it (its notices)."""
    await _sql(session, "DELETE FROM outbox WHERE event_id = :id", id=event_id)
    await _sql(session, "DELETE FROM issueevent WHERE id = :id", id=event_id)


async def edit_note(session: AsyncSession, issue: Issue, events: list[IssueEvent]) -> None:
    await _sql(session, "UPDATE issueevent SET note = '已办结' WHERE id = :id", id=events[2].id)


async def edit_rating_event(session: AsyncSession, issue: Issue, events: list[IssueEvent]) -> None:
    confirmed = next(e for e in events if e.kind == EventKind.CONFIRMED)
    await _sql(
        session,
        "UPDATE issueevent SET data = :data WHERE id = :id",
        data='{"rating": "unsatisfied", "running_due": null}',
        id=confirmed.id,
    )


async def delete_middle(session: AsyncSession, issue: Issue, events: list[IssueEvent]) -> None:
    await _sql(session, "DELETE FROM auditlink WHERE event_id = :id", id=events[2].id)
    await _delete_event(session, events[2].id)


async def delete_last(session: AsyncSession, issue: Issue, events: list[IssueEvent]) -> None:
    await _delete_event(session, events[-1].id)


async def edit_row_rating(session: AsyncSession, issue: Issue, events: list[IssueEvent]) -> None:
    await _sql(session, "UPDATE issue SET rating = 'unsatisfied' WHERE id = :id", id=issue.id)


async def edit_row_text(session: AsyncSession, issue: Issue, events: list[IssueEvent]) -> None:
    await _sql(session, "UPDATE issue SET text = '无问题' WHERE id = :id", id=issue.id)


async def edit_issue_project(
    session: AsyncSession, issue: Issue, events: list[IssueEvent]
) -> None:
    await _sql(session, "UPDATE issue SET category = 'planning' WHERE id = :id", id=issue.id)


async def edit_link(session: AsyncSession, issue: Issue, events: list[IssueEvent]) -> None:
    await _sql(
        session,
        "UPDATE auditlink SET event_hash = :h WHERE event_id = :id",
        h="0" * 64,
        id=events[1].id,
    )


async def edit_event_time(session: AsyncSession, issue: Issue, events: list[IssueEvent]) -> None:
    confirmed = next(e for e in events if e.kind == EventKind.RESOLVED)
    moved = confirmed.at - timedelta(days=3)  # "resolved on time"
    await (await session.connection()).execute(
        update(IssueEvent).where(col(IssueEvent.id) == confirmed.id).values(at=moved)
    )


CASES: dict[str, tuple[Tamper, str, str | None]] = {
    "an event's note edited": (edit_note, "content", "third"),
    "a rating in its event edited": (edit_rating_event, "content", "confirmed"),
    "an event's moment moved": (edit_event_time, "content", "resolved"),
    "an event deleted with its link": (delete_middle, "order", "fourth"),
    "the last event deleted": (delete_last, "head", "new last"),
    "the row's rating edited": (edit_row_rating, "row", "last"),
    "the row's text edited": (edit_row_text, "row", "last"),
    "the issue's category edited": (edit_issue_project, "genesis", "first"),
    "an anchor link edited": (edit_link, "anchor", "second"),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_every_change_behind_the_bots_back_is_named(
    case: str, session: AsyncSession, rules: Rules, world: World, engine: AsyncEngine
) -> None:
    tamper, reason, named = CASES[case]
    issue, _other = await journey(session, rules, world)
    await sealed(session)
    events = await events_of(session, issue)
    assert (await fresh_verdict(engine)).ok
    await tamper(session, issue, events)
    await session.commit()
    verdict = await fresh_verdict(engine)
    assert not verdict.ok
    first = verdict.first
    assert first is not None
    assert (first.issue, first.reason) == (issue.number, reason), verdict.breaks
    by_name = {
        "first": events[0],
        "second": events[1],
        "third": events[2],
        "fourth": events[3],
        "last": events[-1],
        "new last": events[-2],
        "confirmed": next(e for e in events if e.kind == EventKind.CONFIRMED),
        "resolved": next(e for e in events if e.kind == EventKind.RESOLVED),
    }
    assert named is not None
    assert first.event_id == by_name[named].id, verdict.breaks


async def test_a_deleted_issue_leaves_its_anchors_pointing_at_nothing(
    session: AsyncSession, rules: Rules, world: World, engine: AsyncEngine
) -> None:
    _issue, other = await journey(session, rules, world)
    await sealed(session)
    events = await events_of(session, other)
    for table in ("outbox", "attachment", "issueevent", "issuecohandler"):
        await _sql(session, f"DELETE FROM {table} WHERE issue_id = :id", id=other.id)
    await _sql(session, "DELETE FROM issue WHERE id = :id", id=other.id)
    await session.commit()
    verdict = await fresh_verdict(engine)
    first = verdict.first
    assert first is not None and (first.issue, first.event_id, first.reason) == (
        f"#{other.id}",
        events[0].id,
        "missing",
    )


async def test_a_rebuilt_chain_verifies_but_not_against_a_head_published_before(
    session: AsyncSession, rules: Rules, world: World, engine: AsyncEngine
) -> None:
    """The hashes have no key: someone with the database and this code can edit an event and
    rebuild every hash after it. The head a bulletin printed before the edit catches it."""
    issue, _other = await journey(session, rules, world)
    await sealed(session)
    before = await fresh_verdict(engine)
    published = (before.head_seq, before.head_hash)
    # The forger: edit a note, re-chain the issue, drop and rebuild the whole anchor.
    events = await events_of(session, issue)
    events[2].note = "已办结"
    issue.audit_head = None
    for event in events:
        chain_event(issue, event)
        session.add(event)
    session.add(issue)
    await _sql(session, "DELETE FROM auditlink")
    await session.commit()
    await sealed(session)
    assert (await fresh_verdict(engine)).ok  # the forgery is consistent by itself …
    verdict = await fresh_verdict(engine, published=[published])
    first = verdict.first
    assert first is not None and first.reason == "published"  # … but not with what was printed
    assert (await fresh_verdict(engine, published=[(verdict.head_seq, verdict.head_hash)])).ok


async def test_upgrading_a_database_chains_and_anchors_the_events_already_there(
    session: AsyncSession, rules: Rules, world: World, engine: AsyncEngine
) -> None:
    """Migration 0013 computes the same chains the code writes, and anchors them all."""
    issue, _other = await journey(session, rules, world)
    live = [(e.id, e.prev_hash, e.hash) for e in await events_of(session, issue)]
    await session.close()
    await downgrade(engine, "0012")
    await upgrade(engine)
    async with AsyncSession(engine) as again:
        rechained = await events_of(again, issue)
        assert [(e.id, e.prev_hash, e.hash) for e in rechained] == live
        verdict = await verify(session=again)
    assert verdict.ok and verdict.pending == 0 and verdict.anchored == verdict.events


async def test_two_sealers_at_once_never_fork_the_chain(
    session: AsyncSession, rules: Rules, world: World, engine: AsyncEngine
) -> None:
    """Two processes' clocks sealing at the same moment (a leader handing over): the advisory
    lock on PostgreSQL (SQLite: one writer) makes one wait, so each event is linked once."""
    await journey(session, rules, world)
    total = len((await session.exec(select(IssueEvent))).all())

    async def sealer() -> int:
        async with AsyncSession(engine) as own:
            count = await seal_all(session=own, now=START)
            await own.commit()
            return count

    counts = await asyncio.gather(sealer(), sealer())
    assert sorted(counts) == [0, total]
    verdict = await fresh_verdict(engine)
    assert verdict.ok and verdict.anchored == total and verdict.head_seq == total
