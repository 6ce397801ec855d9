"""What the demo page shows: its strings in the visitor's language, and the sandbox's chats as
JSON — the bot's Telegram HTML made safe to put in a page, files as links the page can fetch."""

from __future__ import annotations

import html
import json
from importlib import resources
from typing import Any

import nh3

from bot.demo.data import DemoPerson
from bot.sandbox.state import ChatLog, Json
from locales import LANGUAGE_NAMES, LOCALES, N_, gettext_for
from locales.labels import label
from models.codes import Role

TEXT_LIMIT = 4096  # Telegram's limit on a message a user sends
UPLOAD_LIMIT = 20 * 1024 * 1024  # what a bot may download from Telegram

# Telegram's HTML: https://core.telegram.org/bots/api#html-style
_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre"}
_TAGS |= {"blockquote", "tg-spoiler", "span", "tg-emoji"}
_ATTRIBUTES = {"a": {"href"}, "span": {"class"}, "code": {"class"}, "blockquote": {"expandable"}}

STRINGS = {
    "title": N_("ztc · demo"),
    "subtitle": N_("Try it in the browser: pick a person and chat with the bot as them"),
    "people": N_("People"),
    "featured": N_("Start here"),
    "all_people": N_("Everyone"),
    "search": N_("Search names and organisations"),
    "pick_person": N_("Pick a person on the left to chat with the bot as them."),
    "start": N_("START"),
    "start_hint": N_("Press START to send /start to the bot"),
    "message": N_("Message"),
    "send": N_("Send"),
    "attach": N_("Attach"),
    "attach_photo": N_("Photo"),
    "attach_document": N_("File"),
    "caption": N_("Caption (optional)"),
    "clock": N_("Demo time"),
    "workday": N_("working day"),
    "day_off": N_("day off"),
    "jump": N_("Jump"),
    "plus_hour": N_("+1 hour"),
    "plus_day": N_("+1 day"),
    "next_workday": N_("Next working day 9:00"),
    "next_bulletin": N_("Next monthly bulletin"),
    "jump_to": N_("Jump to a time"),
    "jumped": N_("The time is now {time}"),
    "language": N_("Language"),
    "download": N_("Download"),
    "edited": N_("edited"),
    "new_messages": N_("{n} new"),
    "bot_name": N_("ztc bot"),
    "you": N_("Me"),
    "error": N_("Something went wrong: {error}"),
    "offline": N_("Lost the connection to the demo server; retrying…"),
    "too_long": N_("The message is too long (at most {limit} characters)"),
    "empty_chat": N_("No messages yet"),
    "answer": N_("The bot says"),
    "ok": N_("OK"),
    "reset_note": N_(
        "The demo keeps everything in memory and in a temporary database; "
        "it is gone when the demo stops."
    ),
}
ERRORS = {
    "no_person": N_("There is no such person in the demo."),
    "read_only": N_("The group only receives the bot's reports: pick a person to chat as them."),
    "empty": N_("Write something first."),
    "too_long": N_("The message is too long (at most {limit} characters)"),
    "too_big": N_("The file is too big (at most 20 MB)."),
    "no_file": N_("Choose a file first."),
    "gone": N_("That message is no longer in the chat."),
    "backwards": N_("The demo's time only moves forward."),
    "too_far": N_("Jump at most 400 days at a time."),
    "bad_time": N_("Not a date and time."),
    "bad_step": N_("Unknown step."),
    "bad_language": N_("Unknown language."),
    "cross_site": N_("The demo only takes requests from its own page."),
    "json_only": N_("This request must be sent as JSON (Content-Type: application/json)."),
}


def strings(locale: str) -> dict[str, str]:
    """The page's strings in a language."""
    _ = gettext_for(locale)
    return {key: _(STRINGS[key]) for key in STRINGS}


def error(key: str, locale: str, **values: Any) -> str:
    """One of the page's error messages in a language."""
    return gettext_for(locale)(ERRORS[key]).format(**values)


def role_label(role: str, locale: str) -> str:
    """How the page names a role."""
    if role == "contact":
        return gettext_for(locale)("enterprise contact")
    return label(Role(role), locale)


def page_html(locale: str) -> str:
    """index.html with the strings and settings the script needs, in the page's language."""
    boot = {
        "lang": locale,
        "languages": [{"code": code, "name": LANGUAGE_NAMES[code]} for code in LOCALES],
        "strings": strings(locale),
        "text_limit": TEXT_LIMIT,
    }
    # A JSON data block, not a script: the page's Content-Security-Policy runs no inline script.
    # `<` is escaped so no string in it can end the element.
    data = json.dumps(boot, ensure_ascii=False).replace("<", "\\u003c")
    block = f'<script type="application/json" id="ztc-boot">{data}</script>'
    page = static_file("index.html").decode("utf-8")
    lang = "zh-CN" if locale == "zh_CN" else locale
    return page.replace("<!--ZTC-BOOT-->", block).replace(
        '<html lang="zh-CN">', f'<html lang="{lang}">'
    )


def static_file(name: str) -> bytes:
    """One of the page's files shipped in bot/demo/static."""
    return resources.files("bot.demo").joinpath("static", name).read_bytes()


def person_json(person: DemoPerson, chat: ChatLog | None, locale: str) -> Json:
    """A person as the page's list shows them."""
    return {
        "id": person.user_id,
        "name": person.name,
        "role": person.role,
        "role_label": role_label(person.role, locale),
        "detail": person.detail,
        "featured": person.featured,
        "bot_messages": len(chat.bot_messages()) if chat else 0,
    }


def chat_json(chat: ChatLog | None, bot_id: int, clock_label: Any) -> Json:
    """A chat's live messages, oldest first, and the reply keyboard under its input field."""
    messages = [] if chat is None else [chat.messages[k] for k in sorted(chat.messages)]
    keyboard = (chat.keyboard or {}).get("keyboard") if chat else None
    return {
        "started": bool(messages),
        "messages": [message_json(m, bot_id, clock_label) for m in messages],
        "keyboard": [[_button_text(b) for b in row] for row in keyboard] if keyboard else None,
    }


def message_json(message: Json, bot_id: int, clock_label: Any) -> Json:
    """One message: who sent it, its text as safe HTML, its file and its buttons."""
    from_bot = message["from"]["id"] == bot_id
    text = message.get("text") if "text" in message else message.get("caption")
    photo = message.get("photo")
    document = message.get("document")
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return {
        "id": message["message_id"],
        "from": "bot" if from_bot else "user",
        "html": safe_html(text or "", message.get("parse_mode") if from_bot else None),
        "time": clock_label(message["date"]),
        "edited": "edit_date" in message,
        "photo": f"/files/{photo[-1]['file_id']}" if photo else None,
        "document": _document(document) if document else None,
        "buttons": [[_inline(button) for button in row] for row in rows],
    }


def safe_html(text: str, parse_mode: str | None) -> str:
    """Telegram HTML kept (and nothing else); any other text escaped. Newlines stay newlines."""
    if (parse_mode or "").upper() != "HTML":
        return html.escape(text, quote=False)
    return nh3.clean(
        text,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "tg", "mailto"},
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )


def _document(document: Json) -> Json:
    size = int(document.get("file_size", 0))
    shown = f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{max(1, size // 1024)} KB"
    return {
        "name": document.get("file_name") or "file",
        "url": f"/files/{document['file_id']}",
        "size": shown,
    }


def _inline(button: Json) -> Json:
    if "callback_data" in button:
        return {"text": button["text"], "data": button["callback_data"]}
    return {"text": button["text"], "url": button.get("url")}


def _button_text(button: Any) -> str:
    return button if isinstance(button, str) else str(button.get("text", ""))
