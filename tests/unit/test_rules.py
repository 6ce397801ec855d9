"""Layer 1: the pure rules: tiers, the working-day calendar, spans, the ladder, the policy."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from jobs.schedule import cron_problem
from models.codes import Level, Urgency
from models.policy import LADDER, PolicyError, Span, YearCalendar, load_policy, parse_policy
from models.rules import Rules, level_above, top_level
from models.workcal import WorkCalendar
from tests.support.factories import TZ, at
from tests.support.paths import ROOT

SHIPPED = (ROOT / "models" / "policy.toml").read_text("utf-8")


@pytest.mark.parametrize(
    ("investment_wan", "level"),
    [
        (0, Level.SERVICE_DESK),
        (9999, Level.SERVICE_DESK),  # one 万元 below 1亿
        (10000, Level.COUNTY),  # exactly 1亿: 以上 includes the number
        (99999, Level.COUNTY),
        (100000, Level.CITY_DEPUTY),  # exactly 10亿
        (499999, Level.CITY_DEPUTY),
        (500000, Level.CITY_PRINCIPAL),  # exactly 50亿
        (600000, Level.CITY_PRINCIPAL),
    ],
)
def test_tier_at_each_threshold(rules: Rules, investment_wan: int, level: Level) -> None:
    assert rules.level_for(investment_wan) == level


def test_tiers_come_from_the_policy_not_the_code() -> None:
    policy = parse_policy(SHIPPED.replace("county = 10000", "county = 20000"))
    assert policy.level_for(10000) == Level.SERVICE_DESK
    assert policy.level_for(20000) == Level.COUNTY


def test_ladder_order_and_top() -> None:
    assert LADDER == (Level.SERVICE_DESK, Level.COUNTY, Level.CITY_DEPUTY, Level.CITY_PRINCIPAL)
    assert level_above(Level.SERVICE_DESK) == Level.COUNTY
    assert level_above(Level.CITY_DEPUTY) == Level.CITY_PRINCIPAL
    assert level_above(Level.CITY_PRINCIPAL) is None
    assert top_level() == Level.CITY_PRINCIPAL


# --- the working-day calendar (2026: National Day 10-01..10-07 off, Saturday 10-10 is 调休) ---

cal = WorkCalendar()


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 10, 1), False),  # National Day
        (date(2026, 10, 7), False),
        (date(2026, 10, 8), True),
        (date(2026, 10, 10), True),  # the 调休 Saturday
        (date(2026, 10, 11), False),  # an ordinary Sunday
        (date(2026, 9, 20), True),  # a 调休 Sunday
        (date(2026, 11, 21), False),  # an ordinary Saturday
    ],
)
def test_known_year_days(day: date, working: bool) -> None:
    assert cal.is_workday(day) == (working, False)


def test_friday_plus_one_working_day_is_monday_same_time() -> None:
    due = cal.add_workdays(at("2026-11-20 10:00"), 1, TZ)
    assert due.at == at("2026-11-23 10:00") and not due.provisional


def test_one_working_day_across_national_day() -> None:
    assert cal.add_workdays(at("2026-09-30 10:00"), 1, TZ).at == at("2026-10-08 10:00")


def test_the_tiaoxiu_saturday_counts() -> None:
    # Friday 10-09 + 1 working day is Saturday 10-10, a working day by 调休.
    assert cal.add_workdays(at("2026-10-09 10:00"), 1, TZ).at == at("2026-10-10 10:00")
    # 5 working days from 09-30: 10-08, 10-09, 10-10, 10-12, 10-13.
    assert cal.add_workdays(at("2026-09-30 10:00"), 5, TZ).at == at("2026-10-13 10:00")


def test_reported_on_a_holiday_counts_from_the_next_working_day() -> None:
    assert cal.add_workdays(at("2026-10-03 15:30"), 1, TZ).at == at("2026-10-08 15:30")


def test_the_day_counts_in_the_city_zone_not_utc() -> None:
    # 2026-11-20 23:30 in Shanghai is still Friday there (15:30 UTC the same day).
    friday_night = at("2026-11-20 23:30")
    assert cal.add_workdays(friday_night, 1, TZ).at == at("2026-11-23 23:30")
    # 00:30 Saturday in Shanghai is Friday 16:30 UTC: the Shanghai date decides.
    saturday_early = at("2026-11-21 00:30")
    assert cal.add_workdays(saturday_early, 1, TZ).at == at("2026-11-23 00:30")


def test_into_an_unknown_year_is_provisional_and_weekdays_but_the_fixed_days_off() -> None:
    assert not cal.knows(2027)
    due = cal.add_workdays(at("2026-12-31 10:00"), 1, TZ)
    assert due.at == at("2027-01-04 10:00")  # New Year's Day is off by law, then a weekend
    assert due.provisional


def test_a_year_loaded_in_the_policy_is_known_and_exact() -> None:
    loaded = WorkCalendar({2027: YearCalendar(holidays=(date(2027, 1, 1),))})
    assert loaded.knows(2027)
    due = loaded.add_workdays(at("2026-12-31 10:00"), 1, TZ)
    assert due.at == at("2027-01-04 10:00") and not due.provisional


def test_policy_days_override_a_known_year() -> None:
    local = WorkCalendar({2026: YearCalendar(holidays=(date(2026, 11, 23),))})
    assert local.add_workdays(at("2026-11-20 10:00"), 1, TZ).at == at("2026-11-24 10:00")


def test_within_a_known_year_nothing_is_provisional() -> None:
    assert not cal.add_workdays(at("2026-12-24 10:00"), 5, TZ).provisional


def test_hour_spans_run_on_the_wall_clock_even_on_holidays() -> None:
    start = at("2026-10-01 22:00")
    assert cal.due_after(start, Span(4, "h"), TZ).at == start + timedelta(hours=4)


def test_zero_working_days_is_now() -> None:
    start = at("2026-11-21 09:00")
    assert cal.add_workdays(start, 0, TZ).at == start


@pytest.mark.parametrize(("text", "span"), [("5wd", Span(5, "wd")), (" 4h ", Span(4, "h"))])
def test_span_parse(text: str, span: Span) -> None:
    assert Span.parse(text) == span


@pytest.mark.parametrize("text", ["5", "wd", "5 days", "-1wd", "1.5h"])
def test_span_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="span"):
        Span.parse(text)


def test_default_clocks(rules: Rules) -> None:
    normal = rules.policy.clocks.for_issue(Level.COUNTY, Urgency.NORMAL)
    urgent = rules.policy.clocks.for_issue(Level.COUNTY, Urgency.URGENT)
    assert (normal.accept, normal.resolve) == (Span(1, "wd"), Span(5, "wd"))
    assert (urgent.accept, urgent.resolve) == (Span(4, "h"), Span(2, "wd"))


def test_level_override_of_a_clock() -> None:
    text = SHIPPED + '\n[clocks.levels.city_principal.normal]\naccept = "2wd"\nresolve = "10wd"\n'
    rules = Rules.build(parse_policy(text))
    start = at("2026-11-20 10:00")
    assert rules.accept_due(start, Level.CITY_PRINCIPAL, Urgency.NORMAL).at == at(
        "2026-11-24 10:00"
    )
    assert rules.accept_due(start, Level.COUNTY, Urgency.NORMAL).at == at("2026-11-23 10:00")


# --- the policy file: the shipped values, and bad files stop start-up naming the key ---


def test_shipped_policy_carries_the_seeds_values() -> None:
    policy = load_policy()
    assert [policy.tiers[level] for level in LADDER] == [0, 10000, 100000, 500000]
    assert policy.targets[2023].agreed_investment_wan == 40000000  # 4000亿
    assert policy.targets[2023].new_projects_1yi == 600
    assert policy.targets[2023].projects_50yi == 30
    assert policy.targets[2023].signed_and_started == 300
    assert policy.reminders.fractions == (0.5, 0.8)
    assert policy.schedule.monthly_bulletin == "0 9 1 * *"


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("county = 10000", "county = 100000", "tiers"),
        ("service_desk = 0 ", "service_desk = 5 ", "tiers"),
        ('labour = "rsj"', 'labor = "rsj"', "categories.labor"),
        ('roles = ["admin"]', 'roles = ["mayor"]', "direct_line.roles.0"),
        ('handler_levels = ["county"]', 'handler_levels = ["province"]', "handler_levels"),
        ('"0 9 1 * *"', '"0 9 32 * *"', "schedule.monthly_bulletin"),
        ('daily_chase = "30 8 * * *" ', "", "schedule.daily_chase"),
        ("agenda_days_before = 3", "agenda_days_before = 28", "meeting"),
        ('late_after = "15m"', 'late_after = "15 minutes"', "cycle.late_after"),
        ('monthly_bulletin = "3d"', 'monthly_bulletins = "3d"', "cycle.grace"),
        ("satisfaction = 0.85", "satisfaction = 85", "floors.red"),
        ('region = ["region_head"]', 'region = ["county_head"]', "audiences.monthly_bulletin"),
        ('accept = "4h"', 'accept = "4 hours"', "clocks.urgent.accept"),
        ("fractions = [0.5, 0.8]", "fractions = [0.8, 0.5]", "reminders.fractions"),
        ("ttl_days = 14", "ttl_days = 0", "invites.ttl_days"),
    ],
)
def test_bad_policy_names_the_key(old: str, new: str, key: str) -> None:
    assert old in SHIPPED
    with pytest.raises(PolicyError, match=key.replace(".", r"\.")):
        parse_policy(SHIPPED.replace(old, new, 1), cron=cron_problem)


def test_policy_calendar_dates_must_be_in_their_year() -> None:
    text = SHIPPED + "\n[calendar.2027]\nholidays = [2026-12-31]\n"
    with pytest.raises(PolicyError, match="calendar"):
        parse_policy(text)


def test_policy_that_is_not_toml() -> None:
    with pytest.raises(PolicyError, match="not valid TOML"):
        parse_policy("tiers = [")


def test_missing_policy_file_is_one_message(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "nope.toml")
