"""/my and /inbox (paginated issue lists), /stats, and the head of /progress."""

from __future__ import annotations

from collections.abc import Sequence

from babel.numbers import format_percent
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from handlers.callbacks import CB, pack, unpack
from handlers.cards import deadline_text
from handlers.common import Turn, redraw, refuse_press, reply, speaker
from handlers.context import ZtcContext
from jobs.progress import day_text
from jobs.reports import stage_label
from jobs.reports.stats import stats_text
from locales import N_
from locales.formats import money
from locales.labels import label
from models.issues.deadlines import running_due
from models.periods import Period
from models.progress import latest_report, pending_claim
from models.queries import enterprise_issues, inbox_page, is_overdue
from models.stats import actor_scope, scope_figures
from models.tables.issue import Issue
from models.tables.org import Contact, Official
from models.tables.project import ProgressReport, Project

PAGE = 5
EMPTY = {
    "my": N_("Your enterprise has no issues yet. /report"),
    "inbox": N_("Nothing is waiting for you."),
}
TITLES = {
    "my": N_("Your enterprise's issues ({count}):"),
    "inbox": N_("Assigned to you ({count}):"),
}
BUTTON_TEXT = 64  # characters of a list button's label


def button_label(head: str, deadline: str | None, limit: int = BUTTON_TEXT) -> str:
    """A list button's label: the issue's `head` (number, category, status), then its deadline.
    What does not fit is cut from the head, with "…", never from the deadline."""
    tail = f" · {deadline}" if deadline else ""
    if len(head) + len(tail) <= limit:
        return head + tail
    room = max(limit - len(tail) - 1, 0)  # one for the "…"
    return head[:room].rstrip(" ·") + "…" + tail


async def _issues(turn: Turn, which: str, page: int) -> tuple[list[Issue], int, int]:
    """The page's issues (the last page if `page` is past it), how many in all, the page."""
    session, person = turn.session, turn.person
    if which == "inbox" and isinstance(person, Official) and person.id:
        now = turn.rt.now()
        issues, total = await inbox_page(
            session=session, official_id=person.id, now=now, page=max(page, 0), size=PAGE
        )
        last = max((total + PAGE - 1) // PAGE - 1, 0)
        if page > last:  # the list got shorter since the page was drawn: its last page
            issues, total = await inbox_page(
                session=session, official_id=person.id, now=now, page=last, size=PAGE
            )
        return issues, total, min(max(page, 0), last)
    everyone: list[Issue] = []
    if which == "my" and isinstance(person, Contact):
        everyone = await enterprise_issues(session=session, enterprise_id=person.enterprise_id)
    last = max((len(everyone) + PAGE - 1) // PAGE - 1, 0)
    page = min(max(page, 0), last)
    return everyone[page * PAGE : (page + 1) * PAGE], len(everyone), page


def _page(
    turn: Turn, which: str, shown: tuple[list[Issue], int, int]
) -> tuple[str, InlineKeyboardMarkup | None]:
    issues, total, page = shown
    if not issues:
        return turn._(EMPTY[which]), None
    pages = (total + PAGE - 1) // PAGE
    now, tz = turn.rt.now(), turn.rt.rules.tz
    rows = []
    for issue in issues:
        mark = "⚠ " if is_overdue(issue, now) else ""
        category, status = label(issue.category, turn.locale), label(issue.status, turn.locale)
        head = f"{mark}{issue.number} · {category} · {status}"
        due, when = running_due(issue), None
        if due is not None:
            when = deadline_text(issue, due, tz=tz, locale=turn.locale, short=True)
        text = button_label(head, when)
        rows.append([InlineKeyboardButton(text, callback_data=pack(CB.CARD, issue.id))])
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton("◀", callback_data=pack(CB.PAGE, which, page - 1)))
    if page < pages - 1:
        nav.append(InlineKeyboardButton("▶", callback_data=pack(CB.PAGE, which, page + 1)))
    if nav:
        rows.append(nav)
    title = turn._(TITLES[which]).format(count=total)
    if pages > 1:
        title += " " + turn._("page {page} of {pages}").format(page=page + 1, pages=pages)
    return title, InlineKeyboardMarkup(rows)


@speaker("contact")
async def my(update: Update, context: ZtcContext, turn: Turn) -> None:
    """The contact's enterprise's issues, newest first."""
    text, markup = _page(turn, "my", await _issues(turn, "my", 0))
    await reply(update, context, text, reply_markup=markup)


@speaker("official")
async def inbox(update: Update, context: ZtcContext, turn: Turn) -> None:
    """The official's open issues: overdue first, then by deadline."""
    text, markup = _page(turn, "inbox", await _issues(turn, "inbox", 0))
    await reply(update, context, text, reply_markup=markup)


@speaker()
async def page(update: Update, context: ZtcContext, turn: Turn) -> None:
    """◀ ▶ on a list."""
    query = update.callback_query
    assert query is not None
    parts = unpack(query.data)
    if len(parts) != 2 or parts[0] not in EMPTY or not (parts[1].isascii() and parts[1].isdigit()):
        await refuse_press(update, turn, "malformed page press")
        return
    await query.answer()
    which, number = parts[0], int(parts[1][:6])  # more pages than that: the last one
    text, markup = _page(turn, which, await _issues(turn, which, number))
    await redraw(update, context, text, markup)


async def progress_overview(turn: Turn, projects: Sequence[Project]) -> str:
    """Each project's confirmed stage, the investment completed as last reported, and the
    stage claim awaiting confirmation (the head of /progress)."""
    session, lines = turn.session, []
    for project in projects:
        lines.append(
            turn._("{code} {name}: {stage}, total investment {total}").format(
                code=project.code,
                name=project.name,
                stage=label(project.stage, turn.locale),
                total=money(project.investment_wan, turn.locale),
            )
        )
        ident = project.id or 0
        report = await latest_report(session=session, project_id=ident, with_amount=True)
        if report is None or report.invested_wan is None:
            lines.append("  " + turn._("No monthly progress reported yet."))
        else:
            lines.append(
                "  "
                + turn._("{month}: {stage}, {invested} invested so far").format(
                    month=report.month.strftime("%Y-%m"),
                    stage=label(report.stage, turn.locale),
                    invested=money(report.invested_wan, turn.locale),
                )
            )
        if claim := await pending_claim(session=session, project_id=ident):
            lines.append("  " + _claimed(turn, claim))
    return "\n".join(lines) or turn._("No project on record.")


def _claimed(turn: Turn, claim: ProgressReport) -> str:
    return turn._("Awaiting confirmation: {stage}, reached on {date}").format(
        stage=stage_label(claim.claim or "", turn.locale),
        date=day_text(claim.claim_on, turn.locale),
    )


def _rate(value: float | None, locale: str) -> str:
    return "—" if value is None else format_percent(value, "#,##0.0%", locale=locale)


@speaker("official")
async def stats(update: Update, context: ZtcContext, turn: Turn) -> None:
    """The figures of the official's scope this month so far, as the bulletin will count them."""
    now = turn.rt.now()
    month = Period.containing("month", now.astimezone(turn.rt.rules.tz).date())
    scope = await actor_scope(session=turn.session, actor=turn.actor)
    figures = await scope_figures(
        session=turn.session, rules=turn.rt.rules, scope=scope, period=month, cut=now
    )
    await reply(update, context, stats_text(figures, turn.locale, turn.rt.rules.tz))
