"""Holiday years on a real database: `ztc calendar load|show`, the deadlines counted again with
an event on each issue and a notice to the admins, every instance seeing a load without a
restart, and a bad file refused whole (the pure rules: tests/unit/test_workcal_years.py).

The CLI tests are plain functions (the CLI runs its own event loop); they look behind its back in
a session of their own.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cli import cli
from jobs.clocks import run_clocks
from jobs.notices import calendar_text
from models.codes import EventKind
from models.db import make_engine, session_scope
from models.holidays import NOTICE, load_year, parse_schedule, refresh_calendar
from models.issues.commands import Accept, AddCoHandler
from models.migrate import migrate_on, upgrade
from models.policy import load_policy
from models.rules import Rules
from models.tables.calendar import HolidayDay
from models.tables.infra import Outbox
from models.tables.issue import Issue, IssueEvent
from models.tables.project import Project
from tests.support.factories import World, act, at, make_issue

T = TypeVar("T")
# 元旦 and, say, Monday 4 January off; Saturday 9 January worked (调休).
SCHEDULE = "date,kind\n2027-01-01,holiday\n2027-01-04,holiday\n2027-01-09,workday\n"


def fresh_rules() -> Rules:
    """Rules of one instance (the suite's `rules` fixture is shared: loads must not leak)."""
    return Rules.build(load_policy(), "Asia/Shanghai")


def ztc(*args: str, code: int = 0) -> Result:
    """`ztc ARGS` in-process; the exit code checked, never a traceback."""
    result = CliRunner().invoke(cli, list(args), prog_name="ztc")
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    return result


def ztc_json(*args: str) -> Any:
    """`ztc ARGS --json`, parsed."""
    return json.loads(ztc(*args, "--json").stdout)


def look(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in a session of its own (behind the CLI's back)."""

    async def go() -> T:
        engine = make_engine(url)
        try:
            async with AsyncSession(engine, expire_on_commit=False) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(go())


async def _days(session: AsyncSession) -> int:
    return (await session.exec(select(func.count()).select_from(HolidayDay))).one()


async def _events(session: AsyncSession) -> list[IssueEvent]:
    query = select(IssueEvent).where(IssueEvent.kind == EventKind.DEADLINE_RECOMPUTED)
    return list((await session.exec(query.order_by(col(IssueEvent.id)))).all())


async def _notices(session: AsyncSession) -> list[Outbox]:
    return list((await session.exec(select(Outbox).where(Outbox.kind == NOTICE))).all())


@pytest.fixture
async def year_end(
    engine: AsyncEngine, world: World, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Two issues of P1 (county, r1-head) counted into 2027 before anybody knew its holidays:
    one waiting to be accepted since New Year's Eve, one accepted on 29 December; the CLI on the
    same database, in English. Their numbers."""
    rules = fresh_rules()
    async with session_scope(engine) as session:
        project = (await session.exec(select(Project).where(Project.code == "P1"))).one()
        accepted = await make_issue(session, rules, world, project, at("2026-12-29 09:00"))
        assert accepted.id is not None
        await act(
            session, rules, world.actor("r1-head"), Accept(accepted.id), at("2026-12-29 10:00")
        )
        waiting = await make_issue(session, rules, world, project, at("2026-12-31 10:00"))
        numbers = {"accepted": accepted.number or "", "waiting": waiting.number or ""}
    monkeypatch.setenv("ZTC_DATABASE_URL", database_url)
    monkeypatch.setenv("ZTC_DEFAULT_LOCALE", "en")
    for name in ("ZTC_POLICY", "ZTC_BOT_TOKEN", "ZTC_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    return numbers


def test_a_2027_issue_before_and_after_calendar_load(
    year_end: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    waiting, accepted = year_end["waiting"], year_end["accepted"]
    before = ztc_json("issues", "show", waiting)
    # New Year's Day is off by law even unannounced; then a weekend: provisionally Monday.
    assert (before["accept_due"], before["provisional"]) == ("2027-01-04T10:00:00+08:00", True)
    text = ztc("issues", "show", waiting).stdout
    assert "provisional" in text
    resolving = ztc_json("issues", "show", accepted)  # 5 working days from Tuesday 29th
    assert (resolving["resolve_due"], resolving["provisional"]) == (
        "2027-01-06T10:00:00+08:00",
        True,
    )
    assert ztc_json("calendar", "show", "2027") == [
        {"date": "2027-01-01", "kind": "holiday"},
        {"date": "2027-10-01", "kind": "holiday"},
    ]
    assert "not announced yet" in ztc("calendar", "show", "2027").stdout

    schedule = tmp_path / "2027.csv"
    schedule.write_text(SCHEDULE, encoding="utf-8")
    done = ztc_json("calendar", "load", "2027", str(schedule), "--at", "2026-12-31T15:00")
    assert (done["year"], done["days"], done["holidays"], done["workdays"]) == (2027, 3, 2, 1)
    assert done["recomputed"] == [accepted, waiting] and done["notices"] == 1

    after = ztc_json("issues", "show", waiting)
    assert (after["accept_due"], after["provisional"]) == ("2027-01-05T10:00:00+08:00", False)
    assert "provisional" not in ztc("issues", "show", waiting).stdout
    event = after["events"][-1]
    assert (event["kind"], event["actor"]) == ("deadline_recomputed", "system")
    after = ztc_json("issues", "show", accepted)
    assert (after["resolve_due"], after["provisional"]) == ("2027-01-07T10:00:00+08:00", False)

    events = look(database_url, _events)
    assert [e.data["from"] for e in events] == [
        "2027-01-06T02:00:00+00:00",
        "2027-01-04T02:00:00+00:00",
    ]
    assert [e.data["to"] for e in events] == [
        "2027-01-07T02:00:00+00:00",
        "2027-01-05T02:00:00+00:00",
    ]
    notices = look(database_url, _notices)
    assert len(notices) == 1 and notices[0].payload["issues"] == [accepted, waiting]
    assert accepted in calendar_text(notices[0].payload, "en")

    async def told(session: AsyncSession) -> set[str]:
        rows = await session.exec(select(Outbox).where(Outbox.kind == "deadline_recomputed"))
        return {"official" if r.official_id else "contact" for r in rows.all()}

    assert look(database_url, told) == {"official", "contact"}  # the handler and the enterprise

    shown = ztc_json("calendar", "show", "2027")
    assert shown[:3] == [
        {"date": "2027-01-01", "kind": "holiday"},
        {"date": "2027-01-04", "kind": "holiday"},
        {"date": "2027-01-09", "kind": "workday"},
    ]
    assert all(set(day) == {"date", "kind"} for day in shown)
    assert "loaded into the database" in ztc("calendar", "show", "2027").stdout

    # Loading again replaces the year, and a deadline already exact moves no more than it must.
    schedule.write_text("date,kind\n2027-01-01,holiday\n", encoding="utf-8")
    again = ztc_json("calendar", "load", "2027", str(schedule), "--at", "2026-12-31T16:00")
    assert again["days"] == 1 and again["recomputed"] == [accepted, waiting]
    assert look(database_url, _days) == 1
    assert ztc_json("issues", "show", waiting)["accept_due"] == "2027-01-04T10:00:00+08:00"
    assert len(look(database_url, _events)) == 4
    same = ztc_json("calendar", "load", "2027", str(schedule), "--at", "2026-12-31T17:00")
    assert same["recomputed"] == []  # nothing moved: no event
    assert len(look(database_url, _events)) == 4


def test_the_text_summary_counts_days_and_issues(year_end: dict[str, str], tmp_path: Path) -> None:
    schedule = tmp_path / "2027.csv"
    schedule.write_text(SCHEDULE, encoding="utf-8")
    out = ztc("calendar", "load", "2027", str(schedule), "--by", "admin").stdout
    assert "Loaded the holidays of 2027 (days off: 2; weekend days worked: 1)." in out
    assert "2 open issues' deadlines were counted again" in out


@pytest.mark.parametrize(
    ("content", "line", "says"),
    [
        ("date,kind\n2027-01-01,holiday\n2026-12-31,holiday\n", 3, "2026-12-31 is not in 2027"),
        ("date,kind\n2027-01-01,holiday\n\n2027-01-04,day off\n", 4, "neither holiday nor"),
        ("date,kind\n2027-02-30,holiday\n", 2, "2027-02-30 is not a date"),
        ("date,kind\n2027-01-01,holiday\n2027-01-01,workday\n", 3, "appears twice"),
        ("day,kind\n2027-01-01,holiday\n", 1, "the column date is missing"),
        ("date,kind\n", 1, "no data rows"),
    ],
)
def test_a_bad_file_names_the_line_and_loads_nothing(
    year_end: dict[str, str],
    database_url: str,
    tmp_path: Path,
    content: str,
    line: int,
    says: str,
) -> None:
    schedule = tmp_path / "bad.csv"
    schedule.write_text(content, encoding="utf-8")
    result = ztc("calendar", "load", "2027", str(schedule), code=1)
    assert f"{schedule}:{line}: " in result.stderr and says in result.stderr
    assert "Nothing was loaded." in result.stderr
    assert look(database_url, _days) == 0
    assert look(database_url, _events) == [] and look(database_url, _notices) == []
    assert ztc_json("issues", "show", year_end["waiting"])["provisional"] is True


def test_a_file_that_is_not_utf8_is_refused(year_end: dict[str, str], tmp_path: Path) -> None:
    schedule = tmp_path / "gbk.csv"
    schedule.write_bytes("date,kind\n2027-01-01,元旦\n".encode("gbk"))
    assert "not UTF-8" in ztc("calendar", "load", "2027", str(schedule), code=1).stderr


# --- every instance sees a load without a restart ---


async def test_another_instance_sees_the_load_at_its_next_refresh(
    engine: AsyncEngine, world: World
) -> None:
    bot, cli_rules = fresh_rules(), fresh_rules()
    async with session_scope(engine) as session:
        assert await refresh_calendar(session=session, calendar=bot.calendar)  # the first read
        assert not await refresh_calendar(session=session, calendar=bot.calendar)  # no change
    assert bot.calendar.is_workday(at("2027-01-04 10:00").date()) == (True, True)
    async with session_scope(engine) as session:
        days = parse_schedule(SCHEDULE, 2027)
        await load_year(
            session=session, rules=cli_rules, year=2027, days=days, now=at("2026-12-31 15:00")
        )
    async with session_scope(engine) as session:
        assert await refresh_calendar(session=session, calendar=bot.calendar)
    assert bot.calendar.is_workday(at("2027-01-04 10:00").date()) == (False, False)


async def test_the_sweep_counts_again_a_deadline_counted_with_a_stale_calendar(
    engine: AsyncEngine, world: World
) -> None:
    bot, cli_rules = fresh_rules(), fresh_rules()
    now = at("2026-12-31 15:00")
    await run_clocks(engine=engine, rules=bot, now=now)  # the bot read the calendar
    async with session_scope(engine) as session:
        await load_year(
            session=session,
            rules=cli_rules,
            year=2027,
            days=parse_schedule(SCHEDULE, 2027),
            now=now,
        )
    async with session_scope(engine) as session:  # a report in the minute before the sweep
        project = (await session.exec(select(Project).where(Project.code == "P1"))).one()
        straggler = await make_issue(session, bot, world, project, at("2026-12-31 15:00:30"))
    assert (straggler.accept_due, straggler.provisional) == (at("2027-01-04 15:00:30"), True)
    report = await run_clocks(engine=engine, rules=bot, now=at("2026-12-31 15:01"))
    assert report.recomputed == [straggler.number]
    async with session_scope(engine) as session:
        fixed = await session.get(Issue, straggler.id)
        assert fixed is not None
        assert (fixed.accept_due, fixed.provisional) == (at("2027-01-05 15:00:30"), False)
    again = await run_clocks(engine=engine, rules=bot, now=at("2026-12-31 15:02"))
    assert again.recomputed == [] and again.changed == 0


async def test_a_cohandlers_deadline_through_the_loaded_year_moves(
    engine: AsyncEngine, world: World
) -> None:
    rules = fresh_rules()
    async with session_scope(engine) as session:
        project = (await session.exec(select(Project).where(Project.code == "P1"))).one()
        issue = await make_issue(session, rules, world, project, at("2026-12-30 10:00"))
        assert issue.id is not None
        await act(session, rules, world.actor("r1-head"), Accept(issue.id), at("2026-12-30 11:00"))
        department = world.departments["fgw"].id
        assert department is not None
        command = AddCoHandler(issue.id, department_id=department)
        await act(session, rules, world.actor("r1-head"), command, at("2026-12-30 12:00"))
    async with session_scope(engine) as session:
        await load_year(
            session=session,
            rules=rules,
            year=2027,
            days=parse_schedule(SCHEDULE, 2027),
            now=at("2026-12-31 15:00"),
        )
    async with session_scope(engine) as session:
        event = (await _events(session))[-1]
        assert "fgw" in event.data["cohandlers"]


# --- migration 0009 ---


async def _own_database(url: str) -> AsyncIterator[AsyncEngine]:
    """An empty database of its own (SQLite: the file given)."""
    if url.startswith("sqlite"):
        yield make_engine(url)
        return
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    name = f"{make_url(url).database}_mig9"
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_engine(make_url(url).set(database=name).render_as_string(hide_password=False))
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def test_0009_makes_the_table_and_goes_back(database_url: str, tmp_path: Path) -> None:
    url = database_url if database_url.startswith("postgres") else f"sqlite:///{tmp_path}/m.db"
    async for engine in _own_database(url):
        await upgrade(engine, "0009")
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO holiday_day (day, kind, year, loaded_at, loaded_by)"
                    " VALUES ('2027-01-01', 'holiday', 2027, '2026-12-01 02:00:00', 'admin')"
                )
            )
            await conn.run_sync(migrate_on, "0008", down=True)
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert "holiday_day" not in tables
        await upgrade(engine)
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT count(*) FROM holiday_day"))).scalar()
        assert rows == 0
        await engine.dispose()
