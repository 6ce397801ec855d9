"""The workbook's first sheet: a bulletin's figures on one page, section under section.

Each section is a small table whose first header is the section's title: the issue counts, the
four issue rates (with their definitions) and the four project rates with their parts, the
stages, the targets against 序时进度, the red and yellow lists and the people the bot cannot
reach.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from babel.lists import format_list
from babel.numbers import format_percent
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from jobs.reports import (
    RATE_DEFINITIONS,
    babel_locale,
    bulletin_title,
    period_title,
    rate_label,
    region_name,
    scope_name,
    stage_label,
)
from jobs.reports.xlsx import (
    DATE,
    DATETIME,
    FLAG_FILLS,
    MONEY,
    PERCENT,
    SIGNED_PERCENT,
    Cell,
    append_row,
    bold_row,
    fit_columns,
    local,
)
from locales import N_, gettext_for
from models.figures import RATE_KEYS, RateKey, rate_def
from models.report_data import RATE4_KEYS, STAGE_KEYS, Bulletin, Fraction, RegionRow

HEAD = {
    "scope": N_("Scope"),
    "period": N_("Period"),
    "first": N_("First day"),
    "last": N_("Last day"),
    "cut": N_("Figures as at"),
    "elapsed": N_("Year elapsed"),
}
SECTIONS = {
    "issues": N_("Issue counts"),
    "rates": N_("Issue handling rates"),
    "stages": N_("New projects by stage this period"),
    "four": N_("Project rates"),
    "targets": N_("The year's targets"),
    "red": N_("Red list: past a red limit"),
    "yellow": N_("Yellow list: past a yellow limit"),
    "unreachable": N_("People the bot cannot reach"),
    "departments": N_("Co-handling departments: opinions on time"),
}
COLUMNS = {
    "count": N_("Count"),
    "value": N_("Value"),
    "part": N_("Numerator"),
    "whole": N_("Denominator"),
    "goal": N_("Year's target"),
    "actual": N_("Reached"),
    "share": N_("Share reached"),
    "elapsed": N_("Year elapsed"),
    "gap": N_("Ahead (+) or behind (−)"),
    "rank": N_("Rank"),
    "below": N_("Rates under the floor"),
    "code": N_("Code"),
    "late": N_("Still owed, past the deadline"),
    "name": N_("Name"),
    "why": N_("Reason"),
    "definition": N_("Definition"),
    "red": N_("Red limit"),
    "yellow": N_("Yellow limit"),
    "previous": N_("Last month"),
    "change": N_("Change on last month (percentage points)"),
    "year_to_date": N_("Year to date"),
}
COUNT_LABELS = {
    "new": N_("New issues"),
    "accepted": N_("Accepted"),
    "resolved": N_("Resolved"),
    "overdue": N_("Overdue at the cut"),
    "escalated": N_("Escalated"),
    "unrated": N_("Closed unrated"),
}
FOUR_RATES = {
    "signing": N_("Signing rate"),
    "starting": N_("Starting rate"),
    "production": N_("Production rate"),
    "capacity": N_("Capacity rate"),
}
TARGETS = {
    "agreed_investment_wan": N_("Agreed investment (10k yuan)"),
    "new_projects_1yi": N_("New industrial projects of 100M yuan or more"),
    "projects_50yi": N_("Industrial projects of 5bn yuan or more"),
    "signed_and_started": N_("Projects signed this year and started"),
    "industrial_investment_wan": N_("Industrial investment completed (10k yuan)"),
    "new_starts": N_("Projects started this year"),
    "listed_from_completed": N_("Completed projects listed in the statistics this year"),
    "started_share_by_midyear": N_("By 30 June, {share} of the year's starts"),
}
KINDS = {"official": N_("official"), "contact": N_("contact")}
OTHER_SHEETS = {"unreachable": N_("Unreachable people")}  # as the workbook names the sheet
REASONS = {True: N_("blocked the bot"), False: N_("never opened the bot")}
TITLE_FONT = Font(bold=True, size=14)
POINTS = "+0.0;-0.0;0.0"  # a change in percentage points: +5.0, -2.5


def write_summary(sheet: Worksheet, bulletin: Bulletin, locale: str, tz: ZoneInfo) -> None:
    """Fill the summary sheet of a bulletin's workbook."""
    write_head(sheet, bulletin, locale, tz)
    write_issues(sheet, bulletin, locale)
    write_stages(sheet, bulletin, locale)
    write_four_rates(sheet, bulletin, locale)
    write_departments(sheet, bulletin, locale)
    write_targets(sheet, bulletin, locale)
    write_flags(sheet, bulletin.red, "red", locale)
    write_flags(sheet, bulletin.yellow, "yellow", locale)
    write_unreachable(sheet, bulletin, locale)
    sheet.freeze_panes = "A2"
    fit_columns(sheet, first_row=2)  # the title may run on over the empty cells beside it


def write_head(sheet: Worksheet, bulletin: Bulletin, locale: str, tz: ZoneInfo) -> None:
    """The title, then what the figures cover: scope, period, its days, the cut, 序时进度."""
    _ = gettext_for(locale)
    sheet.append([bulletin_title(bulletin, locale)])
    sheet["A1"].font = TITLE_FONT
    lines: dict[str, tuple[Cell, str | None]] = {
        "scope": (scope_name(bulletin, locale), None),
        "period": (period_title(bulletin.period, locale), None),
        "first": (bulletin.start, DATE),
        "last": (bulletin.end - timedelta(days=1), DATE),  # `end` is exclusive
        "cut": (local(bulletin.cut, tz), DATETIME),
        "elapsed": (bulletin.elapsed, PERCENT),
    }
    for key, (value, number_format) in lines.items():
        append_row(sheet, [_(HEAD[key]), value], [None, number_format])


def section(sheet: Worksheet, key: str, columns: tuple[str, ...], locale: str) -> None:
    """A blank line, then a section's heading row: its title and its columns' names, in bold."""
    _ = gettext_for(locale)
    sheet.append([])
    row = append_row(sheet, [_(SECTIONS[key]), *(_(COLUMNS[column]) for column in columns)])
    bold_row(sheet, row)


def write_issues(sheet: Worksheet, bulletin: Bulletin, locale: str) -> None:
    """The counts, then the rates with their numerators and denominators; a month's also
    beside the month before (and the change, in percentage points) and the year to date."""
    _ = gettext_for(locale)
    section(sheet, "issues", ("count",), locale)
    for key in COUNT_LABELS:
        sheet.append([_(COUNT_LABELS[key]), getattr(bulletin.issues, key)])
    before, to_date = bulletin.previous, bulletin.year_to_date
    context = before is not None and to_date is not None
    extra = ("previous", "change", "year_to_date") if context else ()
    limits = ("red", "yellow") if bulletin.limits else ()
    section(sheet, "rates", ("value", "part", "whole", *extra, *limits, "definition"), locale)
    for rate in RATE_KEYS:
        value = bulletin.issues.rate(rate)
        part, whole = bulletin.issues.parts(rate)
        cells: list[Cell] = [rate_label(rate, locale), value, part, whole]
        formats = [None, PERCENT, None, None]
        if before is not None and to_date is not None:
            earlier = before.rate(rate)
            change = None if value is None or earlier is None else (value - earlier) * 100
            cells += [earlier, None if change is None else round(change, 1), to_date.rate(rate)]
            formats += [PERCENT, POINTS, PERCENT]
        first_limit = len(cells) + 1  # the column of the red limit, then the yellow one
        for flag in limits:  # the policy's red and yellow limits beside the rate
            cells.append(bulletin.limits[flag].get(rate))
            formats.append(PERCENT)
        row = append_row(sheet, [*cells, _(RATE_DEFINITIONS[rate])], formats)
        for offset, flag in enumerate(limits):
            if bulletin.limits[flag].get(rate) is not None:
                flag_rule(sheet, row, rate, flag, first_limit + offset)


def flag_rule(sheet: Worksheet, row: int, rate: RateKey, flag: str, limit_column: int) -> None:
    """Conditional formatting: the rate's value (column B) in the limit's colour while it is on
    the wrong side of it — red before yellow, and it follows the numbers if a reader edits
    them. Excel, WPS and LibreOffice all draw it."""
    value, limit = f"$B${row}", f"${get_column_letter(limit_column)}${row}"
    wrong = "<" if rate_def(rate).higher_is_better else ">"
    formula = f"AND(ISNUMBER({value}),ISNUMBER({limit}),{value}{wrong}{limit})"
    rule = FormulaRule(  # type: ignore[no-untyped-call]  # untyped in types-openpyxl
        formula=[formula], fill=FLAG_FILLS[flag], stopIfTrue=True
    )
    sheet.conditional_formatting.add(f"B{row}", rule)


def write_stages(sheet: Worksheet, bulletin: Bulletin, locale: str) -> None:
    """Projects new in each stage this period."""
    section(sheet, "stages", ("count",), locale)
    for key in STAGE_KEYS:
        sheet.append([stage_label(key, locale), getattr(bulletin.stages, key)])


def write_four_rates(sheet: Worksheet, bulletin: Bulletin, locale: str) -> None:
    """签约率, 开工率, 投产率, 达效率 with their parts."""
    _ = gettext_for(locale)
    section(sheet, "four", ("value", "part", "whole"), locale)
    for key in RATE4_KEYS:
        rate: Fraction = getattr(bulletin.rates, key)
        append_row(sheet, [_(FOUR_RATES[key]), rate.value, rate.part, rate.whole],
                   [None, PERCENT])  # fmt: skip


def write_departments(sheet: Worksheet, bulletin: Bulletin, locale: str) -> None:
    """按时协办率 of each co-handling department, and the issues it owes an opinion late."""
    if not bulletin.departments:
        return
    section(sheet, "departments", ("value", "part", "whole", "late"), locale)
    for row in bulletin.departments:
        name = row.name_zh if locale == "zh_CN" else (row.name_en or row.name_zh)
        append_row(sheet, [name, row.rate, row.on_time, row.due, "、".join(row.late)],
                   [None, PERCENT])  # fmt: skip


def write_targets(sheet: Worksheet, bulletin: Bulletin, locale: str) -> None:
    """Each target: reached against the year's figure, and the share next to 序时进度 (or next
    to the share the target itself sets, for the mid-year one); a year without targets says so."""
    _ = gettext_for(locale)
    section(sheet, "targets", ("goal", "actual", "share", "elapsed", "gap"), locale)
    formats = [None, MONEY, MONEY, PERCENT, PERCENT, SIGNED_PERCENT]
    for line in bulletin.targets:
        due = bulletin.elapsed if line.against is None else line.against
        name = _(TARGETS[line.key]) if line.key in TARGETS else line.key
        name = name.format(share=format_percent(due, "#,##0.#%", locale=babel_locale(locale)))
        gap = None if line.share is None else line.share - due
        values: list[Cell] = [name, line.target, line.actual, line.share, due, gap]
        append_row(sheet, values, formats)
    if not bulletin.targets:
        sheet.append([_("No targets set for {year}").format(year=bulletin.year)])


def write_flags(sheet: Worksheet, regions: list[RegionRow], flag: str, locale: str) -> None:
    """The regions on the red (or yellow) list, with the rates that put them there."""
    section(sheet, flag, ("rank", "below"), locale)
    for region in regions:
        below = [rate_label(key, locale) for key in region.below]
        below_text = format_list(below, locale=babel_locale(locale)) or None
        append_row(sheet, [region_name(region, locale), region.rank, below_text])
    if not regions:
        sheet.append([gettext_for(locale)("none")])


def write_unreachable(sheet: Worksheet, bulletin: Bulletin, locale: str) -> None:
    """How many officials and contacts the bot could not reach (each listed, with why, on the
    sheet of their own: a summary a leader prints is not a list of names)."""
    _ = gettext_for(locale)
    section(sheet, "unreachable", ("count",), locale)
    for kind in KINDS:
        count = sum(1 for person in bulletin.unreachable if person.kind == kind)
        append_row(sheet, [_(KINDS[kind]), count])
    if bulletin.unreachable:
        text = _("Each of them, and why: the sheet {sheet}.")
        sheet.append([text.format(sheet=_(OTHER_SHEETS["unreachable"]))])


def unreachable_rows(bulletin: Bulletin, locale: str) -> list[dict[str, Cell]]:
    """The unreachable people as the rows of their sheet."""
    _ = gettext_for(locale)
    return [
        {
            "kind": _(KINDS[person.kind]),
            "code": person.code,
            "name": person.name,
            "why": _(REASONS[person.bound]),
        }
        for person in bulletin.unreachable
    ]
