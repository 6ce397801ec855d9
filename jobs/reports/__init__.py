"""The cycle's reports drawn for a reader: a bulletin's chart and workbook, and the names in them.

Reports arrive as language-free data (`models.report_data`); everything here turns codes, keys and
periods into words in the reader's locale, so the chart, the workbook and the text agree.
"""

from __future__ import annotations

from babel.dates import format_date, format_skeleton

from locales import DEFAULT_LOCALE, LOCALES, N_, gettext_for
from locales.labels import label
from models.codes import Stage
from models.periods import Period
from models.policy import RateKey
from models.report_data import AgendaRegion, Bulletin, IssueRow, RegionRow

# The rates of models/figures.py in words: each one's name and what it counts and leaves out.
RATE_LABELS: dict[RateKey, str] = {
    "on_time_accept": N_("On-time acceptance rate"),
    "on_time_resolve": N_("On-time resolution rate"),
    "satisfaction": N_("Satisfaction rate"),
    "reopen": N_("Reopen rate"),
}
RATE_DEFINITIONS: dict[RateKey, str] = {
    "on_time_accept": N_(
        "Issues accepted in the period by their acceptance deadline, over those accepted in the"
        " period plus those still unaccepted at the cut past their deadline."
    ),
    "on_time_resolve": N_(
        "Issues resolved in the period by their resolution deadline, over those resolved in the"
        " period plus those accepted and unresolved at the cut past their deadline (time"
        " waiting for the enterprise's material does not count)."
    ),
    "satisfaction": N_(
        "Ratings in the period that are satisfied or basically satisfied, over all ratings in"
        " the period; issues closed unrated are counted apart."
    ),
    "reopen": N_(
        "Issues sent back for rework in the period (rated unsatisfied or reopened), over those"
        " resolved in the period; lower is better."
    ),
}
# 列统 (entered into the statistics) is a milestone of the bulletin, not a stage of `Stage`.
EXTRA_STAGES = {"listed": N_("listed in statistics")}


def babel_locale(locale: str) -> str:
    """The locale babel formats with: the one the catalogs fall back to when unknown."""
    return locale if locale in LOCALES else DEFAULT_LOCALE


def period_title(period_key: str, locale: str) -> str:
    """A period key as a heading: "2026年10月" / "October 2026", "2026年第3季度" / "Q3 2026" …"""
    period = Period.parse(period_key)
    where = babel_locale(locale)
    _ = gettext_for(locale)
    if period.grain == "month":
        return format_skeleton("yMMMM", period.start, locale=where)
    if period.grain == "quarter":
        return format_skeleton("yQQQ", period.start, locale=where)
    if period.grain == "day":
        return format_date(period.start, "long", locale=where)
    # CLDR has no half years and no 年度, and its weeks are not ISO weeks: the catalog says these.
    year = int(period.key[:4])  # an ISO week's year, which its Monday's may not be
    if period.grain == "half":
        first = period.start.month == 1
        return (_("H1 {year}") if first else _("H2 {year}")).format(year=year)
    if period.grain == "week":
        return _("Week {week} of {year}").format(week=int(period.key[-2:]), year=year)
    return _("{year}").format(year=year)


def bulletin_title(bulletin: Bulletin, locale: str) -> str:
    """The bulletin's heading: "淮安市 2026年10月 项目服务通报" in Chinese, for example."""
    return gettext_for(locale)("{scope} — {period} project service bulletin").format(
        scope=scope_name(bulletin, locale), period=period_title(bulletin.period, locale)
    )


def in_chinese(locale: str) -> bool:
    """Whether names kept in Chinese and English are shown in Chinese."""
    return babel_locale(locale).startswith("zh")


def region_name(region: RegionRow | AgendaRegion | IssueRow, locale: str) -> str:
    """A region's name in the reader's language (Chinese when no English name is kept)."""
    if isinstance(region, IssueRow):
        return region.region_zh if in_chinese(locale) else region.region_en or region.region_zh
    return region.name_zh if in_chinese(locale) else region.name_en or region.name_zh


def scope_name(bulletin: Bulletin, locale: str) -> str:
    """The bulletin's scope (the city or a region) by name."""
    if in_chinese(locale):
        return bulletin.scope_name_zh
    return bulletin.scope_name_en or bulletin.scope_name_zh


def region_names(bulletin: Bulletin, locale: str) -> dict[str, str]:
    """Region code -> name for the rows of a bulletin, the scope's own code included."""
    names = {bulletin.scope: scope_name(bulletin, locale)}
    names.update((region.code, region_name(region, locale)) for region in bulletin.regions)
    return names


def stage_label(key: str, locale: str) -> str:
    """The name of a stage key of `StageCounts` (a `Stage` code, or "listed")."""
    if key in EXTRA_STAGES:
        return gettext_for(locale)(EXTRA_STAGES[key])
    return label(Stage(key), locale)


def rate_label(key: RateKey, locale: str) -> str:
    """按时签收率 / 按时办结率 / 满意率 / 发回重办率 by key."""
    return gettext_for(locale)(RATE_LABELS[key])
