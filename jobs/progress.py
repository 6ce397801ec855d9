"""Progress reports in the reader's language: a stage claim for the officials who confirm it,
the verdict for the contact who made it, and the reminder's buttons.

Drawn at delivery from the report as it is then, so a claim decided since it was queued shows its
verdict and no buttons. The chat's handlers draw the same texts (handlers/progress*.py).
"""

from __future__ import annotations

from datetime import date
from html import escape
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlmodel.ext.asyncio.session import AsyncSession

from jobs.channels import Button, Buttons, Rendered
from jobs.reports import babel_locale, stage_label
from locales import gettext_for, ngettext_for
from locales.formats import moment, money
from locales.labels import label
from models.identity import Person
from models.progress import CONFIRMED, PENDING, REJECTED, ReportView, report_view
from models.report_data import ProgressAsk
from models.tables.infra import Outbox

# The chat's callback prefixes of these buttons (handlers/callbacks.py registers the same).
START, CONFIRM, REJECT, PHOTOS = "ps", "pc", "pj", "pf"
KINDS = ("progress_claim", "progress_decided")  # the outbox kinds drawn here
REMINDER_JOBS = ("progress_reminder", "progress_followup")
MAX_BUTTONS = 8  # a reminder's report buttons; more projects: /progress


def day_text(day: date | None, locale: str) -> str:
    """A date per locale ("2026年11月18日", "November 18, 2026"); a dash for none."""
    return format_date(day, "long", locale=babel_locale(locale)) if day else "—"


def _project(view: ReportView) -> str:
    return escape(f"{view.project.code} {view.project.name}", quote=False)


def claim_text(view: ReportView, locale: str, tz: ZoneInfo) -> str:
    """A report with a stage claim, for the officials who confirm it, with its verdict if any."""
    _ = gettext_for(locale)
    report = view.report
    lines = [
        "<b>" + _("Stage claim: {project}").format(project=_project(view)) + "</b>",
        escape(
            _("{enterprise} ({contact}) reports: {stage}, reached on {date}.").format(
                enterprise=view.enterprise,
                contact=view.contact or "—",
                stage=stage_label(report.claim or "", locale),
                date=day_text(report.claim_on, locale),
            ),
            quote=False,
        ),
        escape(
            _("Confirmed stage now: {stage}.").format(stage=label(view.project.stage, locale)),
            quote=False,
        ),
    ]
    return "\n".join(lines + _details(view, locale) + [_verdict(view, locale, tz)])


def _details(view: ReportView, locale: str) -> list[str]:
    """The amount, the note and the photos of a report, a line each when given."""
    _ = gettext_for(locale)
    report, lines = view.report, []
    if report.invested_wan is not None:
        lines.append(
            _("Investment completed so far: {amount}").format(
                amount=money(report.invested_wan, locale)
            )
        )
    if report.note:
        lines.append(_("Note: {note}").format(note=escape(report.note, quote=False)))
    if report.files:
        count = len(report.files)
        lines.append(ngettext_for(locale)("{n} photo", "{n} photos", count).format(n=count))
    return lines


def _verdict(view: ReportView, locale: str, tz: ZoneInfo) -> str:
    _ = gettext_for(locale)
    report = view.report
    if report.claim_status == PENDING:
        return "<i>" + escape(_("Awaiting confirmation."), quote=False) + "</i>"
    who = escape(view.decided_by or "—", quote=False)
    when = moment(report.decided_at, tz, locale)
    if report.claim_status == CONFIRMED:
        return "<i>" + _("Confirmed by {who}, {when}.").format(who=who, when=when) + "</i>"
    note = escape(report.decision_note or "", quote=False)
    return (
        "<i>"
        + _("Rejected by {who}, {when}: {note}").format(who=who, when=when, note=note)
        + "</i>"
    )


def claim_buttons(view: ReportView, locale: str, *, decide: bool) -> Buttons:
    """认定 / 驳回 while the claim is pending (`decide`: the reader may), and the photos."""
    _ = gettext_for(locale)
    report = view.report
    rows: list[tuple[Button, ...]] = []
    if decide and report.claim_status == PENDING:
        rows.append(
            (
                Button(_("Confirm stage"), f"{CONFIRM}:{report.id}"),
                Button(_("Reject"), f"{REJECT}:{report.id}"),
            )
        )
    if report.files:
        rows.append((Button(_("Show photos"), f"{PHOTOS}:{report.id}"),))
    return tuple(rows)


def decision_text(view: ReportView, locale: str) -> str:
    """The verdict on a claim, for the contact who made it."""
    _ = gettext_for(locale)
    report = view.report
    values = {
        "project": _project(view),
        "stage": escape(stage_label(report.claim or "", locale), quote=False),
        "date": day_text(report.claim_on, locale),
    }
    if report.claim_status == CONFIRMED:
        head = _("{project}: the stage “{stage}” ({date}) was confirmed.").format(**values)
        return (
            "<b>"
            + head
            + "</b>\n"
            + escape(_("It now counts in the city's figures."), quote=False)
        )
    head = _("{project}: the stage “{stage}” ({date}) was not confirmed.").format(**values)
    lines = [
        "<b>" + head + "</b>",
        _("Reason: {note}").format(note=escape(report.decision_note or "", quote=False)),
        escape(
            _("The project's stage stays {stage}. Please ask your service agent.").format(
                stage=label(view.project.stage, locale)
            ),
            quote=False,
        ),
    ]
    return "\n".join(lines)


async def progress_notice(
    session: AsyncSession, row: Outbox, person: Person | None, locale: str, tz: ZoneInfo
) -> Rendered | None:
    """A claim for a confirmer (with its buttons while pending), or a verdict for the contact."""
    view = await report_view(session=session, report_id=int(row.payload.get("progress") or 0))
    if view is None or view.report.claim_status not in (PENDING, CONFIRMED, REJECTED):
        return None
    if row.kind == "progress_decided":
        return Rendered(decision_text(view, locale))
    text = claim_text(view, locale, tz)
    return Rendered(text, claim_buttons(view, locale, decide=person is not None))


def reminder_buttons(ask: ProgressAsk, locale: str) -> Buttons:
    """One "report progress" button per project of a reminder (the escalation has none)."""
    if ask.escalated:
        return ()
    _ = gettext_for(locale)
    pairs = list(zip(ask.projects, ask.ids, strict=False))[:MAX_BUTTONS]
    return tuple(
        (Button(_("Report {code}").format(code=p.code)[:60], f"{START}:{ident}"),)
        for p, ident in pairs
        if ident
    )
