"""What an outbox row says to its recipient: a headline in their language over the issue's card,
with the buttons they may press now (drawn at delivery, so they are never older than the message).
"""

from __future__ import annotations

import asyncio
import html
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import N_, gettext_for
from bot.labels import label
from bot.reports import period_title
from bot.reports.chart import bulletin_chart
from bot.reports.text import bulletin_text, report_text
from bot.reports.workbook import bulletin_workbook
from bot.runtime import Runtime
from handlers.cards import render_card
from jobs.dispatch import Attachment, Rendered
from models.codes import EventKind, Level, Rating
from models.cycle import BULLETIN_JOBS
from models.identity import Person
from models.infra import Outbox, Report
from models.issue import Issue
from models.org import Contact
from models.permissions import actor_of
from models.report_data import Bulletin, load

K = EventKind
HEADLINES = {
    K.CREATED: N_("New issue {number}."),
    K.UNASSIGNED: N_("Issue {number} has nobody to handle it: please assign one."),
    K.ACCEPTED: N_("Issue {number} was accepted."),
    K.COMMENT: N_("New message on issue {number}: {note}"),
    K.INFO_REQUESTED: N_("Material is needed for issue {number}: {note}"),
    K.RESUMED: N_("Work on issue {number} resumed."),
    K.COHANDLER_ADDED: N_("A co-handling department was added to issue {number}."),
    K.ESCALATED: N_("Issue {number} was escalated to the {level}."),
    K.DIRECT_LINE: N_("Issue {number} went by the direct line to the {level}."),
    K.RETIERED: N_("Issue {number} was re-routed to the {level}: the project's size changed."),
    K.RESOLVED: N_("Issue {number} was resolved: {note}"),
    K.CONFIRMED: N_("Issue {number} was rated: {rating}."),
    K.REOPENED: N_("Issue {number} was reopened and is with the {level}."),
    K.REMINDER: N_("Reminder: issue {number} is waiting for you."),
    K.OVERDUE: N_("Issue {number} is overdue with the city's principal leaders."),
}


def headline(row: Outbox, locale: str, *, for_contact: bool) -> str:
    """The first line of a notice, from the row's codes, in the reader's language."""
    _ = gettext_for(locale)
    payload = row.payload
    kind = EventKind(payload.get("event", row.kind))
    rating = payload.get("rating")
    text = _(HEADLINES.get(kind, N_("Issue {number} changed."))).format(
        number=payload.get("issue", ""),
        note=html.escape(payload.get("note") or "", quote=False),
        level=label(Level(payload.get("level", "service_desk")), locale),
        rating=label(Rating(rating), locale) if rating else "",
    )
    text = f"<b>{text}</b>" if "\n" not in text else text
    if kind == K.RESOLVED and for_contact:
        text += "\n" + _("Please rate the result with the buttons below.")
    return text


FILE_NAMES = {
    "xlsx": N_("bulletin-{scope}-{period}.xlsx"),
    "png": N_("bulletin-{scope}-{period}.png"),
}


# A report never changes once drawn: its files, by (report id, language), the latest few kept.
_FILES: dict[tuple[int, str], tuple[bytes, bytes]] = {}
_FILES_KEPT = 32


def _bulletin_files(
    report_id: int, bulletin: Bulletin, locale: str, tz: ZoneInfo
) -> tuple[bytes, bytes]:
    """The workbook and chart of a stored bulletin, drawn once per language."""
    key = (report_id, locale)
    if key not in _FILES:
        if len(_FILES) >= _FILES_KEPT:
            del _FILES[next(iter(_FILES))]  # the oldest
        _FILES[key] = bulletin_workbook(bulletin, locale, tz), bulletin_chart(bulletin, locale)
    return _FILES[key]


async def report_notice(report: Report, locale: str, tz: ZoneInfo) -> Rendered:
    """A stored report in the reader's language; a bulletin comes with its workbook and chart."""
    if report.job not in BULLETIN_JOBS or report.id is None:
        return Rendered(report_text(report.job, report.data, locale, tz))
    bulletin = load(Bulletin, report.data)
    text = bulletin_text(bulletin, locale, tz)
    # Drawing takes a moment of CPU: off the event loop, and once per report and language.
    workbook, chart = await asyncio.to_thread(_bulletin_files, report.id, bulletin, locale, tz)
    _ = gettext_for(locale)
    names = {
        kind: _(FILE_NAMES[kind]).format(scope=report.scope, period=report.period)
        for kind in FILE_NAMES
    }
    title = html.escape(period_title(report.period, locale), quote=False)
    return Rendered(
        text,
        files=(
            Attachment(names["xlsx"], workbook, "document", title),
            Attachment(names["png"], chart, "photo", title),
        ),
    )


def notice_renderer(rt: Runtime):  # type: ignore[no-untyped-def]
    """The dispatcher's render function for this bot."""

    async def render(session: AsyncSession, row: Outbox, person: Person | None) -> Rendered | None:
        locale = (person.locale if person else None) or rt.settings.default_locale
        if row.kind == "report":
            report = await session.get(Report, row.payload.get("report"))
            return await report_notice(report, locale, rt.settings.tz) if report else None
        issue = await session.get(Issue, row.issue_id) if row.issue_id else None
        top = headline(row, locale, for_contact=isinstance(person, Contact))
        if issue is None or person is None:  # a group audience reads the headline only
            return Rendered(top)
        now: datetime = rt.now()
        text, markup = await render_card(
            session=session,
            rules=rt.rules,
            issue=issue,
            actor=actor_of(person),
            locale=locale,
            now=now,
        )
        return Rendered(f"{top}\n\n{text}", markup)

    return render
