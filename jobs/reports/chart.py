"""A bulletin as a picture: one column per issue rate — the scope's own figure on top (for a
month, beside the month before and the year to date), the regions ranked below — with the
policy's red and yellow limits drawn as lines on each rate's scale, and the scope's new projects
by stage beside them when any project reached a stage in the period.

A rate of 0 % is drawn as a stub with its "0%", a rate that does not exist (nothing due, nothing
rated) as the words "no data" and no bar: the two never look alike.

Drawn on a bare `Figure` with the Agg canvas, never through pyplot: pyplot keeps every figure in a
global registry and is not safe in a bot that renders while serving. Every text is set in Noto Sans
CJK SC from the mplfonts wheel, so Chinese renders on a server with no fonts installed.
"""

from __future__ import annotations

import io
import textwrap
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_percent
from matplotlib import font_manager, rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure, SubFigure
from matplotlib.gridspec import GridSpecFromSubplotSpec
from matplotlib.lines import Line2D
from matplotlib.text import Text

from jobs.reports import (
    babel_locale,
    bulletin_title,
    in_chinese,
    rate_label,
    region_name,
    scope_name,
    stage_label,
)
from jobs.reports.text import change_text, when
from locales import N_, gettext_for
from models.figures import RATE_KEYS, rate_def
from models.policy import RateKey
from models.report_data import STAGE_KEYS, Bulletin, IssueCounts, RegionRow, StageCounts

WIDTH_PX, HEIGHT_PX, DPI = 1600, 900, 150
FONT_FILE = "NotoSansCJKsc-Regular.otf"
# No red among the bars: red and orange mean a limit, or a flagged region, in this chart.
RATE_COLOURS: dict[RateKey, str] = {
    "on_time_accept": "#4C72B0",
    "on_time_resolve": "#55A868",
    "satisfaction": "#8172B3",
    "reopen": "#937860",
}
FLAG_COLOURS = {"red": "#C62828", "yellow": "#D35400"}
LIMIT_STYLES = {"red": "--", "yellow": ":"}
STAGE_COLOUR, INK, MUTED = "#4C72B0", "#222222", "#666666"
NAME_WIDTH = 22  # characters per line of an English region name
TITLE_WIDTH = 18  # and of a panel's English title
STUB = 1.5  # the width (in percent) a 0 % bar is drawn with, so that it shows
X_MAX = 118  # room for "100%" after a full bar
LIMIT_NAMES = {"red": N_("red limit {value}"), "yellow": N_("yellow limit {value}")}
LEGEND = {
    "previous": N_("Last month"),
    "year_to_date": N_("Year to date"),
    "red": N_("Red limit"),
    "yellow": N_("Yellow limit"),
}
# The month before (○) and the year to date (◇) beside the scope's bar.
PREVIOUS_MARK: dict[str, Any] = {
    "marker": "o",
    "markersize": 5,
    "markerfacecolor": "white",
    "markeredgecolor": INK,
    "linestyle": "none",
}
YEAR_MARK: dict[str, Any] = {"marker": "D", "markersize": 4, "color": MUTED, "linestyle": "none"}


@cache
def chart_font_path() -> Path:
    """The CJK font file of every chart, registered with matplotlib's font manager once."""
    path = Path(str(resources.files("mplfonts") / "fonts" / FONT_FILE))
    font_manager.fontManager.addfont(str(path))
    return path


@cache
def chart_font_family() -> str:
    """The family name of `chart_font_path()` ("Noto Sans CJK SC")."""
    return font_manager.FontProperties(fname=chart_font_path()).get_name()


def bulletin_chart(bulletin: Bulletin, locale: str, tz: ZoneInfo) -> bytes:
    """The bulletin as a 1600×900 PNG in the reader's language (times in the city's zone `tz`)."""
    buffer = io.BytesIO()
    draw_bulletin(bulletin, locale, tz).savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def draw_bulletin(bulletin: Bulletin, locale: str, tz: ZoneInfo) -> Figure:
    """The bulletin's figure: a column per rate (the scope on top, the regions below), the new
    projects by stage on the right when there are any, what the marks mean and the cut below."""
    # The context only lasts while the artists are made; each keeps its font, rcParams stay as is.
    with rc_context({"font.family": [chart_font_family()], "font.size": 8}):
        figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)
        # The strip below is a subfigure of its own: an axes spanning the columns would make
        # constrained layout give every column the margin of the first one's region names.
        main, strip = figure.subfigures(2, 1, height_ratios=(14, 1), squeeze=False)[:, 0]
        stages = any(getattr(bulletin.stages, key) for key in STAGE_KEYS)
        outer = main.add_gridspec(1, 2, width_ratios=(4, 1.1)) if stages else None
        rates = (outer[0] if outer else main.add_gridspec(1, 1)[0]).subgridspec(
            2, len(RATE_KEYS), height_ratios=(1, 4)
        )
        draw_regions(main, rates, bulletin, locale)
        for column, key in enumerate(RATE_KEYS):
            draw_scope(main.add_subplot(rates[0, column]), bulletin, key, locale, column == 0)
        if outer:  # no empty panel: a period in which no project reached a stage leaves it out
            draw_stages(main.add_subplot(outer[1]), bulletin.stages, locale)
        main.suptitle(bulletin_title(bulletin, locale), fontsize=13)
        draw_strip(strip, bulletin, locale, tz)
    pin_font(figure)
    return figure


def pin_font(figure: Figure) -> None:
    """Point every text at the shipped font file itself, not at its family name.

    A system copy of Noto Sans CJK SC (fonts-noto-cjk) would otherwise win the lookup by name on
    some hosts; pinned, the picture is the same everywhere. Tick labels made later copy these.
    """
    path = chart_font_path()
    for text in figure.findobj(Text):
        properties = text.get_fontproperties().copy()
        properties.set_file(path)
        text.set_fontproperties(properties)


def footer(bulletin: Bulletin, locale: str, tz: ZoneInfo) -> str:
    """The line under the chart: the moment the figures are as at (数据截至), and what a region
    name in red or orange means when one is."""
    _ = gettext_for(locale)
    lines = [_("Figures as at {moment}.").format(moment=when(bulletin.cut, tz, locale))]
    if any(region.flag for region in bulletin.regions):
        lines.append(_("Region names in red: under a red floor; in orange: under a yellow floor."))
    return "   ".join(lines)


def draw_strip(strip: SubFigure, bulletin: Bulletin, locale: str, tz: ZoneInfo) -> None:
    """Under the panels, what the marks mean — the month before and the year to date (a month's
    bulletin), the red and yellow limits the policy sets — and the footer."""
    _ = gettext_for(locale)
    strip.text(0.5, 0.04, footer(bulletin, locale, tz), ha="center", va="bottom", fontsize=7,
               color=MUTED)  # fmt: skip
    handles = []
    if bulletin.previous is not None and bulletin.year_to_date is not None:
        handles += [
            Line2D([], [], **PREVIOUS_MARK, label=_(LEGEND["previous"])),
            Line2D([], [], **YEAR_MARK, label=_(LEGEND["year_to_date"])),
        ]
    for flag in ("red", "yellow"):
        if bulletin.limits.get(flag):
            handles.append(Line2D([], [], **limit_style(flag), label=_(LEGEND[flag])))
    if handles:
        strip.legend(handles=handles, loc="upper center", ncols=len(handles), frameon=False)


def limit_style(flag: str) -> dict[str, Any]:
    """How a red or yellow limit's line is drawn."""
    return {"color": FLAG_COLOURS[flag], "linestyle": LIMIT_STYLES[flag], "linewidth": 1.0}


def limits_of(bulletin: Bulletin, key: RateKey) -> dict[str, float]:
    """The rate's red and yellow limits (either may be unset), by flag."""
    return {f: v[key] for f, v in bulletin.limits.items() if f in FLAG_COLOURS and key in v}


def draw_limits(ax: Axes, limits: dict[str, float]) -> None:
    """The red and yellow limits as vertical lines across the panel."""
    for flag, limit in limits.items():
        ax.axvline(100 * limit, **limit_style(flag), zorder=3)


def percent_text(value: float | None, locale: str, pattern: str = "#,##0%") -> str:
    """A rate on the chart; "no data" when it does not exist."""
    if value is None:
        return gettext_for(locale)("no data")
    return format_percent(value, pattern, locale=babel_locale(locale))


def draw_value(
    ax: Axes, y: float, value: float | None, key: RateKey, locale: str, *, scope: bool = False
) -> None:
    """One rate as a bar with its value after it:
    a stub for 0 %, no bar and "no data" for none. The scope's value is in its panel's title,
    clear of the marks beside its bar."""
    if value is None:
        text = percent_text(None, locale)
        ax.text(1.5, y, text, va="center", color=MUTED, style="italic", fontsize=6)
        return
    width = max(100 * value, STUB)
    ax.barh([y], [width], height=0.6 if scope else 0.7, color=RATE_COLOURS[key])
    if not scope:
        text = percent_text(value, locale)
        ax.text(width + 1.5, y, text, va="center", color=INK, fontsize=6)


def style_scale(ax: Axes, *, labels: bool, locale: str) -> None:
    """0–100 % along, light grid lines, no frame but the left spine."""
    ticks = (0, 50, 100)
    where = babel_locale(locale)
    ax.set_xticks(ticks, [format_percent(t / 100, "#,##0%", locale=where) for t in ticks])
    ax.tick_params(axis="x", labelbottom=labels, length=0 if not labels else 3, labelsize=6)
    ax.set_xlim(0, X_MAX)
    ax.grid(axis="x", color="#DDDDDD", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.tick_params(axis="y", length=0)
    ax.spines[["top", "right"]].set_visible(False)


def draw_regions(
    figure: SubFigure, grid: GridSpecFromSubplotSpec, bulletin: Bulletin, locale: str
) -> None:
    """Each rate's panel of the regions, best ranked on top, names (coloured by flag) on the
    first; a line that says so when there is no region to rank."""
    regions = bulletin.regions
    if not regions:
        ax = figure.add_subplot(grid[1, : len(RATE_KEYS)])
        ax.set_axis_off()
        ax.text(0.5, 0.5, gettext_for(locale)("No regions to rank."), ha="center",
                va="center", transform=ax.transAxes)  # fmt: skip
        return
    first: Axes | None = None
    for column, key in enumerate(RATE_KEYS):
        ax = figure.add_subplot(grid[1, column], sharey=first)
        for row, region in enumerate(regions):
            draw_value(ax, row, region.issues.rate(key), key, locale)
        draw_limits(ax, limits_of(bulletin, key))
        style_scale(ax, labels=True, locale=locale)
        if first is None:
            first = ax
            name_regions(ax, regions, locale)
        else:
            ax.tick_params(axis="y", labelleft=False)


def name_regions(ax: Axes, regions: list[RegionRow], locale: str) -> None:
    """Region names down the side, coloured by flag, rank 1 on top."""
    names = [f"{region.rank}. {short_name(region, locale)}" for region in regions]
    ax.set_yticks(range(len(regions)), names)
    for tick, region in zip(ax.get_yticklabels(), regions, strict=True):
        if region.flag is not None:
            tick.set_color(FLAG_COLOURS[region.flag])
    ax.set_ylim(len(regions) - 0.5, -0.5)


def fitted(title: str, locale: str, width: int = TITLE_WIDTH) -> str:
    """A panel's title wrapped to its column (a Chinese one fits as it is)."""
    return title if in_chinese(locale) else textwrap.fill(title, width)


def short_name(region: RegionRow, locale: str) -> str:
    """A region's name wrapped to fit beside the bars (English names can be long)."""
    return textwrap.fill(region_name(region, locale), NAME_WIDTH)


def draw_scope(ax: Axes, bulletin: Bulletin, key: RateKey, locale: str, first: bool) -> None:
    """The scope's own rate at the head of its column: the bar, the month before (○) and the year
    to date (◇) when the bulletin is a month's, the limits, and the numbers in words below."""
    _ = gettext_for(locale)
    value = bulletin.issues.rate(key)
    name, shown = rate_label(key, locale), percent_text(value, locale, "#,##0.0%")
    title = (
        f"{name} {shown}"
        if rate_def(key).higher_is_better
        else _("{rate} {value} (lower is better)").format(rate=name, value=shown)
    )
    ax.set_title(fitted(title, locale), loc="left", fontsize=8.5, color=RATE_COLOURS[key])
    draw_value(ax, 0, value, key, locale, scope=True)
    marks = ((bulletin.previous, PREVIOUS_MARK), (bulletin.year_to_date, YEAR_MARK))
    for counts, mark in marks:
        earlier = counts.rate(key) if isinstance(counts, IssueCounts) else None
        if earlier is not None:
            ax.plot([100 * earlier], [0], **mark, zorder=4)
    limits = limits_of(bulletin, key)
    draw_limits(ax, limits)
    style_scale(ax, labels=False, locale=locale)
    ax.set_ylim(0.6, -0.6)
    ax.set_yticks([0], [textwrap.fill(scope_name(bulletin, locale), NAME_WIDTH) if first else ""])
    ax.set_xlabel(scope_notes(bulletin, key, limits, locale), fontsize=6, color=MUTED,
                  loc="left")  # fmt: skip


def scope_notes(bulletin: Bulletin, key: RateKey, limits: dict[str, float], locale: str) -> str:
    """Under the scope's bar: 环比 and 年内 (a month's bulletin), then the limits' values."""
    _ = gettext_for(locale)
    lines = []
    value = bulletin.issues.rate(key)
    if bulletin.previous is not None and bulletin.year_to_date is not None:
        lines.append(
            _("{change} on last month\nyear to date {ytd}").format(
                change=change_text(value, bulletin.previous.rate(key), locale),
                ytd=percent_text(bulletin.year_to_date.rate(key), locale, "#,##0.0%"),
            )
        )
    named = [
        _(LIMIT_NAMES[flag]).format(value=percent_text(limit, locale, "#,##0.#%"))
        for flag, limit in limits.items()
    ]
    if named:
        lines.append(("  " if in_chinese(locale) else "\n").join(named))
    return "\n".join(lines)


def draw_stages(ax: Axes, stages: StageCounts, locale: str) -> None:
    """New 签约/开工/竣工/投产/列统 as bars with their counts (only drawn when one is not 0)."""
    title = fitted(gettext_for(locale)("New projects by stage this period"), locale, 18)
    ax.set_title(title, loc="left", fontsize=10)
    counts = [getattr(stages, key) for key in STAGE_KEYS]
    widest = max(counts) or 1
    ax.barh(range(len(counts)), counts, height=0.6, color=STAGE_COLOUR)
    for row, count in enumerate(counts):
        ax.text(count + 0.02 * widest, row, f"{count:,}", va="center", color=INK, fontsize=9)
    ax.set_yticks(range(len(counts)), [stage_label(key, locale) for key in STAGE_KEYS])
    ax.set_ylim(len(counts) - 0.5, -0.5)
    ax.set_xlim(0, widest * 1.15)
    ax.set_xticks([])
    ax.tick_params(axis="y", length=0, labelsize=9)
    ax.spines[["top", "right", "bottom"]].set_visible(False)
