"""The bulletin's files: the chart (a PNG set in the CJK font) and the workbook (the same numbers).

Strings from the catalogs are not asserted in Chinese (new entries may not be translated yet);
the Chinese region names come from the data and are.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
import zipfile
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.text import Text
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from PIL import Image

from jobs import notices
from jobs.notices import FILE_NAMES, FILES_MISSING, report_notice
from jobs.reports import RATE_LABELS, period_title, rate_label, stage_label
from jobs.reports.chart import (
    HEIGHT_PX,
    WIDTH_PX,
    bulletin_chart,
    chart_font_path,
    draw_bulletin,
)
from jobs.reports.summary import COLUMNS, COUNT_LABELS, KINDS, SECTIONS
from jobs.reports.text import bulletin_text
from jobs.reports.workbook import (
    ISSUE_HEADERS,
    PROJECT_HEADERS,
    REGION_HEADERS,
    SHEETS,
    UNREACHABLE_HEADERS,
    bulletin_workbook,
)
from jobs.reports.xlsx import PERCENT
from locales import gettext_for
from models.figures import RATE_KEYS, worse_than
from models.report_data import (
    STAGE_KEYS,
    Bulletin,
    FourRates,
    Fraction,
    IssueCounts,
    IssueRow,
    ProjectRow,
    RegionRow,
    StageCounts,
    TargetLine,
    Unreachable,
    dump,
)
from models.tables.infra import Report

TZ = ZoneInfo("Asia/Shanghai")
LOCALES = ("zh_CN", "en")


def issue(number: str, region: str, *, due: datetime | None, overdue: bool) -> IssueRow:
    return IssueRow(
        number=number,
        project_code="P-" + number,
        project_name="淮安新材料产业园",
        region=region,
        category="land",
        urgency="urgent" if overdue else "normal",
        status="accepted",
        level="county",
        handler="朱海燕" if overdue else None,
        created_at=datetime(2026, 10, 3, 1, 30, tzinfo=UTC),
        due_at=due,
        overdue=overdue,
        rating=None if overdue else "satisfied",
    )


def region(code: str, zh: str, en: str | None, rank: int, **fields: object) -> RegionRow:
    return RegionRow(code=code, name_zh=zh, name_en=en, rank=rank, **fields)  # type: ignore[arg-type]


def make_bulletin() -> Bulletin:
    """The city's October 2026 bulletin: one region fine, one yellow (no rating), one red."""
    late = [
        issue("2026-0007", "hetdz", due=datetime(2026, 10, 9, 9, 0, tzinfo=UTC), overdue=True),
        issue("2026-0012", "qjp", due=datetime(2026, 10, 20, 9, 0, tzinfo=UTC), overdue=True),
    ]
    regions = [
        region(
            "qjp",
            "清江浦区",
            "Qingjiangpu District",
            1,
            issues=IssueCounts(
                new=12,
                resolved=9,
                overdue=1,
                accepted_on_time=10,
                due_accept=11,
                due_resolve=10,
                rated=8,
                satisfied=8,
            ),
            stages=StageCounts(signed=5, started=3, completed=1, in_production=1, listed=1),
            score=0.95,
        ),
        region(
            "haq",
            "淮安区",
            "Huai'an District",
            2,
            issues=IssueCounts(new=6, resolved=4, accepted_on_time=5, due_accept=6, due_resolve=5),
            stages=StageCounts(signed=2, started=1),
            score=0.82,
            flag="yellow",
            below=("on_time_resolve",),
        ),
        region(
            "hetdz",
            "淮安经济技术开发区",
            "Huai'an Economic and Technological Development Zone",
            3,
            issues=IssueCounts(
                new=9,
                resolved=3,
                resolved_on_time=3,
                overdue=1,
                accepted_on_time=4,
                due_accept=8,
                due_resolve=6,
                rated=4,
                satisfied=3,
            ),
            stages=StageCounts(signed=7, started=2, in_production=2, listed=1),
            score=0.54,
            flag="red",
            below=("on_time_accept", "on_time_resolve"),
        ),
    ]
    return Bulletin(
        period="2026-10",
        start=date(2026, 10, 1),
        end=date(2026, 11, 1),
        cut=datetime(2026, 10, 31, 16, 0, tzinfo=UTC),  # midnight in Huai'an
        scope="city",
        scope_name_zh="淮安市",
        scope_name_en="Huai'an City",
        issues=IssueCounts(
            new=27,
            accepted=24,
            resolved=16,
            overdue=2,
            escalated=3,
            accepted_on_time=19,
            due_accept=25,
            resolved_on_time=14,
            due_resolve=21,
            rated=12,
            satisfied=11,
            reopened=1,
        ),
        overdue=late,
        stages=StageCounts(signed=14, started=6, completed=1, in_production=3, listed=2),
        rates=FourRates(Fraction(120, 600), Fraction(90, 120), Fraction(30, 90), Fraction(0, 0)),
        year=2026,
        elapsed=0.8329,
        targets=[
            TargetLine("agreed_investment_wan", 40_000_000, 31_250_000),
            TargetLine("new_projects_1yi", 600, 420),
            TargetLine("projects_50yi", 30, 21),
            TargetLine("signed_and_started", 300, 260),
        ],
        regions=regions,
        unreachable=[
            Unreachable("official", "qjp-agent2", "邓志远", bound=False),
            Unreachable("contact", "c-118", "王建国", bound=True),
        ],
        issue_rows=[*late, issue("2026-0015", "haq", due=None, overdue=False)],
        projects=[
            ProjectRow(
                "P-1",
                "新能源电池项目",
                "淮安新能源有限公司",
                "hetdz",
                1_250_000,
                "started",
                312_500,
                new_stages=("signed", "started"),
                open_issues=2,
                overdue_issues=1,
            ),
            ProjectRow(
                "P-2",
                "食品加工项目",
                "清江食品有限公司",
                "qjp",
                86_000,
                "signed",
                None,
                new_stages=("listed",),
            ),
        ],
    )


# --- the chart ---------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_chart_is_a_png_of_the_expected_size(locale: str) -> None:
    data = bulletin_chart(make_bulletin(), locale, TZ)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        assert image.size == (WIDTH_PX, HEIGHT_PX)


def render(figure: Figure) -> list[str]:
    """Draw the figure to PNG; the warnings raised on the way."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure.savefig(io.BytesIO(), format="png")
    return [str(warning.message) for warning in caught]


def test_missing_glyph_warnings_are_caught() -> None:
    """The check below is not vacuous: Chinese in matplotlib's default font does warn."""
    figure = Figure()
    figure.text(0.5, 0.5, "清江浦区", family="DejaVu Sans")
    assert any("Glyph" in message and "missing" in message for message in render(figure))


@pytest.mark.parametrize("locale", LOCALES)
def test_chart_sets_every_text_in_the_cjk_font(locale: str) -> None:
    figure = draw_bulletin(make_bulletin(), locale, TZ)
    missing = [m for m in render(figure) if "Glyph" in m and "missing" in m]
    assert not missing
    texts = [text for text in figure.findobj(Text) if isinstance(text, Text)]
    shown = " ".join(text.get_text() for text in texts)
    assert "淮安市" in shown if locale == "zh_CN" else "Huai'an City" in shown
    assert ("清江浦区" in shown) is (locale == "zh_CN")
    assert period_title("2026-10", locale) in shown
    fonts = {font_manager.findfont(text.get_fontproperties()) for text in texts}
    assert fonts == {str(chart_font_path())}


def test_chart_colours_flagged_regions() -> None:
    figure = draw_bulletin(make_bulletin(), "zh_CN", TZ)
    rates = figure.axes[0]  # the first rate's regions, named down the side
    colours = {tick.get_text(): tick.get_color() for tick in rates.get_yticklabels()}
    assert colours["1. 清江浦区"] != colours["2. 淮安区"] != colours["3. 淮安经济技术开发区"]


def test_chart_says_no_data_for_a_missing_rate_and_draws_the_stage_counts() -> None:
    figure = draw_bulletin(make_bulletin(), "en", TZ)
    satisfaction = figure.axes[RATE_KEYS.index("satisfaction")]
    assert [text.get_text() for text in satisfaction.texts] == ["100%", "no data", "75%"]
    stages = figure.axes[-1]  # 淮安区 above: nothing rated
    assert [text.get_text() for text in stages.texts] == ["14", "6", "1", "3", "2"]


def test_chart_without_regions_still_draws() -> None:
    bulletin = make_bulletin()
    empty = Bulletin(**{**bulletin.__dict__, "regions": []})
    with Image.open(io.BytesIO(bulletin_chart(empty, "en", TZ))) as image:
        assert image.size == (WIDTH_PX, HEIGHT_PX)


@pytest.mark.parametrize(
    ("key", "zh", "en"),
    [
        ("2026-10", "2026年10月", "October 2026"),
        ("2026-Q3", "2026年第3季度", "Q3 2026"),
        ("2026-11-23", "2026年11月23日", "November 23, 2026"),
    ],
)
def test_period_titles_from_babel(key: str, zh: str, en: str) -> None:
    assert period_title(key, "zh_CN") == zh
    assert period_title(key, "en") == en


@pytest.mark.parametrize(
    ("key", "en"),
    [
        ("2026-H1", "H1 2026"),
        ("2026-H2", "H2 2026"),
        ("2026", "2026"),
        ("2026-W01", "Week 1 of 2026"),
    ],
)
def test_period_titles_from_the_catalog(key: str, en: str) -> None:
    assert period_title(key, "en") == en
    assert "2026" in period_title(key, "zh_CN")


# --- the workbook ------------------------------------------------------------------------------


def open_workbook(locale: str) -> dict[str, Worksheet]:
    """The workbook of the fixture, its sheets by key (their titles are translated)."""
    book = load_workbook(io.BytesIO(bulletin_workbook(make_bulletin(), locale, TZ)))
    _ = gettext_for(locale)
    titles = {_(SHEETS[key]): key for key in SHEETS}
    assert [titles.get(sheet.title) for sheet in book.worksheets] == list(SHEETS)
    return {titles[sheet.title]: sheet for sheet in book.worksheets}


def table(sheet: Worksheet, headers: dict[str, str], locale: str) -> list[dict[str, object]]:
    """A list sheet's rows as dicts by column key, after checking the header row."""
    _ = gettext_for(locale)
    rows = list(sheet.iter_rows(values_only=True))
    names = {_(headers[key]): key for key in headers}
    keys = [names.get(str(name), str(name)) for name in rows[0]]
    assert set(headers) <= set(keys)
    return [dict(zip(keys, row, strict=True)) for row in rows[1:]]


def summary_row(sheet: Worksheet, text: str) -> tuple[object, ...]:
    """The summary row whose first cell is `text`."""
    found = [row for row in sheet.iter_rows(values_only=True) if row[0] == text]
    assert len(found) == 1, f"{text!r}: {len(found)} rows"
    return tuple(found[0])


@pytest.mark.parametrize("locale", LOCALES)
def test_workbook_summary_holds_the_bulletin(locale: str) -> None:
    sheets = open_workbook(locale)
    summary, _ = sheets["summary"], gettext_for(locale)
    bulletin = make_bulletin()
    for key in COUNT_LABELS:
        assert summary_row(summary, _(COUNT_LABELS[key]))[1] == getattr(bulletin.issues, key)
    values = [cell for row in summary.iter_rows(values_only=True) for cell in row]
    assert datetime(2026, 11, 1, 0, 0) in values  # the cut, in Huai'an, naive
    assert period_title("2026-10", locale) in values
    assert 40_000_000 in values and 31_250_000 in values
    assert pytest.approx(19 / 25) in values and pytest.approx(120 / 600) in values
    assert pytest.approx(0.8329) in values
    # the unreachable are counted on the summary, and listed with why on their own sheet
    assert summary_row(summary, _(KINDS["official"]))[1] == 1
    assert summary_row(summary, _(KINDS["contact"]))[1] == 1
    assert not {"邓志远", "王建国", "qjp-agent2"} & set(values)
    listed = table(sheets["unreachable"], UNREACHABLE_HEADERS, locale)
    assert [(p["code"], p["name"], p["why"]) for p in listed] == [
        ("qjp-agent2", "邓志远", _("never opened the bot")),
        ("c-118", "王建国", _("blocked the bot")),
    ]
    names = ("淮安区", "淮安经济技术开发区") if locale == "zh_CN" else ("Huai'an District",)
    assert set(names) <= set(values)


@pytest.mark.parametrize("locale", LOCALES)
def test_workbook_rates_are_fractions_formatted_as_percent(locale: str) -> None:
    summary = open_workbook(locale)["summary"]
    percent = [
        cell for row in summary.iter_rows() for cell in row if cell.number_format == PERCENT
    ]
    assert percent and all(isinstance(cell.value, float | None) for cell in percent)
    response = next(cell for cell in percent if cell.value == pytest.approx(19 / 25))
    parts = [cell.value for cell in summary[response.row][response.column : response.column + 2]]
    assert parts == [19, 25]
    capacity = [cell for cell in percent if cell.value is None]
    assert capacity, "Fraction(0, 0) is an empty cell"


@pytest.mark.parametrize("locale", LOCALES)
def test_workbook_rates_of_a_month_stand_beside_the_month_before_and_the_year(
    locale: str,
) -> None:
    before = IssueCounts(accepted_on_time=15, due_accept=20)  # 75 %, and nothing else
    year = IssueCounts(accepted_on_time=56, due_accept=80, rated=40, satisfied=36)
    month = replace(make_bulletin(), previous=before, year_to_date=year)
    book = load_workbook(io.BytesIO(bulletin_workbook(month, locale, TZ)))
    summary, _ = book.worksheets[0], gettext_for(locale)
    head = summary_row(summary, _(SECTIONS["rates"]))
    assert head[1:8] == tuple(
        _(COLUMNS[k])
        for k in ("value", "part", "whole", "previous", "change", "year_to_date", "definition")
    )
    accept = summary_row(summary, _(RATE_LABELS["on_time_accept"]))
    assert accept[1:7] == (pytest.approx(19 / 25), 19, 25, 0.75, 1.0, 0.7)  # +1.0 points
    satisfaction = summary_row(summary, _(RATE_LABELS["satisfaction"]))
    assert satisfaction[4:7] == (None, None, 0.9)  # nothing rated the month before
    plain = open_workbook(locale)["summary"]  # not a month's: no such columns
    assert _(COLUMNS["previous"]) not in summary_row(plain, _(SECTIONS["rates"]))


@pytest.mark.parametrize("locale", LOCALES)
def test_workbook_lists_issues_and_overdue(locale: str) -> None:
    sheets = open_workbook(locale)
    issues = table(sheets["issues"], ISSUE_HEADERS, locale)
    assert [row["number"] for row in issues] == ["2026-0007", "2026-0012", "2026-0015"]
    assert issues[0]["created_at"] == datetime(2026, 10, 3, 9, 30)
    assert issues[2]["due_at"] is None
    overdue = table(sheets["overdue"], ISSUE_HEADERS, locale)
    assert [row["number"] for row in overdue] == ["2026-0007", "2026-0012"]
    assert overdue[0]["due_at"] == datetime(2026, 10, 9, 17, 0)
    region = "淮安经济技术开发区" if locale == "zh_CN" else "Huai'an Economic and Technological"
    assert str(overdue[0]["region"]).startswith(region)
    assert sheets["issues"].freeze_panes == "A2"
    assert sheets["issues"]["A1"].font.b


@pytest.mark.parametrize("locale", LOCALES)
def test_workbook_lists_projects_with_money_in_wan(locale: str) -> None:
    projects = table(open_workbook(locale)["projects"], PROJECT_HEADERS, locale)
    assert [(p["code"], p["investment_wan"], p["invested_wan"]) for p in projects] == [
        ("P-1", 1_250_000, 312_500),
        ("P-2", 86_000, None),
    ]
    assert projects[0]["open_issues"] == 2 and projects[0]["overdue_issues"] == 1


@pytest.mark.parametrize("locale", LOCALES)
def test_workbook_ranks_the_regions(locale: str) -> None:
    sheet = open_workbook(locale)["regions"]
    regions = table(sheet, {**REGION_HEADERS, **RATE_LABELS}, locale)
    assert [row["rank"] for row in regions] == [1, 2, 3]
    if locale == "zh_CN":
        assert [row["region"] for row in regions] == ["清江浦区", "淮安区", "淮安经济技术开发区"]
    assert regions[0]["on_time_accept"] == pytest.approx(10 / 11)
    assert regions[1]["satisfaction"] is None
    assert regions[2]["on_time_resolve"] == pytest.approx(3 / 6)
    assert [row["new"] for row in regions] == [12, 6, 9]
    assert [row["overdue"] for row in regions] == [1, 0, 1]
    assert [row["score"] for row in regions] == [pytest.approx(s) for s in (0.95, 0.82, 0.54)]
    assert regions[0]["flag"] is None and regions[1]["flag"] and regions[2]["flag"]
    stages = {stage_label(key, locale): key for key in STAGE_KEYS}
    first = {stages[key]: value for key, value in regions[0].items() if key in stages}
    assert first == {
        "signed": 5,
        "started": 3,
        "completed": 1,
        "in_production": 1,
        "listed": 1,
    }
    rates = [cell for cell in sheet[2] if cell.column in (3, 4, 5, 6)]  # three rates, score
    assert {cell.number_format for cell in rates} == {PERCENT}
    assert rates[2].value == 1  # 8 of 8 satisfied: Excel keeps 1.0 as 1


# --- untrusted text: names come from CSV files and chats ------------------------------------

# What a hostile name may start with: Excel runs "=" (and, typed in, "+", "-", "@") as a formula.
FORMULAS = (
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://x","click")',
    "+1+1",
    "-1+1",
    "@SUM(A1)",
    "=1",
)


def hostile_bulletin() -> Bulletin:
    """The fixture with formulas for names, and a name with control characters (a \\v, a NUL)."""
    bulletin = make_bulletin()
    first, second = bulletin.projects
    projects = [
        replace(first, name=FORMULAS[0], enterprise=FORMULAS[1]),
        replace(second, name="甲\x0b乙\x00丙\x1b", enterprise=FORMULAS[2]),
    ]
    rows = [
        replace(row, project_name=FORMULAS[3], handler=FORMULAS[4]) for row in bulletin.issue_rows
    ]
    unreachable = [Unreachable("contact", "c-1", FORMULAS[5], bound=True)]  # the summary's rows
    return replace(bulletin, projects=projects, issue_rows=rows, unreachable=unreachable)


@pytest.mark.parametrize("locale", LOCALES)
def test_workbook_rates_stand_beside_their_limits_coloured_when_past_one(locale: str) -> None:
    limits = {
        "red": {"on_time_accept": 0.5, "on_time_resolve": 0.5, "satisfaction": 0.5, "reopen": 0.9},
        "yellow": {"on_time_accept": 0.9, "on_time_resolve": 0.5, "satisfaction": 0.99},
    }
    bulletin = replace(make_bulletin(), limits=limits)
    book = load_workbook(io.BytesIO(bulletin_workbook(bulletin, locale, TZ)))
    _ = gettext_for(locale)
    summary = book[_(SHEETS["summary"])]
    header = next(r for r in summary.iter_rows() if r[0].value == _(SECTIONS["rates"]))
    names = [cell.value for cell in header]
    red, yellow = names.index(_(COLUMNS["red"])), names.index(_(COLUMNS["yellow"]))
    seen = {}
    for rate in RATE_KEYS:
        row = next(r for r in summary.iter_rows() if r[0].value == rate_label(rate, locale))
        value = bulletin.issues.rate(rate)
        assert (row[red].value, row[yellow].value) == (
            limits["red"].get(rate),
            limits["yellow"].get(rate),
        )
        expected = next(
            (
                f
                for f in ("red", "yellow")
                if value is not None
                and rate in limits[f]
                and worse_than(rate, value, limits[f][rate])
            ),
            None,
        )
        seen[rate] = colour = drawn_colour(summary, row)
        fills = {"red": "00FFC7CE", "yellow": "00FFEB9C"}
        assert colour == (None if expected is None else fills[expected]), rate
    assert set(seen.values()) - {None}  # the fixture's rates are past at least one limit


def drawn_colour(sheet: Any, row: tuple[Any, ...]) -> str | None:
    """The fill the sheet's conditional formatting gives the rate's value (column B), as a
    spreadsheet draws it: the first rule, by priority, whose formula holds."""
    cell = row[1]
    values = {c.coordinate: c.value for c in row}
    rules = sorted(
        (
            rule
            for ranges in sheet.conditional_formatting
            if cell.coordinate in ranges.sqref
            for rule in ranges.rules
        ),
        key=lambda rule: rule.priority,
    )
    for rule in rules:
        value, wrong, limit = re.fullmatch(
            r"AND\(ISNUMBER\((\$B\$\d+)\),ISNUMBER\(\$\w+\$\d+\),\$B\$\d+([<>])(\$\w+\$\d+)\)",
            rule.formula[0],
        ).groups()  # type: ignore[union-attr]
        here, there = values[value.replace("$", "")], values[limit.replace("$", "")]
        if isinstance(here, float | int) and isinstance(there, float | int):
            if here < there if wrong == "<" else here > there:
                return str(rule.dxf.fill.fgColor.rgb)
    assert cell.fill.fill_type is None  # no colour of its own: only the rules draw
    return None


@pytest.mark.parametrize("locale", LOCALES)
def test_workbook_prints_landscape_one_page_wide_with_filters_and_titles(locale: str) -> None:
    sheets = open_workbook(locale)
    for key, sheet in sheets.items():
        setup = sheet.page_setup
        assert (setup.orientation, setup.fitToWidth, setup.fitToHeight) == ("landscape", 1, 0)
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, key
        if key != "summary":  # a table: its header row on every page, a filter on each column
            assert sheet.print_title_rows == "$1:$1", key  # as openpyxl reads it back
            assert sheet.freeze_panes == "A2", key
            last = sheet.cell(row=1, column=sheet.max_column).column_letter
            assert sheet.auto_filter.ref == f"A1:{last}{sheet.max_row}", key


@pytest.mark.parametrize("locale", LOCALES)
def test_workbook_keeps_untrusted_names_as_text(locale: str) -> None:
    data = bulletin_workbook(hostile_bulletin(), locale, TZ)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [name for name in archive.namelist() if name.startswith("xl/worksheets/sheet")]
        assert len(sheets) == len(SHEETS)
        for name in sheets:
            xml = archive.read(name)
            assert b"<f>" not in xml and b"<f " not in xml, name
    book = load_workbook(io.BytesIO(data))
    _ = gettext_for(locale)
    sheet = {key: book[_(SHEETS[key])] for key in SHEETS}
    projects = table(sheet["projects"], PROJECT_HEADERS, locale)
    assert [(p["name"], p["enterprise"]) for p in projects] == [
        (FORMULAS[0], FORMULAS[1]),
        ("甲 乙丙", FORMULAS[2]),  # the \\v a space, the NUL and ESC gone
    ]
    issues = table(sheet["issues"], ISSUE_HEADERS, locale)
    assert {row["project_name"] for row in issues} == {FORMULAS[3]}
    assert [row["handler"] for row in issues][:2] == [FORMULAS[4]] * 2
    listed = [cell for row in sheet["unreachable"].iter_rows() for cell in row]
    assert FORMULAS[5] in [cell.value for cell in listed]
    strings = [cell for ws in book.worksheets for row in ws.iter_rows() for cell in row]
    assert all(cell.data_type == "s" for cell in strings if isinstance(cell.value, str))


# --- a bulletin notice: its text goes out whatever becomes of its files -----------------------


def bulletin_report(report_id: int) -> Report:
    """The fixture stored as the cycle stores it."""
    return Report(
        id=report_id,
        job="monthly_bulletin",
        period="2026-10",
        scope="city",
        created_at=datetime(2026, 11, 1, 1, 0, tzinfo=UTC),
        data=dump(make_bulletin()),
    )


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """A fresh cache of drawn files, and how often each kind was drawn."""
    monkeypatch.setattr(notices, "_FILES", {})
    calls = {"xlsx": 0, "png": 0}
    for kind, name in (("xlsx", "bulletin_workbook"), ("png", "bulletin_chart")):
        real = getattr(notices, name)

        def counted(*args: object, _kind: str = kind, _real: object = real) -> bytes:
            calls[_kind] += 1
            return _real(*args)  # type: ignore[operator, no-any-return]

        monkeypatch.setattr(notices, name, counted)
    return calls


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("broken", [(), ("xlsx",), ("png",), ("xlsx", "png")])
async def test_a_bulletin_notice_keeps_its_text_when_a_file_cannot_be_drawn(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    drawn: dict[str, int],
    locale: str,
    broken: tuple[str, ...],
) -> None:
    def fail(*args: object) -> bytes:
        raise ValueError("IllegalCharacterError, say")

    for kind, name in (("xlsx", "bulletin_workbook"), ("png", "bulletin_chart")):
        if kind in broken:
            monkeypatch.setattr(notices, name, fail)
    _ = gettext_for(locale)
    caplog.set_level(logging.ERROR, logger="jobs.notices")
    for _time in range(2):  # the second recipient in this language: drawn from the cache
        rendered = await report_notice(bulletin_report(4242), locale, TZ)
        attached = "xlsx" not in broken
        text = bulletin_text(make_bulletin(), locale, TZ, attached=attached)
        assert rendered.text.startswith(text)
        kept = [kind for kind in FILE_NAMES if kind not in broken]
        names = [_(FILE_NAMES[kind]).format(scope="city", period="2026-10") for kind in kept]
        assert [f.name for f in rendered.files] == names
        assert all(f.data[:4] in (b"PK\x03\x04", b"\x89PNG") for f in rendered.files)
        if broken:
            assert rendered.text.endswith(f"<i>{_(FILES_MISSING[broken])}</i>")
        else:
            assert "<i>" not in rendered.text.rsplit("\n\n", 1)[-1]
    assert all(drawn[kind] == 1 for kind in kept)
    logged = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.exc_info is not None for r in logged] == [True] * len(broken)  # once each, traced
    assert all("report 4242" in r.getMessage() for r in logged)
