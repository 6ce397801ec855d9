"""The bulletin's chart reads on its own: the policy's limits drawn on each rate's scale, 0 % never
mistaken for "no data", the moment the figures are as at, the month beside the month before and
the year to date, and no panel left empty.

Strings from the catalogs are compared through `gettext_for`, so the test holds whatever their
Chinese is; numbers and the data's names are asserted as they are.
"""

from __future__ import annotations

from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from jobs.reports.chart import FLAG_COLOURS, draw_bulletin
from locales import gettext_for
from locales.formats import moment
from models.figures import RATE_KEYS
from models.report_data import Bulletin, IssueCounts, StageCounts
from tests.unit.test_reports_files import make_bulletin

TZ = ZoneInfo("Asia/Shanghai")
LIMITS = {
    "red": {"on_time_accept": 0.8, "on_time_resolve": 0.7, "satisfaction": 0.85, "reopen": 0.2},
    "yellow": {"on_time_accept": 0.9, "on_time_resolve": 0.85, "satisfaction": 0.9, "reopen": 0.1},
}
# October's city: 19/25 accepted on time; September 15/20; the year to date 56/80.
BEFORE = IssueCounts(accepted_on_time=15, due_accept=20, resolved=4, rated=2, satisfied=2)
YEAR = IssueCounts(accepted_on_time=56, due_accept=80, resolved=40, reopened=2, rated=30,
                   satisfied=27, resolved_on_time=30, due_resolve=40)  # fmt: skip


def month() -> Bulletin:
    """The fixture as a month's bulletin with its limits and context."""
    return replace(make_bulletin(), limits=LIMITS, previous=BEFORE, year_to_date=YEAR)


def panels(figure: Figure) -> tuple[list[Axes], list[Axes]]:
    """The regions' panels and the scope's, each in the order of RATE_KEYS."""
    n = len(RATE_KEYS)
    return figure.axes[:n], figure.axes[n : 2 * n]


def texts(figure: Figure) -> list[str]:
    return [t.get_text() for t in figure.findobj(Text) if isinstance(t, Text)]


def vertical_lines(ax: Axes) -> dict[float, str]:
    """x -> colour of the lines drawn across the panel."""
    return {
        float(line.get_xdata()[0]): str(line.get_color())  # type: ignore[index]
        for line in ax.get_lines()
        if len(set(line.get_xdata())) == 1 and line.get_linestyle() != "None"  # type: ignore[arg-type]
    }


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_each_rate_carries_its_red_and_yellow_limits_as_lines(locale: str) -> None:
    regions, scope = panels(draw_bulletin(month(), locale, TZ))
    for key, ax_regions, ax_scope in zip(RATE_KEYS, regions, scope, strict=True):
        expected = {100 * LIMITS[flag][key]: FLAG_COLOURS[flag] for flag in ("red", "yellow")}
        assert vertical_lines(ax_regions) == expected, key
        assert vertical_lines(ax_scope) == expected, key


def test_a_bulletin_without_limits_draws_no_line() -> None:
    regions, scope = panels(draw_bulletin(make_bulletin(), "en", TZ))
    assert all(not vertical_lines(ax) for ax in regions + scope)


def bars(ax: Axes) -> list[float]:
    return [p.get_width() for p in ax.patches if isinstance(p, Rectangle)]


def test_zero_is_a_stub_with_its_number_and_none_says_no_data() -> None:
    bulletin = make_bulletin()
    first, second, third = bulletin.regions
    zero = replace(second, issues=replace(second.issues, rated=4, satisfied=0))  # 0 of 4: 0 %
    none = replace(third, issues=replace(third.issues, rated=0, satisfied=0))  # nothing rated
    figure = draw_bulletin(replace(bulletin, regions=[first, zero, none]), "en", TZ)
    satisfaction = panels(figure)[0][RATE_KEYS.index("satisfaction")]
    labels = [t.get_text() for t in satisfaction.texts]
    assert labels == ["100%", "0%", gettext_for("en")("no data")]
    widths = bars(satisfaction)
    assert len(widths) == 2 and widths[0] == pytest.approx(100) and 0 < widths[1] < 3


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_the_chart_says_when_its_figures_are_as_at(locale: str) -> None:
    bulletin = month()
    shown = texts(draw_bulletin(bulletin, locale, TZ))
    as_at = gettext_for(locale)("Figures as at {moment}.").format(
        moment=moment(bulletin.cut, TZ, locale)
    )
    assert any(as_at in text for text in shown)
    if locale == "zh_CN":
        assert any("2026年11月1日 00:00" in text for text in shown)


def test_the_month_stands_beside_the_month_before_and_the_year_to_date() -> None:
    figure = draw_bulletin(month(), "en", TZ)
    accept = panels(figure)[1][RATE_KEYS.index("on_time_accept")]
    marks = {
        line.get_marker(): float(line.get_xdata()[0])  # type: ignore[index]
        for line in accept.get_lines()
        if line.get_linestyle() == "None"
    }
    assert marks == {"o": pytest.approx(75.0), "D": pytest.approx(70.0)}  # 15/20 and 56/80
    assert "76.0%" in accept.get_title("left")  # October itself: 19/25
    notes = accept.get_xlabel()
    assert "+1.0" in notes and "70.0%" in notes  # 76.0 − 75.0 points; the year 56/80


def test_a_period_that_is_not_a_month_has_no_marks_beside_it() -> None:
    figure = draw_bulletin(replace(make_bulletin(), limits=LIMITS), "en", TZ)
    for ax in panels(figure)[1]:
        assert not [line for line in ax.get_lines() if line.get_linestyle() == "None"]
        assert "last month" not in ax.get_xlabel()


def test_no_stage_panel_when_no_project_reached_a_stage() -> None:
    title = gettext_for("en")("New projects by stage this period")
    with_stages = draw_bulletin(month(), "en", TZ)
    assert any(title.replace(" ", "") in t.replace("\n", "").replace(" ", "")
               for t in texts(with_stages))  # fmt: skip
    quiet = draw_bulletin(replace(month(), stages=StageCounts()), "en", TZ)
    assert len(quiet.axes) == len(with_stages.axes) - 1
    assert not any("stage" in t for t in texts(quiet))


def test_without_regions_the_scope_is_still_drawn() -> None:
    figure = draw_bulletin(replace(month(), regions=[]), "en", TZ)
    assert gettext_for("en")("No regions to rank.") in texts(figure)
    assert any("76.0%" in t for t in texts(figure))
