"""Buttons on an issue card: never trusted, always re-read and re-checked.

A press carries the card's stamp. Out of scope → nothing happens (logged as forged). A stale
stamp → the current card, nothing done. Not allowed now → why, and the current card. Two people
at once → the issue's version column lets one win; the other is told and sees the new state.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm.exc import StaleDataError
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import ConversationHandler

from handlers.callbacks import CB, State, pack, parse_id, unpack
from handlers.cards import render_card, stamp
from handlers.common import Turn, redraw, redraw_buttons, reply, speaker
from handlers.context import ZtcContext
from locales import N_
from locales.formats import department_name, error_text
from models.codes import Action, Rating
from models.errors import DomainError
from models.issues.commands import COMMANDS, command_for
from models.issues.runner import facts_for, run
from models.permissions import check, in_scope
from models.queries import available_departments, issue_files
from models.tables.issue import Issue

log = logging.getLogger(__name__)

PROMPTS = {
    Action.COMMENT: N_("Send your message on issue {number} in one text (or /cancel)."),
    Action.REQUEST_INFO: N_("What material is missing for issue {number}? Send it in one text."),
    Action.RESOLVE: N_("How was issue {number} resolved? Send the note for the enterprise."),
}
ACTIONS = frozenset(a.value for a, command in COMMANDS.items() if not command.system)
STALE, RACED, DONE = "stale", "raced", "done"
TOASTS = {
    STALE: N_("This card was out of date. Here is where the issue stands now."),
    RACED: N_("Someone else acted on this issue a moment ago. Here is where it stands now."),
    DONE: N_("Done."),
}


async def _issue(turn: Turn, session: Any, issue_id: str) -> tuple[Issue | None, Any]:
    """The issue a press names, if it exists and is in the person's scope (else None, None)."""
    number = parse_id(issue_id)
    issue = await session.get(Issue, number) if number is not None else None
    if issue is None:
        return None, None
    facts = await facts_for(session=session, issue=issue)
    return (issue, facts) if in_scope(turn.actor, facts) else (None, None)


async def card_for(turn: Turn, issue_id: int) -> tuple[str, InlineKeyboardMarkup | None]:
    """The issue's card as it is now, for the person of this turn."""
    session = turn.session
    issue = await session.get(Issue, issue_id)
    assert issue is not None
    text, markup = await render_card(
        session=session,
        rules=turn.rt.rules,
        issue=issue,
        actor=turn.actor,
        locale=turn.locale,
        now=turn.rt.now(),
    )
    return text, markup


async def show_fresh(
    update: Update, context: ZtcContext, turn: Turn, issue_id: int, toast: str | None
) -> None:
    """Answer the press and redraw the card from the database."""
    query = update.callback_query
    assert query is not None
    text, markup = await card_for(turn, issue_id)
    await query.answer(toast[:190] if toast else None, show_alert=bool(toast and len(toast) > 60))
    await redraw(update, context, text, markup, html=True)


async def finish(
    update: Update, context: ZtcContext, turn: Turn, issue_id: str, toast: str | None
) -> None:
    """After a press: a forged one (no toast) gets a bare answer; any other, the fresh card."""
    number = parse_id(issue_id)
    if toast is None or number is None:
        assert update.callback_query is not None
        await update.callback_query.answer()
        return
    await show_fresh(update, context, turn, number, toast)


async def _run(
    update: Update, turn: Turn, issue_id: str, card_stamp: str, action: Action, **given: Any
) -> str | None:
    """Do the press's action through the runner and commit; the toast, or None when the press
    is forged or foreign (nothing shown)."""
    issue, _facts = await _issue(turn, turn.session, issue_id)
    if issue is None or issue.id is None:
        query = update.callback_query
        log.warning("forged or foreign press by user %s: %s", turn.user_id, query and query.data)
        return None
    if card_stamp != stamp(issue):
        return turn._(TOASTS[STALE])
    try:
        await run(turn.ctx(), command_for(action, issue.id, **given), issue=issue)
        await turn.commit()
    except StaleDataError:  # somebody else changed the issue first: their change stands
        await turn.rollback()
        return turn._(TOASTS[RACED])
    except DomainError as exc:
        await turn.rollback()
        return error_text(exc, turn.locale)
    turn.rt.wake_dispatcher()
    return turn._(TOASTS[DONE])


@speaker()
async def card(update: Update, context: ZtcContext, turn: Turn) -> None:
    """Open an issue's card from a list."""
    query = update.callback_query
    assert query is not None
    issue_id = (unpack(query.data) or [""])[0]
    session = turn.session
    issue, _facts = await _issue(turn, session, issue_id)
    if issue is None or issue.id is None:
        log.warning("forged card request by user %s: %s", turn.user_id, query.data)
        await query.answer()
        return
    text, markup = await card_for(turn, issue.id)
    await query.answer()
    await reply(update, context, text, parse_mode=ParseMode.HTML, reply_markup=markup)


@speaker()
async def act(update: Update, context: ZtcContext, turn: Turn) -> int | None:
    """An action button: do it now, or ask for the note it needs, or the department to add."""
    query = update.callback_query
    assert query is not None and context.user_data is not None
    parts = unpack(query.data)
    if len(parts) != 3 or parts[0] not in ACTIONS:
        log.warning("malformed press by user %s: %s", turn.user_id, query.data)
        await query.answer()
        return None
    action, issue_id, card_stamp = Action(parts[0]), parts[1], parts[2]
    if COMMANDS[action].asks in ("note", "department"):
        return await _ask(update, context, turn, action, issue_id, card_stamp)
    await finish(
        update, context, turn, issue_id, await _run(update, turn, issue_id, card_stamp, action)
    )
    return None


async def _ask(
    update: Update, context: ZtcContext, turn: Turn, action: Action, issue_id: str, card_stamp: str
) -> int | None:
    """Check the press as if acting, then ask for what the action needs."""
    query = update.callback_query
    assert query is not None and context.user_data is not None
    session = turn.session
    issue, facts = await _issue(turn, session, issue_id)
    if issue is None:
        log.warning("forged press by user %s: %s", turn.user_id, query.data)
        await query.answer()
        return None
    denial = check(turn.actor, action, facts, turn.rt.rules.policy, turn.rt.now())
    departments = await available_departments(session=session, issue=issue)
    if card_stamp != stamp(issue) or denial is not None:
        toast = (
            turn._(TOASTS[STALE])
            if card_stamp != stamp(issue) or denial is None  # not stale: so denied
            else error_text(denial.error(action, facts), turn.locale)
        )
        assert issue.id is not None
        await show_fresh(update, context, turn, issue.id, toast)
        return None
    await query.answer()
    if action == Action.ADD_COHANDLER:
        buttons = [
            [
                InlineKeyboardButton(
                    department_name(d, turn.locale),
                    callback_data=pack(CB.COHANDLER, issue_id, d.id, card_stamp),
                )
            ]
            for d in departments
        ]
        await redraw_buttons(update, InlineKeyboardMarkup(buttons))
        return None
    context.user_data["pending"] = {"action": action.value, "issue": issue_id, "stamp": card_stamp}
    await reply(update, context, turn._(PROMPTS[action]).format(number=issue.number))
    return State.NOTE


@speaker()
async def note_received(update: Update, context: ZtcContext, turn: Turn) -> int:
    """The words an action waited for: perform it, then show the card."""
    assert update.message is not None and context.user_data is not None
    pending = context.user_data.pop("pending", None)
    number = parse_id(str(pending.get("issue"))) if isinstance(pending, dict) else None
    if not isinstance(pending, dict) or number is None or pending.get("action") not in ACTIONS:
        return ConversationHandler.END
    action = Action(pending["action"])
    toast = await _run(
        update, turn, str(number), str(pending.get("stamp")), action, note=update.message.text
    )
    if toast is None:  # the issue left the person's scope meanwhile: nothing was recorded
        await reply(
            update,
            context,
            turn._("Issue {number} is no longer yours to act on; nothing was recorded.").format(
                number=number
            ),
        )
        return ConversationHandler.END
    text, markup = await card_for(turn, number)
    await reply(update, context, toast)
    await reply(update, context, text, parse_mode=ParseMode.HTML, reply_markup=markup)
    return ConversationHandler.END


@speaker()
async def cohandler_chosen(update: Update, context: ZtcContext, turn: Turn) -> None:
    """A department to co-handle was picked."""
    query = update.callback_query
    assert query is not None
    parts = unpack(query.data)
    department_id = parse_id(parts[1]) if len(parts) == 3 else None
    if department_id is None:
        await query.answer()
        return
    toast = await _run(
        update, turn, parts[0], parts[2], Action.ADD_COHANDLER, department_id=department_id
    )
    await finish(update, context, turn, parts[0], toast)


@speaker()
async def rated(update: Update, context: ZtcContext, turn: Turn) -> None:
    """满意 / 基本满意 / 不满意 on a resolved issue."""
    query = update.callback_query
    assert query is not None
    parts = unpack(query.data)
    if len(parts) != 3 or parts[1] not in Rating.__members__.values():
        await query.answer()
        return
    toast = await _run(update, turn, parts[0], parts[2], Action.CONFIRM, rating=Rating(parts[1]))
    await finish(update, context, turn, parts[0], toast)


@speaker()
async def files(update: Update, context: ZtcContext, turn: Turn) -> None:
    """Send the photos and documents of an issue the person may see."""
    query = update.callback_query
    assert query is not None
    session = turn.session
    issue, _facts = await _issue(turn, session, (unpack(query.data) or [""])[0])
    found = await issue_files(session=session, issue=issue) if issue else []
    await query.answer()
    if issue is None:
        log.warning("forged files request by user %s: %s", turn.user_id, query.data)
        return
    for file in found:
        caption = f"{issue.number} · {file.file_name or file.kind}"
        if file.kind == "photo":
            await context.bot.send_photo(turn.chat_id, file.file_id, caption=caption)
        else:
            await context.bot.send_document(turn.chat_id, file.file_id, caption=caption)
