"""A month's bulletin beside the month before (环比) and the year to date (年内), each drawn as its
own bulletin would be; and the CLI's text for a reader at a screen: whole lists, names not codes.

The story is tests/services/test_bulletin.py's: I4 was reported and accepted on time in October,
the other three issues came in November; the cut is 1 December 09:00.
"""

from __future__ import annotations

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from jobs.reports.text import SHOWN
from models.bulletin import city_and_regions
from models.periods import Period
from models.report_data import Bulletin, IssueCounts
from models.rules import Rules
from tests.services.test_bulletin import CUT, bulletins  # noqa: F401  (the fixture)
from tests.services.test_cli import blank, env, migrated, new_issue, samples, ztc  # noqa: F401
from tests.support.factories import at


async def drawn(session: AsyncSession, rules: Rules, key: str, cut: str) -> dict[str, Bulletin]:
    """Every scope's bulletin of period `key` as at `cut`."""
    period = Period.parse(key)
    pairs = await city_and_regions(session=session, rules=rules, period=period, cut=at(cut))
    return {b.scope: b for _, b in pairs}


async def test_the_month_before_is_as_its_own_bulletin_counted_it(
    bulletins: dict[str, Bulletin],  # noqa: F811
    session: AsyncSession,
    rules: Rules,
) -> None:
    october = await drawn(session, rules, "2026-10", "2026-11-01 00:00")
    for scope, bulletin in bulletins.items():
        assert bulletin.previous == october[scope].issues, scope
    city = bulletins["city"].previous
    assert city is not None
    assert (city.new, city.accepted, city.accepted_on_time, city.due_accept) == (1, 1, 1, 1)
    assert city.rate("on_time_accept") == 1.0 and city.rate("satisfaction") is None
    assert bulletins["r2"].previous == IssueCounts()  # nothing in r2 before November


async def test_the_year_to_date_runs_from_1_january_to_the_cut(
    bulletins: dict[str, Bulletin],  # noqa: F811
    session: AsyncSession,
    rules: Rules,
) -> None:
    year = await drawn(session, rules, "2026", "2026-12-01 09:00")
    for scope, bulletin in bulletins.items():
        assert bulletin.year_to_date == year[scope].issues, scope
    city = bulletins["city"].year_to_date
    assert city is not None
    # I1, I2, I4 accepted (I1 and I4 on time); I2, I3, I4 wait for acceptance past a deadline
    assert (city.new, city.accepted, city.accepted_on_time, city.due_accept) == (4, 3, 2, 6)
    assert city.rate("on_time_accept") == pytest.approx(2 / 6)
    assert year["city"].previous is None and year["city"].year_to_date is None  # not a month


def test_the_month_carries_the_limits_it_was_judged_by(
    bulletins: dict[str, Bulletin],  # noqa: F811
    rules: Rules,
) -> None:
    floors = rules.policy.floors
    assert bulletins["city"].limits == {"red": floors.red, "yellow": floors.yellow}
    assert bulletins["r1"].limits["red"]["on_time_accept"] == floors.red["on_time_accept"]


def test_the_cli_text_shows_the_month_in_context_and_every_line(samples: str) -> None:  # noqa: F811
    ztc("sample", "--from", "2026-10-12T00:00", "--to", "2026-11-30T18:00")
    text = ztc("bulletin", "--period", "2026-11").stdout
    assert "month on month" in text and "year to date" in text
    assert "… and" not in text and "workbook" not in text  # a screen gets every line
    people = next(line for line in text.splitlines() if line.startswith("Could not be reached"))
    assert people.count(", ") + 1 > SHOWN  # more than a message would show
    assert "Figures as at Dec 1, 2026, 12:00\u202fAM." in text


def test_the_cli_names_people_projects_and_regions(samples: str) -> None:  # noqa: F811
    number = new_issue("P04")["number"]
    ztc(
        "issues",
        "accept",
        number,
        "--by",
        "xyx-agent",
        "--note",
        "收到",
        "--at",
        "2026-11-20T11:00",
    )
    shown = ztc("issues", "show", number).stdout
    assert "坎德拉飞轮储能配套部件项目 (P04)" in shown
    assert "Xuyi County" in shown
    assert "谢婷婷 (xyx-agent)" in shown  # the handler, and who accepted it
    assert "Nov 20, 2026, 11:00\u202fAM" in shown  # to the minute
    listed = ztc("issues", "list").stdout
    assert "谢婷婷 (xyx-agent)" in listed and "(P04)" in listed
    as_json = ztc("issues", "show", number, "--json").stdout
    assert '"assignee": "xyx-agent"' in as_json and "谢婷婷" not in as_json  # the contract
