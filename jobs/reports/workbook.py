"""A bulletin as an Excel workbook: the summary, the issues, the overdue ones, projects, regions.

Every sheet title, header and code is in the reader's language; the numbers are the bulletin's
own, stored as numbers (see `bot.reports.xlsx`), so a city office can forward the file as it is.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from babel.lists import format_list
from openpyxl import Workbook
from openpyxl.styles import PatternFill

from jobs.reports import (
    babel_locale,
    bulletin_title,
    rate_label,
    region_names,
    stage_label,
)
from jobs.reports.summary import unreachable_rows, write_summary
from jobs.reports.xlsx import (
    DATETIME,
    FLAG_FILLS,
    MONEY,
    PERCENT,
    Cell,
    copy_sheet,
    for_print,
    local,
    write_table,
)
from locales import N_, gettext_for
from locales.labels import label
from models.codes import Category, Level, Rating, Stage, Status, Urgency
from models.figures import RATE_KEYS
from models.report_data import STAGE_KEYS, Bulletin, IssueRow, ProjectRow, RegionRow

SHEETS = {
    "summary": N_("Summary"),
    "issues": N_("Issues"),
    "overdue": N_("Overdue issues"),
    "projects": N_("Projects"),
    "regions": N_("Regions"),
    "unreachable": N_("Unreachable people"),
}
ISSUE_HEADERS = {
    "number": N_("Issue number"),
    "project_code": N_("Project code"),
    "project_name": N_("Project"),
    "region": N_("Region"),
    "category": N_("Category"),
    "urgency": N_("Urgency"),
    "status": N_("Status"),
    "level": N_("Level"),
    "handler": N_("Handler"),
    "created_at": N_("Reported at"),
    "due_at": N_("Deadline"),
    "overdue": N_("Overdue"),
    "rating": N_("Rating"),
}
PROJECT_HEADERS = {
    "code": N_("Project code"),
    "name": N_("Project"),
    "enterprise": N_("Enterprise"),
    "region": N_("Region"),
    "investment_wan": N_("Total investment (10k yuan)"),
    "stage": N_("Stage"),
    "invested_wan": N_("Invested so far (10k yuan)"),
    "new_stages": N_("Reached this period"),
    "open_issues": N_("Open issues"),
    "overdue_issues": N_("Overdue issues"),
}
# The five stage counts follow these columns, under the stages' own names.
REGION_HEADERS: dict[str, str] = {
    "rank": N_("Rank"),
    "region": N_("Region"),
    "score": N_("Score"),
    "flag": N_("Flag"),
    "below": N_("Rates under the floor"),
    "new": N_("New issues"),
    "resolved": N_("Resolved"),
    "overdue": N_("Overdue at the cut"),
}
UNREACHABLE_HEADERS = {
    "kind": N_("Official or contact"),
    "code": N_("Code"),
    "name": N_("Name"),
    "why": N_("Reason"),
}
FLAGS = {"red": N_("red"), "yellow": N_("yellow")}
YES_NO = {True: N_("yes"), False: N_("no")}
FORMATS: dict[str, str] = {
    "created_at": DATETIME,
    "due_at": DATETIME,
    "investment_wan": MONEY,
    "invested_wan": MONEY,
    **dict.fromkeys(RATE_KEYS, PERCENT),
    "score": PERCENT,
}


@dataclass(frozen=True)
class Reader:
    """Whom a workbook is written for: their language, the city's zone, the regions by code."""

    locale: str
    tz: ZoneInfo
    regions: Mapping[str, str]

    def region(self, code: str) -> str:
        """A region code by name (the code itself if the bulletin does not know it)."""
        return self.regions.get(code, code)


def bulletin_workbook(bulletin: Bulletin, locale: str, tz: ZoneInfo) -> bytes:
    """The bulletin as an .xlsx file in the reader's language, times in the city's zone.

    Written in openpyxl's write-only mode: each row goes to the file as it is appended, not
    kept as cell objects (50k issues took 12 s and most of the memory). The summary, a page
    drawn with random access, is drawn on a scratch sheet and streamed after."""
    reader = Reader(locale, tz, region_names(bulletin, locale))
    _ = gettext_for(locale)
    book = Workbook(write_only=True)
    sheets = {key: book.create_sheet(_(SHEETS[key])) for key in SHEETS}
    for key, sheet in sheets.items():
        for_print(sheet, title_rows=key != "summary")
    scratch = Workbook().active
    assert scratch is not None
    write_summary(scratch, bulletin, locale, tz)
    copy_sheet(scratch, sheets["summary"])
    # Each table's rows are built when its sheet is written: one list in memory at a time.
    tables: dict[str, Callable[[], tuple[dict[str, str], Iterable[dict[str, Cell]]]]] = {
        "issues": lambda: (
            issue_headers(locale),
            (issue_cells(r, reader) for r in bulletin.issue_rows),
        ),
        "overdue": lambda: (
            issue_headers(locale),
            (issue_cells(r, reader) for r in bulletin.overdue),
        ),
        "projects": lambda: (
            project_headers(locale),
            (project_cells(r, reader) for r in bulletin.projects),
        ),
        "regions": lambda: (
            region_headers(locale),
            (region_cells(r, reader) for r in bulletin.regions),
        ),
        "unreachable": lambda: (unreachable_headers(locale), unreachable_rows(bulletin, locale)),
    }
    for key, table in tables.items():
        headers, rows = table()
        fills = flag_fills(bulletin.regions) if key == "regions" else ()
        write_table(sheets[key], headers, rows, FORMATS, fills)
    book.properties.title = bulletin_title(bulletin, locale)
    book.properties.creator = "ztc"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# Each header table is translated in its own function: only a lookup in a named table of marked
# strings may go into `_()` (tests/unit/test_i18n.py), never a table passed in.
def issue_headers(locale: str) -> dict[str, str]:
    """The issue lists' headers in the reader's language, by column key."""
    _ = gettext_for(locale)
    return {key: _(ISSUE_HEADERS[key]) for key in ISSUE_HEADERS}


def unreachable_headers(locale: str) -> dict[str, str]:
    """The unreachable people's columns in the reader's language."""
    _ = gettext_for(locale)
    return {key: _(UNREACHABLE_HEADERS[key]) for key in UNREACHABLE_HEADERS}


def project_headers(locale: str) -> dict[str, str]:
    """The project list's headers in the reader's language, by column key."""
    _ = gettext_for(locale)
    return {key: _(PROJECT_HEADERS[key]) for key in PROJECT_HEADERS}


def region_headers(locale: str) -> dict[str, str]:
    """The ranking's headers: the region's figures, then a column per stage."""
    _ = gettext_for(locale)
    figures = {key: _(REGION_HEADERS[key]) for key in REGION_HEADERS}
    rates = {key: rate_label(key, locale) for key in RATE_KEYS}
    first, rest = dict(list(figures.items())[:2]), dict(list(figures.items())[2:])
    return first | rates | rest | {key: stage_label(key, locale) for key in STAGE_KEYS}


def issue_cells(row: IssueRow, reader: Reader) -> dict[str, Cell]:
    """An issue's cells, codes in words and times in the city's zone."""
    locale, _ = reader.locale, gettext_for(reader.locale)
    return {
        "number": row.number,
        "project_code": row.project_code,
        "project_name": row.project_name,
        "region": reader.region(row.region),
        "category": label(Category(row.category), locale),
        "urgency": label(Urgency(row.urgency), locale),
        "status": label(Status(row.status), locale),
        "level": label(Level(row.level), locale),
        "handler": row.handler or _("nobody yet"),
        "created_at": local(row.created_at, reader.tz),
        "due_at": local(row.due_at, reader.tz),
        "overdue": _(YES_NO[row.overdue]),
        "rating": label(Rating(row.rating), locale) if row.rating else None,
    }


def project_cells(row: ProjectRow, reader: Reader) -> dict[str, Cell]:
    """A project's cells, amounts in 万元."""
    reached = [stage_label(key, reader.locale) for key in row.new_stages]
    return {
        "code": row.code,
        "name": row.name,
        "enterprise": row.enterprise,
        "region": reader.region(row.region),
        "investment_wan": row.investment_wan,
        "stage": label(Stage(row.stage), reader.locale),
        "invested_wan": row.invested_wan,
        "new_stages": format_list(reached, locale=babel_locale(reader.locale)) or None,
        "open_issues": row.open_issues,
        "overdue_issues": row.overdue_issues,
    }


def region_cells(row: RegionRow, reader: Reader) -> dict[str, Cell]:
    """A region's line of the ranking: its rates as fractions, its counts, its flag."""
    _ = gettext_for(reader.locale)
    below = [rate_label(key, reader.locale) for key in row.below]
    return {
        "rank": row.rank,
        "region": reader.region(row.code),
        **{key: row.issues.rate(key) for key in RATE_KEYS},
        "score": row.score,
        "flag": _(FLAGS[row.flag]) if row.flag else None,
        "below": format_list(below, locale=babel_locale(reader.locale)) or None,
        "new": row.issues.new,
        "resolved": row.issues.resolved,
        "overdue": row.issues.overdue,
        **{key: getattr(row.stages, key) for key in STAGE_KEYS},
    }


def flag_fills(regions: list[RegionRow]) -> list[PatternFill | None]:
    """The shade of each ranking row: its region's flag's, if any."""
    return [FLAG_FILLS[r.flag] if r.flag is not None else None for r in regions]
