"""A bulletin as a picture: the regions' three rates beside the scope's new projects by stage.

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

from babel.numbers import format_percent
from matplotlib import font_manager, rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from jobs.reports import babel_locale, bulletin_title, rate_label, region_name, stage_label
from locales import gettext_for
from models.policy import RateKey
from models.report_data import STAGE_KEYS, Bulletin, RegionRow, StageCounts

WIDTH_PX, HEIGHT_PX, DPI = 1600, 900, 150
FONT_FILE = "NotoSansCJKsc-Regular.otf"
RATE_KEYS: tuple[RateKey, ...] = ("response", "resolution", "satisfaction")
# No red among the bars: red and orange mean a flagged region in this chart.
RATE_COLOURS: dict[RateKey, str] = {
    "response": "#4C72B0",
    "resolution": "#55A868",
    "satisfaction": "#8172B3",
}
FLAG_COLOURS = {"red": "#C62828", "yellow": "#D35400"}
STAGE_COLOUR, INK, MUTED = "#4C72B0", "#222222", "#666666"
NAME_WIDTH = 34  # characters per line of an English region name


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


def bulletin_chart(bulletin: Bulletin, locale: str) -> bytes:
    """The bulletin as a 1600×900 PNG in the reader's language."""
    buffer = io.BytesIO()
    draw_bulletin(bulletin, locale).savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def draw_bulletin(bulletin: Bulletin, locale: str) -> Figure:
    """The bulletin's figure: rates by region on the left, new projects by stage on the right."""
    # The context only lasts while the artists are made; each keeps its font, rcParams stay as is.
    with rc_context({"font.family": [chart_font_family()], "font.size": 8}):
        figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)
        rates, stages = figure.subplots(1, 2, width_ratios=(3, 2))
        draw_rates(rates, bulletin.regions, locale)
        draw_stages(stages, bulletin.stages, locale)
        figure.suptitle(bulletin_title(bulletin, locale), fontsize=13)
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


def draw_rates(ax: Axes, regions: list[RegionRow], locale: str) -> None:
    """The three rates of each region as grouped horizontal bars, best ranked on top."""
    _ = gettext_for(locale)
    ax.set_title(_("Issue handling by region (ranked)"), loc="left", fontsize=10)
    if not regions:
        ax.set_axis_off()
        ax.text(
            0.5, 0.5, _("No regions to rank."), ha="center", va="center", transform=ax.transAxes
        )
        return
    height = 0.8 / len(RATE_KEYS)
    for index, key in enumerate(RATE_KEYS):
        offset = (index - (len(RATE_KEYS) - 1) / 2) * height
        draw_rate_bars(ax, regions, key, offset, height, locale)
    style_rate_axes(ax, regions, locale)


def draw_rate_bars(
    ax: Axes, regions: list[RegionRow], key: RateKey, offset: float, height: float, locale: str
) -> None:
    """One rate's bars, each with its value at the end; a dash where the rate does not exist."""
    values = [region.issues.rate(key) for region in regions]
    ys = [row + offset for row in range(len(regions))]
    widths = [100 * value if value is not None else 0 for value in values]
    bars = ax.barh(ys, widths, height=height * 0.9, color=RATE_COLOURS[key])
    bars.set_label(rate_label(key, locale))
    where = babel_locale(locale)
    for y, width, value in zip(ys, widths, values, strict=True):
        if value is None:  # nothing due or rated: no bar, and no 0 % either
            ax.text(1, y, "—", va="center", fontsize=8, color=MUTED)
        else:
            text = format_percent(value, "#,##0%", locale=where)
            ax.text(width + 0.8, y, text, va="center", fontsize=6, color=INK)


def style_rate_axes(ax: Axes, regions: list[RegionRow], locale: str) -> None:
    """Region names (coloured by flag) down the side, 0–100 % along, the legend below."""
    names = [f"{region.rank}. {short_name(region, locale)}" for region in regions]
    ax.set_yticks(range(len(regions)), names)
    for tick, region in zip(ax.get_yticklabels(), regions, strict=True):
        if region.flag is not None:
            tick.set_color(FLAG_COLOURS[region.flag])
    ax.set_ylim(len(regions) - 0.5, -0.5)  # rank 1 on top
    ticks = range(0, 101, 20)
    where = babel_locale(locale)
    ax.set_xticks(ticks, [format_percent(t / 100, "#,##0%", locale=where) for t in ticks])
    ax.set_xlim(0, 112)  # room for "100%" after a full bar
    ax.grid(axis="x", color="#DDDDDD", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.tick_params(axis="y", length=0)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncols=3, frameon=False)
    if any(region.flag for region in regions):
        note = gettext_for(locale)(
            "Region names in red: under a red floor; in orange: under a yellow floor."
        )
        ax.set_xlabel(note, fontsize=7, color=MUTED, labelpad=30)


def short_name(region: RegionRow, locale: str) -> str:
    """A region's name wrapped to fit beside the bars (English names can be long)."""
    return textwrap.fill(region_name(region, locale), NAME_WIDTH)


def draw_stages(ax: Axes, stages: StageCounts, locale: str) -> None:
    """New 签约/开工/竣工/投产/列统 as a centred funnel of bars with their counts on them."""
    ax.set_title(gettext_for(locale)("New projects by stage this period"), loc="left", fontsize=10)
    counts = [getattr(stages, key) for key in STAGE_KEYS]
    widest = max(counts) or 1
    lefts = [(widest - count) / 2 for count in counts]
    ax.barh(range(len(counts)), counts, left=lefts, height=0.7, color=STAGE_COLOUR)
    for row, (left, count) in enumerate(zip(lefts, counts, strict=True)):
        inside = count >= 0.15 * widest
        x = left + count / 2 if inside else left + count + 0.02 * widest
        ax.text(
            x, row, f"{count:,}", va="center", ha="center" if inside else "left",
            color="white" if inside else INK, fontsize=10,
        )  # fmt: skip
    ax.set_yticks(range(len(counts)), [stage_label(key, locale) for key in STAGE_KEYS])
    ax.set_ylim(len(counts) - 0.5, -0.5)
    ax.set_xlim(0, widest * 1.08)
    ax.set_xticks([])
    ax.tick_params(axis="y", length=0, labelsize=9)
    ax.spines[["top", "right", "bottom", "left"]].set_visible(False)
