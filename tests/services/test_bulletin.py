"""The bulletin's figures on a small world worked out by hand, and the same numbers in every form.

November 2026, the city of two regions (r1 清江浦区, r2 涟水县):
- I1 (P1, r1) reported Mon 2 Nov 10:00, accepted 11:00 (on time), resolved 4 Nov, rated 满意.
- I2 (P1, r1) reported Mon 9 Nov 10:00, accepted Wed 11 Nov (due Tue 10:00: late), resolved
  12 Nov, rated 不满意 on 13 Nov: reopened one level up, never accepted again: overdue.
- I3 (P2, r2, 60亿: the principal leaders) reported Fri 20 Nov, never accepted: overdue.
- I4 (P1, r1) reported and accepted in October, escalated by its handler on 16 Nov: overdue.
Cut: Tue 1 December 09:00.
"""

from __future__ import annotations

import io
from datetime import date

import openpyxl
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from jobs.reports.text import bulletin_text
from jobs.reports.workbook import bulletin_workbook
from models.bulletin import city_and_regions
from models.codes import Rating
from models.figures import RATE_KEYS
from models.issues.commands import Accept, Confirm, Escalate, Resolve
from models.periods import Period
from models.report_data import Bulletin, IssueCounts, StageCounts, dump, load
from models.rules import Rules
from models.tables.project import Project
from tests.support.factories import World, act, at, build_world, make_issue, make_project

CUT = at("2026-12-01 09:00")


@pytest.fixture
async def bulletins(session: AsyncSession, rules: Rules) -> dict[str, Bulletin]:
    world = await build_world(session)
    p1 = await make_project(session, world, 20000, code="P1")
    p2 = await make_project(session, world, 600000, code="P2", region=world.other_region)
    dates = [
        (p1, dict(signed_on=date(2026, 11, 3), started_on=date(2026, 11, 10))),
        (
            p2,
            dict(
                signed_on=date(2026, 3, 1),
                started_on=date(2026, 5, 1),
                production_on=date(2026, 11, 15),
                listed_on=date(2026, 11, 20),
            ),
        ),
    ]
    for project, fields in dates:
        for name, value in fields.items():
            setattr(project, name, value)
        session.add(project)
    await _story(session, rules, world, p1, p2)
    drawn = await city_and_regions(
        session=session, rules=rules, period=Period.parse("2026-11"), cut=CUT
    )
    return {b.scope: b for _, b in drawn}


async def _story(
    session: AsyncSession, rules: Rules, world: World, p1: Project, p2: Project
) -> None:
    head, contact = world.actor("r1-head"), world.contact_actor
    i1 = await make_issue(session, rules, world, p1, at("2026-11-02 10:00"))
    assert i1.id is not None
    await act(session, rules, head, Accept(i1.id), at("2026-11-02 11:00"))
    await act(session, rules, head, Resolve(i1.id, note="已协调"), at("2026-11-04 10:00"))
    await act(
        session, rules, contact, Confirm(i1.id, rating=Rating.SATISFIED), at("2026-11-05 10:00")
    )
    i2 = await make_issue(session, rules, world, p1, at("2026-11-09 10:00"))
    assert i2.id is not None
    await act(session, rules, head, Accept(i2.id), at("2026-11-11 11:00"))
    await act(session, rules, head, Resolve(i2.id, note="已答复"), at("2026-11-12 10:00"))
    await act(
        session,
        rules,
        contact,
        Confirm(i2.id, rating=Rating.UNSATISFIED, note="用地指标仍未落实"),
        at("2026-11-13 10:00"),
    )
    await make_issue(session, rules, world, p2, at("2026-11-20 10:00"))
    i4 = await make_issue(session, rules, world, p1, at("2026-10-20 10:00"))
    assert i4.id is not None
    await act(session, rules, head, Accept(i4.id), at("2026-10-20 11:00"))
    await act(session, rules, head, Escalate(i4.id), at("2026-11-16 10:00"))


def test_the_city_figures(bulletins: dict[str, Bulletin]) -> None:
    city = bulletins["city"]
    assert city.issues == IssueCounts(
        new=3,
        accepted=2,
        resolved=2,
        overdue=3,
        escalated=1,
        accepted_on_time=1,
        due_accept=5,  # 2 acceptances + 3 still unaccepted past their deadline (I2, I3, I4)
        resolved_on_time=2,  # I1 and I2, each inside its resolution clock
        due_resolve=2,  # 2 resolved + none accepted and past its deadline at the cut
        rated=2,
        satisfied=1,
        reopened=1,  # I2, rated 不满意
    )
    assert city.issues.rate("on_time_accept") == pytest.approx(0.2)
    assert city.issues.rate("on_time_resolve") == pytest.approx(1.0)
    assert city.issues.rate("satisfaction") == pytest.approx(0.5)
    assert city.issues.rate("reopen") == pytest.approx(0.5)
    assert city.stages == StageCounts(signed=1, started=1, completed=0, in_production=1, listed=1)
    rates = city.rates
    assert (rates.signing.part, rates.signing.whole) == (2, 600)
    assert (rates.starting.part, rates.starting.whole) == (2, 2)
    assert (rates.production.part, rates.production.whole) == (1, 2)
    assert (rates.capacity.part, rates.capacity.whole, rates.capacity.value) == (0, 1, 0.0)
    assert {t.key: (t.actual, t.target) for t in city.targets} == {
        "agreed_investment_wan": (620000, 40000000),
        "new_projects_1yi": (2, 600),
        "projects_50yi": (1, 30),
        "signed_and_started": (2, 300),
    }
    assert city.elapsed == pytest.approx((334 + 9 / 24) / 365)


def test_the_overdue_list_is_oldest_first_with_level_and_handler(
    bulletins: dict[str, Bulletin],
) -> None:
    overdue = bulletins["city"].overdue
    assert [(r.project_code, r.level) for r in overdue] == [
        ("P1", "city_deputy"),  # I2: reopened up on 13 Nov, due 16 Nov
        ("P1", "city_deputy"),  # I4: escalated 16 Nov, due 17 Nov
        ("P2", "city_principal"),  # I3: due 23 Nov
    ]
    assert [r.due_at for r in overdue] == sorted(r.due_at for r in overdue)  # type: ignore[type-var]
    assert all(r.overdue and r.handler for r in overdue)


def test_the_regions_ranked_and_flagged(bulletins: dict[str, Bulletin]) -> None:
    r1, r2 = bulletins["city"].regions
    assert (r1.code, r1.rank, r2.code, r2.rank) == ("r1", 1, "r2", 2)
    assert (r1.issues.accepted_on_time, r1.issues.due_accept) == (1, 4)
    # each rate the higher the better: the reopen rate counts as 1 − 0.5
    assert r1.score == pytest.approx((0.25 + 1.0 + 0.5 + 0.5) / 4)
    assert r1.flag == "red" and set(r1.below) == {"on_time_accept", "satisfaction", "reopen"}
    # r2: nothing resolved or rated — only on-time acceptance is judged, and it is 0.
    assert r2.issues.satisfaction_rate is None and r2.issues.rate("reopen") is None
    assert r2.score == 0 and r2.flag == "red" and set(r2.below) == {"on_time_accept"}
    assert bulletins["r2"].issues == r2.issues  # the region's own bulletin agrees
    assert [r.code for r in bulletins["r2"].regions] == ["r1", "r2"]  # it sees the ranking


def test_nothing_due_and_nothing_rated_give_no_rate(bulletins: dict[str, Bulletin]) -> None:
    quiet = IssueCounts()
    assert [quiet.rate(k) for k in RATE_KEYS] == [None] * 4


async def test_a_month_without_events_counts_no_flow(session: AsyncSession, rules: Rules) -> None:
    await build_world(session)
    drawn = await city_and_regions(
        session=session, rules=rules, period=Period.parse("2026-08"), cut=CUT
    )
    city = drawn[0][1]
    assert city.issues == IssueCounts() and city.overdue == [] and city.targets[0].actual == 0
    assert [r.score for r in city.regions] == [None, None]


def test_the_stored_form_reads_back_equal(bulletins: dict[str, Bulletin]) -> None:
    city = bulletins["city"]
    assert load(Bulletin, dump(city)) == city


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_the_text_and_the_workbook_hold_the_same_numbers(
    bulletins: dict[str, Bulletin], rules: Rules, locale: str
) -> None:
    city = bulletins["city"]
    text = bulletin_text(city, locale, rules.tz)
    for figure in ("20.0%", "100.0%", "50.0%", "91.6%"):
        assert figure in text
    book = openpyxl.load_workbook(io.BytesIO(bulletin_workbook(city, locale, rules.tz)))
    summary = [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    numbers = {cell for row in summary for cell in row if isinstance(cell, int | float)}
    for value in (3, 2, 1, 5, 0.2, 1.0, 0.5, 620000, 40000000):
        assert value in numbers
    overdue_sheet = book.worksheets[2]
    numbers_listed = [row[0] for row in overdue_sheet.iter_rows(min_row=2, values_only=True)]
    assert numbers_listed == [r.number for r in city.overdue]
    for row in city.overdue:
        assert row.number in text
    assert ("县区（园区）排名" in text) == (locale == "zh_CN")
    assert ("Regions ranked" in text) == (locale == "en")


async def test_the_sample_story_goes_through_the_real_services(
    session: AsyncSession, rules: Rules
) -> None:
    from bot.demo.sample import simulate

    world = await build_world(session)
    for code, amount in (("P1", 20000), ("P2", 600000), ("P3", 5000)):
        await make_project(session, world, amount, code=code)
    start, end = at("2026-11-02 08:00"), at("2026-11-30 18:00")
    story = await simulate(session=session, rules=rules, start=start, end=end, seed=3)
    assert story.reported >= story.accepted >= story.resolved >= story.rated
    drawn = await city_and_regions(
        session=session, rules=rules, period=Period.parse("2026-11"), cut=end
    )
    city = drawn[0][1].issues
    assert city.new == story.reported  # every simulated issue is November's
    assert (city.accepted, city.resolved) == (story.accepted, story.resolved)
