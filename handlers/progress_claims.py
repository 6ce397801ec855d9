"""认定 / 驳回: the project's agent or manager (or an admin) decides a stage claim.

The claim arrives as a notice with its buttons (jobs/progress.py); an official's /progress lists
the claims awaiting them. Buttons are never trusted: a press re-reads the claim and re-checks that
the presser may decide it and that it is still pending; a stale press answers with the claim as
it stands. 驳回 asks for the reason, which the enterprise reads.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import ConversationHandler

from handlers.callbacks import State, parse_id, unpack
from handlers.common import Turn, redraw, reply, speaker
from handlers.context import ZtcContext
from jobs.channels.telegram import markup
from jobs.progress import claim_buttons, claim_text, day_text
from jobs.reports import stage_label
from locales.formats import error_text
from models.errors import DomainError, InvalidInput
from models.progress import (
    PENDING,
    ReportView,
    claims_for,
    decide_claim,
    may_confirm,
    report_view,
)
from models.tables.org import Contact, Official

log = logging.getLogger(__name__)
END = ConversationHandler.END
KEY = "progress_reject"  # user_data: the report whose claim awaits the reason for rejecting it
SHOWN = 10  # claims listed by /progress; the rest after these are decided


async def awaiting(update: Update, context: ZtcContext, turn: Turn) -> None:
    """An official's /progress: the stage claims awaiting their confirmation, one message each."""
    assert isinstance(turn.person, Official)
    claims = await claims_for(session=turn.session, official=turn.person)
    if not claims:
        await reply(update, context, turn._("No stage claim awaits your confirmation."))
        return
    head = turn._("Stage claims awaiting your confirmation ({count}):")
    await reply(update, context, head.format(count=len(claims)))
    for claim in claims[:SHOWN]:
        view = await report_view(session=turn.session, report_id=claim.id or 0)
        if view is not None:
            await _show(update, context, turn, view, new=True)


async def _show(
    update: Update, context: ZtcContext, turn: Turn, view: ReportView, *, new: bool = False
) -> None:
    """The claim as it stands, with the buttons the official may press (redrawn or new)."""
    text = claim_text(view, turn.locale, turn.rt.rules.tz)
    buttons = markup(claim_buttons(view, turn.locale, decide=True))
    if new:
        await reply(update, context, text, parse_mode=ParseMode.HTML, reply_markup=buttons)
    else:
        await redraw(update, context, text, buttons, html=True)


async def _pressed(update: Update, turn: Turn) -> ReportView | None:
    """The claim a press names, if the presser may decide it; a forged press is answered and
    logged, and gets None."""
    query = update.callback_query
    assert query is not None and isinstance(turn.person, Official)
    report_id = parse_id((unpack(query.data) or [""])[0])
    view = await report_view(session=turn.session, report_id=report_id) if report_id else None
    if view is None or view.report.claim is None or not may_confirm(turn.person, view.project):
        log.warning("forged progress press by user %s: %s", turn.user_id, query.data)
        await query.answer(turn._("This button is no longer active."))
        return None
    return view


@speaker("official")
async def confirm_pressed(update: Update, context: ZtcContext, turn: Turn) -> None:
    """认定: the project's stage and its date change; the contact is told."""
    query = update.callback_query
    assert query is not None and isinstance(turn.person, Official)
    if (view := await _pressed(update, turn)) is None:
        return
    if view.report.claim_status == PENDING:
        try:
            await decide_claim(
                session=turn.session,
                official=turn.person,
                project=view.project,
                now=turn.rt.now(),
                report_id=view.report.id,
            )
        except DomainError as exc:  # decided by someone else at the same moment
            await turn.rollback()
            await query.answer(error_text(exc, turn.locale)[:200])
        else:
            await turn.commit()
            turn.rt.wake_dispatcher()
            await query.answer(turn._("Confirmed."))
    else:
        await query.answer(turn._("This claim was decided already."))
    fresh = await report_view(session=turn.session, report_id=view.report.id or 0)
    if fresh is not None:
        await _show(update, context, turn, fresh)


@speaker("official")
async def reject_pressed(update: Update, context: ZtcContext, turn: Turn) -> int:
    """驳回: ask for the reason."""
    query = update.callback_query
    assert query is not None
    if (view := await _pressed(update, turn)) is None:
        return END
    if view.report.claim_status != PENDING:
        await query.answer(turn._("This claim was decided already."))
        await _show(update, context, turn, view)
        return END
    await query.answer()
    assert context.user_data is not None
    context.user_data[KEY] = view.report.id
    question = turn._(
        "Why is the claim “{stage}” ({date}) of {project} rejected? Send the reason: the "
        "enterprise will read it. /cancel to keep the claim."
    ).format(
        stage=stage_label(view.report.claim or "", turn.locale),
        date=day_text(view.report.claim_on, turn.locale),
        project=f"{view.project.code} {view.project.name}",
    )
    await reply(update, context, question)
    return State.PROGRESS_REASON


@speaker("official")
async def reason_typed(update: Update, context: ZtcContext, turn: Turn) -> int | None:
    """The reason: reject the claim; the contact is told."""
    assert update.message is not None and update.message.text is not None
    assert isinstance(turn.person, Official)
    report_id = (context.user_data or {}).get(KEY)
    view = await report_view(session=turn.session, report_id=report_id or 0)
    if view is None:
        return END
    try:
        await decide_claim(
            session=turn.session,
            official=turn.person,
            project=view.project,
            now=turn.rt.now(),
            confirm=False,
            note=update.message.text,
            report_id=report_id,
        )
    except DomainError as exc:
        await turn.rollback()
        await reply(update, context, error_text(exc, turn.locale))
        bad_reason = isinstance(exc, InvalidInput) and exc.params.get("field") == "note"
        return None if bad_reason else _done(context)
    await turn.commit()
    turn.rt.wake_dispatcher()
    text = turn._("Rejected. {enterprise} is told the reason.")
    await reply(update, context, text.format(enterprise=view.enterprise))
    return _done(context)


def _done(context: ZtcContext) -> int:
    (context.user_data or {}).pop(KEY, None)
    return END


@speaker()
async def photos(update: Update, context: ZtcContext, turn: Turn) -> None:
    """The photos and files of a report, to whoever may decide its claim or made it."""
    query = update.callback_query
    assert query is not None
    report_id = parse_id((unpack(query.data) or [""])[0])
    view = await report_view(session=turn.session, report_id=report_id) if report_id else None
    person = turn.person
    allowed = view is not None and (
        (isinstance(person, Official) and may_confirm(person, view.project))
        or (isinstance(person, Contact) and person.enterprise_id == view.project.enterprise_id)
    )
    await query.answer()
    if view is None or not allowed:
        log.warning("forged progress photos request by user %s: %s", turn.user_id, query.data)
        return
    caption = f"{view.project.code} · {view.report.month.strftime('%Y-%m')}"
    for file in view.report.files:
        if file.get("kind") == "photo":
            await context.bot.send_photo(turn.chat_id, file["file_id"], caption=caption)
        else:
            await context.bot.send_document(turn.chat_id, file["file_id"], caption=caption)
