"""Driving the fake Bot API as its users, injecting faults, and reading what the bot did."""

from __future__ import annotations

import copy
import random
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.sandbox.admin import BotAdmin, scope_key
from bot.sandbox.messages import document_of, photo_sizes
from bot.sandbox.state import ChatLog, Json, SandboxState
from bot.sandbox.wire import Params, default_description

T = TypeVar("T")

# PTB's CommandHandler only sees a command that carries a bot_command entity at offset 0.
_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
# Raw updates whose payload is a message of a chat the bot is in: kept there, so the bot can
# quote it and a later edit replaces it. (A guest_message's chat is one the bot is not in.)
_KEPT_MESSAGES = frozenset(
    {"message", "edited_message", "channel_post", "edited_channel_post"}
    | {"business_message", "edited_business_message"}
)


@dataclass
class Fault:
    """A planned error for the next calls of one method."""

    method: str
    code: int
    description: str
    retry_after: int | None
    times: int
    chat_id: int | None
    hang: float = 0.0  # seconds the call is held, undone, before its error is answered

    def matches(self, method: str, params: Params) -> bool:
        """Whether this fault applies to a call of `method` with `params`."""
        same_chat = self.chat_id is None or str(self.chat_id) == str(params.get("chat_id"))
        return self.method == method.lower() and same_chat


@dataclass(frozen=True)
class Trouble:
    """One kind of failure the calls `fail_randomly` picks meet, named `kind`."""

    kind: str
    code: int
    description: str | None = None
    retry_after: int | None = None
    hang: float = 0.0  # > the client's read timeout: it gives up, nothing was done
    methods: frozenset[str] = frozenset()  # only calls of these (lower case); empty: any


@dataclass
class Chaos:
    """Random failures: a call of a method in `shares` fails with that probability, as the
    next of `troubles` that fits the method (in turn, so every kind comes up); `injected`
    counts them by (method, kind)."""

    rng: random.Random
    shares: dict[str, float]
    troubles: Sequence[Trouble]
    injected: Counter[tuple[str, str]]
    turns: Counter[str] = field(default_factory=Counter)


def command_entities(text: str | None) -> list[Json]:
    """The bot_command entity Telegram attaches to a text starting with /command[@bot]."""
    match = _COMMAND.match(text or "")
    return [{"type": "bot_command", "offset": 0, "length": match.end()}] if match else []


class SandboxDriver:
    """The test's (and demo's) side of the sandbox: users act, faults are planned, results read."""

    state: SandboxState
    _admin: BotAdmin
    _faults: list[Fault]
    _chaos: Chaos | None
    _methods: dict[str, tuple[str, Callable[[Params], Any]]]

    # --- fault injection -------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        code: int,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
        hang: float = 0.0,
    ) -> None:
        """Fail the next `times` calls of `method` (optionally to `chat_id` only) with an error;
        `hang`: hold each such call that many seconds first, doing nothing (a timeout: the
        client gives up when `hang` is longer than its read timeout)."""
        if code == 429 and retry_after is None:
            retry_after = 1  # Telegram never sends a 429 without saying how long to wait
        text = description or default_description(code, retry_after)
        fault = Fault(method.lower(), code, text, retry_after, times, chat_id, hang)
        self._faults.append(fault)

    def fail_randomly(
        self, shares: Mapping[str, float], *, troubles: Sequence[Trouble], seed: int
    ) -> Counter[tuple[str, str]]:
        """From now on fail a random share of the calls of each method in `shares` (seeded),
        each failure the method's next trouble in turn; returns the count of failures injected,
        by (method, kind), which grows as they happen. `calm()` stops it."""
        injected: Counter[tuple[str, str]] = Counter()
        wanted = {method.lower(): share for method, share in shares.items()}
        self._chaos = Chaos(random.Random(seed), wanted, tuple(troubles), injected)
        return injected

    def calm(self) -> None:
        """Stop failing calls at random (`fail_randomly`)."""
        self._chaos = None

    def _fault_for(self, name: str, params: Params) -> Fault | None:
        """The fault this call meets, if any: a planned one first, else a random one."""
        fault = next((f for f in self._faults if f.matches(name, params)), None)
        if fault is not None:
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
            return fault
        chaos, method = self._chaos, name.lower()
        if chaos is None or chaos.rng.random() >= chaos.shares.get(method, 0.0):
            return None
        fitting = [t for t in chaos.troubles if not t.methods or method in t.methods]
        trouble = fitting[chaos.turns[method] % len(fitting)]
        chaos.turns[method] += 1
        chaos.injected[(name, trouble.kind)] += 1
        retry_after = trouble.retry_after if trouble.code != 429 else trouble.retry_after or 1
        text = trouble.description or default_description(trouble.code, retry_after)
        return Fault(name.lower(), trouble.code, text, retry_after, 1, None, trouble.hang)

    def block(self, user_id: int) -> None:
        """The user blocks the bot: sends to their private chat answer 403."""
        self.state.blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        """The user unblocks the bot."""
        self.state.blocked.discard(user_id)

    # --- acting as the users ---------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str = "User",
        language_code: str = "zh-hans",
        username: str | None = None,
    ) -> Json:
        """Create a user (and their private chat, whose id is the user's)."""
        return copy.deepcopy(self.state.add_user(user_id, first_name, language_code, username))

    def add_group(self, chat_id: int, title: str) -> Json:
        """Create a group chat (negative id; -100… makes a supergroup)."""
        return copy.deepcopy(self.state.add_group(chat_id, title).chat)

    def user_says(
        self,
        user_id: int,
        text: str | None = None,
        *,
        photo: bytes | None = None,
        document: tuple[str, bytes, str] | None = None,
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> Json:
        """The user sends a text, photo or document; returns their message as queued."""
        if (text is None) == (photo is None and document is None):
            raise ValueError("a message has either a text or a photo/document")
        chat = self.state.driver_chat(user_id, chat_id)
        fields = self._user_fields(text, photo, document, caption)
        message = self.state.new_message(chat, self.state.users[user_id], fields)
        self.state.push_update("message", message)
        return copy.deepcopy(message)

    def _user_fields(
        self,
        text: str | None,
        photo: bytes | None,
        document: tuple[str, bytes, str] | None,
        caption: str | None,
    ) -> Json:
        fields: Json = {}
        if text is not None:
            fields["text"] = text
            if entities := command_entities(text):
                fields["entities"] = entities
        if photo is not None:
            stored = self.state.store_file(photo, "photos", None, "image/jpeg")
            fields["photo"] = photo_sizes(stored)
        if document is not None:
            name, data, mime = document
            fields["document"] = document_of(self.state.store_file(data, "documents", name, mime))
        if caption is not None:
            fields["caption"] = caption
            if entities := command_entities(caption):
                fields["caption_entities"] = entities
        return fields

    def press(
        self, user_id: int, message_id: int, data: str, *, chat_id: int | None = None
    ) -> str:
        """The user presses a button (any data: tests may forge it); returns the query id."""
        chat = self.state.driver_chat(user_id, chat_id)
        if message_id not in chat.messages:
            raise LookupError(
                f"no message #{message_id} in chat {chat.chat['id']}:\n{chat.describe()}"
            )
        query_id = str(7_000_000_000_000 + self.state.serial())
        self.state.open_queries.add(query_id)
        query = {
            "id": query_id,
            "from": self.state.users[user_id],
            "chat_instance": f"-{abs(chat.chat['id'])}77",
            "message": chat.messages[message_id],
            "data": data,
        }
        self.state.push_update("callback_query", query)
        return query_id

    # --- raw updates: any type Telegram delivers, as a test writes it -----------------------

    def push_update(self, kind: str, payload: Json) -> Json:
        """Queue an update of any type (`kind` names its field: "poll", "chat_boost", …);
        returns the update as queued: `{"update_id": …, kind: payload}`.

        A chat the update names (its `chat`, a pressed message's chat) is created from the
        payload when the bot never met it: the bot can write there, as on Telegram. A message
        (message, channel_post, business_message and their edited versions) is kept in its chat,
        with the chat's next id when it has none; a callback query can be answered once.
        """
        if kind in _KEPT_MESSAGES:
            payload = self.state.keep_message(payload)
        elif kind != "guest_message" and isinstance(payload.get("chat"), dict):
            self.state.adopt_chat(payload["chat"])  # a guest query's chat is not the bot's
        if kind == "callback_query":
            self.state.open_queries.add(payload["id"])
            if isinstance(payload.get("message"), dict):
                self.state.adopt_chat(payload["message"]["chat"])
        return copy.deepcopy(self.state.push_update(kind, payload))

    def stored_photo(self, data: bytes) -> list[Json]:
        """A message's `photo` array for bytes the sandbox now serves under its file_id."""
        return photo_sizes(self.state.store_file(data, "photos", None, "image/jpeg"))

    def stored_document(self, name: str | None, data: bytes, mime: str | None) -> Json:
        """A message's `document` for bytes the sandbox now serves under its file_id."""
        return document_of(self.state.store_file(data, "documents", name, mime))

    def accept(self, *methods: str) -> None:
        """Answer these Bot API methods with `true`: recorded in `calls`, otherwise not modelled
        (answerPreCheckoutQuery, leaveChat, … for a test that lets the bot call them)."""
        for name in methods:
            self._methods[name.lower()] = (name, lambda _params: True)

    # --- reading what the bot did ----------------------------------------------------------

    @property
    def calls(self) -> list[tuple[str, Params]]:
        """Every method call, in order, with its parsed parameters."""
        return self.state.calls

    @property
    def answers(self) -> dict[str, Params]:
        """answerCallbackQuery parameters by callback query id."""
        return self.state.answers

    @property
    def too_many(self) -> int:
        """How many 429 answers were given."""
        return self.state.too_many

    def sent(self, chat_id: int) -> list[Json]:
        """The bot's messages still in the chat, as they read now (after edits)."""
        chat = self.state.chats.get(chat_id)
        return copy.deepcopy(chat.bot_messages()) if chat else []

    def last_sent(self, chat_id: int, count: int) -> list[Json]:
        """The bot's last `count` messages still in the chat (`sent` copies them all)."""
        chat = self.state.chats.get(chat_id)
        return copy.deepcopy(chat.bot_messages()[-count:]) if chat else []

    def outbox(self, chat_id: int) -> list[Json]:
        """Every message the bot sent to the chat, deleted ones too, as they read now."""
        chat = self.state.chats.get(chat_id)
        return copy.deepcopy(chat.outbox) if chat else []

    def sent_count(self, chat_id: int) -> int:
        """How many messages the bot has sent to the chat (deleted ones too); cheap to poll."""
        chat = self.state.chats.get(chat_id)
        return len(chat.outbox) if chat else 0

    def chat_types(self) -> dict[int, str]:
        """Every chat the sandbox knows, by id: private, group, supergroup or channel."""
        return {chat_id: log.chat.get("type", "") for chat_id, log in self.state.chats.items()}

    def delivered_of(self, method: str) -> list[Params]:
        """The parameters of every call of `method` that succeeded, in order."""
        wanted = method.lower()
        return [params for name, params in self.state.succeeded if name.lower() == wanted]

    def calls_of(self, method: str) -> list[Params]:
        """The parameters of every call of `method` so far, in order (failed ones too)."""
        wanted = method.lower()
        return [params for name, params in self.state.calls if name.lower() == wanted]

    @property
    def pending_updates(self) -> int:
        """How many queued updates getUpdates has not confirmed yet."""
        return len(self.state.updates)

    def reply_keyboard(self, chat_id: int) -> Json | None:
        """The reply keyboard the bot last put under the chat's input field, if any."""
        chat = self.state.chats.get(chat_id)
        return copy.deepcopy(chat.keyboard) if chat else None

    def edit_count(self, chat_id: int, message_id: int) -> int:
        """How many times the bot edited a message."""
        chat = self.state.chats.get(chat_id)
        return chat.edits.get(message_id, 0) if chat else 0

    # The waits below take a `timeout` (ASYNC109) on purpose: a test reads better with
    # `await api.next_message(chat, timeout=2)` than wrapped in `asyncio.timeout` blocks.
    async def next_message(self, chat_id: int, timeout: float = 10.0) -> Json:  # noqa: ASYNC109
        """The next message the bot sent to the chat that this method has not returned yet."""

        def probe() -> Json | None:
            chat = self.state.chats.get(chat_id)
            if chat is None or chat.cursor >= len(chat.outbox):
                return None
            chat.cursor += 1
            return copy.deepcopy(chat.outbox[chat.cursor - 1])

        return await self._wait(probe, timeout, f"a new bot message in chat {chat_id}", chat_id)

    async def wait_edit(
        self,
        chat_id: int,
        message_id: int,
        edits_seen: int,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> Json:
        """Wait until the message was edited more than `edits_seen` times; returns it."""

        def probe() -> Json | None:
            chat = self.state.chats.get(chat_id)
            if chat is None or chat.edits.get(message_id, 0) <= edits_seen:
                return None
            return copy.deepcopy(next(m for m in chat.outbox if m["message_id"] == message_id))

        what = f"edit #{edits_seen + 1} of message #{message_id} in chat {chat_id}"
        return await self._wait(probe, timeout, what, chat_id)

    async def wait_answer(self, callback_id: str, timeout: float = 10.0) -> Params:  # noqa: ASYNC109
        """Wait until the bot answers the callback query; returns the answer's parameters."""
        return await self._wait(
            lambda: self.state.answers.get(callback_id), timeout, f"answer to {callback_id}"
        )

    async def wait_call(
        self,
        method: str,
        since: int = 0,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> Params:
        """Wait for a call of `method` at index `since` or later in `calls`; its parameters."""

        def probe() -> Params | None:
            wanted = method.lower()
            found = [p for name, p in self.state.calls[since:] if name.lower() == wanted]
            return found[0] if found else None

        return await self._wait(probe, timeout, f"a {method} call")

    async def _wait(
        self,
        probe: Callable[[], T | None],
        timeout: float,  # noqa: ASYNC109
        what: str,
        chat_id: int | None = None,
    ) -> T:
        try:
            return await self.state.wait_for(probe, timeout)
        except TimeoutError:
            raise TimeoutError(self._report(what, timeout, chat_id)) from None

    def _report(self, what: str, timeout: float, chat_id: int | None) -> str:
        chat: ChatLog | None = self.state.chats.get(chat_id) if chat_id is not None else None
        held = chat.describe() if chat else "  (no such chat)"
        recent = "\n".join(f"  {name} {params}" for name, params in self.state.calls[-5:])
        return (
            f"waited {timeout}s for {what} in vain.\n"
            + (f"The bot's messages there:\n{held}\n" if chat_id is not None else "")
            + f"Last calls:\n{recent or '  (none)'}"
        )

    def commands(self, scope: Json | None = None, language_code: str = "") -> list[Json]:
        """The commands set for exactly this scope (default scope when None) and language."""
        return copy.deepcopy(self._admin.commands.get((scope_key(scope), language_code), []))

    @staticmethod
    def buttons(message: Json) -> list[tuple[str, str | None]]:
        """A message's inline keyboard flattened to (text, callback_data) pairs."""
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        return [(button["text"], button.get("callback_data")) for row in rows for button in row]
