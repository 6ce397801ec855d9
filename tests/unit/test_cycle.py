"""The five-ones cycle's calendar: when each job is due and what period it covers (running the
jobs, exactly once, catching up: tests/services/test_cycle.py)."""

from __future__ import annotations

from datetime import date

import pytest

from jobs.schedule import latest_due, next_run
from models.cycle import period_for
from models.periods import Period, year_elapsed
from models.rules import Rules
from tests.support.factories import at


@pytest.mark.parametrize(
    ("job", "now", "runs_at", "period"),
    [
        ("monthly_bulletin", "2026-12-01 09:00", "2026-12-01 09:00", "2026-11"),
        ("monthly_bulletin", "2026-12-01 08:59", "2026-11-02 09:00", "2026-10"),  # Nov 1: Sunday
        # 1 October is National Day: the September bulletin waits for 8 October, 09:00.
        ("monthly_bulletin", "2026-10-07 23:00", "2026-09-01 09:00", "2026-08"),
        ("monthly_bulletin", "2026-10-08 09:00", "2026-10-08 09:00", "2026-09"),
        ("quarterly_review", "2027-01-05 09:00", "2027-01-05 09:00", "2026-Q4"),
        ("half_year_visit", "2026-07-10 09:00", "2026-07-10 09:00", "2026-H1"),
        ("annual_assessment", "2027-01-15 09:00", "2027-01-15 09:00", "2026"),
        ("coordination_agenda", "2026-11-25 09:00", "2026-11-25 09:00", "2026-11"),
        # The 调休 Saturday 10 October is a working day: the daily chase runs.
        ("daily_chase", "2026-10-10 08:30", "2026-10-10 08:30", "2026-10-10"),
        # Sunday 11 October is not: the latest chase is still Saturday's.
        ("daily_chase", "2026-10-11 12:00", "2026-10-10 08:30", "2026-10-10"),
        # Monday 5 October is a holiday: the week's digest goes on Thursday 8 October.
        ("weekly_digest", "2026-10-08 08:00", "2026-10-08 08:00", "2026-W41"),
    ],
)
def test_when_each_job_is_due_and_what_it_covers(
    rules: Rules, job: str, now: str, runs_at: str, period: str
) -> None:
    due = latest_due(rules, job, at(now))
    assert due is not None
    assert (due.runs_at, due.period.key) == (at(runs_at), period)


def test_next_run_skips_days_off(rules: Rules) -> None:
    assert next_run(rules, "daily_chase", at("2026-10-01 00:00")) == at("2026-10-08 08:30")
    assert next_run(rules, "monthly_bulletin", at("2026-09-30 12:00")) == at("2026-10-08 09:00")
    assert next_run(rules, "clocks", at("2026-10-01 00:00:30")) == at("2026-10-01 00:01")


def test_periods_parse_and_bound() -> None:
    assert Period.parse("2026-Q4").start == date(2026, 10, 1)
    assert Period.parse("2026-Q4").end == date(2027, 1, 1)
    assert Period.parse("2026-H2").previous().key == "2026-H1"
    assert Period.parse("2026-W53").start == date(2026, 12, 28)
    assert Period.parse("2026-01").previous().key == "2025-12"
    with pytest.raises(ValueError, match="not a period"):
        Period.parse("2026-13")
    assert period_for("monthly_bulletin", at("2026-01-01 09:00"), at("2026-01-01").tzinfo) == (
        Period.parse("2025-12")
    )
    assert year_elapsed(at("2026-07-02 12:00"), at("2026-01-01").tzinfo) == pytest.approx(0.5)
