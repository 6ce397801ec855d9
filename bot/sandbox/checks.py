"""Telegram's validations that catch real bugs: HTML markup, lengths, buttons, flood limits."""

from __future__ import annotations

import math
import re
from collections import deque
from typing import Any

from bot.sandbox.wire import ApiError, bad_request, too_many_requests

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64

ALLOWED_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre"}
    | {"tg-spoiler", "span", "blockquote"}
)
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_MARKUP = re.compile(
    r"<(?P<close>/?)(?P<tag>[A-Za-z][\w-]*)(?P<attrs>[^<>]*)>"
    r"|&(?P<entity>#[0-9]+|#x[0-9A-Fa-f]+|[A-Za-z]+);"
    r"|(?P<bare>[<&])"
)
# A button must do something; one holding only a text is refused in an inline keyboard.
_BUTTON_ACTIONS = frozenset(
    {"url", "callback_data", "web_app", "login_url", "switch_inline_query", "pay"}
    | {"switch_inline_query_current_chat", "switch_inline_query_chosen_chat"}
    | {"copy_text", "callback_game"}
)


def _cant_parse(detail: str) -> ApiError:
    return bad_request(f"can't parse entities: {detail}")


def html_plain_text(text: str) -> str:
    """The text a reader sees once Telegram parses its HTML; raises what Telegram refuses."""
    parts: list[str] = []
    stack: list[str] = []
    pos = 0
    for match in _MARKUP.finditer(text):
        parts.append(text[pos : match.start()])
        pos = match.end()
        at = len(text[: match.start()].encode())  # Telegram reports UTF-8 byte offsets
        if match["tag"]:
            _follow_tag(match, stack, at)
        elif match["entity"]:
            parts.append(_entity(match["entity"], at))
        else:
            raise _bare(text, match.start(), at)
    parts.append(text[pos:])
    if stack:
        raise _cant_parse(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(parts)


def _follow_tag(match: re.Match[str], stack: list[str], at: int) -> None:
    name = match["tag"].lower()
    if match["close"]:
        if not stack:
            raise _cant_parse(f'Unexpected end tag "{name}" at byte offset {at}')
        if stack[-1] != name:
            raise _cant_parse(
                f'Unmatched end tag at byte offset {at}, expected "</{stack[-1]}>", '
                f'found "</{name}>"'
            )
        stack.pop()
        return
    if name not in ALLOWED_TAGS:
        raise _cant_parse(f'Unsupported start tag "{name}" at byte offset {at}')
    if name == "span" and "tg-spoiler" not in match["attrs"]:
        raise _cant_parse(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
    stack.append(name)


def _entity(name: str, at: int) -> str:
    if not name.startswith("#"):
        if name not in _NAMED_ENTITIES:
            raise _cant_parse(f'Unsupported HTML entity "&{name};" at byte offset {at}')
        return _NAMED_ENTITIES[name]
    code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
    if code > 0x10FFFF:
        raise _cant_parse(f"Invalid character entity at byte offset {at}")
    return chr(code)


def _bare(text: str, index: int, at: int) -> ApiError:
    if text[index] == "&":
        return _cant_parse(f'Character "&" must be written as "&amp;" at byte offset {at}')
    if text[index + 1 : index + 2].isalpha():
        return _cant_parse(f"Unclosed start tag at byte offset {at}")
    return _cant_parse(f'Unsupported start tag "" at byte offset {at}')


def visible_text(text: str, parse_mode: str | None) -> str:
    """The text as shown, for counting; only HTML is parsed (Markdown counts as written)."""
    return html_plain_text(text) if (parse_mode or "").upper() == "HTML" else text


def check_text(text: str | None, parse_mode: str | None) -> None:
    """Refuse an empty or too long message text, or HTML Telegram cannot parse."""
    shown = visible_text(text or "", parse_mode)
    if not shown.strip():
        raise bad_request("message text is empty")
    if len(shown) > TEXT_LIMIT:
        raise bad_request("message is too long")


def check_caption(caption: str | None, parse_mode: str | None) -> None:
    """Refuse a caption Telegram cannot parse or one over 1024 characters."""
    if caption and len(visible_text(caption, parse_mode)) > CAPTION_LIMIT:
        raise bad_request("message caption is too long")


def check_markup(markup: Any) -> None:
    """Refuse a malformed inline keyboard and callback data outside 1-64 bytes."""
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return  # a reply keyboard, ForceReply or ReplyKeyboardRemove
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request("can't parse inline keyboard markup: field must be an array of arrays")
    for button in (button for row in rows for button in row):
        _check_button(button)


def _check_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request('can\'t parse inline keyboard button: Field "text" must be a string')
    if not _BUTTON_ACTIONS & button.keys():
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    data = button.get("callback_data")
    if data is not None and not 1 <= len(str(data).encode()) <= CALLBACK_DATA_LIMIT:
        raise bad_request("BUTTON_DATA_INVALID")


class FloodControl:
    """Telegram's sending limits: 1/s per private chat, 20/min per group, 30/s overall."""

    def __init__(self) -> None:
        self._chats: dict[int, deque[float]] = {}
        self._all: deque[float] = deque()

    def check(self, chat_id: int, now: float) -> None:
        """Raise 429 when one more message to `chat_id` now would break a limit."""
        limit, span = (1, 1.0) if chat_id > 0 else (20, 60.0)
        waits = [
            _wait(self._chats.get(chat_id, deque()), limit, span, now),
            _wait(self._all, 30, 1.0, now),
        ]
        if (longest := max(waits)) > 0:
            raise too_many_requests(max(1, math.ceil(longest)))

    def record(self, chat_id: int, now: float) -> None:
        """Count a message that was sent."""
        self._chats.setdefault(chat_id, deque()).append(now)
        self._all.append(now)


def _wait(sent: deque[float], limit: int, span: float, now: float) -> float:
    """Seconds until one more message fits into the rolling window (0 when it fits now)."""
    while sent and sent[0] <= now - span:
        sent.popleft()
    if len(sent) < limit:
        return 0.0
    return sent[len(sent) - limit] + span - now
