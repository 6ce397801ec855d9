"""The year's targets on a real database, worked by hand: the optional targets' lines, the
mid-year share only up to 30 June, 序时进度 of the period's year, and a year without targets
(the pure rules: tests/unit/test_year_edges.py)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from jobs.reports.text import bulletin_text
from models.bulletin import bulletin_for, load_book
from models.codes import Stage
from models.db import session_scope
from models.periods import Period
from models.policy import parse_policy
from models.report_data import Bulletin, TargetLine
from models.rules import Rules
from models.tables.project import ProgressReport
from tests.support.factories import World, at, build_world, make_project
from tests.support.paths import ROOT

SHIPPED = (ROOT / "models" / "policy.toml").read_text(encoding="utf-8")
OPTIONAL = (
    "industrial_investment_wan = 20000\nnew_starts = 4\nlisted_from_completed = 4\n"
    "started_share_by_midyear = 0.75\n"
)
R1 = (
    "r1 = { agreed_investment_wan = 100000, new_projects_1yi = 2, projects_50yi = 0, "
    "signed_and_started = 2, new_starts = 2 }\n"
)


@pytest.fixture
def targeted() -> Rules:
    """The shipped policy, 2026 with every optional target, and r1's share of new starts."""
    text = SHIPPED.replace("[targets.2026]\n", "[targets.2026]\n" + OPTIONAL, 1)
    text = text.replace("[targets.2026.regions]\n", "[targets.2026.regions]\n" + R1, 1)
    return Rules.build(parse_policy(text), "Asia/Shanghai")


@pytest.fixture
async def world(engine: AsyncEngine) -> World:
    """Four projects of r1 whose dates straddle 30 June, and their progress reports."""
    async with session_scope(engine) as session:
        world = await build_world(session)
        dates = {
            # signed, started, completed, listed
            "P1": (date(2026, 1, 10), date(2026, 3, 1), date(2026, 5, 1), date(2026, 6, 15)),
            "P2": (date(2025, 11, 1), date(2026, 6, 30), None, date(2026, 4, 1)),  # not completed
            "P3": (date(2025, 6, 1), date(2025, 12, 1), date(2026, 2, 1), date(2026, 8, 1)),
            "P4": (date(2026, 5, 1), date(2026, 7, 15), None, None),
        }
        ids = {}
        for code, (signed, started, completed, listed) in dates.items():
            project = await make_project(session, world, 20000, code=code)
            project.signed_on, project.started_on = signed, started
            project.completed_on, project.listed_on = completed, listed
            session.add(project)
            ids[code] = project.id or 0
        reports = [
            ("P1", "2026-06-20", 5000),
            ("P3", "2026-05-10", 3000),
            ("P3", "2026-08-05", 4000),
        ]
        for code, when, invested in reports:
            moment = at(f"{when} 10:00")
            session.add(
                ProgressReport(
                    project_id=ids[code],
                    month=moment.date().replace(day=1),
                    stage=Stage.STARTED,
                    invested_wan=invested,
                    reported_at=moment,
                )
            )
    return world


async def city(engine: AsyncEngine, rules: Rules, period: str, cut: str) -> Bulletin:
    """The city's bulletin of `period` as at `cut`."""
    async with session_scope(engine) as session:
        book = await load_book(
            session=session, rules=rules, period=Period.parse(period), cut=at(cut)
        )
        return bulletin_for(book, None)


def lines(bulletin: Bulletin) -> dict[str, TargetLine]:
    return {line.key: line for line in bulletin.targets}


async def test_june_counts_the_optional_targets_and_the_midyear_share(
    engine: AsyncEngine, targeted: Rules, world: World
) -> None:
    june = await city(engine, targeted, "2026-06", "2026-07-01 00:00")
    got = lines(june)
    # Invested as last reported by the cut: P1 5000, P3 3000 (its August report comes later).
    assert got["industrial_investment_wan"] == TargetLine("industrial_investment_wan", 20000, 8000)
    assert got["new_starts"] == TargetLine("new_starts", 4, 2)  # P1 (March), P2 (30 June)
    # Listed this year and completed: P1; P2 is listed but never completed; P3 lists in August.
    assert got["listed_from_completed"] == TargetLine("listed_from_completed", 4, 1)
    assert got["started_share_by_midyear"] == TargetLine(
        "started_share_by_midyear", 4, 2, against=0.75
    )
    assert june.elapsed == pytest.approx(181 / 365)
    assert {"agreed_investment_wan", "signed_and_started"} <= set(got)  # the four stay


async def test_after_june_no_midyear_line_and_the_year_runs_on(
    engine: AsyncEngine, targeted: Rules, world: World
) -> None:
    h1 = await city(engine, targeted, "2026-H1", "2026-07-10 09:00")
    assert "started_share_by_midyear" in lines(h1)  # the half year ends on 30 June
    july = await city(engine, targeted, "2026-07", "2026-08-01 00:00")
    assert "started_share_by_midyear" not in lines(july)
    december = await city(engine, targeted, "2026-12", "2027-01-01 09:00")
    got = lines(december)
    assert "started_share_by_midyear" not in got
    assert got["new_starts"].actual == 3  # P4 started on 15 July
    assert got["listed_from_completed"].actual == 2  # P1 and P3
    assert got["industrial_investment_wan"].actual == 9000  # P3's latest report: 4000
    assert december.elapsed == 1.0  # the whole of 2026, though cut in 2027


@pytest.mark.parametrize(
    ("period", "cut"),
    [
        ("2026-12", "2027-01-01 09:00"),
        ("2026-Q4", "2027-01-05 09:00"),
        ("2026", "2027-01-15 09:00"),
    ],
)
async def test_the_year_end_reports_read_the_whole_year(
    engine: AsyncEngine, rules: Rules, world: World, period: str, cut: str
) -> None:
    bulletin = await city(engine, rules, period, cut)
    assert (bulletin.year, bulletin.elapsed) == (2026, 1.0)
    assert bulletin.targets  # 2026's targets, not 2027's (there are none)


async def test_a_region_reads_its_own_share_only(
    engine: AsyncEngine, targeted: Rules, world: World
) -> None:
    async with session_scope(engine) as session:
        period = Period.parse("2026-06")
        book = await load_book(
            session=session, rules=targeted, period=period, cut=at("2026-07-01")
        )
        r1 = bulletin_for(book, world.region)
    got = lines(r1)
    assert got["new_starts"] == TargetLine("new_starts", 2, 2)
    # r1 sets no other optional target: no line for them, and none for the mid-year share.
    assert not {"industrial_investment_wan", "listed_from_completed"} & set(got)
    assert "started_share_by_midyear" not in got


async def test_january_2027_has_no_targets_and_says_so(
    engine: AsyncEngine, rules: Rules, world: World
) -> None:
    january = await city(engine, rules, "2027-01", "2027-02-01 00:00")
    assert (january.year, january.targets) == (2027, [])
    assert january.elapsed == pytest.approx(31 / 365)
    assert "No targets set for 2027" in bulletin_text(january, "en", rules.tz)
