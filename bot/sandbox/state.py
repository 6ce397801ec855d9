"""The fake Bot API's memory: users, chats and their messages, files, updates, and waiting."""

from __future__ import annotations

import asyncio
import copy
import mimetypes
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.sandbox.wire import ApiError, Params, bad_request

T = TypeVar("T")
Json = dict[str, Any]


@dataclass
class StoredFile:
    """Bytes someone uploaded, downloadable under `file_path`."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    file_name: str | None = None
    mime_type: str | None = None

    def as_file(self) -> Json:
        """Telegram's `File` object, as getFile answers."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


@dataclass
class ChatLog:
    """One chat: its live messages, the bot's messages in sending order, edit counts."""

    chat: Json
    messages: dict[int, Json] = field(default_factory=dict)
    outbox: list[Json] = field(default_factory=list)
    edits: dict[int, int] = field(default_factory=dict)
    keyboard: Json | None = None
    next_id: int = 1
    cursor: int = 0

    def bot_messages(self) -> list[Json]:
        """The bot's messages still in the chat, as they now read."""
        return [m for m in self.outbox if m["message_id"] in self.messages]

    def describe(self) -> str:
        """A short listing of the chat, for timeout messages."""
        lines = [
            f"  #{m['message_id']} (edits: {self.edits.get(m['message_id'], 0)}) "
            f"{(m.get('text') or m.get('caption') or '<media>')[:80]!r}"
            for m in self.outbox
        ]
        return "\n".join(lines) or "  (the bot has sent nothing here)"


class SandboxState:
    """Everything the fake server knows, plus a change signal its waiters sleep on."""

    def __init__(self, token: str, username: str, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock  # seconds since the epoch for message dates (the demo moves it)
        self.version = 0  # counts changes, so a page can ask "anything since N?"
        self.bot: Json = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": "ztc",
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        # Messages name their sender without getMe's capability flags, as Telegram does.
        self.sender: Json = {k: self.bot[k] for k in ("id", "is_bot", "first_name", "username")}
        self.users: dict[int, Json] = {}
        self.chats: dict[int, ChatLog] = {}
        self.files: dict[str, StoredFile] = {}
        self.updates: list[Json] = []
        self.calls: list[tuple[str, Params]] = []
        self.succeeded: list[tuple[str, Params]] = []  # the calls answered ok, in order
        self.open_queries: set[str] = set()
        self.answers: dict[str, Params] = {}
        self.blocked: set[int] = set()
        self.webhook: Json | None = None
        self.too_many = 0
        self.closing = False
        self._serial = 0
        self._next_update = 1
        # Waiters grab the current event and sleep on it; a change sets it and starts a fresh one,
        # so synchronous drivers (user_says) can wake async waiters without holding a lock.
        self._changed = asyncio.Event()

    def changed(self) -> None:
        """Wake everyone waiting for something to happen."""
        self.version += 1
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for(
        self,
        probe: Callable[[], T | None],
        timeout: float | None,  # noqa: ASYNC109 (None waits for ever)
    ) -> T:
        """Wait until `probe()` is not None and return it; TimeoutError after `timeout` s."""
        async with asyncio.timeout(timeout):
            while (found := probe()) is None:
                await self._changed.wait()
            return found

    def serial(self) -> int:
        """A fresh number for ids of files and callback queries."""
        self._serial += 1
        return self._serial

    def add_user(
        self, user_id: int, first_name: str, language_code: str | None, username: str | None
    ) -> Json:
        """Create (or replace) a user and their private chat."""
        user: Json = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self.users[user_id] = user
        chat = {"id": user_id, "type": "private", "first_name": first_name}
        if username:
            chat["username"] = username
        log = self.chats.setdefault(user_id, ChatLog(chat))
        log.chat = chat
        return user

    def user(self, user_id: int) -> Json:
        """A user, created with defaults on first use."""
        if user_id not in self.users:
            self.add_user(user_id, "User", "zh-hans", None)
        return self.users[user_id]

    def add_group(self, chat_id: int, title: str) -> ChatLog:
        """Create a group; ids like -100… are supergroups, as Telegram numbers them."""
        if chat_id >= 0:
            raise ValueError(f"group chat ids are negative, got {chat_id}")
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        log = self.chats.setdefault(chat_id, ChatLog({}))
        log.chat = {"id": chat_id, "type": kind, "title": title}
        return log

    def chat_log(self, chat_id: Any) -> ChatLog:
        """The chat a method names; 400 "chat not found" for one the bot never met."""
        try:
            log = self.chats.get(int(chat_id))
        except (TypeError, ValueError):
            log = None  # "@channelname": the sandbox has no public channels
        if log is None:
            raise bad_request("chat not found")
        return log

    def driver_chat(self, user_id: int, chat_id: int | None) -> ChatLog:
        """The chat a simulated user writes in, created on first use."""
        self.user(user_id)
        if chat_id is None or chat_id == user_id:
            return self.chats[user_id]
        return self.chats.get(chat_id) or self.add_group(chat_id, f"Group {chat_id}")

    def new_message(self, log: ChatLog, sender: Json, fields: Json) -> Json:
        """Store a message in the chat; user and bot messages share one id sequence."""
        message = {
            "message_id": log.next_id,
            "from": copy.deepcopy(sender),
            "chat": copy.deepcopy(log.chat),
            "date": int(self.clock()),
            **fields,
        }
        log.next_id += 1
        log.messages[message["message_id"]] = message
        if sender["id"] == self.bot["id"]:
            log.outbox.append(message)
        self.changed()
        return message

    def message(self, log: ChatLog, message_id: int | None, missing: str) -> Json:
        """A live message in the chat; `missing` is Telegram's complaint when it is gone."""
        if message_id is None or message_id not in log.messages:
            raise bad_request(missing)
        return log.messages[message_id]

    def store_file(self, data: bytes, kind: str, name: str | None, mime: str | None) -> StoredFile:
        """Keep uploaded bytes under a fresh file_id and a downloadable path."""
        n = self.serial()
        ext = (name and "." in name and "." + name.rsplit(".", 1)[1]) or ".jpg"
        prefix = {"photos": "AgAC", "documents": "BQAC"}.get(kind, "CQAC")
        stored = StoredFile(
            file_id=f"{prefix}{n:08d}sandbox",
            file_unique_id=f"AQAD{n:08d}",
            file_path=f"{kind}/file_{n}{ext}",
            data=data,
            file_name=name,
            mime_type=mime or (name and mimetypes.guess_type(name)[0]),
        )
        self.files[stored.file_id] = stored
        return stored

    def file(self, file_id: str | None, complaint: str = "invalid file_id") -> StoredFile:
        """An uploaded file by id; 400 with `complaint` when unknown."""
        if file_id is None or file_id not in self.files:
            raise bad_request(complaint)
        return self.files[file_id]

    def file_by_path(self, path: str) -> StoredFile | None:
        """The file a download URL names."""
        return next((f for f in self.files.values() if f.file_path == path), None)

    def push_update(self, kind: str, payload: Json) -> Json:
        """Queue an update for getUpdates or the webhook."""
        update = {"update_id": self._next_update, kind: copy.deepcopy(payload)}
        self._next_update += 1
        self.updates.append(update)
        self.changed()
        return update

    def adopt_chat(self, chat: Json) -> ChatLog:
        """The log of a chat a raw update names; created from the update's chat when new."""
        log = self.chats.get(chat["id"])
        if log is None:
            log = self.chats[chat["id"]] = ChatLog(copy.deepcopy(chat))
        return log

    def keep_message(self, message: Json) -> Json:
        """Store a message a raw update carries, so the bot can quote, edit or press on it.

        Without a `message_id` it gets the chat's next one (user and bot messages share one
        sequence); with one (an edited version) it replaces the stored message.
        """
        log = self.adopt_chat(message["chat"])
        message = {"message_id": log.next_id, "date": int(self.clock()), **message}
        log.next_id = max(log.next_id, message["message_id"] + 1)
        stored = log.messages.get(message["message_id"])
        if stored is None or stored.get("from", {}).get("id") != self.bot["id"]:
            log.messages[message["message_id"]] = copy.deepcopy(message)
        return message

    def confirm(self, offset: int | None) -> None:
        """Drop the updates getUpdates' offset confirms: lower ids, or all but the last -offset."""
        if offset is not None and offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        elif offset is not None and offset < 0:
            self.updates = self.updates[offset:]

    def raise_if_blocked(self, chat_id: int) -> None:
        """403 for a private chat whose user blocked the bot."""
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
