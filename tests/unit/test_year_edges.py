"""Year edges, worked by hand: 序时进度 belongs to the period's year whenever the report is cut,
the optional annual targets are validated, and a year without targets says so (the same on a real
database: tests/services/test_year_targets.py)."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import datetime

import pytest
from openpyxl import load_workbook

from jobs.reports.text import bulletin_text
from jobs.reports.workbook import bulletin_workbook
from models.periods import Period, year_elapsed
from models.policy import PolicyError, parse_policy
from models.report_data import TargetLine
from models.rules import Rules
from tests.support.factories import TZ, at
from tests.support.paths import ROOT
from tests.unit.test_reports_files import make_bulletin

SHIPPED = (ROOT / "models" / "policy.toml").read_text(encoding="utf-8")


def elapsed(period: str, cut: str) -> float:
    """序时进度 of a report of `period` cut at `cut`, as bulletin_for computes it."""
    return year_elapsed(at(cut), TZ, year=Period.parse(period).year)


@pytest.mark.parametrize(
    ("period", "cut", "share"),
    [
        # The December bulletin runs on 1 January: all of 2026 has passed, not 0 % of 2027.
        ("2026-12", "2027-01-01 09:00", 1.0),
        ("2026-12", "2027-01-01 00:00", 1.0),  # drawn as at the period's end
        ("2026-Q4", "2027-01-05 09:00", 1.0),  # the fourth-quarter review
        ("2026", "2027-01-15 09:00", 1.0),  # the annual assessment
        # 31 December at noon: 364 whole days and half of the last.
        ("2026-12", "2026-12-31 12:00", 364.5 / 365),
        # The January bulletin belongs to 2027: its 31 days of 365.
        ("2027-01", "2027-02-01 00:00", 31 / 365),
        # June 2026: January to June, 31 + 28 + 31 + 30 + 31 + 30 = 181 days.
        ("2026-06", "2026-07-01 00:00", 181 / 365),
        ("2028-02", "2028-03-01 00:00", 60 / 366),  # a leap year: 31 + 29 of 366
        ("2027-01", "2026-12-20 00:00", 0.0),  # drawn before its year began
    ],
)
def test_year_elapsed_belongs_to_the_periods_year(period: str, cut: str, share: float) -> None:
    assert elapsed(period, cut) == pytest.approx(share, abs=1e-12)


def test_year_elapsed_without_a_year_is_the_moments_own() -> None:
    assert year_elapsed(at("2026-07-02 12:00"), TZ) == pytest.approx(0.5)
    assert year_elapsed(datetime(2026, 12, 31, 16, 0, tzinfo=TZ), TZ) == pytest.approx(
        (364 + 16 / 24) / 365
    )


def policy_with(lines: str, table: str = "[targets.2026]\n") -> str:
    """The shipped policy with `lines` added to a targets table."""
    assert table in SHIPPED
    return SHIPPED.replace(table, table + lines, 1)


def test_the_optional_targets_are_read() -> None:
    text = policy_with(
        "industrial_investment_wan = 10000000\nnew_starts = 400\n"
        "listed_from_completed = 200\nstarted_share_by_midyear = 0.75\n"
    )
    targets = parse_policy(text).targets[2026]
    assert (targets.industrial_investment_wan, targets.new_starts) == (10_000_000, 400)
    assert (targets.listed_from_completed, targets.started_share_by_midyear) == (200, 0.75)
    region = parse_policy(SHIPPED).targets[2026].regions["lsx"]
    assert region.new_starts is None and region.started_share_by_midyear is None  # optional


@pytest.mark.parametrize(
    ("lines", "key", "says"),
    [
        ("started_share_by_midyear = 1.5\nnew_starts = 400\n", "started_share_by_midyear", "0.75"),
        ("started_share_by_midyear = -0.1\nnew_starts = 400\n", "started_share_by_midyear", "0"),
        ("started_share_by_midyear = 0.75\n", "targets.2026", "new_starts"),
        ("industrial_investment_wan = -1\n", "industrial_investment_wan", "0"),
        ("new_starts = -5\n", "new_starts", "0"),
        ("listed_from_completed = -5\n", "listed_from_completed", "0"),
    ],
)
def test_bad_optional_targets_name_the_key(lines: str, key: str, says: str) -> None:
    with pytest.raises(PolicyError) as refused:
        parse_policy(policy_with(lines), "policy.toml")
    assert key in str(refused.value) and says in str(refused.value)


def test_a_regions_optional_targets_are_checked_too() -> None:
    table = "[targets.2026.regions]\n"
    region = (
        "xx = { agreed_investment_wan = 1, new_projects_1yi = 1, projects_50yi = 1, "
        "signed_and_started = 1, new_starts = -1 }\n"
    )
    bad = policy_with(region, table)
    with pytest.raises(PolicyError, match=r"targets\.2026\.regions\.xx\.new_starts"):
        parse_policy(bad, "policy.toml")


def test_a_year_without_targets_says_so(rules: Rules) -> None:
    bulletin = replace(make_bulletin(), period="2027-01", year=2027, targets=[])
    text = bulletin_text(bulletin, "en", rules.tz)
    assert "No targets set for 2027" in text
    sheet = load_workbook_summary(bulletin_workbook(bulletin, "en", rules.tz))
    assert ("No targets set for 2027",) in sheet


def test_the_midyear_share_is_measured_against_itself(rules: Rules) -> None:
    lines = [
        TargetLine("new_starts", 400, 120),
        TargetLine("started_share_by_midyear", 400, 120, against=0.75),
        TargetLine("industrial_investment_wan", 10_000_000, 4_000_000),
    ]
    bulletin = replace(make_bulletin(), targets=lines, elapsed=181 / 365)
    text = bulletin_text(bulletin, "en", rules.tz)
    assert "Projects started this year: 120 of 400 (30.0%)" in text
    assert "By 30 June, 75% of the year's starts: 120 of 400 (30.0%)" in text
    rows = load_workbook_summary(bulletin_workbook(bulletin, "en", rules.tz))
    midyear = next(r for r in rows if r and str(r[0]).startswith("By 30 June"))
    # target, reached, share reached, the share due (not 序时进度), ahead/behind
    assert midyear[1:] == (400, 120, pytest.approx(0.3), 0.75, pytest.approx(-0.45))
    starts = next(r for r in rows if r and r[0] == "Projects started this year")
    assert starts[4] == pytest.approx(181 / 365)
    money = next(r for r in rows if r and str(r[0]).startswith("Industrial investment"))
    assert money[1:3] == (10_000_000, 4_000_000)


def load_workbook_summary(data: bytes) -> list[tuple[object, ...]]:
    """The summary sheet's rows, trailing empty cells dropped."""
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    rows = []
    for row in sheet.iter_rows(values_only=True):
        values = list(row)
        while values and values[-1] is None:
            values.pop()
        rows.append(tuple(values))
    return rows
