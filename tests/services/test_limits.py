"""The policy's daily limit of new reports per contact (issue 17 item 5), at its edges: exactly N
a day, the N+1th refused with nothing written, the city's midnight, repeats not counted, officials
and the system not limited, 0 for no limit."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cli import cli
from locales.formats import error_text
from models.codes import Category
from models.db import session_scope
from models.errors import TooMany
from models.issues.context import Ctx
from models.issues.intake import add_repeat, report_issue
from models.permissions import SYSTEM, Actor, actor_of
from models.policy import Limits, PolicyError, load_policy, parse_policy
from models.rules import Rules
from models.tables.infra import Outbox
from models.tables.issue import Issue, IssueEvent
from models.tables.org import Contact
from models.tables.project import Project
from tests.support.factories import World, at

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "policy.toml"


def limited(rules: Rules, per_day: int) -> Rules:
    """The shipped rules with `per_day` new reports a contact."""
    limits = Limits(reports_per_contact_per_day=per_day)
    return Rules.build(rules.policy.model_copy(update={"limits": limits}), rules.tz)


async def the_project(session: AsyncSession) -> Project:
    return (await session.exec(select(Project).where(Project.code == "P1"))).one()


async def report(
    session: AsyncSession,
    rules: Rules,
    actor: Actor,
    when: datetime,
    *,
    category: Category = Category.LAND,
    key: str | None = None,
) -> Issue:
    issue = await report_issue(
        Ctx(session=session, rules=rules, actor=actor, now=when),
        project=await the_project(session),
        category=category,
        text="用地指标迟迟未落实",
        submission_key=key,
    )
    await session.commit()
    return issue


async def rows(session: AsyncSession) -> tuple[int, int, int]:
    """Issues, events and outbox rows in the database."""
    counts = []
    for model in (Issue, IssueEvent, Outbox):
        counts.append((await session.exec(select(func.count()).select_from(model))).one())
    return counts[0], counts[1], counts[2]


def test_the_shipped_policy_has_both_limits_and_a_bad_one_names_its_key() -> None:
    limits = load_policy().limits
    assert (limits.reports_per_contact_per_day, limits.messages_per_account_per_minute) == (10, 30)
    text = SHIPPED.read_text("utf-8").replace(
        "messages_per_account_per_minute = 30", "messages_per_account_per_minute = -1"
    )
    with pytest.raises(PolicyError, match=r"limits\.messages_per_account_per_minute"):
        parse_policy(text)


async def test_exactly_n_a_day_then_refused_with_nothing_written(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    three = limited(rules, 3)
    contact = world.contact_actor
    for minute in range(3):
        await report(session, three, contact, at(f"2026-11-20 10:0{minute}"))
    before = await rows(session)
    with pytest.raises(TooMany) as refused:
        await report(session, three, contact, at("2026-11-20 10:05"))
    assert refused.value.params == {
        "limit": "reports_per_contact_per_day",
        "allowed": 3,
        "count": 3,
    }
    assert not session.new and not session.dirty  # refused before anything was added
    await session.rollback()
    assert await rows(session) == before
    assert "3" in error_text(refused.value, "en") and "limit is 3" in error_text(
        refused.value, "en"
    )


async def test_the_day_is_the_citys_from_midnight_to_midnight(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    two = limited(rules, 2)
    contact = world.contact_actor
    await report(session, two, contact, at("2026-11-19 23:59:59"))  # yesterday's: not counted
    await report(session, two, contact, at("2026-11-20 00:00"))  # midnight is today's
    await report(session, two, contact, at("2026-11-20 07:59"))  # 23:59 the day before in UTC
    with pytest.raises(TooMany):
        await report(session, two, contact, at("2026-11-20 23:59:59"))
    await session.rollback()
    # 00:00 in Huai'an is still the 20th in UTC: a new day all the same.
    await report(session, two, contact, at("2026-11-21 00:00"))


async def test_repeats_do_not_count(session: AsyncSession, rules: Rules, world: World) -> None:
    two = limited(rules, 2)
    contact = world.contact_actor
    first = await report(session, two, contact, at("2026-11-20 09:00"))
    ctx = Ctx(session=session, rules=two, actor=contact, now=at("2026-11-20 09:30"))
    for n in range(3):
        await add_repeat(ctx, first, f"还是没有解决（第 {n + 2} 次）")
    await session.commit()
    assert first.repeats == 3
    await report(session, two, contact, at("2026-11-20 10:00"), category=Category.PLANNING)
    with pytest.raises(TooMany):
        await report(session, two, contact, at("2026-11-20 11:00"), category=Category.ENERGY)


async def test_officials_and_the_system_are_not_limited_nor_count_for_the_contact(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    one = limited(rules, 1)
    official = world.actor("r1-agent-a")  # logs calls in the project's region (代为登记)
    for minute in range(3):
        await report(session, one, official, at(f"2026-11-20 09:0{minute}"))
        await report(session, one, SYSTEM, at(f"2026-11-20 09:1{minute}"))
    await report(session, one, world.contact_actor, at("2026-11-20 10:00"))  # the contact's one
    with pytest.raises(TooMany):
        await report(session, one, world.contact_actor, at("2026-11-20 10:01"))
    await session.rollback()
    await report(session, one, official, at("2026-11-20 10:02"))  # on the contact's behalf
    assert (await rows(session))[0] == 8


async def test_a_resubmitted_report_is_the_first_not_a_refusal(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    one = limited(rules, 1)
    contact = world.contact_actor
    first = await report(session, one, contact, at("2026-11-20 10:00"), key="draft-1")
    again = await report(session, one, contact, at("2026-11-20 10:01"), key="draft-1")
    assert again.id == first.id  # a double tap on the day's last report
    with pytest.raises(TooMany):
        await report(session, one, contact, at("2026-11-20 10:02"), key="draft-2")


async def test_another_contact_has_a_limit_of_their_own_and_0_is_none(
    session: AsyncSession, rules: Rules, world: World
) -> None:
    one = limited(rules, 1)
    assert world.enterprise is not None
    colleague = Contact(code="C3", enterprise_id=world.enterprise.id, name="张")
    session.add(colleague)
    await session.commit()
    await report(session, one, world.contact_actor, at("2026-11-20 10:00"))
    await report(session, one, actor_of(colleague), at("2026-11-20 10:01"))
    unlimited = limited(rules, 0)
    for minute in range(11):  # past the shipped 10
        await report(session, unlimited, world.contact_actor, at(f"2026-11-20 11:{minute:02d}"))


@pytest.fixture
async def one_a_day_cli(
    engine: AsyncEngine,
    world: World,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> World:
    """The CLI on the test's database, in English, with one new report a contact a day."""
    policy = tmp_path / "policy.toml"
    text = SHIPPED.read_text("utf-8")
    policy.write_text(
        text.replace("reports_per_contact_per_day = 10", "reports_per_contact_per_day = 1")
    )
    monkeypatch.setenv("ZTC_DATABASE_URL", database_url)
    monkeypatch.setenv("ZTC_DEFAULT_LOCALE", "en")
    monkeypatch.setenv("ZTC_POLICY", str(policy))
    for name in ("ZTC_BOT_TOKEN", "ZTC_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    return world


def new_issue(category: str, *by: str, code: int = 0) -> Result:
    args = ["issues", "new", "--project", "P1", "--category", category, "--text", "用地"]
    result = CliRunner().invoke(cli, [*args, "--at", "2026-11-20T10:00", *by], prog_name="ztc")
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    return result


def test_the_cli_refuses_a_contacts_report_past_the_limit_but_not_an_officials(
    one_a_day_cli: World,
) -> None:
    new_issue("land", "--by", "C1")
    refused = new_issue("planning", "--by", "C1", code=1)
    assert refused.stderr.strip() == (
        "New problems this contact reported today: 1; the limit is 1 a day. "
        "Anything more today can be logged by an official on their behalf."
    )
    new_issue("planning", "--by", "r1-agent-a")  # logged on the contact's behalf
    new_issue("energy")  # the system's


async def test_the_cli_wrote_nothing_for_the_refused_report(
    one_a_day_cli: World, engine: AsyncEngine
) -> None:
    await asyncio.to_thread(new_issue, "land", "--by", "C1")
    await asyncio.to_thread(new_issue, "planning", "--by", "C1", code=1)
    async with session_scope(engine) as session:
        categories = (await session.exec(select(Issue.category))).all()
    assert [str(c) for c in categories] == ["land"]
