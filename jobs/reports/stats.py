"""A scope's figures in words, for `/stats` and `ztc stats`: the counts, then each rate of
models/figures.py with its numerator and denominator."""

from __future__ import annotations

from html import escape
from zoneinfo import ZoneInfo

from jobs.reports import RATE_LABELS, babel_locale, period_title
from jobs.reports.summary import COUNT_LABELS
from jobs.reports.text import percent
from locales import gettext_for
from locales.formats import moment
from models.figures import RATE_KEYS
from models.stats import ScopeFigures


def stats_text(figures: ScopeFigures, locale: str, tz: ZoneInfo) -> str:
    """The figures of one scope over its period as at its cut (Telegram HTML)."""
    _ = gettext_for(locale)
    issues = figures.issues
    name = figures.name_en if babel_locale(locale) == "en" and figures.name_en else figures.name_zh
    head = _("{scope} · {period} (as at {cut})").format(
        scope=name,
        period=period_title(figures.period.key, locale),
        cut=moment(figures.cut, tz, locale),
    )
    counts = " · ".join(f"{_(COUNT_LABELS[key])} {getattr(issues, key)}" for key in COUNT_LABELS)
    rates = [
        _("{rate}: {value} ({part} of {whole})").format(
            rate=_(RATE_LABELS[key]),
            value=percent(issues.rate(key), locale),
            part=issues.parts(key)[0],
            whole=issues.parts(key)[1],
        )
        for key in RATE_KEYS
    ]
    lines = [f"<b>{escape(head, quote=False)}</b>", escape(counts, quote=False)]
    return "\n".join(lines + [escape(r, quote=False) for r in rates])
