"""One chat's turn when several bot processes serve one bot (a webhook fleet on PostgreSQL).

python-telegram-bot keeps conversation states and user/chat data in memory, loads them from the
persistence once at start and writes them back every few seconds: a second process would never
see the step a first one moved a chat to (python-telegram-bot #5225, #4452). Behind a load
balancer any process may get a chat's next update, so in a fleet each update is a turn:

1. the chat's PostgreSQL advisory lock is taken (on a connection of a small pool of its own):
   the chat's updates are handled one at a time across the fleet, in the order they are taken
   up, as `bot.app.PerChatOrder` keeps them within a process;
2. the chat's conversation state and the user's and the chat's data are read from the
   database (one query) into python-telegram-bot's memory;
3. the update is handled;
4. what it changed is written back, and only then the lock is let go.

PTB's own writes of that state (every interval, and at shutdown) are switched off in a fleet
(`DbPersistence.turns_only`): they hand over a copy taken earlier, which, written late, would
overwrite the step another process has made since (B1 with two instances and 32 chats at once
showed it: a description answered "please use the buttons").

A lock holder that dies frees the lock with its session. So does a database that drops every
session (a restart, a failover): a turn then still writing its step back may be overtaken by
the chat's next update, which reads the step before it (a button then answers "no longer
active"; pressed again, it works). A database that cannot be read lets the
update through on what memory holds after a second try (the handler then meets the failure and
says so); one that cannot be written to is logged.
"""

from __future__ import annotations

import contextlib
import logging
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from telegram import Update
from telegram.ext import Application, ConversationHandler
from telegram.ext._utils.trackingdict import TrackingDict

from bot.logctx import first_line
from bot.persistence import (
    CHAT,
    CONVERSATION,
    USER,
    ConversationKey,
    DbPersistence,
    conversation_key,
)

log = logging.getLogger(__name__)

# The chat locks' own namespace (the two-number advisory key's first half): apart from the
# one-number keys of the bot-process lock and the scheduler leader.
NAMESPACE = zlib.crc32(b"ztc:chat-turn") - 2**31
Stored = dict[tuple[str, str], Any]  # (kind, key) -> data, as DbPersistence.read returns it
Conversations = list[tuple[ConversationHandler[Any], ConversationKey]]
LOCK_CONNECTIONS = 8  # chats in a turn at once per process; the rest wait for a connection


def chat_lock_key(chat_id: int) -> tuple[int, int]:
    """The advisory lock of one chat: our namespace and the chat id folded into 32 bits (two
    chats sharing a fold only wait for each other)."""
    return NAMESPACE, (chat_id & 0xFFFFFFFF) - 2**31


class SharedTurns:
    """Per-update state and per-chat order across processes (see the module's description)."""

    def __init__(
        self,
        engine: AsyncEngine,
        persistence: DbPersistence,
        *,
        connections: int = LOCK_CONNECTIONS,
    ) -> None:
        """Lock chats on `engine`'s PostgreSQL database; read and write through `persistence`."""
        self.persistence = persistence
        persistence.turns_only = True  # the turns write; PTB's later copies would be stale
        # The locks' connections stay out of the handlers' pool: a turn holds one while its
        # handler takes others, so one pool for both could run dry with every turn waiting.
        # Each is tried before use: a lock on a connection the server dropped would be none.
        self._locks = create_async_engine(
            engine.url, pool_size=connections, max_overflow=0, pool_pre_ping=True
        )
        self._app: Application[Any, Any, Any, Any, Any, Any] | None = None
        self._conversations: list[ConversationHandler[Any]] = []

    def bind(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Serve `app` (after its handlers are added)."""
        self._app = app
        self._conversations = [
            handler
            for group in app.handlers.values()
            for handler in group
            if isinstance(handler, ConversationHandler) and handler.persistent
        ]

    async def close(self) -> None:
        """Close the locks' connections."""
        await self._locks.dispose()

    @contextlib.asynccontextmanager
    async def turn(self, update: object) -> AsyncIterator[None]:
        """Hold the update's chat, with its state read before and written after."""
        chat, user = _chat_and_user(update)
        if chat is None or user is None:
            yield  # nothing of a chat to keep in order or to read
            return
        conversations = [(handler, _key_of(handler, update)) for handler in self._conversations]
        async with self._chat_locked(chat):
            await self._read(chat, user, conversations)
            try:
                yield
            finally:
                await self._write(chat, user, conversations)

    async def _read(self, chat: int, user: int, conversations: Conversations) -> None:
        """The chat's state into memory; after two tries memory's is used, and the handler
        meets the database's failure itself."""
        rows = _rows(chat, user, conversations)

        async def read() -> None:
            self._remember(await self.persistence.read(rows), rows, chat, user, conversations)

        if (problem := await _twice(read)) is not None:
            log.warning("chat %s: its state could not be read (%s)", chat, problem)

    async def _write(self, chat: int, user: int, conversations: Conversations) -> None:
        """What the turn left in memory to the database, in two tries (the person has seen
        the turn's answer by now: a step not written is a step the next turn does not know)."""
        problem = await _twice(lambda: self._write_back(chat, user, conversations))
        if problem is not None:
            log.error("chat %s: its state could not be written (%s)", chat, problem)

    @contextlib.asynccontextmanager
    async def _chat_locked(self, chat: int) -> AsyncIterator[None]:
        namespace, key = chat_lock_key(chat)
        arguments = {"namespace": namespace, "key": key}
        try:
            connection = await self._locks.connect()
        except Exception:
            log.warning("chat %s: no connection to lock it; handled unlocked", chat, exc_info=True)
            yield
            return
        try:
            await connection.execute(text("SELECT pg_advisory_lock(:namespace, :key)"), arguments)
            await connection.commit()  # the lock is the session's; no transaction stays open
        except Exception:
            log.warning("chat %s: could not lock it; handled unlocked", chat, exc_info=True)
            await _discard(connection)
            yield
            return
        try:
            yield
        finally:
            try:
                await connection.execute(
                    text("SELECT pg_advisory_unlock(:namespace, :key)"), arguments
                )
                await connection.close()
            except Exception:  # a connection still holding the lock must not go back to the pool
                log.warning("chat %s: could not unlock it; its session is closed", chat)
                await _discard(connection)

    def _remember(
        self,
        stored: Stored,
        rows: list[tuple[str, str]],
        chat: int,
        user: int,
        conversations: Conversations,
    ) -> None:
        """Put what the database holds into memory, in place (no row: nothing); `rows` as
        `_rows` lists them."""
        app = self._application
        user_row, chat_row, *conversation_rows = rows
        for data, row in ((app.user_data[user], user_row), (app.chat_data[chat], chat_row)):
            data.clear()
            data.update(stored.get(row) or {})
        for (handler, key), row in zip(conversations, conversation_rows, strict=True):
            states = handler._conversations
            assert isinstance(states, TrackingDict)  # PTB's since initialize(); PTB 22's names
            state = stored.get(row)
            if state is None or state == ConversationHandler.END:
                states.data.pop(key, None)  # untracked: nothing to write back
            else:
                states.update_no_track({key: state})

    async def _write_back(self, chat: int, user: int, conversations: Conversations) -> None:
        """Write what the turn left in memory (unchanged rows are skipped by the persistence)."""
        app = self._application
        await self.persistence.put_user_data(user, app.user_data[user])
        await self.persistence.put_chat_data(chat, app.chat_data[chat])
        for handler, key in conversations:
            assert handler.name is not None  # persistent handlers have one
            await self.persistence.put_conversation(
                handler.name, key, handler._conversations.get(key)
            )

    @property
    def _application(self) -> Application[Any, Any, Any, Any, Any, Any]:
        assert self._app is not None, "SharedTurns.bind() first"
        return self._app


async def _twice(step: Callable[[], Awaitable[None]]) -> str | None:
    """Run `step`, again if it fails (a connection the server dropped fails once, then its
    pool reconnects); None, or what the second failure said."""
    for attempt in (1, 2):
        try:
            await step()
            return None
        except Exception as exc:
            if attempt == 2:
                return first_line(exc)
    return None


def _chat_and_user(update: object) -> tuple[int | None, int | None]:
    if not isinstance(update, Update) or update.effective_user is None:
        return None, None
    chat = update.effective_chat
    return (chat.id if chat is not None else None), update.effective_user.id


def _rows(chat: int, user: int, conversations: Conversations) -> list[tuple[str, str]]:
    """The table's rows of a turn's state: the user's data, the chat's, each conversation's."""
    rows = [(USER, str(user)), (CHAT, str(chat))]
    return rows + [_conversation_row(handler, key) for handler, key in conversations]


def _conversation_row(handler: ConversationHandler[Any], key: ConversationKey) -> tuple[str, str]:
    assert handler.name is not None  # persistent handlers have one
    return CONVERSATION + handler.name, conversation_key(key)


def _key_of(handler: ConversationHandler[Any], update: object) -> ConversationKey:
    """The conversation key PTB builds for `update` (chat and user, as ours are set up)."""
    assert isinstance(update, Update)
    return handler._get_key(update)


async def _discard(connection: AsyncConnection) -> None:
    """Close `connection` for good (its session, and any lock it holds, end with it)."""
    with contextlib.suppress(Exception):
        await connection.invalidate()
        await connection.close()
