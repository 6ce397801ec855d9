"""Buttons on an issue card: never trusted, always re-read and re-checked.

A press carries the card's stamp. Out of scope → nothing happens (logged as forged). A stale
stamp → the current card, nothing done. Not allowed now → why, and the current card. Two people
at once → the issue's version column lets one win; the other is told and sees the new state.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm.exc import StaleDataError
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ParseMode
from telegram.ext import ConversationHandler

from handlers import material
from handlers.callbacks import CB, State, pack, parse_id, unpack
from handlers.cards import render_card, stamp
from handlers.common import (
    Turn,
    not_valid,
    point_to_buttons,
    redraw,
    redraw_buttons,
    refuse_press,
    reply,
    speaker,
)
from handlers.context import ZtcContext
from locales import N_
from locales.formats import department_name, error_text
from models.codes import Action, Rating
from models.errors import DomainError
from models.issues.commands import COMMANDS, command_for
from models.issues.runner import facts_for, run
from models.permissions import check, in_scope
from models.queries import available_departments, issue_files, transfer_targets
from models.tables.issue import Issue

log = logging.getLogger(__name__)

RATINGS = frozenset(r.value for r in Rating)
PROMPTS = {
    Action.COMMENT: N_("Send your message on issue {number} in one text (or /cancel)."),
    Action.REQUEST_INFO: N_("What material is missing for issue {number}? Send it in one text."),
    Action.RESOLVE: N_("How was issue {number} resolved? Send the note for the enterprise."),
    Action.OPINION: N_("Your department's opinion on issue {number}, in one text (or /cancel)."),
    Action.TRANSFER: N_("Why do you transfer issue {number}? One text, for both handlers."),
    Action.CONFIRM: N_("What is still not solved in issue {number}? One text (or /cancel)."),
    Action.REOPEN: N_("Why should issue {number} be handled again? One text (or /cancel)."),
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
    """After a press: a forged one (no toast, logged by `_run`) gets the polite refusal; any
    other, the fresh card."""
    number = parse_id(issue_id)
    if toast is None or number is None:
        assert update.callback_query is not None
        await update.callback_query.answer(not_valid(turn))
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
        data = (query.data or "")[:64] if query else f"{action.value} on {issue_id}"
        log.warning("forged or foreign press by user %s: %r", turn.user_id, data)
        return None
    if card_stamp != stamp(issue):
        log.info("stale %s press by user %s on issue %s", action.value, turn.user_id, issue.id)
        return turn._(TOASTS[STALE])
    number = issue.id  # a rollback expires the row: keep what the log needs
    try:
        await run(turn.ctx(), command_for(action, number, **given), issue=issue)
        await turn.commit()
    except StaleDataError:  # somebody else changed the issue first: their change stands
        await turn.rollback()
        return turn._(TOASTS[RACED])
    except DomainError as exc:
        await turn.rollback()
        log.info(
            "%s press by user %s on issue %s refused: %s",
            action.value,
            turn.user_id,
            number,
            exc.code,
        )
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
        await refuse_press(update, turn, "forged card request")
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
        await refuse_press(update, turn, "malformed press")
        return None
    action, issue_id, card_stamp = Action(parts[0]), parts[1], parts[2]
    if COMMANDS[action].asks is not None:
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
    if issue is None or issue.id is None:
        await refuse_press(update, turn, "forged press")
        return None
    if await _refused(update, context, turn, action, issue, facts, card_stamp):
        return None
    await query.answer()
    assert issue.id is not None
    asks = COMMANDS[action].asks
    if asks == "material":
        await material.begin(update, context, turn, issue.id)
        return None
    if asks in ("department", "official"):
        await redraw_buttons(update, await _choices(turn, issue, action, card_stamp))
        return None
    context.user_data["pending"] = {"action": action.value, "issue": issue_id, "stamp": card_stamp}
    await reply(update, context, turn._(PROMPTS[action]).format(number=issue.number))
    return State.NOTE


async def _refused(
    update: Update,
    context: ZtcContext,
    turn: Turn,
    action: Action,
    issue: Issue,
    facts: Any,
    card_stamp: str,
) -> bool:
    """Before asking for anything: a stale card or an action not allowed now is answered with
    why and the fresh card, and logged once (True); else False."""
    assert issue.id is not None
    if card_stamp != stamp(issue):
        log.info("stale %s press by user %s on issue %s", action.value, turn.user_id, issue.id)
        await show_fresh(update, context, turn, issue.id, turn._(TOASTS[STALE]))
        return True
    denial = check(turn.actor, action, facts, turn.rt.rules.policy, turn.rt.now())
    if denial is None:
        return False
    log.info(
        "%s press by user %s on issue %s refused: %s",
        action.value,
        turn.user_id,
        issue.id,
        denial.reason,
    )
    await show_fresh(
        update, context, turn, issue.id, error_text(denial.error(action, facts), turn.locale)
    )
    return True


async def _choices(
    turn: Turn, issue: Issue, action: Action, card_stamp: str
) -> InlineKeyboardMarkup:
    """The departments to add as co-handler, or the officials to transfer to, as buttons."""
    if action == Action.ADD_COHANDLER:
        departments = await available_departments(session=turn.session, issue=issue)
        choices = [(department_name(d, turn.locale), CB.COHANDLER, d.id) for d in departments]
    else:
        officials = await transfer_targets(session=turn.session, issue=issue)
        choices = [(o.name, CB.TRANSFER, o.id) for o in officials]
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    name[:60], callback_data=pack(prefix, issue.id, key, card_stamp)
                )
            ]
            for name, prefix, key in choices[:20]
        ]
    )


@speaker()
async def transfer_chosen(update: Update, context: ZtcContext, turn: Turn) -> int | None:
    """An official to transfer to was picked: now the reason."""
    query = update.callback_query
    assert query is not None and context.user_data is not None
    parts = unpack(query.data)
    target = parse_id(parts[1]) if len(parts) == 3 else None
    if target is None:
        await refuse_press(update, turn, "malformed transfer press")
        return None
    issue_id, card_stamp = parts[0], parts[2]
    pending = {"action": Action.TRANSFER.value, "issue": issue_id, "stamp": card_stamp}
    return await _ask_note(update, context, turn, {**pending, "to": target})


async def _ask_note(
    update: Update, context: ZtcContext, turn: Turn, pending: dict[str, Any]
) -> int | None:
    """Keep what the press chose and ask for the words it needs (a stale card: its state)."""
    query = update.callback_query
    assert query is not None and context.user_data is not None
    issue, facts = await _issue(turn, turn.session, str(pending["issue"]))
    if issue is None or issue.id is None:
        await refuse_press(update, turn, "forged press")
        return None
    action = Action(pending["action"])
    if await _refused(update, context, turn, action, issue, facts, str(pending["stamp"])):
        return None  # checked now, not only once the words are in: no prompt to refuse later
    await query.answer()
    context.user_data["pending"] = pending
    await reply(update, context, turn._(PROMPTS[action]).format(number=issue.number))
    return State.NOTE


@speaker()
async def note_received(update: Update, context: ZtcContext, turn: Turn) -> int:
    """The words an action waited for: perform it, then show the card."""
    assert update.message is not None and context.user_data is not None
    pending = context.user_data.pop("pending", None)
    number = parse_id(str(pending.get("issue"))) if isinstance(pending, dict) else None
    if not isinstance(pending, dict) or number is None or pending.get("action") not in ACTIONS:
        # The step's action is gone (its prompt failed to send, or a crash came between the
        # two writes): the words fit no step, and the person is told so, never left unanswered.
        await point_to_buttons(update, context, turn)
        return ConversationHandler.END
    action = Action(pending["action"])
    given: dict[str, Any] = {"note": update.message.text}
    if isinstance(pending.get("to"), int):
        given["to_official_id"] = pending["to"]
    if pending.get("rating") in RATINGS:
        given["rating"] = Rating(pending["rating"])
    toast = await _run(update, turn, str(number), str(pending.get("stamp")), action, **given)
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
        await refuse_press(update, turn, "malformed co-handler press")
        return
    toast = await _run(
        update, turn, parts[0], parts[2], Action.ADD_COHANDLER, department_id=department_id
    )
    await finish(update, context, turn, parts[0], toast)


@speaker()
async def rated(update: Update, context: ZtcContext, turn: Turn) -> int | None:
    """满意 / 基本满意 rate at once; 不满意 first asks why (it reopens the issue a level up)."""
    query = update.callback_query
    assert query is not None
    parts = unpack(query.data)
    if len(parts) != 3 or parts[1] not in RATINGS:
        await refuse_press(update, turn, "malformed rating press")
        return None
    issue_id, rating, card_stamp = parts[0], Rating(parts[1]), parts[2]
    if rating == Rating.UNSATISFIED:
        pending = {"action": Action.CONFIRM.value, "issue": issue_id, "stamp": card_stamp}
        return await _ask_note(update, context, turn, {**pending, "rating": rating.value})
    toast = await _run(update, turn, issue_id, card_stamp, Action.CONFIRM, rating=rating)
    await finish(update, context, turn, issue_id, toast)
    return None


@speaker()
async def files(update: Update, context: ZtcContext, turn: Turn) -> None:
    """Send the photos and documents of an issue the person may see."""
    query = update.callback_query
    assert query is not None
    session = turn.session
    issue, _facts = await _issue(turn, session, (unpack(query.data) or [""])[0])
    if issue is None:
        await refuse_press(update, turn, "forged files request")
        return
    found = await issue_files(session=session, issue=issue)
    await query.answer()
    for file in found:
        caption = f"{issue.number} · {file.file_name or file.kind}"
        content = file.file_id or InputFile(file.data or b"", filename=file.file_name)
        if file.kind == "photo":
            await context.bot.send_photo(turn.chat_id, content, caption=caption)
        else:
            await context.bot.send_document(turn.chat_id, content, caption=caption)
