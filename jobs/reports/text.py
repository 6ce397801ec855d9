"""The cycle's reports as Telegram HTML in the reader's language.

A message must stay readable on a phone: the bulletin's long lists (every overdue issue, every
unreachable person) are cut at `SHOWN` lines here and given whole in the workbook that travels
with it; "in the workbook" is said only where one is attached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

from jobs.reports import (
    babel_locale,
    in_chinese,
    period_title,
    rate_label,
    region_name,
    scope_name,
    stage_label,
)
from jobs.reports.summary import COUNT_LABELS, FOUR_RATES
from locales import N_, gettext_for, ngettext_for
from locales.formats import moment, money
from locales.labels import label
from models.codes import Level, Stage
from models.cycle import BULLETIN_JOBS
from models.figures import RATE_KEYS
from models.periods import Period
from models.policy import RateKey
from models.report_data import (
    RATE4_KEYS,
    STAGE_KEYS,
    Agenda,
    Bulletin,
    Digest,
    IssueRow,
    ProgressAsk,
    Visit,
    load,
)

SHOWN = 10  # lines of a list in a message; the workbook has them all
T = TypeVar("T")
BULLETIN_TITLES = {
    "month": N_("{scope} — {period} project service bulletin"),
    "quarter": N_("{scope} — {period} quarterly review"),
    "half": N_("{scope} — {period} project service bulletin"),
    "year": N_("{scope} — {period} annual assessment"),
}
FLAG_HEADINGS = {"red": N_("Red list"), "yellow": N_("Yellow list")}
# In a message the amount carries its unit (60亿元), so the workbook's "(10k yuan)" goes.
TARGET_NAMES = {
    "agreed_investment_wan": N_("Agreed investment"),
    "new_projects_1yi": N_("New industrial projects of 100M yuan or more"),
    "projects_50yi": N_("Industrial projects of 5bn yuan or more"),
    "signed_and_started": N_("Projects signed this year and started"),
    "industrial_investment_wan": N_("Industrial investment completed"),
    "new_starts": N_("Projects started this year"),
    "listed_from_completed": N_("Completed projects listed in the statistics this year"),
    # Against its own share, not 序时进度: {share} is the policy's (上半年完成全年开工任务的75%).
    "started_share_by_midyear": N_("By 30 June, {share} of the year's starts"),
}
MONEY_TARGETS = ("agreed_investment_wan", "industrial_investment_wan")


def when(value: datetime | None, tz: ZoneInfo, locale: str) -> str:
    """A moment to the minute in the city's zone, as everywhere (locales.formats.moment)."""
    return moment(value, tz, babel_locale(locale))


def percent(value: float | None, locale: str) -> str:
    """A share as a percentage with one decimal; a dash when there is nothing to divide."""
    if value is None:
        return "—"
    return format_percent(value, "#,##0.0%", locale=babel_locale(locale))


def _share(value: float | None, locale: str) -> str:
    """A share the policy sets, as written there: 75%, 72.5%."""
    if value is None:
        return ""
    return format_percent(value, "#,##0.#%", locale=babel_locale(locale))


def _b(text: str) -> str:
    return f"<b>{escape(text, quote=False)}</b>"


def change_text(now: float | None, before: float | None, locale: str) -> str:
    """The change of a rate from `before` to `now` in percentage points ("+5.0 个百分点",
    "-2.5 points"); a dash when either is missing."""
    if now is None or before is None:
        return "—"
    delta = round((now - before) * 100, 1)
    pattern = "+#,##0.0;-#,##0.0" if delta else "0.0"
    number = format_decimal(delta, pattern, locale=babel_locale(locale))
    return gettext_for(locale)("{points} points").format(points=number)


def rate_in_context(bulletin: Bulletin, key: RateKey, locale: str) -> str:
    """A rate of the bulletin's scope with its name; for a month, beside the month before and
    the year to date ("按时签收率 80.0%（环比 +5.0 个百分点，年内 78.2%）")."""
    value = bulletin.issues.rate(key)
    if bulletin.previous is None or bulletin.year_to_date is None:
        return f"{rate_label(key, locale)} {percent(value, locale)}"
    return gettext_for(locale)(
        "{rate} {value} (month on month {change}, year to date {ytd})"
    ).format(
        rate=rate_label(key, locale),
        value=percent(value, locale),
        change=change_text(value, bulletin.previous.rate(key), locale),
        ytd=percent(bulletin.year_to_date.rate(key), locale),
    )


def _more(hidden: int, locale: str, *, workbook: bool) -> str:
    """The line under a cut list: "… and N more" (in the workbook, where one travels along)."""
    if hidden <= 0:
        return ""
    return "\n" + _more_text(hidden, locale, workbook=workbook)


def _more_text(hidden: int, locale: str, *, workbook: bool) -> str:
    # Called on ngettext_for(...) itself: the extractor (scripts/i18n.sh) sees only that form.
    text = (
        ngettext_for(locale)(
            "… and {n} more in the workbook", "… and {n} more in the workbook", hidden
        )
        if workbook
        else ngettext_for(locale)("… and {n} more", "… and {n} more", hidden)
    )
    return text.format(n=hidden)


def issue_line(row: IssueRow, locale: str, tz: ZoneInfo) -> str:
    """One issue in a list: number, project, region, level, handler, deadline."""
    _ = gettext_for(locale)
    due = when(row.due_at, tz, locale)
    text = _("{number} {project} · {region} · {level} · {handler} · due {due}").format(
        number=row.number,
        project=row.project_name,
        region=region_name(row, locale) or row.region,  # the code: a row stored without names
        level=label(Level(row.level), locale),
        handler=row.handler or _("nobody yet"),
        due=due,
    )
    mark = "⚠️ " if row.overdue else "• "
    return mark + escape(text, quote=False)


def bulletin_text(
    bulletin: Bulletin,
    locale: str,
    tz: ZoneInfo,
    *,
    attached: bool = False,
    shown: int | None = SHOWN,
) -> str:
    """The whole bulletin as one HTML message, its long lists cut at `shown` lines (None: whole,
    for a screen rather than a phone); "… and N more in the workbook" only when the workbook is
    `attached` to the same message, else "… and N more"."""
    _ = gettext_for(locale)
    lists = Lists(shown, attached)
    grain = Period.parse(bulletin.period).grain
    title = _(BULLETIN_TITLES.get(grain, BULLETIN_TITLES["month"])).format(
        scope=scope_name(bulletin, locale), period=period_title(bulletin.period, locale)
    )
    as_at = _("Figures as at {moment}.").format(moment=when(bulletin.cut, tz, locale))
    parts = [_b(title) + "\n" + escape(as_at, quote=False)]
    parts += [
        _issues(bulletin, locale),
        _overdue(bulletin, locale, tz, lists),
        _departments(bulletin, locale, lists),
        _projects(bulletin, locale),
    ]
    parts += [_targets(bulletin, locale), _ranking(bulletin, locale)]
    parts += [_flags(bulletin, locale), _unreachable(bulletin, locale, lists)]
    parts.append(record_line(bulletin, locale, tz))
    return "\n\n".join(p for p in parts if p)


def record_line(bulletin: Bulletin, locale: str, tz: ZoneInfo) -> str:
    """What the bulletin says of its record: verified when (with the chain's head, which anyone
    can check later with `ztc audit verify --head`), or the first broken link."""
    record = bulletin.record
    if record is None:
        return ""
    _ = gettext_for(locale)
    if record.verified:
        text = _("Record verified at {moment}: {events} events, head {seq}:{hash}.").format(
            moment=when(record.at, tz, locale),
            events=record.events,
            seq=record.head_seq,
            hash=record.head_hash,
        )
        return "<i>" + escape(text, quote=False) + "</i>"
    text = _(
        "⚠ The record did not verify at {moment}: issue {issue}, event {event} was changed "
        "outside the bot. These figures are not confirmed: see `ztc audit verify`."
    ).format(
        moment=when(record.at, tz, locale),
        issue=record.broken_issue,
        event=record.broken_event if record.broken_event is not None else "—",
    )
    return _b(text)


@dataclass(frozen=True)
class Lists:
    """How a bulletin's long lists are cut: at `shown` lines (None: not at all), and whether the
    workbook that has them whole travels with the text."""

    shown: int | None
    attached: bool

    def head(self, items: Sequence[T]) -> Sequence[T]:
        """The items shown."""
        return items if self.shown is None else items[: self.shown]

    def more(self, items: Sequence[object], locale: str) -> str:
        """The line under the shown items, if any were left out."""
        return _more(len(items) - len(self.head(items)), locale, workbook=self.attached)


def _issues(bulletin: Bulletin, locale: str) -> str:
    _ = gettext_for(locale)
    counts = bulletin.issues
    line = " · ".join(f"{_(COUNT_LABELS[k])} {getattr(counts, k)}" for k in COUNT_LABELS)
    rates = [rate_in_context(bulletin, k, locale) for k in RATE_KEYS]
    # A month's rates each on a line of their own: with 环比 and 年内 one line would not fit.
    glue = " · " if bulletin.previous is None else "\n"
    return _b(_("Issues")) + "\n" + escape(f"{line}\n{glue.join(rates)}", quote=False)


def _overdue(bulletin: Bulletin, locale: str, tz: ZoneInfo, lists: Lists) -> str:
    if not bulletin.overdue:
        return ""
    _ = gettext_for(locale)
    lines = [issue_line(r, locale, tz) for r in lists.head(bulletin.overdue)]
    head = _b(_("Overdue, oldest first"))
    return head + "\n" + "\n".join(lines) + lists.more(bulletin.overdue, locale)


def _departments(bulletin: Bulletin, locale: str, lists: Lists) -> str:
    """Each co-handling department's 按时协办率; a late one is named with what it owes."""
    if not bulletin.departments:
        return ""
    _ = gettext_for(locale)
    lines = [_b(_("Co-handling departments: opinions on time"))]
    for row in bulletin.departments:
        name = row.name_zh if locale == "zh_CN" else (row.name_en or row.name_zh)
        line = f"{escape(name, quote=False)} {percent(row.rate, locale)}"
        if row.late:
            owed = "、".join(lists.head(row.late))
            if hidden := len(row.late) - len(lists.head(row.late)):
                owed += " " + _more_text(hidden, locale, workbook=lists.attached)
            line += " " + escape(_("(late: {issues})").format(issues=owed), quote=False)
        lines.append(line)
    return "\n".join(lines)


def _projects(bulletin: Bulletin, locale: str) -> str:
    _ = gettext_for(locale)
    stages = " · ".join(
        f"{stage_label(k, locale)} {getattr(bulletin.stages, k)}" for k in STAGE_KEYS
    )
    rates = " · ".join(
        f"{_(FOUR_RATES[k])} {percent(getattr(bulletin.rates, k).value, locale)}"
        for k in RATE4_KEYS
    )
    head = _b(_("Projects"))
    return head + "\n" + escape(_("New this period: ") + stages + "\n" + rates, quote=False)


def _targets(bulletin: Bulletin, locale: str) -> str:
    _ = gettext_for(locale)
    if not bulletin.targets:  # said, not left out: a reader must not wonder where they went
        none = _("No targets set for {year}").format(year=bulletin.year)
        return _b(_("The year's targets")) + "\n" + escape(none, quote=False)
    lines = []
    for line in bulletin.targets:
        show = money if line.key in MONEY_TARGETS else (lambda n, _l: str(n))
        lines.append(
            _("{target}: {actual} of {goal} ({share})").format(
                target=_(TARGET_NAMES[line.key]).format(share=_share(line.against, locale)),
                actual=show(line.actual, locale),
                goal=show(line.target, locale),
                share=percent(line.share, locale),
            )
        )
    head = _("The year's targets (year elapsed: {elapsed})").format(
        elapsed=percent(bulletin.elapsed, locale)
    )
    return _b(head) + "\n" + escape("\n".join(lines), quote=False)


def _ranking(bulletin: Bulletin, locale: str) -> str:
    if bulletin.scope == "city" and not bulletin.regions:
        return ""
    _ = gettext_for(locale)
    lines = []
    for row in bulletin.regions:  # every number labelled: a line read alone still says what
        rates = " · ".join(
            f"{rate_label(k, locale)} {percent(row.issues.rate(k), locale)}" for k in RATE_KEYS
        )
        mark = {"red": "🔴 ", "yellow": "🟡 "}.get(row.flag or "", "")
        score = _("score {value}").format(value=percent(row.score, locale))
        text = f"{row.rank}. {mark}{region_name(row, locale)} {score} ({rates})"
        lines.append(f"<b>{escape(text)}</b>" if row.code == bulletin.scope else escape(text))
    return _b(_("Regions ranked")) + "\n" + "\n".join(lines)


def _flags(bulletin: Bulletin, locale: str) -> str:
    _ = gettext_for(locale)
    parts = []
    for flag, rows in (("red", bulletin.red), ("yellow", bulletin.yellow)):
        if rows:
            named = "; ".join(
                _("{region} ({rates})").format(
                    region=region_name(r, locale),
                    rates=", ".join(rate_label(k, locale) for k in r.below),
                )
                for r in rows
            )
            parts.append(_b(_(FLAG_HEADINGS[flag])) + " " + escape(named, quote=False))
    return "\n".join(parts)


def _unreachable(bulletin: Bulletin, locale: str, lists: Lists) -> str:
    people = bulletin.unreachable
    if not people:
        return ""
    _ = gettext_for(locale)
    names = ("、" if in_chinese(locale) else ", ").join(p.name for p in lists.head(people))
    count = ngettext_for(locale)("{n} person", "{n} people", len(people)).format(n=len(people))
    head = _b(_("Could not be reached"))
    return f"{head} {escape(count)}: {escape(names)}" + lists.more(people, locale)


def agenda_text(agenda: Agenda, locale: str, tz: ZoneInfo) -> str:
    """一月一会办: the agenda by region, overdue issues first."""
    _ = gettext_for(locale)
    when = format_date(agenda.meeting_on, "long", locale=babel_locale(locale))
    head = _b(_("Coordination meeting on {date}: the agenda").format(date=when))
    if not agenda.regions:
        return head + "\n" + escape(_("No open issues: nothing on the agenda."))
    parts = [head]
    for part in agenda.regions:
        name = region_name(part, locale)
        overdue = sum(r.overdue for r in part.items)
        count = ngettext_for(locale)(
            "{n} open issue, {late} overdue", "{n} open issues, {late} overdue", len(part.items)
        ).format(n=len(part.items), late=overdue)
        lines = [issue_line(r, locale, tz) for r in part.items[:SHOWN]]
        more = _more(len(part.items) - SHOWN, locale, workbook=False)
        parts.append(_b(name) + " " + escape(count) + "\n" + "\n".join(lines) + more)
    return "\n\n".join(parts)


def visit_text(visit: Visit, locale: str, tz: ZoneInfo) -> str:
    """半年一观摩: the major projects proposed for the visit, largest first."""
    _ = gettext_for(locale)
    head = _("Half-year site visit {period}: projects of {floor} or more").format(
        period=period_title(visit.period, locale), floor=money(visit.min_investment_wan, locale)
    )
    lines = []
    for p in visit.projects:
        text = _("{name} ({enterprise}) · {amount} · {stage} · {open} open issues").format(
            name=p.name,
            enterprise=p.enterprise,
            amount=money(p.investment_wan, locale),
            stage=label(Stage(p.stage), locale),
            open=p.open_issues,
        )
        lines.append(("⚠️ " if p.overdue_issues else "• ") + escape(text, quote=False))
    if not lines:
        lines = [escape(_("No project of that size yet."))]
    return _b(head) + "\n" + "\n".join(lines)


def digest_text(digest: Digest, locale: str, tz: ZoneInfo, *, chase: bool) -> str:
    """周动态 / 日跟踪: the handler's open (urgent) issues, overdue first; for a group, the
    scope's (no /inbox to point to there)."""
    n = len(digest.items)
    if chase:
        head = ngettext_for(locale)(
            "Daily chase: {n} urgent issue is open", "Daily chase: {n} urgent issues are open", n
        )
    elif digest.shared:
        head = ngettext_for(locale)(
            "This week: {n} issue is open", "This week: {n} issues are open", n
        )
    else:
        head = ngettext_for(locale)(
            "This week: {n} issue is open with you", "This week: {n} issues are open with you", n
        )
    lines = [issue_line(r, locale, tz) for r in digest.items[: SHOWN * 2]]
    more = _more(n - SHOWN * 2, locale, workbook=False)
    inbox = gettext_for(locale)("Open the list with /inbox.")
    tail = "" if digest.shared else "\n" + escape(inbox)
    return _b(head.format(n=n)) + "\n" + "\n".join(lines) + more + tail


def progress_text(ask: ProgressAsk, locale: str, tz: ZoneInfo) -> str:
    """The monthly progress reminder to an enterprise, or (escalated) to the official who serves
    the projects still unreported."""
    _ = gettext_for(locale)
    month = period_title(ask.period, locale)
    if ask.escalated:
        return _escalation_text(ask, locale, month)
    head = (
        _("Reminder, once more: please report {month} progress")
        if ask.again
        else _("Please report {month} progress")
    ).format(month=month)
    lines = [
        "• " + escape(f"{p.code} {p.name} · {label(Stage(p.stage), locale)}", quote=False)
        for p in ask.projects
    ]
    how = _(
        "Press a project's button below (or send /progress) to report the stage reached and "
        "the investment completed so far; the bulletin is cut on the 1st."
    )
    return _b(head) + "\n" + "\n".join(lines) + "\n\n" + escape(how)


def _escalation_text(ask: ProgressAsk, locale: str, month: str) -> str:
    n = len(ask.projects)
    head = ngettext_for(locale)(
        "Not reported yet: {month} progress of {n} project you serve",
        "Not reported yet: {month} progress of {n} projects you serve",
        n,
    ).format(month=month, n=n)
    lines = [
        "• "
        + escape(
            f"{p.code} {p.name} · {p.enterprise} · {label(Stage(p.stage), locale)}", quote=False
        )
        for p in ask.projects
    ]
    how = gettext_for(locale)(
        "The enterprises were reminded and have not reported. Please contact them before the "
        "bulletin is cut on the 1st."
    )
    return _b(head) + "\n" + "\n".join(lines) + "\n\n" + escape(how)


def report_text(job: str, data: dict[str, Any], locale: str, tz: ZoneInfo) -> str:
    """A stored report's text for a reader, by the job that drew it."""
    if job in BULLETIN_JOBS:
        return bulletin_text(load(Bulletin, data), locale, tz)
    if job == "coordination_agenda":
        return agenda_text(load(Agenda, data), locale, tz)
    if job == "half_year_visit":
        return visit_text(load(Visit, data), locale, tz)
    if job in ("weekly_digest", "daily_chase"):
        return digest_text(load(Digest, data), locale, tz, chase=job == "daily_chase")
    return progress_text(load(ProgressAsk, data), locale, tz)
