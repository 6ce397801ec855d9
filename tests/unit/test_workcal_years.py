"""Holiday years: the days off fixed by law in any year, a year loaded into the database, a
schedule's CSV, the deadlines counted again, and the cycle's jobs moved off a day found to be a
holiday (the database side: tests/services/test_calendar.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from handlers.cards import deadline_text
from jobs.schedule import latest_due, next_run, trigger_for
from models.codes import Category, Level, Status, Urgency
from models.holidays import ScheduleRejected, parse_schedule
from models.issues.deadlines import recounted_due
from models.policy import YearCalendar, load_policy
from models.rules import Rules
from models.tables.issue import Issue
from models.workcal import DayKind, LoadedYears, Source, WorkCalendar
from tests.support.factories import TZ, at


def loaded(days: dict[date, bool], stamp: tuple[int, str | None] = (1, "x")) -> LoadedYears:
    """The database's years as `refresh_calendar` hands them over."""
    return LoadedYears(days=days, years=frozenset(d.year for d in days), stamp=stamp)


def fresh_rules() -> Rules:
    """Rules of their own: these tests change the calendar (the suite's fixture is shared)."""
    return Rules.build(load_policy(), "Asia/Shanghai")


# --- the days off fixed by law, in a year nobody announced ---


@pytest.mark.parametrize(
    "day",
    [date(2027, 1, 1), date(2027, 10, 1), date(2028, 5, 1), date(2028, 10, 2), date(2028, 10, 3)],
)
def test_the_fixed_days_are_off_in_an_unknown_year_provisionally(day: date) -> None:
    assert day.weekday() < 5  # a weekday: only the law makes it a day off
    assert WorkCalendar().is_workday(day) == (False, True)


def test_other_days_of_an_unknown_year_go_by_weekday() -> None:
    cal = WorkCalendar()
    assert cal.is_workday(date(2027, 1, 4)) == (True, True)  # Monday
    assert cal.is_workday(date(2027, 1, 2)) == (False, True)  # Saturday
    assert cal.is_workday(date(2027, 2, 8)) == (True, True)  # 春节 cannot be known in advance


@pytest.mark.parametrize("start", ["2026-12-29 10:00", "2026-12-30 16:00", "2026-12-31 10:00"])
@pytest.mark.parametrize("days", [1, 2, 3, 4, 5])
def test_a_deadline_counted_into_2027_never_lands_on_new_years_day(start: str, days: int) -> None:
    due = WorkCalendar().add_workdays(at(start), days, TZ)
    assert due.at.date() != date(2027, 1, 1)
    assert due.provisional == (due.at.year == 2027)


def test_from_new_years_eve_one_working_day_is_the_monday() -> None:
    due = WorkCalendar().add_workdays(at("2026-12-31 10:00"), 1, TZ)
    assert (due.at, due.provisional) == (at("2027-01-04 10:00"), True)


def test_an_unknown_years_differences_are_the_fixed_days_on_weekdays() -> None:
    # 2027-05-01 is a Saturday, 10-02 and 10-03 a weekend: off anyway, so not different.
    assert WorkCalendar().differences(2027) == [
        (date(2027, 1, 1), DayKind.HOLIDAY),
        (date(2027, 10, 1), DayKind.HOLIDAY),
    ]
    assert WorkCalendar().source(2027) == Source.UNKNOWN


# --- a year loaded into the database ---


def test_a_loaded_year_is_known_exact_and_its_days_override() -> None:
    cal = WorkCalendar()
    cal.use_database(
        loaded(
            {
                date(2027, 1, 1): False,
                date(2027, 2, 8): False,  # 春节
                date(2027, 2, 20): True,  # a 调休 Saturday
            }
        )
    )
    assert cal.knows(2027) and cal.source(2027) == Source.DATABASE
    assert cal.is_workday(date(2027, 2, 8)) == (False, False)
    assert cal.is_workday(date(2027, 2, 20)) == (True, False)
    assert cal.is_workday(date(2027, 2, 22)) == (True, False)  # unlisted: by weekday, exact
    assert cal.is_workday(date(2027, 10, 1)) == (False, False)  # unlisted, but fixed by law
    due = cal.add_workdays(at("2027-02-05 10:00"), 1, TZ)  # Friday; Monday the 8th is off
    assert (due.at, due.provisional) == (at("2027-02-09 10:00"), False)
    assert cal.differences(2027)[:3] == [
        (date(2027, 1, 1), DayKind.HOLIDAY),
        (date(2027, 2, 8), DayKind.HOLIDAY),
        (date(2027, 2, 20), DayKind.WORKDAY),
    ]


def test_the_policys_days_win_over_the_database() -> None:
    cal = WorkCalendar({2027: YearCalendar(workdays=(date(2027, 2, 8),))})
    assert cal.source(2027) == Source.POLICY
    cal.use_database(loaded({date(2027, 2, 8): False}))
    assert cal.source(2027) == Source.DATABASE
    assert cal.is_workday(date(2027, 2, 8)) == (True, False)


def test_a_local_holiday_in_the_policy_keeps_the_packages_year() -> None:
    cal = WorkCalendar({2026: YearCalendar(holidays=(date(2026, 11, 23),))})
    assert cal.is_workday(date(2026, 11, 23)) == (False, False)
    assert cal.is_workday(date(2026, 10, 5)) == (False, False)  # National Day, from the package
    assert cal.is_workday(date(2026, 10, 10)) == (True, False)  # its 调休 Saturday


def test_a_new_load_replaces_the_old_one_whole() -> None:
    cal = WorkCalendar()
    cal.use_database(loaded({date(2027, 2, 8): False}))
    cal.use_database(loaded({date(2027, 2, 9): False}, stamp=(1, "y")))
    assert cal.is_workday(date(2027, 2, 8)) == (True, False)
    assert cal.is_workday(date(2027, 2, 9)) == (False, False)
    cal.use_database(LoadedYears(stamp=(0, None)))  # the table emptied
    assert cal.source(2027) == Source.UNKNOWN


# --- a schedule's CSV ---

GOOD = "date,kind\n2027-01-01,holiday\n2027-02-06,workday\n\n2027-02-08,HOLIDAY\n"


def test_a_good_schedule() -> None:
    assert parse_schedule("\ufeff" + GOOD, 2027) == {
        date(2027, 1, 1): DayKind.HOLIDAY,
        date(2027, 2, 6): DayKind.WORKDAY,
        date(2027, 2, 8): DayKind.HOLIDAY,
    }
    assert parse_schedule("kind,date\nholiday,2027-01-01\n", 2027) == {
        date(2027, 1, 1): DayKind.HOLIDAY
    }


def reasons(text: str, year: int = 2027) -> list[tuple[int, str]]:
    """Each bad line of a schedule and why."""
    with pytest.raises(ScheduleRejected) as caught:
        parse_schedule(text, year)
    return [(e.line, e.reason) for e in caught.value.errors]


def test_every_bad_row_is_named_by_its_line() -> None:
    text = (
        "date,kind\n"
        "2027-01-01,holiday\n"
        "2026-12-31,holiday\n"  # line 3: another year
        "2027-02-30,holiday\n"  # line 4: no such day
        "2027-02-08,day off\n"  # line 5: not a kind
        "2027-01-01,holiday\n"  # line 6: twice
        "20270209,holiday\n"  # line 7: not YYYY-MM-DD
        ",holiday\n"  # line 8: no date
        "2027-02-10,holiday,x\n"  # line 9: a cell too many
    )
    assert reasons(text) == [
        (3, "wrong_year"),
        (4, "bad_date"),
        (5, "bad_kind"),
        (6, "duplicate_day"),
        (7, "bad_date"),
        (8, "required"),
        (9, "extra_cells"),
    ]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("", [(1, "missing_column"), (1, "missing_column")]),
        ("date,kind\n", [(1, "empty")]),
        ("date\n2027-01-01\n", [(1, "missing_column")]),
        ("date,kind,note\n", [(1, "unknown_column")]),
        ("date,kind,date\n", [(1, "duplicate_column")]),
    ],
)
def test_a_bad_header_or_an_empty_file(text: str, found: list[tuple[int, str]]) -> None:
    assert reasons(text) == found


# --- counting a deadline again ---


def issue(status: Status, clock_start: datetime, **columns: object) -> Issue:
    """An issue as the database would hold it (no session needed)."""
    return Issue(
        project_id=1,
        category=Category.LAND,
        urgency=Urgency.NORMAL,
        text="用地",
        status=status,
        level=Level.COUNTY,
        created_at=clock_start,
        updated_at=clock_start,
        clock_start=clock_start,
        **columns,
    )


def test_an_accept_deadline_is_counted_again_from_its_start() -> None:
    rules = fresh_rules()
    waiting = issue(Status.SUBMITTED, at("2026-12-31 10:00"), accept_due=at("2027-01-01 10:00"))
    due = recounted_due(waiting, rules)
    assert due is not None and (due.at, due.provisional) == (at("2027-01-04 10:00"), True)
    rules.calendar.use_database(loaded({date(2027, 1, 4): False}))
    due = recounted_due(waiting, rules)
    assert due is not None and (due.at, due.provisional) == (at("2027-01-05 10:00"), False)


def test_a_resolve_deadline_keeps_the_pauses() -> None:
    rules = fresh_rules()
    accepted = at("2026-12-29 10:00")  # 5 working days: 12-30, 12-31, 01-04, 01-05, 01-06
    paused = timedelta(hours=26)  # material came a day and two hours later
    running = issue(
        Status.ACCEPTED, accepted + paused, resolve_due=at("2027-01-05 10:00") + paused
    )
    due = recounted_due(running, rules, accepted)
    assert due is not None and due.at == at("2027-01-06 10:00") + paused and due.provisional
    rules.calendar.use_database(loaded({date(2027, 1, 4): False}))
    due = recounted_due(running, rules, accepted)
    assert due is not None and due.at == at("2027-01-07 10:00") + paused and not due.provisional


def test_a_closed_issue_has_no_deadline_to_count() -> None:
    done = issue(Status.CLOSED, at("2026-12-29 10:00"), resolve_due=at("2027-01-05 10:00"))
    assert recounted_due(done, fresh_rules()) is None


# --- the cycle's jobs on a day that turns out to be a holiday ---


def test_the_december_bulletin_waits_for_the_first_working_day_of_2027() -> None:
    rules = fresh_rules()
    assert next_run(rules, "monthly_bulletin", at("2026-12-02 09:00")) == at("2027-01-04 09:00")
    due = latest_due(rules, "monthly_bulletin", at("2027-01-01 09:00"))
    assert due is not None and due.period.key == "2026-11"  # December's is not due yet
    due = latest_due(rules, "monthly_bulletin", at("2027-01-04 09:00"))
    assert due is not None and due.period.key == "2026-12"


def test_a_run_scheduled_before_its_day_became_a_holiday_moves() -> None:
    rules = fresh_rules()
    trigger = trigger_for(rules, "monthly_bulletin")
    first = trigger.get_next_fire_time(None, at("2027-01-04 09:01"))
    assert first == at("2027-02-01 09:00")  # a Monday, as far as anybody knows in December
    # Then the year is loaded and 1 February turns out to be a day off (say).
    rules.calendar.use_database(loaded({date(2027, 2, 1): False}))
    due = latest_due(rules, "monthly_bulletin", first)  # the run at the old time: not due
    assert due is not None and due.period.key == "2026-12"
    assert trigger.get_next_fire_time(first, first) == at("2027-02-02 09:00")
    due = latest_due(rules, "monthly_bulletin", at("2027-02-02 09:00"))
    assert due is not None and due.period.key == "2027-01"
    assert trigger.get_next_fire_time(at("2027-02-02 09:00"), at("2027-02-02 09:00")) == at(
        "2027-03-01 09:00"
    )


def test_a_job_first_scheduled_on_a_holiday_still_comes() -> None:
    # The bot starts on 2 January: the 1 January bulletin moved to the 4th is still ahead.
    rules = fresh_rules()
    assert next_run(rules, "monthly_bulletin", at("2027-01-02 12:00")) == at("2027-01-04 09:00")
    assert next_run(rules, "clocks", at("2027-01-01 00:00:30")) == at("2027-01-01 00:01")


def test_a_provisional_deadline_says_so_where_it_is_shown() -> None:
    due = at("2027-01-04 10:00")
    waiting = issue(Status.SUBMITTED, at("2026-12-31 10:00"), accept_due=due, provisional=True)
    assert deadline_text(waiting, due, tz=TZ, locale="en").endswith(
        "(provisional: the holidays of that year are not announced yet)"
    )
    assert deadline_text(waiting, due, tz=TZ, locale="en", short=True).endswith("(provisional)")
    waiting.provisional = False
    assert "provisional" not in deadline_text(waiting, due, tz=TZ, locale="en")
