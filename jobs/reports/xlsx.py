"""Small helpers for workbooks a city office forwards as they are: tables, formats, widths.

Excel keeps numbers, not text: a rate is stored as its fraction with a percent format, money as
whole 万元, and moments as the city's local time without a zone (Excel has no zones). Text is kept
as text: names come from CSV files and chats, so a string is never a formula (openpyxl takes
"=…" for one) and loses its control characters (openpyxl refuses the whole file over one).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

from openpyxl.cell.cell import Cell as SheetCell
from openpyxl.cell.cell import MergedCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from models.text import clean_line

Cell = str | int | float | date | datetime | None
PERCENT = "0.0%"
SIGNED_PERCENT = "+0.0%;-0.0%;0.0%"
MONEY = "#,##0"
DATE = "yyyy-mm-dd"
DATETIME = "yyyy-mm-dd hh:mm"
BOLD = Font(bold=True)
# Excel's own "bad" and "neutral" cell styles, which readers of such lists already know.
FLAG_FILLS = {
    "red": PatternFill("solid", fgColor="FFC7CE"),
    "yellow": PatternFill("solid", fgColor="FFEB9C"),
}
MIN_WIDTH, MAX_WIDTH = 8, 60


def local(moment: datetime | None, tz: ZoneInfo) -> datetime | None:
    """A moment as the city's wall-clock time, naive, as Excel stores it."""
    return None if moment is None else moment.astimezone(tz).replace(tzinfo=None)


def write_table(
    sheet: Worksheet,
    headers: Mapping[str, str],
    rows: Iterable[Mapping[str, Cell]],
    formats: Mapping[str, str],
) -> None:
    """A header row (bold, frozen) and one row per mapping of column key -> value."""
    append_row(sheet, headers.values())
    for cells in rows:
        append_row(sheet, [cells.get(key) for key in headers])
    for column, key in enumerate(headers, start=1):
        if key in formats:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
                cell.number_format = formats[key]
    for cell in sheet[1]:
        cell.font = BOLD
    sheet.freeze_panes = "A2"
    if sheet.max_row > 1:  # a filter on each column of the table, its header row included
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{sheet.max_row}"
    fit_columns(sheet)


def for_print(sheet: Worksheet, *, title_rows: bool) -> None:
    """Printed as a city office prints a list: landscape, one page wide (as many long as it
    takes), the header row on every page when `title_rows`."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    if title_rows:
        sheet.print_title_rows = "1:1"


def append_row(
    sheet: Worksheet, values: Iterable[Cell], formats: Iterable[str | None] = ()
) -> int:
    """Append a row, giving its cells number formats in order (None: the default); its number.

    Strings go in as plain text, cleaned (see the module's docstring).
    """
    cleaned = [clean_line(value) if isinstance(value, str) else value for value in values]
    sheet.append(cleaned)
    # The row `append` just wrote, and its cells by position: `sheet.max_row` and `sheet[row]`
    # scan every cell of the sheet, which made a table of n rows cost n² (28 s for 10k issues).
    row = int(sheet._current_row)  # type: ignore[attr-defined]  # set by append, not typed
    cells = [sheet.cell(row=row, column=column) for column in range(1, len(cleaned) + 1)]
    as_text(cells)
    for cell, number_format in zip(cells, formats, strict=False):
        if number_format:
            cell.number_format = number_format
    return row


def as_text(cells: Iterable[SheetCell | MergedCell]) -> None:
    """Store every string among `cells` as text, never a formula, whatever its first character."""
    for cell in cells:
        if isinstance(cell.value, str):
            cell.data_type = "s"


def bold_row(sheet: Worksheet, row: int) -> None:
    """Set a row's cells in bold (a section's heading)."""
    for cell in sheet[row]:
        if cell.value is not None:
            cell.font = BOLD


def fit_columns(sheet: Worksheet, first_row: int = 1) -> None:
    """Widen each column to its longest value, counting a Chinese character as two."""
    widths: dict[str, int] = {}
    for row in sheet.iter_rows(min_row=first_row):
        for cell in row:
            if isinstance(cell, MergedCell):
                continue  # none in our sheets; it would hold no value (and has no column_letter)
            letter = cell.column_letter
            widths[letter] = max(widths.get(letter, 0), display_width(cell.value))
    for letter, width in widths.items():
        sheet.column_dimensions[letter].width = min(max(width + 2, MIN_WIDTH), MAX_WIDTH)


def display_width(value: object) -> int:
    """Roughly how many narrow characters a value takes on screen."""
    if value is None:
        return 0
    if isinstance(value, datetime):
        return len("2026-10-31 23:59")
    if isinstance(value, date):
        return len("2026-10-31")
    if isinstance(value, float):
        return len("100.0%")
    if isinstance(value, int):
        return len(f"{value:,}")
    text = str(value)
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)
