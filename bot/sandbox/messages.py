"""The Bot API methods that send, edit and delete messages, answer buttons and serve files."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

from bot.sandbox.checks import FloodControl, check_caption, check_markup, check_text
from bot.sandbox.state import ChatLog, Json, SandboxState, StoredFile
from bot.sandbox.wire import (
    Params,
    Upload,
    bad_request,
    get_bool,
    get_int,
    get_str,
)

PHOTO_SIZE = (800, 600)  # the sandbox does not decode images; every photo claims this size
CHAT_ACTIONS = frozenset(
    {"typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice"}
    | {"upload_document", "choose_sticker", "find_location", "record_video_note"}
    | {"upload_video_note"}
)
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)


def photo_sizes(stored: StoredFile) -> list[Json]:
    """A `photo` array for a stored picture (one size: the sandbox makes no thumbnails)."""
    width, height = PHOTO_SIZE
    return [
        {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "width": width,
            "height": height,
        }
    ]


def document_of(stored: StoredFile) -> Json:
    """A `document` object for a stored file."""
    doc: Json = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.data),
    }
    if stored.file_name:
        doc["file_name"] = stored.file_name
    if stored.mime_type:
        doc["mime_type"] = stored.mime_type
    return doc


def inline_markup(markup: Any) -> Json | None:
    """The inline keyboard a message carries; reply keyboards are not part of the message."""
    if isinstance(markup, dict) and markup.get("inline_keyboard"):
        return markup
    return None


class Messaging:
    """sendMessage, sendPhoto, sendDocument, edits, deleteMessage, answerCallbackQuery, files."""

    def __init__(self, state: SandboxState, flood: FloodControl | None) -> None:
        self.state = state
        self.flood = flood

    def table(self) -> dict[str, Callable[[Params], Any]]:
        """The methods this class answers, by their Bot API names."""
        return {
            "sendMessage": self.send_message,
            "sendPhoto": self.send_photo,
            "sendDocument": self.send_document,
            "editMessageText": self.edit_message_text,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message,
            "answerCallbackQuery": self.answer_callback_query,
            "getFile": self.get_file,
            "sendChatAction": self.send_chat_action,
            "getChat": self.get_chat,
        }

    def send_message(self, params: Params) -> Json:
        """Send a text message."""
        log = self._writable_chat(params)
        text, parse_mode = get_str(params, "text"), get_str(params, "parse_mode")
        check_text(text, parse_mode)
        fields: Json = {"text": text}
        if params.get("entities"):
            fields["entities"] = params["entities"]
        return self._send(params, fields, parse_mode, log)

    def send_photo(self, params: Params) -> Json:
        """Send a photo: an upload, or a file_id sent before."""
        return self._send_media(params, "photo", "photos", photo_sizes)

    def send_document(self, params: Params) -> Json:
        """Send a document: an upload, or a file_id sent before."""
        return self._send_media(params, "document", "documents", document_of)

    def _send_media(
        self, params: Params, field: str, folder: str, shape: Callable[[StoredFile], Any]
    ) -> Json:
        log = self._writable_chat(params)  # the chat is checked before the upload is kept
        caption, parse_mode = get_str(params, "caption"), get_str(params, "parse_mode")
        check_caption(caption, parse_mode)
        fields: Json = {field: shape(self._media(params, field, folder))}
        if caption:
            fields["caption"] = caption
        return self._send(params, fields, parse_mode, log)

    def _media(self, params: Params, field: str, folder: str) -> StoredFile:
        value = params.get(field)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        if isinstance(value, Upload):
            return self.state.store_file(value.data, folder, value.file_name, value.mime_type)
        if isinstance(value, str) and value:
            return self.state.file(value, "wrong file identifier/HTTP URL specified")
        raise bad_request(f"there is no {field} in the request")

    def _writable_chat(self, params: Params) -> ChatLog:
        log = self.state.chat_log(params.get("chat_id"))
        self.state.raise_if_blocked(log.chat["id"])
        return log

    def _send(self, params: Params, fields: Json, parse_mode: str | None, log: ChatLog) -> Json:
        markup = params.get("reply_markup")
        check_markup(markup)
        if parse_mode:
            fields["parse_mode"] = parse_mode
        if inline := inline_markup(markup):
            fields["reply_markup"] = inline
        fields.update(self._reply_to(log, params.get("reply_parameters")))
        self._check_flood(log)
        message = self.state.new_message(log, self.state.sender, fields)
        if self.flood:
            self.flood.record(log.chat["id"], time.monotonic())
        if isinstance(markup, dict) and not inline:
            # A reply keyboard stays under the chat's input field until one replaces it.
            log.keyboard = None if markup.get("remove_keyboard") else markup
        return copy.deepcopy(message)

    def _reply_to(self, log: ChatLog, reply: Any) -> Json:
        if not isinstance(reply, dict) or reply.get("message_id") is None:
            return {}
        target = log.messages.get(int(reply["message_id"]))
        if target is None:
            if reply.get("allow_sending_without_reply"):
                return {}
            raise bad_request("message to be replied not found")
        quoted = {k: v for k, v in target.items() if k != "reply_to_message"}
        return {"reply_to_message": copy.deepcopy(quoted)}

    def _check_flood(self, log: ChatLog) -> None:
        if self.flood:
            self.flood.check(log.chat["id"], time.monotonic())

    def edit_message_text(self, params: Params) -> Json:
        """Replace a bot message's text (and its inline keyboard: none given removes it)."""
        log, message = self._editable(params)
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        text, parse_mode = get_str(params, "text"), get_str(params, "parse_mode")
        check_text(text, parse_mode)
        check_markup(params.get("reply_markup"))
        change = {
            "text": text,
            "parse_mode": parse_mode,
            "entities": params.get("entities") or None,
            "reply_markup": inline_markup(params.get("reply_markup")),
        }
        return self._edit(log, message, change)

    def edit_message_reply_markup(self, params: Params) -> Json:
        """Replace a bot message's inline keyboard (none given removes it)."""
        log, message = self._editable(params)
        check_markup(params.get("reply_markup"))
        return self._edit(
            log, message, {"reply_markup": inline_markup(params.get("reply_markup"))}
        )

    def _editable(self, params: Params) -> tuple[ChatLog, Json]:
        if params.get("inline_message_id"):
            raise bad_request("message to edit not found")  # the sandbox has no inline mode
        log = self.state.chat_log(params.get("chat_id"))
        message = self.state.message(
            log, get_int(params, "message_id"), "message to edit not found"
        )
        if message["from"]["id"] != self.state.bot["id"]:
            raise bad_request("message can't be edited")
        return log, message

    def _edit(self, log: ChatLog, message: Json, change: Json) -> Json:
        if all(message.get(key) == value for key, value in change.items()):
            raise bad_request(NOT_MODIFIED)
        for key, value in change.items():
            if value is None:
                message.pop(key, None)
            else:
                message[key] = value
        message["edit_date"] = int(self.state.clock())
        log.edits[message["message_id"]] = log.edits.get(message["message_id"], 0) + 1
        self.state.changed()
        return copy.deepcopy(message)

    def delete_message(self, params: Params) -> bool:
        """Delete a message from its chat."""
        log = self.state.chat_log(params.get("chat_id"))
        message = self.state.message(
            log, get_int(params, "message_id"), "message to delete not found"
        )
        del log.messages[message["message_id"]]
        self.state.changed()
        return True

    def answer_callback_query(self, params: Params) -> bool:
        """Answer a button press, once."""
        query_id = get_str(params, "callback_query_id") or ""
        if query_id not in self.state.open_queries:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        self.state.open_queries.discard(query_id)
        self.state.answers[query_id] = dict(params, show_alert=get_bool(params, "show_alert"))
        self.state.changed()
        return True

    def get_file(self, params: Params) -> Json:
        """A stored file's download path."""
        return self.state.file(get_str(params, "file_id")).as_file()

    def send_chat_action(self, params: Params) -> bool:
        """Show "typing…" and the like: checked, otherwise only recorded in `calls`."""
        self._writable_chat(params)
        if get_str(params, "action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def get_chat(self, params: Params) -> Json:
        """A `ChatFullInfo` for a known chat."""
        chat = copy.deepcopy(self.state.chat_log(params.get("chat_id")).chat)
        gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription")
        chat["accepted_gift_types"] = dict.fromkeys((*gifts, "gifts_from_channels"), False)
        return {**chat, "accent_color_id": 0, "max_reaction_count": 11}
