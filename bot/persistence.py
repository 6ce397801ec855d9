"""PTB persistence in our database: user, chat and bot data and conversation states as JSON."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from telegram.ext import BasePersistence, PersistenceInput

from models.db import session_scope, upsert_into
from models.tables.infra import ChatState

_LOG = logging.getLogger("ztc.persistence")

USER = "user"
CHAT = "chat"
BOT = "bot"
CONVERSATION = "conversation:"
_KIND_LENGTH = 32  # ChatState.kind's column width
_GONE = ""  # in the written-cache: no row (never a JSON text)

# PTB's own aliases live in a private module (telegram.ext._utils.types); these are the same.
Data = dict[Any, Any]
ConversationKey = tuple[int | str, ...]
ConversationDict = dict[ConversationKey, object]
CDCData = tuple[list[tuple[str, float, dict[str, Any]]], dict[str, str]]


def not_json(value: object, path: str = "data") -> str | None:
    """Where and why `value` would not come back the same from JSON; None if it would."""
    if value is None or isinstance(value, str | bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{path}: {value} is not JSON"
    if isinstance(value, list):
        children = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
    elif isinstance(value, dict):
        children = []
        for k, v in value.items():
            if not isinstance(k, str):
                # json.dumps would silently turn 42 into "42": another key after a restart.
                return f"{path}: key {k!r} is {type(k).__name__}, not str"
            children.append((f"{path}[{k!r}]", v))
    else:
        # Tuples, sets, datetimes, ORM objects: back as lists, or not at all. (No value in the
        # message: user data may hold what people typed.)
        return f"{path}: {type(value).__name__} is not JSON"
    for where, child in children:
        if (problem := not_json(child, where)) is not None:
            return problem
    return None


def conversation_key(key: ConversationKey) -> str:
    """A conversation key as the row's key: compact JSON of its list."""
    return json.dumps(list(key), separators=(",", ":"), ensure_ascii=False)


def _canonical(data: object) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


class DbPersistence(BasePersistence[Data, Data, Data]):
    """`BasePersistence` over the `ChatState` table (callback data is not stored).

    PTB keeps user/chat/bot data and conversation states in memory and hands them to the
    persistence only every `update_interval` seconds (PTB's default: 60) and at shutdown. A
    half-finished /report must survive a crash, so the default here is 1 s: at most about a
    second of input is lost. Conversation states ride the same interval — PTB does not write
    them as they change.

    Values must be JSON with string keys; one that is not is logged with its path and that one
    write is skipped (the bot keeps running on the in-memory value). Unchanged data is not
    written again, so the interval costs nothing when nobody is typing.
    """

    __slots__ = ("_engine", "_lock", "_written", "turns_only")

    def __init__(self, engine: AsyncEngine, *, update_interval: float = 1.0) -> None:
        """Persist through `engine`, handing data over every `update_interval` seconds."""
        super().__init__(
            store_data=PersistenceInput(callback_data=False), update_interval=update_interval
        )
        self._engine = engine
        # PTB gathers one coroutine per changed user/chat; taking them one at a time keeps
        # SQLite from "database is locked" and a busy tick from draining the connection pool.
        self._lock = asyncio.Lock()
        self._written: dict[tuple[str, str], str] = {}  # what the table holds, as JSON text
        # A fleet's process (bot/turns.py) writes a chat's state at the end of its turn, under
        # the chat's lock; PTB's own writes (every interval, at shutdown) are then ignored: they
        # hand over a copy taken earlier, which could overwrite what another process wrote since.
        self.turns_only = False

    async def _load(self, kind: str) -> dict[str, Any]:
        async with session_scope(self._engine) as session:
            rows = (await session.exec(select(ChatState).where(col(ChatState.kind) == kind))).all()
        for row in rows:
            self._written[(kind, row.key)] = _canonical(row.data)
        return {row.key: row.data for row in rows}

    async def read(self, rows: list[tuple[str, str]]) -> dict[tuple[str, str], Any]:
        """The stored data of these (kind, key) rows, in one query (a row not stored: absent).

        For a fleet's turn (bot/turns.py): what it reads is what this process holds from now
        on, so a write of the same data later is skipped as unchanged and a different one is
        made, whoever wrote the row last.
        """
        query = select(ChatState).where(tuple_(col(ChatState.kind), col(ChatState.key)).in_(rows))
        async with session_scope(self._engine) as session:
            found = {(row.kind, row.key): row.data for row in (await session.exec(query)).all()}
        for row in rows:
            self._written[row] = _canonical(found[row]) if row in found else _GONE
        return found

    async def _put(self, kind: str, key: str, data: object) -> None:
        problem = not_json(data)
        if problem is not None:
            _LOG.error("not persisted: %s %r, %s", kind, key, problem)
            return
        text = _canonical(data)
        if self._written.get((kind, key)) == text:
            return
        values = {"kind": kind, "key": key, "data": data, "updated_at": datetime.now(UTC)}
        upsert = upsert_into(self._engine, ChatState).values(values)
        upsert = upsert.on_conflict_do_update(
            index_elements=["kind", "key"],
            set_={"data": upsert.excluded.data, "updated_at": upsert.excluded.updated_at},
        )
        async with self._lock, self._engine.begin() as connection:  # one statement, either way
            await connection.execute(upsert)
        self._written[(kind, key)] = text  # only once committed

    async def _drop(self, kind: str, key: str) -> None:
        async with self._lock, session_scope(self._engine) as session:
            await session.exec(
                delete(ChatState).where(col(ChatState.kind) == kind, col(ChatState.key) == key)
            )
        self._written[(kind, key)] = _GONE

    async def _put_or_drop(self, kind: str, key: str, data: Data) -> None:
        # An empty dict is what PTB creates on first access anyway: no row needed for it (and
        # PTB reports every user who sent anything, so skip deleting what is known to be gone).
        if data:
            await self._put(kind, key, data)
        elif self._written.get((kind, key)) != _GONE:
            await self._drop(kind, key)

    # Loading, once at Application.initialize().

    async def get_user_data(self) -> dict[int, Data]:
        """Every stored user's user_data, by user id."""
        return {int(key): data for key, data in (await self._load(USER)).items()}

    async def get_chat_data(self) -> dict[int, Data]:
        """Every stored chat's chat_data, by chat id."""
        return {int(key): data for key, data in (await self._load(CHAT)).items()}

    async def get_bot_data(self) -> Data:
        """The stored bot_data, or an empty dict."""
        stored = (await self._load(BOT)).get("")
        return stored if isinstance(stored, dict) else {}

    async def get_callback_data(self) -> CDCData | None:
        """Callback data is not stored."""
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        """The stored states of the persistent ConversationHandler `name`, by key tuple."""
        stored = await self._load(_conversation_kind(name))
        return {tuple(json.loads(key)): state for key, state in stored.items()}

    # Writing, every update_interval and at shutdown (data arrives deep-copied by PTB).

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        """Store a conversation's state; None (the conversation ended) deletes it."""
        if not self.turns_only:
            await self.put_conversation(name, key, new_state)

    async def update_user_data(self, user_id: int, data: Data) -> None:
        """Store one user's user_data."""
        if not self.turns_only:
            await self.put_user_data(user_id, data)

    async def update_chat_data(self, chat_id: int, data: Data) -> None:
        """Store one chat's chat_data."""
        if not self.turns_only:
            await self.put_chat_data(chat_id, data)

    async def update_bot_data(self, data: Data) -> None:
        """Store bot_data (PTB calls this every interval; unchanged data is skipped)."""
        await self._put_or_drop(BOT, "", data)

    # The writes themselves: PTB's calls above, or a fleet's turn (bot/turns.py).

    async def put_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        """Write a conversation's state now; None deletes it."""
        kind, row = _conversation_kind(name), conversation_key(key)
        if new_state is None:
            if self._written.get((kind, row)) != _GONE:  # known to be gone: no delete
                await self._drop(kind, row)
        else:
            await self._put(kind, row, new_state)

    async def put_user_data(self, user_id: int, data: Data) -> None:
        """Write one user's user_data now (empty: no row)."""
        await self._put_or_drop(USER, str(user_id), data)

    async def put_chat_data(self, chat_id: int, data: Data) -> None:
        """Write one chat's chat_data now (empty: no row)."""
        await self._put_or_drop(CHAT, str(chat_id), data)

    async def update_callback_data(self, data: CDCData) -> None:
        """Callback data is not stored."""

    async def drop_user_data(self, user_id: int) -> None:
        """Forget one user's user_data."""
        await self._drop(USER, str(user_id))

    async def drop_chat_data(self, chat_id: int) -> None:
        """Forget one chat's chat_data."""
        await self._drop(CHAT, str(chat_id))

    # One process alone: its memory is always the newest. In a fleet, bot/turns.py reads a
    # chat's rows before each of its updates (one query for the user, the chat and the
    # conversation, where these would take one each).

    async def refresh_user_data(self, user_id: int, user_data: Data) -> None:
        """Nothing to do here (see above)."""

    async def refresh_chat_data(self, chat_id: int, chat_data: Data) -> None:
        """Nothing to do here (see above)."""

    async def refresh_bot_data(self, bot_data: Data) -> None:
        """Nothing to do: bot_data is not used."""

    async def flush(self) -> None:
        """Nothing to do: every write is committed when it is made."""


def _conversation_kind(name: str) -> str:
    kind = CONVERSATION + name
    if len(kind) > _KIND_LENGTH:
        # Refused loudly at startup (get_conversations runs in initialize()), not mid-dialogue.
        raise ValueError(
            f"conversation name {name!r} is too long to persist "
            f"(at most {_KIND_LENGTH - len(CONVERSATION)} characters)"
        )
    return kind
