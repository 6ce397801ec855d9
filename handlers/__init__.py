"""Telegram-facing code only. `register(app)` adds every handler in one readable block."""

from __future__ import annotations

import logging
import warnings
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.runtime import ZtcContext
from handlers import lists, presses, report, start
from handlers.callbacks import CB, State, pattern
from handlers.common import load_turn, refusal_text

log = logging.getLogger(__name__)
TEXT = filters.TEXT & ~filters.COMMAND


async def cancel(update: Update, context: ZtcContext) -> int:
    """/cancel: drop whatever step is under way."""
    turn = await load_turn(update, context)
    if context.user_data is not None:
        had = bool(context.user_data.pop("report", None) or context.user_data.pop("pending", None))
    else:
        had = False
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        turn._("Cancelled.") if had else turn._("There is nothing to cancel.")
    )
    return ConversationHandler.END


async def nudge(update: Update, context: ZtcContext) -> None:
    """A message that fits no step: say what to do (strangers get the refusal)."""
    turn = await load_turn(update, context)
    assert update.effective_message is not None
    if turn.person is None:
        await update.effective_message.reply_text(refusal_text())
        return
    await update.effective_message.reply_text(turn._("Please use the buttons above or /help."))


async def dead_button(update: Update, context: ZtcContext) -> None:
    """A button from a finished step: answer it so the phone stops spinning."""
    turn = await load_turn(update, context)
    assert update.callback_query is not None
    await update.callback_query.answer(turn._("This button is no longer active."))


async def on_error(update: object, context: ZtcContext) -> None:
    """Log with context first; then tell the person something went wrong, without details."""
    log.error("error while handling %r", update, exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None:
        turn = await load_turn(update, context)
        await update.effective_message.reply_text(
            turn._("Sorry, something went wrong. Nothing was lost; please try again.")
        )


def conversation() -> ConversationHandler[Any]:
    """The multi-step flows: a report, and the note an action waits for. One handler, so that
    /cancel ends whichever is under way and starting one abandons the other."""
    return ConversationHandler(
        name="chat",
        persistent=True,
        allow_reentry=True,
        entry_points=[
            CommandHandler(["report", "new"], report.begin),
            CallbackQueryHandler(presses.act, pattern=pattern(CB.ACT)),
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
        },
        fallbacks=[CommandHandler("cancel", cancel)],
    )


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Every handler, in order: the conversation first (it owns messages mid-flow), then the
    one-shot commands and buttons, then the catch-alls that answer anything left."""
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
            CommandHandler("progress", lists.progress),
            CommandHandler("stats", lists.stats),
            CallbackQueryHandler(start.lang_chosen, pattern=pattern(CB.LANG)),
            CallbackQueryHandler(presses.card, pattern=pattern(CB.CARD)),
            CallbackQueryHandler(presses.cohandler_chosen, pattern=pattern(CB.COHANDLER)),
            CallbackQueryHandler(presses.rated, pattern=pattern(CB.RATE)),
            CallbackQueryHandler(lists.page, pattern=pattern(CB.PAGE)),
            CallbackQueryHandler(presses.files, pattern=pattern(CB.FILES)),
            CallbackQueryHandler(dead_button),
            MessageHandler(filters.ALL, nudge),
        ]
    )
    app.add_error_handler(on_error)  # type: ignore[arg-type]
