"""Small helpers for workbooks a city office forwards as they are: tables, formats, widths.

Excel keeps numbers, not text: a rate is stored as its fraction with a percent format, money as
whole 万元, and moments as the city's local time without a zone (Excel has no zones). Text is kept
as text: names come from CSV files and chats, so a string is never a formula (openpyxl takes
"=…" for one) and loses its control characters (openpyxl refuses the whole file over one).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from copy import copy
from datetime import date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from openpyxl.cell.cell import Cell as SheetCell
from openpyxl.cell.cell import MergedCell, WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
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


def _parts(sheet: Worksheet | WriteOnlyWorksheet) -> Worksheet:
    """A sheet's print setup, views, widths and filter. openpyxl gives a write-only sheet the
    same ones as a standard sheet (`Worksheet._setup`, written before and after its rows);
    types-openpyxl only lists a few of them."""
    return cast(Worksheet, sheet)


def local(moment: datetime | None, tz: ZoneInfo) -> datetime | None:
    """A moment as the city's wall-clock time, naive, as Excel stores it."""
    return None if moment is None else moment.astimezone(tz).replace(tzinfo=None)


def write_table(
    sheet: WriteOnlyWorksheet,
    headers: Mapping[str, str],
    rows: Iterable[Mapping[str, Cell]],
    formats: Mapping[str, str],
    fills: Sequence[PatternFill | None] = (),
) -> None:
    """A header row (bold, frozen, filtered) and one row per mapping of column key -> value
    (the n-th shaded with `fills[n]` when given), streamed: a write-only sheet takes its widths
    and frozen row before its first row, and each row once."""
    table = [[_cleaned(cells.get(key)) for key in headers] for cells in rows]
    header = [_cleaned(name) for name in headers.values()]
    set_widths(sheet, column_widths([header, *table]))
    sheet.freeze_panes = "A2"
    if table:  # a filter on each column of the table, its header row included
        _parts(sheet).auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(table) + 1}"
    sheet.append([styled(sheet, name, font=BOLD) for name in header])
    number_formats = [formats.get(key) for key in headers]
    for n, values in enumerate(table):
        sheet.append(_cells(sheet, values, number_formats, fills[n] if n < len(fills) else None))


def _cells(
    sheet: WriteOnlyWorksheet,
    values: list[Cell],
    number_formats: list[str | None],
    fill: PatternFill | None,
) -> list[Cell | SheetCell]:
    """A table's row for `append`: plain values as they are, a cell where one needs a style."""
    if fill is not None:
        return [
            styled(sheet, v, number_format=f, fill=fill)
            for v, f in zip(values, number_formats, strict=True)
        ]
    cells: list[Cell | SheetCell] = list(values)
    for n, value in enumerate(values):  # most values are plain: one test each (50k rows)
        if (number_formats[n] and value is not None) or (
            isinstance(value, str) and value.startswith("=")
        ):
            cells[n] = styled(sheet, value, number_format=number_formats[n])
    return cells


def styled(
    sheet: WriteOnlyWorksheet,
    value: Cell,
    *,
    number_format: str | None = None,
    font: Font | None = None,
    fill: PatternFill | None = None,
) -> Cell | SheetCell:
    """A value as a write-only sheet takes it: as it is when plain, else a cell carrying its
    style (and a string that looks like a formula kept as text)."""
    formula = isinstance(value, str) and value.startswith("=")
    if value is None and fill is None:
        return None
    if not (formula or font or fill or (number_format and value is not None)):
        return value
    cell = WriteOnlyCell(sheet, cast(Any, value))
    if formula:
        cell.data_type = "s"
    if number_format and value is not None:
        cell.number_format = number_format
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    return cell


def copy_sheet(source: Worksheet, target: WriteOnlyWorksheet) -> None:
    """Stream a small sheet drawn with random access (the summary) into a write-only one: its
    values and styles, frozen panes, column widths and conditional formatting."""
    target.freeze_panes = source.freeze_panes
    for ranges in source.conditional_formatting:
        for rule in ranges.rules:
            _parts(target).conditional_formatting.add(str(ranges.sqref), rule)
    set_widths(target, {k: int(d.width) for k, d in source.column_dimensions.items()})
    for row in source.iter_rows():
        cells: list[Cell | SheetCell] = []
        for cell in row:
            if isinstance(cell, MergedCell) or not (cell.has_style or cell.value is not None):
                cells.append(None)
                continue
            out = WriteOnlyCell(target, cast(Any, cell.value))
            if isinstance(cell.value, str):
                out.data_type = "s"  # text, never a formula
            if cell.has_style:
                out.font, out.fill = (
                    cast(Font, copy(cell.font)),
                    cast(PatternFill, copy(cell.fill)),
                )
                out.number_format = cell.number_format
            cells.append(out)
        target.append(cells)


def for_print(sheet: Worksheet | WriteOnlyWorksheet, *, title_rows: bool) -> None:
    """Printed as a city office prints a list: landscape, one page wide (as many long as it
    takes), the header row on every page when `title_rows`. A write-only sheet takes it before
    its first row (its properties go first)."""
    parts = _parts(sheet)
    parts.page_setup.orientation = "landscape"
    parts.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    parts.page_setup.fitToWidth = 1
    parts.page_setup.fitToHeight = 0
    parts.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    if title_rows:
        sheet.print_title_rows = "1:1"


def append_row(
    sheet: Worksheet, values: Iterable[Cell], formats: Iterable[str | None] = ()
) -> int:
    """Append a row, giving its cells number formats in order (None: the default); its number.

    Strings go in as plain text, cleaned (see the module's docstring).
    """
    cleaned = [_cleaned(value) for value in values]
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


def _cleaned(value: Cell) -> Cell:
    """Strings cleaned of what a workbook cannot hold (see the module's docstring)."""
    return clean_line(value) if isinstance(value, str) else value


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
    rows = sheet.iter_rows(min_row=first_row, values_only=True)
    set_widths(sheet, column_widths(rows))


def column_widths(rows: Iterable[Iterable[object]]) -> dict[str, int]:
    """Each column's width (by letter) to show its longest value, a Chinese character as two."""
    widths: dict[int, int] = {}
    seen: dict[object, int] = {}  # a table repeats its names and codes: each measured once
    for row in rows:
        for column, value in enumerate(row, start=1):
            width = seen.get(value)
            if width is None:
                width = seen[value] = display_width(value)
            if width > widths.get(column, 0):
                widths[column] = width
    return {get_column_letter(c): min(max(w + 2, MIN_WIDTH), MAX_WIDTH) for c, w in widths.items()}


def set_widths(sheet: Worksheet | WriteOnlyWorksheet, widths: Mapping[str, int]) -> None:
    """Give the columns these widths (a write-only sheet: before its first row)."""
    for letter, width in widths.items():
        _parts(sheet).column_dimensions[letter].width = width


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
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)
