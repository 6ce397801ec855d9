"""A repeat report — the same reporter, project and category while their issue is open — is
added to that issue (counted, on its timeline, its handler told), not a second ticket."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.codes import Category, EventKind, Status
from models.issues.context import Ctx
from models.issues.intake import add_repeat, open_repeat
from models.permissions import SYSTEM, actor_of
from models.rules import Rules
from models.tables.infra import Outbox
from models.tables.issue import Attachment, Issue, IssueEvent
from models.tables.project import Project
from tests.support.factories import World, at, make_issue


async def the_project(session: AsyncSession) -> Project:
    """The world's 2亿 project P1 (its leader deputy-a)."""
    return (await session.exec(select(Project).where(Project.code == "P1"))).one()


async def test_the_reporters_open_issue_takes_the_repeat(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    project = await the_project(session)
    issue = await make_issue(session, rules, world, project, at("2026-11-20 10:00"))
    await session.commit()
    assert project.id is not None and world.contact is not None
    contact = world.contact_actor
    found = await open_repeat(
        session=session, reporter=contact, project_id=project.id, category=Category.LAND
    )
    assert found is not None and found.id == issue.id
    ctx = Ctx(session=session, rules=rules, actor=contact, now=at("2026-11-20 15:00"))
    await add_repeat(ctx, found, "围挡还在，仍未解决")
    await session.commit()
    assert issue.repeats == 1 and issue.status == Status.SUBMITTED  # counted; nothing else moves
    events = (await session.exec(select(IssueEvent).where(IssueEvent.issue_id == issue.id))).all()
    repeat = next(e for e in events if e.kind == EventKind.REPEATED)
    assert repeat.note == "围挡还在，仍未解决" and repeat.actor_contact_id == world.contact.id
    told = (await session.exec(select(Outbox).where(Outbox.event_id == repeat.id))).all()
    assert [row.official_id for row in told] == [issue.assignee_id]  # the handler sees it


async def test_no_repeat_for_another_category_reporter_the_system_or_a_closed_issue(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    project = await the_project(session)
    issue = await make_issue(session, rules, world, project, at("2026-11-20 10:00"))
    await session.commit()
    assert project.id is not None

    async def repeat_of(reporter: object, category: Category = Category.LAND) -> Issue | None:
        return await open_repeat(
            session=session,
            reporter=reporter,  # type: ignore[arg-type]
            project_id=project.id or 0,
            category=category,
        )

    assert await repeat_of(world.contact_actor, Category.PERMITS) is None
    assert await repeat_of(actor_of(world.officials["r1-head"])) is None  # not their report
    assert await repeat_of(SYSTEM) is None  # the contact's is attributed: not the system's
    issue.status = Status.CLOSED  # closed (rated, or closed unrated): a new report is new
    session.add(issue)
    await session.commit()
    assert await repeat_of(world.contact_actor) is None


async def test_a_repeat_pressed_again_counts_once_and_attaches_its_files_once(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    project = await the_project(session)
    issue = await make_issue(session, rules, world, project, at("2026-11-20 10:00"))
    await session.commit()
    ctx = Ctx(session=session, rules=rules, actor=world.contact_actor, now=at("2026-11-20 15:00"))
    photo = [{"kind": "photo", "file_id": "AgAD-1", "size": 1000}]
    for _press in range(2):  # a double tap, or a press again after a crash before the reply
        await add_repeat(ctx, issue, "围挡还在", files=photo, submission_key="draft-7")
        await session.commit()
    files = (await session.exec(select(Attachment).where(Attachment.issue_id == issue.id))).all()
    assert issue.repeats == 1 and [f.file_id for f in files] == ["AgAD-1"]
