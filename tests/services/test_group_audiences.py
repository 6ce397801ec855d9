"""Groups beyond the city's bulletin: each region's report to the region's own groups, the
weekly digest to a group as the city's or the region's open items, and escalations told to
the city's and the issue's region's groups (delivery itself: tests/e2e/test_group_robots.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.cards import draw_card
from jobs.cycle import run_cycle_job
from jobs.notices import notice_renderer
from jobs.reports.text import report_text
from models.db import session_scope
from models.issues.commands import Comment, DirectLine, Escalate
from models.policy import PolicyError, parse_policy
from models.rules import Rules
from models.tables.infra import Outbox, Report
from tests.support.factories import World, act, at, build_world, make_issue, make_project
from tests.support.robots import policy_text

CITY = '{channel = "wecom", key_env = "ZTC_WECOM_CITY"}'
R1 = '{channel = "dingtalk", key_env = "ZTC_DT_R1", secret_env = "ZTC_DT_R1_SECRET"}'
R2 = '{channel = "feishu", key_env = "ZTC_FS_R2"}'
REGIONS = f"groups = [{CITY}]\nregions = {{ r1 = [{R1}], r2 = [{R2}] }}"


def rules_for(audience: str, jobs: tuple[str, ...], escalations: str = "") -> Rules:
    text = policy_text(audience, jobs=jobs) + (f"\n[escalations]\n{escalations}\n")
    return Rules.build(parse_policy(text), "Asia/Shanghai")


async def group_rows(engine: AsyncEngine, **where: object) -> list[tuple[str, str, str]]:
    """(channel, address, the report's scope or the event kind) of the rows to groups."""
    async with AsyncSession(engine) as session:
        query = select(Outbox).where(col(Outbox.channel) != "telegram")
        for name, value in where.items():
            query = query.where(getattr(Outbox, name) == value)
        rows = (await session.exec(query.order_by(col(Outbox.id)))).all()
        scopes = {r.id: r.scope for r in (await session.exec(select(Report))).all()}
        return [
            (
                o.channel,
                o.address or "",
                scopes[o.payload["report"]] if o.kind == "report" else o.kind,
            )
            for o in rows
        ]


@pytest.fixture
async def world(engine: AsyncEngine) -> World:
    async with session_scope(engine) as session:
        return await build_world(session)


async def test_each_region_s_report_goes_to_its_own_groups_and_the_city_s_to_the_city_s(
    engine: AsyncEngine, world: World
) -> None:
    rules = rules_for(REGIONS, ("monthly_bulletin",))
    done = await run_cycle_job(
        engine=engine, rules=rules, job="monthly_bulletin", now=at("2026-12-01 09:00")
    )
    assert done.outcome == "done"
    assert sorted(await group_rows(engine, kind="report")) == [
        ("dingtalk", "ZTC_DT_R1", "r1"),
        ("feishu", "ZTC_FS_R2", "r2"),
        ("wecom", "ZTC_WECOM_CITY", "city"),
    ]


async def test_the_weekly_digest_reaches_a_group_as_its_scope_s_open_items(
    engine: AsyncEngine, world: World
) -> None:
    rules = rules_for(f"regions = {{ r1 = [{R1}], r2 = [{R2}] }}", ("weekly_digest",))
    async with session_scope(engine) as session:
        project = await make_project(session, world, 20000)  # r1's; r2 has no open issue
        for _ in range(2):
            await make_issue(session, rules, world, project, at("2026-11-30 10:00"))
    done = await run_cycle_job(
        engine=engine, rules=rules, job="weekly_digest", now=at("2026-12-07 08:00")
    )
    assert done.outcome == "done"
    assert await group_rows(engine, kind="report") == [("dingtalk", "ZTC_DT_R1", "r1")]
    async with AsyncSession(engine) as session:
        report = (await session.exec(select(Report).where(Report.scope == "r1"))).one()
    text = report_text(report.job, report.data, "zh_CN", rules.tz)
    assert "周动态：2 件诉求未办结" in text and "2026-00001" in text and "2026-00002" in text
    assert "/inbox" not in text  # a group has no inbox to open
    mine = report_text(report.job, {**report.data, "shared": False}, "zh_CN", rules.tz)
    assert "/inbox" in mine and "您有" in mine


async def test_escalations_are_told_to_the_city_s_groups_and_the_region_s_only(
    engine: AsyncEngine, world: World
) -> None:
    rules = rules_for("", (), escalations=REGIONS)
    now = at("2026-11-20 10:00")
    async with session_scope(engine) as session:
        project = await make_project(session, world, 20000)
        issue, other = [await make_issue(session, rules, world, project, now) for _ in range(2)]
        head = world.actor("r1-head")
        await act(session, rules, head, Comment(issue.id, note="在协调"), now)
        await act(session, rules, head, Escalate(issue.id), now)
        later = now + timedelta(hours=1)
        await act(session, rules, head, DirectLine(other.id, note="需市主要领导协调"), later)
    assert await group_rows(engine) == [
        ("wecom", "ZTC_WECOM_CITY", "escalated"),
        ("dingtalk", "ZTC_DT_R1", "escalated"),
        ("wecom", "ZTC_WECOM_CITY", "direct_line"),
        ("dingtalk", "ZTC_DT_R1", "direct_line"),
    ]  # not r2's group; nothing for the creation or the comment

    # the group reads the card's facts, with no button to press
    render = notice_renderer(
        rules=rules, default_locale="zh_CN", clock=lambda: now, card=draw_card
    )
    async with AsyncSession(engine) as session:
        row = (
            await session.exec(select(Outbox).where(Outbox.kind == "direct_line").limit(1))
        ).one()
        rendered = await render(session, row, None)
    assert rendered is not None and rendered.buttons == ()
    assert "2026-00002" in rendered.text and "项目：P1" in rendered.text


def test_a_name_given_to_two_destinations_across_regions_and_escalations_is_refused() -> None:
    clash = '{channel = "wecom", name = "r1", key_env = "OTHER"}'
    with pytest.raises(PolicyError, match=r"escalations\.regions\.r1: the name 'r1'"):
        rules_for(
            'regions = { r1 = [{channel = "wecom", name = "r1", key_env = "A"}] }',
            ("monthly_bulletin",),
            escalations=f"regions = {{ r1 = [{clash}] }}",
        )
    groups = parse_policy(policy_text(REGIONS) + f"\n[escalations]\ngroups = [{CITY}]\n").groups()
    assert sorted(groups) == ["ZTC_DT_R1", "ZTC_FS_R2", "ZTC_WECOM_CITY"]
