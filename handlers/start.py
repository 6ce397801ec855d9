"""/start with an invite, /help, /lang, and the command menus that differ by who is asking."""

from __future__ import annotations

import logging

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import TelegramError

from handlers.callbacks import CB, pack, unpack
from handlers.common import (
    Turn,
    client_locale,
    load_turn,
    redraw,
    refusal_text,
    refuse_press,
    reply,
    speaker,
)
from handlers.context import ZtcContext
from locales import LANGUAGE_NAMES, LOCALES, N_, gettext_for
from locales.formats import error_text
from models.errors import DomainError
from models.identity import redeem_invite

log = logging.getLogger(__name__)

COMMANDS = {
    "contact": {
        "report": N_("Report a problem"),
        "my": N_("My issues"),
        "progress": N_("Report project progress"),
        "lang": N_("Language"),
        "help": N_("Help"),
        "cancel": N_("Cancel the current step"),
    },
    "official": {
        "inbox": N_("Issues assigned to me"),
        "new": N_("Log a problem received by phone"),
        "stats": N_("Figures of my scope"),
        "progress": N_("Stage claims to confirm"),
        "lang": N_("Language"),
        "help": N_("Help"),
        "cancel": N_("Cancel the current step"),
    },
    "stranger": {"start": N_("Start with your invitation"), "lang": N_("Language")},
}
TOKEN_MAX = 64  # Telegram's deep-link payloads are at most 64 characters


def commands_for(kind: str | None, locale: str) -> list[BotCommand]:
    """The command menu of a contact, an official or a stranger, in a language."""
    _ = gettext_for(locale)
    group = kind or "stranger"
    return [BotCommand(name, _(COMMANDS[group][name])) for name in COMMANDS[group]]


async def set_menu(turn: Turn, context: ZtcContext) -> None:
    """Give this chat the menu of the person's role, in their language."""
    try:
        await context.bot.set_my_commands(
            commands_for(turn.kind, turn.locale), scope=BotCommandScopeChat(turn.chat_id)
        )
    except TelegramError:  # a menu is a convenience: never fail the binding over it
        log.warning("could not set the command menu of chat %s", turn.chat_id, exc_info=True)


@speaker(strangers=True)
async def start(update: Update, context: ZtcContext, turn: Turn) -> None:
    """Bind the account by an invite token, or greet a known person."""
    token = context.args[0][:TOKEN_MAX] if context.args else None
    if token:
        user = update.effective_user
        assert user is not None
        try:
            await redeem_invite(
                session=turn.session,
                token=token,
                telegram_user_id=user.id,
                chat_id=turn.chat_id,
                locale=client_locale(user.language_code),
                now=turn.rt.now(),
            )
            await turn.commit()
        except DomainError as exc:
            await turn.session.rollback()
            # never the token: a guessed one may be a real one's neighbour
            log.info("invite refused for user %s: %s", user.id, exc.params.get("reason"))
            await reply(update, context, error_text(exc, turn.locale))
            return
        turn = await load_turn(update, context, turn.session, fresh=True)
        context.rt.wake_dispatcher()  # notices held for this person can go now
    await greet(update, context, turn)


async def greet(update: Update, context: ZtcContext, turn: Turn) -> None:
    """Welcome a known person with what they can do; refuse a stranger."""
    if turn.person is None:
        log.info("refused /start without an invite to user %s", turn.user_id)
        await reply(update, context, refusal_text())
        return
    await set_menu(turn, context)
    await reply(update, context, help_text(turn))


def help_text(turn: Turn) -> str:
    """What the person can do, one command a line."""
    assert turn.person is not None
    lines = [turn._("Hello, {name}.").format(name=turn.person.name), ""]
    lines += [f"/{c.command} — {c.description}" for c in commands_for(turn.kind, turn.locale)]
    return "\n".join(lines)


@speaker()
async def help_command(update: Update, context: ZtcContext, turn: Turn) -> None:
    """List the commands of the person's role."""
    await reply(update, context, help_text(turn))


@speaker(strangers=True)
async def lang(update: Update, context: ZtcContext, turn: Turn) -> None:
    """Offer the languages we speak."""
    buttons = [
        InlineKeyboardButton(name, callback_data=pack(CB.LANG, code))
        for code, name in LANGUAGE_NAMES.items()
    ]
    await reply(
        update,
        context,
        turn._("Choose your language:"),
        reply_markup=InlineKeyboardMarkup([buttons]),
    )


@speaker(strangers=True)
async def lang_chosen(update: Update, context: ZtcContext, turn: Turn) -> None:
    """Keep the chosen language (for a stranger, in the conversation's own data)."""
    query = update.callback_query
    assert query is not None
    choice = (unpack(query.data) or [""])[0]
    if choice not in LOCALES:
        await refuse_press(update, turn, "malformed language press")
        return
    if turn.person is not None:
        turn.person.locale = choice
        await turn.commit()
    if context.user_data is not None:
        context.user_data["locale"] = choice
    turn.locale = choice
    await query.answer()
    await redraw(
        update,
        context,
        turn._("Language set: {language}.").format(language=LANGUAGE_NAMES[choice]),
    )
    if turn.person is not None:
        await set_menu(turn, context)
