"""Telegram-facing code only. `register(app)` adds every handler in one readable block."""

from __future__ import annotations

import logging
import traceback
import warnings
from pathlib import Path

from telegram import Update, User
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from handlers import lists, material, presses, progress, progress_claims, report, start
from handlers.callbacks import CB, State, pattern
from handlers.common import Turn, client_locale, point_to_buttons, reply, speaker
from handlers.context import ZtcApp, ZtcContext
from handlers.gate import Gate
from locales import gettext_for
from models.db import session_scope
from models.incidents import record_incident

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent  # the checkout, or site-packages when installed
PACKAGES = ("bot", "handlers", "jobs", "locales", "models")  # ours, for an error's signature
TEXT = filters.TEXT & ~filters.COMMAND
MATERIAL = TEXT | filters.PHOTO | filters.Document.ALL
BUTTONS_ONLY = filters.ALL & ~filters.COMMAND  # a progress step that waits for a press
# Telegram's 400s for a message or a press that is gone (deleted, too old): no bug of ours.
GONE = (
    "message to edit not found",
    "message can't be edited",
    "query is too old",
    "message to delete not found",
    "message to be replied not found",
)


@speaker(strangers=True)
async def cancel(update: Update, context: ZtcContext, turn: Turn) -> int:
    """/cancel: drop whatever step is under way."""
    data = context.user_data if context.user_data is not None else {}
    keys = ("report", "pending", material.KEY, progress.KEY, progress_claims.KEY)
    had = [data.pop(key, None) for key in keys]
    await reply(
        update,
        context,
        turn._("Cancelled.") if any(had) else turn._("There is nothing to cancel."),
    )
    return ConversationHandler.END


@speaker(strangers=True)
async def nudge(update: Update, context: ZtcContext, turn: Turn) -> None:
    """A message that fits no step: say what to do (strangers get the refusal)."""
    await point_to_buttons(update, context, turn)


@speaker(strangers=True)
async def dead_button(update: Update, context: ZtcContext, turn: Turn) -> None:
    """A button from a finished step: answer it so the phone stops spinning."""
    query = update.callback_query
    assert query is not None
    log.info("dead or unknown button by user %s: %r", turn.user_id, (query.data or "")[:64])
    await query.answer(turn._("This button is no longer active."))


async def on_error(update: object, context: ZtcContext) -> None:
    """Log with context first; then tell the person something went wrong, without details.

    The update's handling ends here (no later handler group runs after a failure), and nothing
    escapes: a failure to apologise is logged, and that is the end of it.
    """
    if telegram_side(context.error):  # Telegram's trouble: nothing for the admins to fix
        log.warning("Telegram failed while handling %s", describe(update), exc_info=context.error)
    else:
        log.error("error while handling %s", describe(update), exc_info=context.error)
        await _tell_admins(update, context)
    if isinstance(update, Update) and update.effective_user is not None:
        await _apologise(update, context, update.effective_user)
    raise ApplicationHandlerStop  # PTB's signal, not an error: stop the other handler groups


def telegram_side(error: BaseException | None) -> bool:
    """Whether Telegram failed or refused a call for a reason outside our code: the person
    blocked the bot (403), Telegram is down or slow (5xx, a timeout), it still says wait after
    the rate limiter's retries (429), or the message or press is gone. Any other 400 (a text
    too long, a malformed button) is a bug of ours."""
    if isinstance(error, BadRequest):  # (a NetworkError in PTB's hierarchy)
        return any(gone in str(error).lower() for gone in GONE)
    return isinstance(error, Forbidden | NetworkError | RetryAfter)


async def _tell_admins(update: object, context: ZtcContext) -> None:
    """Count the error for the admins' chat: told once an hour per kind; never raises."""
    try:
        async with session_scope(context.rt.engine) as session:
            await record_incident(
                session=session,
                signature=signature(context.error),
                detail=describe(update),
                now=context.rt.now(),
            )
        context.rt.wake_dispatcher()
    except Exception:  # the database may be what failed: the log line above has it all
        log.warning("could not record the error for the admins", exc_info=True)


def signature(error: BaseException | None) -> str:
    """An error's kind: its type and the innermost line of our code it passed (no message: it
    may carry what a person typed)."""
    if error is None:
        return "unknown"
    ours = [f for f in traceback.extract_tb(error.__traceback__) if _ours(f.filename)]
    where = f"{_ours(ours[-1].filename)}:{ours[-1].lineno}" if ours else "?"
    return f"{type(error).__name__}@{where}"


def _ours(filename: str) -> str | None:
    """The file as `package/module.py` when it is one of ours, else None."""
    path = Path(filename).resolve()
    if not path.is_relative_to(ROOT):
        return None
    inside = path.relative_to(ROOT)
    return inside.as_posix() if inside.parts[0] in PACKAGES else None


async def _apologise(update: Update, context: ZtcContext, user: User) -> None:
    """Stop the press's spinner and say sorry in a private chat; never raises."""
    _ = gettext_for(client_locale(user.language_code) or context.rt.default_locale)
    apology = _("Sorry, something went wrong. Nothing was lost; please try again.")
    query, chat = update.callback_query, update.effective_chat
    if query is not None:
        try:  # unless the handler answered it before it failed
            await query.answer()
        except Exception:
            log.debug("the press was answered already", exc_info=True)
    try:
        if chat is not None and chat.type == ChatType.PRIVATE:
            await context.bot.send_message(chat.id, apology)
    except Exception:  # the person may have blocked the bot, Telegram may be down …
        log.warning("could not tell user %s about the error", user.id, exc_info=True)


def describe(update: object) -> str:
    """An update as the log names it: its id, who, where, and what (a command or a button)."""
    if not isinstance(update, Update):
        return repr(update)[:200]
    user, chat = update.effective_user, update.effective_chat
    what = ""
    if update.callback_query is not None:
        what = f" pressing {update.callback_query.data!r:.80}"
    elif update.message is not None and (text := update.message.text or "").startswith("/"):
        what = f" sending {text.split()[0][:40]!r}"
    return (
        f"update {update.update_id} from user {user.id if user else '-'} "
        f"in chat {chat.id if chat else '-'}{what}"
    )


def conversation() -> ConversationHandler[ZtcContext]:
    """The multi-step flows: a report, and the note an action waits for. One handler, so that
    /cancel ends whichever is under way and starting one abandons the other."""
    return ConversationHandler(
        name="chat",
        persistent=True,
        allow_reentry=True,
        entry_points=[
            CommandHandler(["report", "new"], report.begin),
            CallbackQueryHandler(presses.act, pattern=pattern(CB.ACT)),
            CallbackQueryHandler(presses.transfer_chosen, pattern=pattern(CB.TRANSFER)),
            CallbackQueryHandler(presses.rated, pattern=pattern(CB.RATE)),  # 不满意 asks why
            CommandHandler("progress", progress.begin),
            CallbackQueryHandler(progress.start_for, pattern=pattern(CB.PROGRESS_START)),
            CallbackQueryHandler(
                progress_claims.reject_pressed, pattern=pattern(CB.PROGRESS_REJECT)
            ),  # 驳回 asks why
        ],
        states={
            State.PROJECT: [
                CallbackQueryHandler(report.project_chosen, pattern=pattern(CB.PROJECT)),
                MessageHandler(TEXT, report.project_typed),
            ],
            State.CATEGORY: [
                CallbackQueryHandler(report.category_chosen, pattern=pattern(CB.CATEGORY))
            ],
            State.DESCRIBE: [
                MessageHandler(filters.PHOTO | filters.Document.ALL, report.file_received),
                MessageHandler(TEXT, report.text_received),
            ],
            State.URGENCY: [
                CallbackQueryHandler(report.urgency_chosen, pattern=pattern(CB.URGENCY))
            ],
            State.CONFIRM: [
                CallbackQueryHandler(report.submit, pattern=pattern(CB.SUBMIT)),
                CallbackQueryHandler(report.abort, pattern=pattern(CB.ABORT)),
            ],
            State.NOTE: [MessageHandler(TEXT, presses.note_received)],
            # a progress report (handlers/progress.py), and why a stage claim is rejected
            State.PROGRESS_PROJECT: [
                CallbackQueryHandler(
                    progress.project_chosen, pattern=pattern(CB.PROGRESS_PROJECT)
                ),
                MessageHandler(BUTTONS_ONLY, progress.use_buttons),
            ],
            State.PROGRESS_STAGE: [
                CallbackQueryHandler(progress.stage_chosen, pattern=pattern(CB.PROGRESS_STAGE)),
                MessageHandler(BUTTONS_ONLY, progress.use_buttons),
            ],
            State.PROGRESS_DATE: [
                CallbackQueryHandler(progress.date_today, pattern=pattern(CB.PROGRESS_TODAY)),
                MessageHandler(TEXT, progress.date_typed),
            ],
            State.PROGRESS_AMOUNT: [MessageHandler(TEXT, progress.amount_typed)],
            State.PROGRESS_NOTE: [
                MessageHandler(filters.PHOTO | filters.Document.ALL, progress.note_file),
                MessageHandler(TEXT, progress.note_typed),
                CallbackQueryHandler(progress.note_next, pattern=pattern(CB.PROGRESS_NEXT)),
            ],
            State.PROGRESS_CONFIRM: [
                CallbackQueryHandler(progress.submitted, pattern=pattern(CB.PROGRESS_SUBMIT)),
                MessageHandler(BUTTONS_ONLY, progress.use_buttons),
            ],
            State.PROGRESS_REASON: [MessageHandler(TEXT, progress_claims.reason_typed)],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
    )


def register(app: ZtcApp) -> None:
    """Every handler, in order: the gate (group −1: only private messages and presses go on),
    the conversation (it owns messages mid-flow), then the one-shot commands and buttons, then
    the catch-alls that answer anything left."""
    app.add_handler(TypeHandler(Update, Gate()), group=-1)
    with warnings.catch_warnings():
        # Conversations are keyed by (chat, user), not by message, on purpose: a press in a step
        # belongs to the step whatever message carries it. PTB warns about that choice.
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message")
        app.add_handler(conversation())
    app.add_handlers(
        [
            CommandHandler("start", start.start),
            CommandHandler("help", start.help_command),
            CommandHandler("lang", start.lang),
            CommandHandler("cancel", cancel),
            CommandHandler("my", lists.my),
            CommandHandler("inbox", lists.inbox),
            CommandHandler("stats", lists.stats),
            CallbackQueryHandler(start.lang_chosen, pattern=pattern(CB.LANG)),
            CallbackQueryHandler(presses.card, pattern=pattern(CB.CARD)),
            CallbackQueryHandler(presses.cohandler_chosen, pattern=pattern(CB.COHANDLER)),
            CallbackQueryHandler(lists.page, pattern=pattern(CB.PAGE)),
            CallbackQueryHandler(presses.files, pattern=pattern(CB.FILES)),
            CallbackQueryHandler(
                progress_claims.confirm_pressed, pattern=pattern(CB.PROGRESS_CONFIRM)
            ),
            CallbackQueryHandler(progress_claims.photos, pattern=pattern(CB.PROGRESS_PHOTOS)),
            CallbackQueryHandler(material.picked, pattern=pattern(CB.SUPPLY)),
            CallbackQueryHandler(dead_button),
            # Outside any step: material for an issue that waits for it, else a pointer.
            MessageHandler(MATERIAL, material.unprompted),
            MessageHandler(filters.ALL, nudge),
        ]
    )
    app.add_error_handler(on_error)
