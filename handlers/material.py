"""补充材料: the enterprise answers a request for material, from the card's button or simply by
writing while one of its issues waits (several: it picks which). Files first (up to 5, as in
/report), then a message; or a file with a caption. The issue's clock runs again at once.

No conversation state is needed: a message outside any step comes here (after the report and
note steps have had their turn), and what is gathered so far waits in user_data.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode

from handlers.callbacks import CB, pack, parse_id, unpack
from handlers.cards import render_card
from handlers.common import Turn, file_entry, point_to_buttons, reply, speaker
from handlers.context import ZtcContext
from locales.formats import error_text
from models.attachments import MAX_FILES, check_file
from models.codes import Status
from models.errors import DomainError, InvalidInput
from models.issues.commands import FileIn, Supply
from models.issues.runner import run
from models.tables.issue import Issue
from models.tables.org import Contact
from models.tables.project import Project

KEY = "supply"  # user_data: {"issue": id or None, "files": [...], "text": str or None}


async def begin(update: Update, context: ZtcContext, turn: Turn, issue_id: int) -> None:
    """The card's button: ask for the material of this issue."""
    _keep(context, {"issue": issue_id, "files": [], "text": None})
    await reply(update, context, _prompt(turn))


def _prompt(turn: Turn) -> str:
    return turn._(
        "Send the material: up to {files} photos or documents, then one message saying what "
        "you send (or /cancel)."
    ).format(files=MAX_FILES)


@speaker(strangers=True)
async def unprompted(update: Update, context: ZtcContext, turn: Turn) -> None:
    """A message outside any step: material, if the enterprise has an issue waiting for it (or
    its button was pressed); else the usual pointer to the buttons (strangers: the refusal)."""
    if _draft(context) is not None and isinstance(turn.person, Contact):
        await _on_message(update, context, turn)
        return
    waiting = await _waiting(turn) if isinstance(turn.person, Contact) else []
    if not waiting:
        await point_to_buttons(update, context, turn)
        return
    draft: dict[str, Any] = {"issue": waiting[0].id if len(waiting) == 1 else None}
    _keep(context, draft | {"files": [], "text": None})
    if len(waiting) == 1:
        await _on_message(update, context, turn)
        return
    await _on_message(update, context, turn)  # kept until they pick the issue
    buttons = [
        [InlineKeyboardButton(f"{i.number}"[:60], callback_data=pack(CB.SUPPLY, i.id))]
        for i in waiting[:10]
    ]
    await reply(
        update,
        context,
        turn._("Several of your issues wait for material. Which one is this for?"),
        reply_markup=InlineKeyboardMarkup(buttons),
    )


async def _waiting(turn: Turn) -> list[Issue]:
    assert isinstance(turn.person, Contact)
    projects = select(Project.id).where(Project.enterprise_id == turn.person.enterprise_id)
    query = (
        select(Issue)
        .where(Issue.status == Status.AWAITING_INFO, col(Issue.project_id).in_(projects))
        .order_by(col(Issue.id))
    )
    return list((await turn.session.exec(query)).all())


@speaker("contact")
async def picked(update: Update, context: ZtcContext, turn: Turn) -> None:
    """The issue a message of material answers was picked."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    draft = _draft(context)
    issue_id = parse_id((unpack(query.data) or [""])[0])
    if draft is None or issue_id is None:
        return
    draft["issue"] = issue_id
    _keep(context, draft)
    if draft["text"] is not None:
        await _supply(update, context, turn, draft)
    else:
        await reply(update, context, _prompt(turn))


async def _on_message(update: Update, context: ZtcContext, turn: Turn) -> None:
    """Gather the message into the draft; with its text and its issue known, supply it."""
    draft = _draft(context)
    assert draft is not None
    try:
        _take(update.message, draft)
    except InvalidInput as exc:
        await reply(update, context, error_text(exc, turn.locale))
        return
    _keep(context, draft)
    if draft["issue"] is None:
        return  # waiting for them to pick the issue
    if draft["text"] is None:
        count = len(draft["files"])
        await reply(
            update,
            context,
            turn._("Attached ({count} of {limit}). Now say in a message what you send.").format(
                count=count, limit=MAX_FILES
            ),
        )
        return
    await _supply(update, context, turn, draft)


def _take(message: Message | None, draft: dict[str, Any]) -> None:
    """Keep a message's file and its text (a caption counts as the text)."""
    assert message is not None
    entry = file_entry(message)
    if entry is not None:
        check_file(draft["files"], entry["size"])
        draft["files"] = [*draft["files"], entry]
    text = message.text or message.caption
    if text:
        draft["text"] = text


async def _supply(update: Update, context: ZtcContext, turn: Turn, draft: dict[str, Any]) -> None:
    """Run the command; tell them, and show the card."""
    files = tuple(
        FileIn(
            kind="photo" if f["kind"] == "photo" else "document",
            file_id=f["file_id"],
            name=f.get("name"),
            mime=f.get("mime"),
            size=f.get("size"),
        )
        for f in draft["files"]
    )
    command = Supply(int(draft["issue"]), note=draft["text"] or "", files=files)
    try:
        outcome = await run(turn.ctx(), command)
        await turn.commit()
    except DomainError as exc:
        await turn.rollback()
        (context.user_data or {}).pop(KEY, None)
        await reply(update, context, error_text(exc, turn.locale))
        return
    (context.user_data or {}).pop(KEY, None)
    turn.rt.wake_dispatcher()
    issue = outcome.issue
    await reply(
        update,
        context,
        turn._("Received: the material for issue {number}. Its clock runs again.").format(
            number=issue.number
        ),
    )
    text, markup = await render_card(
        session=turn.session,
        rules=turn.rt.rules,
        issue=issue,
        actor=turn.actor,
        locale=turn.locale,
        now=turn.rt.now(),
    )
    await reply(update, context, text, parse_mode=ParseMode.HTML, reply_markup=markup)


def _draft(context: ZtcContext) -> dict[str, Any] | None:
    data = (context.user_data or {}).get(KEY)
    return data if isinstance(data, dict) and isinstance(data.get("files"), list) else None


def _keep(context: ZtcContext, draft: dict[str, Any]) -> None:
    assert context.user_data is not None
    context.user_data[KEY] = draft
