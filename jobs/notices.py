"""What an outbox row says to its recipient: a headline in their language over the issue's card,
with the buttons they may press now (drawn at delivery, so they are never older than the message).
"""

from __future__ import annotations

import asyncio
import html
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from jobs import progress
from jobs.channels import Attachment, Buttons, Rendered
from jobs.dispatch import RenderFn
from jobs.reports import period_title
from jobs.reports.chart import bulletin_chart
from jobs.reports.text import bulletin_text, progress_text, report_text
from jobs.reports.workbook import bulletin_workbook
from locales import N_, gettext_for, ngettext_for
from locales.formats import moment
from locales.labels import job_label, label
from models.codes import EventKind, Level, Rating
from models.cycle import BULLETIN_JOBS, SKIPPED_NOTICE
from models.holidays import NOTICE as CALENDAR_NOTICE
from models.identity import Person
from models.permissions import SYSTEM, actor_of
from models.report_data import Bulletin, ProgressAsk, load
from models.rules import Rules
from models.tables.incident import Incident
from models.tables.infra import Outbox, Report, ScheduleRun
from models.tables.issue import Issue
from models.tables.org import Contact

logger = logging.getLogger(__name__)
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
    K.SUPPLIED: N_("The enterprise sent the material for issue {number}: {note}"),
    K.OPINION: N_("Co-handling opinion of {departments} on issue {number}: {note}"),
    K.TRANSFERRED: N_("Issue {number} was transferred to {official}: {note}"),
    K.COHANDLER_REMINDER: N_("Reminder: {departments}, your opinion on issue {number} is due."),
    K.COHANDLER_OVERDUE: N_("The co-handling opinion of {departments} on issue {number} is late."),
    K.RATING_REMINDER: N_("Issue {number} was resolved: please rate the result."),
    K.CLOSED_UNRATED: N_("Issue {number} was closed without a rating."),
    K.DEADLINE_RECOMPUTED: N_(
        "The deadlines of issue {number} were counted again with the year's announced holidays."
    ),
}


def headline(row: Outbox, locale: str, *, for_contact: bool) -> str:
    """The first line of a notice, from the row's codes, in the reader's language."""
    _ = gettext_for(locale)
    payload = row.payload
    kind = EventKind(payload.get("event", row.kind))
    rating = payload.get("rating")
    names = payload.get("names") or {}
    text = _(HEADLINES.get(kind, N_("Issue {number} changed."))).format(
        number=payload.get("issue", ""),
        note=html.escape(payload.get("note") or "", quote=False),
        level=label(Level(payload.get("level", "service_desk")), locale),
        rating=label(Rating(rating), locale) if rating else "",
        departments=html.escape(names.get(locale) or names.get("zh_CN") or "", quote=False),
        official=html.escape(payload.get("to_name") or "", quote=False),
    )
    text = f"<b>{text}</b>" if "\n" not in text else text
    if kind in (K.RESOLVED, K.RATING_REMINDER) and for_contact:
        text += "\n" + _("Please rate the result with the buttons below.")
    return text


FILE_NAMES = {
    "xlsx": N_("bulletin-{scope}-{period}.xlsx"),
    "png": N_("bulletin-{scope}-{period}.png"),
}
FILE_KINDS: dict[str, Literal["document", "photo"]] = {"xlsx": "document", "png": "photo"}
# Said under the text when a file could not be drawn (by the kinds missing).
FILES_MISSING = {
    ("xlsx",): N_(
        "The workbook could not be attached; the error was logged for the administrators."
    ),
    ("png",): N_("The chart could not be attached; the error was logged for the administrators."),
    ("xlsx", "png"): N_(
        "The workbook and the chart could not be attached; "
        "the error was logged for the administrators."
    ),
}


# A report never changes once drawn: its files, by (report id, language), the latest few kept.
# A file that failed is kept as None too: drawing it again would fail again, once per recipient.
Files = dict[str, bytes | None]
_FILES: dict[tuple[int, str], Files] = {}
_FILES_KEPT = 32
# A bulletin goes to several groups at once: the first to ask draws its files, the others wait
# for them (each report and language its own lock: different reports still draw side by side).
_LOCKS: dict[tuple[int, str], threading.Lock] = {}
_LOCKS_LOCK = threading.Lock()


def _bulletin_files(report_id: int, bulletin: Bulletin, locale: str, tz: ZoneInfo) -> Files:
    """A stored bulletin's workbook and chart by kind, drawn once per language (None: failed)."""
    key = (report_id, locale)
    with _LOCKS_LOCK:
        lock = _LOCKS.setdefault(key, threading.Lock())
    with lock:
        files = _FILES.get(key)
        if files is None:
            files = {
                "xlsx": _drawn(report_id, "xlsx", lambda: bulletin_workbook(bulletin, locale, tz)),
                "png": _drawn(report_id, "png", lambda: bulletin_chart(bulletin, locale, tz)),
            }
            with _LOCKS_LOCK:
                if len(_FILES) >= _FILES_KEPT:
                    oldest = next(iter(_FILES))
                    del _FILES[oldest]
                    _LOCKS.pop(oldest, None)
                _FILES[key] = files
    return files


def _drawn(report_id: int, kind: str, draw: Callable[[], bytes]) -> bytes | None:
    """A report's file, or None if it cannot be drawn: one bad file never holds back the text."""
    try:
        return draw()
    except Exception:
        logger.exception("report %s: its %s file could not be drawn", report_id, kind)
        return None


async def report_notice(report: Report, locale: str, tz: ZoneInfo) -> Rendered:
    """A stored report in the reader's language; a bulletin comes with its workbook and chart."""
    if report.job in progress.REMINDER_JOBS:  # with a button per project to report on
        ask = load(ProgressAsk, report.data)
        return Rendered(progress_text(ask, locale, tz), progress.reminder_buttons(ask, locale))
    if report.job not in BULLETIN_JOBS or report.id is None:
        return Rendered(report_text(report.job, report.data, locale, tz))
    bulletin = load(Bulletin, report.data)
    # Drawing takes a moment of CPU: off the event loop, and once per report and language.
    files = await asyncio.to_thread(_bulletin_files, report.id, bulletin, locale, tz)
    # "… in the workbook" only when the workbook could be drawn and travels with the text.
    text = bulletin_text(bulletin, locale, tz, attached=files["xlsx"] is not None)
    missing = tuple(kind for kind, data in files.items() if data is None)
    if missing:
        text += "\n\n<i>" + html.escape(gettext_for(locale)(FILES_MISSING[missing])) + "</i>"
    return Rendered(
        text, files=_attachments(report, files, locale), elsewhere=_elsewhere(report, locale)
    )


def _elsewhere(report: Report, locale: str) -> str:
    """What a channel that cannot carry the files (a DingTalk or Feishu group) says instead:
    where to find the workbook, in Telegram or by the command."""
    region = "" if report.scope == "city" else f" --region {report.scope}"
    command = f"ztc bulletin --period {report.period}{region} --format xlsx"
    said = html.escape(
        gettext_for(locale)("The full workbook: in Telegram, or with {command}."), quote=False
    )
    return said.format(command=f"<code>{html.escape(command, quote=False)}</code>")


def _attachments(report: Report, files: Files, locale: str) -> tuple[Attachment, ...]:
    """The files that were drawn, named and captioned in the reader's language."""
    _ = gettext_for(locale)
    title = html.escape(period_title(report.period, locale), quote=False)
    return tuple(
        Attachment(
            _(FILE_NAMES[kind]).format(scope=report.scope, period=report.period),
            data,
            FILE_KINDS[kind],
            title,
        )
        for kind, data in files.items()
        if data is not None
    )


CardFn = Callable[..., Awaitable[tuple[str, Buttons]]]  # the card's text and its button rows


def incident_text(incident: Incident, locale: str, tz: ZoneInfo) -> str:
    """An error the bot met, for the admins: what, where, how often, and the first one's context
    (never what a person typed: the log has the rest)."""
    _ = gettext_for(locale)
    error, _at, where = incident.signature.partition("@")
    lines = [
        "<b>"
        + _("The bot met an error: {error} at {where}.").format(
            error=html.escape(error, quote=False), where=html.escape(where, quote=False)
        )
        + "</b>",
        ngettext_for(locale)(
            "First {first}, last {last}: {count} time so far.",
            "First {first}, last {last}: {count} times so far.",
            incident.count,
        ).format(
            first=moment(incident.first_at, tz, locale),
            last=moment(incident.last_at, tz, locale),
            count=incident.count,
        ),
    ]
    if incident.detail:
        lines.append(
            _("The first: {detail}").format(detail=html.escape(incident.detail, quote=False))
        )
    return "\n".join(lines)


def skipped_text(run: ScheduleRun, locale: str, tz: ZoneInfo, code: str | None) -> str:
    """A cycle period missed beyond its grace window, for an admin: what was lost, and the
    command that runs it once (with the admin's own code, who is recorded as having run it)."""
    _ = gettext_for(locale)
    head = _(
        "The {job} of {period} was not sent: it was missed beyond its grace window (due {due})."
    ).format(
        job=job_label(run.job, locale),
        period=period_title(run.period, locale),
        due=moment(run.scheduled_for, tz, locale),
    )
    command = f"ztc jobs run {run.job} --period {run.period} --by {code or 'CODE'}"
    how = _("An admin can run it now, once: {command}").format(
        command=f"<code>{html.escape(command, quote=False)}</code>"
    )
    return f"<b>{html.escape(head, quote=False)}</b>\n{how}"


def calendar_text(payload: dict[str, Any], locale: str) -> str:
    """A year's holidays were loaded, for the admins: how many days, which deadlines moved."""
    _, ngettext = gettext_for(locale), ngettext_for(locale)
    numbers = payload.get("issues") or []
    head = _("The holidays of {year} were loaded ({days} days listed).").format(
        year=payload.get("year", ""), days=payload.get("days", 0)
    )
    moved = ngettext(
        "{count} open issue's deadlines were counted again: {numbers}.",
        "{count} open issues' deadlines were counted again: {numbers}.",
        len(numbers),
    ).format(count=len(numbers), numbers=html.escape("、".join(numbers), quote=False))
    if not numbers:
        moved = _("No open issue's deadline moved.")
    return f"<b>{html.escape(head, quote=False)}</b>\n{moved}"


def notice_renderer(
    *, rules: Rules, default_locale: str, clock: Callable[[], datetime], card: CardFn
) -> RenderFn:
    """The dispatcher's render function: reports in the reader's language, issue notices as a
    headline over the issue's `card` (the chat's card, drawn for the reader at delivery, its
    buttons as neutral rows that each channel draws its own way)."""

    async def render(session: AsyncSession, row: Outbox, person: Person | None) -> Rendered | None:
        locale = (person.locale if person else None) or default_locale
        drawn = await draw(session, row, person, locale)
        return None if drawn is None else replace(drawn, locale=locale)

    async def draw(
        session: AsyncSession, row: Outbox, person: Person | None, locale: str
    ) -> Rendered | None:
        if row.kind == "report":
            report = await session.get(Report, row.payload.get("report"))
            return await report_notice(report, locale, rules.tz) if report else None
        if row.kind in progress.KINDS:
            return await progress.progress_notice(session, row, person, locale, rules.tz)
        if row.kind == CALENDAR_NOTICE:
            return Rendered(calendar_text(row.payload, locale))
        if row.kind == "incident":
            incident = await session.get(Incident, row.payload.get("incident"))
            return Rendered(incident_text(incident, locale, rules.tz)) if incident else None
        if row.kind == SKIPPED_NOTICE:  # nothing to say once the period has been run by hand
            run = await session.get(ScheduleRun, row.payload.get("run"))
            if run is None or run.status != "skipped":
                return None
            code = None if person is None or isinstance(person, Contact) else person.code
            return Rendered(skipped_text(run, locale, rules.tz, code))
        issue = await session.get(Issue, row.issue_id) if row.issue_id else None
        top = headline(row, locale, for_contact=isinstance(person, Contact))
        if issue is None:
            return Rendered(top)
        text, buttons = await card(
            session=session,
            rules=rules,
            issue=issue,
            actor=SYSTEM if person is None else actor_of(person),
            locale=locale,
            now=clock(),
        )
        # a group reads the card's facts: nobody there acts on it by a button
        return Rendered(f"{top}\n\n{text}", () if person is None else buttons)

    return render
