"""DbPersistence: PTB's state survives a restart, in the table and in a real Application."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.persistence import DbPersistence, not_json
from models.db import session_scope
from models.tables.infra import ChatState

USER_ID = 42
DRAFT = {"project": "P1", "photos": ["f1", "f2"], "meta": {"urgent": True, "n": 1.5}}


async def rows(engine: AsyncEngine) -> dict[tuple[str, str], Any]:
    """The table as {(kind, key): data}."""
    async with session_scope(engine) as session:
        found = (await session.exec(select(ChatState))).all()
    return {(r.kind, r.key): r.data for r in found}


async def loaded(engine: AsyncEngine) -> DbPersistence:
    """A fresh instance that has read everything, as Application.initialize() does."""
    p = DbPersistence(engine)
    await p.get_user_data()
    await p.get_chat_data()
    await p.get_bot_data()
    return p


async def test_everything_round_trips_through_a_restart(engine: AsyncEngine) -> None:
    first = await loaded(engine)
    assert await first.get_conversations("report") == {}
    await first.update_user_data(USER_ID, DRAFT)
    await first.update_chat_data(-100123, {"locale": "en"})
    await first.update_bot_data({"started": "2026-11-28"})
    await first.update_conversation("report", (USER_ID, USER_ID), 1)
    await first.update_conversation("report", (-100123, "inline-7"), "TITLE")
    await first.update_conversation("other", (USER_ID, USER_ID), 3)

    again = DbPersistence(engine)  # a new process: nothing cached
    assert await again.get_user_data() == {USER_ID: DRAFT}
    assert await again.get_chat_data() == {-100123: {"locale": "en"}}
    assert await again.get_bot_data() == {"started": "2026-11-28"}
    conversations = await again.get_conversations("report")
    assert conversations == {(USER_ID, USER_ID): 1, (-100123, "inline-7"): "TITLE"}
    assert all(type(key) is tuple for key in conversations)
    assert await again.get_conversations("other") == {(USER_ID, USER_ID): 3}
    assert await again.get_callback_data() is None
    assert not_json(DRAFT) is None and json.loads(json.dumps(DRAFT)) == DRAFT


class Step(IntEnum):
    """States as handlers/callbacks.py declares them."""

    DESCRIBE = 3


async def test_an_int_enum_state_comes_back_equal_but_as_a_plain_int(
    engine: AsyncEngine,
) -> None:
    await (await loaded(engine)).update_conversation("chat", (USER_ID, USER_ID), Step.DESCRIBE)
    state = (await DbPersistence(engine).get_conversations("chat"))[(USER_ID, USER_ID)]
    # Equal and same hash, so ConversationHandler finds its handlers; but `is` would not match.
    assert state == Step.DESCRIBE and state in {Step.DESCRIBE} and type(state) is int


async def test_an_update_replaces_the_row(engine: AsyncEngine) -> None:
    p = await loaded(engine)
    await p.update_user_data(USER_ID, {"step": 1})
    await p.update_user_data(USER_ID, {"step": 2})
    await p.update_conversation("report", (USER_ID, USER_ID), 1)
    await p.update_conversation("report", (USER_ID, USER_ID), 2)
    assert await rows(engine) == {
        ("user", str(USER_ID)): {"step": 2},
        ("conversation:report", f"[{USER_ID},{USER_ID}]"): 2,
    }


async def test_unchanged_data_is_not_written_again(engine: AsyncEngine) -> None:
    p = await loaded(engine)
    await p.update_bot_data({"a": 1})
    async with session_scope(engine) as session:
        row = (await session.exec(select(ChatState))).one()
        row.updated_at = datetime(2000, 1, 1, tzinfo=UTC)
        session.add(row)
    await p.update_bot_data({"a": 1})  # PTB calls this every interval
    async with session_scope(engine) as session:
        row = (await session.exec(select(ChatState))).one()
    assert row.updated_at == datetime(2000, 1, 1, tzinfo=UTC)


async def test_ended_conversations_and_dropped_or_emptied_data_leave_no_row(
    engine: AsyncEngine,
) -> None:
    p = await loaded(engine)
    await p.update_conversation("report", (USER_ID, USER_ID), 1)
    await p.update_user_data(USER_ID, {"a": 1})
    await p.update_user_data(7, {"b": 2})
    await p.update_chat_data(-5, {"c": 3})
    await p.update_conversation("report", (USER_ID, USER_ID), None)
    await p.drop_user_data(USER_ID)
    await p.drop_chat_data(-5)
    await p.update_user_data(7, {})  # what PTB holds for a user whose data was cleared
    assert await rows(engine) == {}
    again = await loaded(engine)
    assert await again.get_user_data() == {}
    assert await again.get_conversations("report") == {}


@pytest.mark.parametrize(
    ("bad", "where"),
    [
        (datetime(2026, 11, 28, tzinfo=UTC), "data['draft']['when']: datetime"),
        (("P1", "P2"), "data['draft']['when']: tuple"),
        ({7: "x"}, "data['draft']['when']: key 7 is int"),
        ([1, float("nan")], "data['draft']['when'][1]: nan"),
    ],
)
async def test_data_that_is_not_json_is_logged_and_skipped(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture, bad: object, where: str
) -> None:
    p = await loaded(engine)
    await p.update_user_data(USER_ID, {"draft": {"project": "P1"}})
    with caplog.at_level(logging.ERROR, logger="ztc.persistence"):
        await p.update_user_data(USER_ID, {"draft": {"project": "P2", "when": bad}})
    assert f"user '{USER_ID}'" in caplog.text and where in caplog.text
    assert await rows(engine) == {("user", str(USER_ID)): {"draft": {"project": "P1"}}}
    await p.update_user_data(USER_ID, {"draft": {"project": "P3"}})  # and it carries on
    assert await rows(engine) == {("user", str(USER_ID)): {"draft": {"project": "P3"}}}


async def test_a_conversation_name_too_long_for_the_column_is_refused(
    engine: AsyncEngine,
) -> None:
    with pytest.raises(ValueError, match="too long"):
        await DbPersistence(engine).get_conversations("x" * 20)


# A real Application, offline: getMe is answered locally, any other call is a test failure.

BOT_USER = {"id": 1, "is_bot": True, "first_name": "ZTC", "username": "ztc_test_bot"}
TITLE, PHOTO = 1, 2


class OfflineRequest(BaseRequest):
    """A request that answers getMe locally and refuses every other Bot API call."""

    @property
    def read_timeout(self) -> float | None:
        """No network, no timeout."""
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(self, url: str, method: str, *_: Any, **__: Any) -> tuple[int, bytes]:
        """getMe, or fail."""
        if url.endswith("/getMe"):
            return 200, json.dumps({"ok": True, "result": BOT_USER}).encode()
        raise AssertionError(f"unexpected Bot API call: {url}")


async def start_report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """/report: a new draft, ask for the title."""
    assert context.user_data is not None
    context.user_data["draft"] = {"project": "P1"}
    return TITLE


async def got_title(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """The title: keep it, ask for photos."""
    assert context.user_data is not None and update.effective_message is not None
    context.user_data["draft"]["title"] = update.effective_message.text
    return PHOTO


async def done(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """'done' while waiting for photos: the report is complete."""
    assert context.user_data is not None
    context.user_data["filed"] = context.user_data.pop("draft")
    return ConversationHandler.END


def build_app(
    engine: AsyncEngine, update_interval: float = 1.0
) -> Application[Any, Any, Any, Any, Any, Any]:
    """An offline Application with one persistent conversation."""
    app = (
        ApplicationBuilder()
        .token("1:x")
        .request(OfflineRequest())
        .get_updates_request(OfflineRequest())
        .persistence(DbPersistence(engine, update_interval=update_interval))
        .updater(None)
        .job_queue(None)
        .build()
    )
    text = filters.TEXT & ~filters.COMMAND
    app.add_handler(
        ConversationHandler(
            entry_points=[CommandHandler("report", start_report)],
            states={
                TITLE: [MessageHandler(text, got_title)],
                PHOTO: [MessageHandler(filters.Regex("^done$"), done)],
            },
            fallbacks=[],
            name="t",
            persistent=True,
        )
    )
    return app


def message(app: Application[Any, Any, Any, Any, Any, Any], n: int, text: str) -> Update:
    """A private message from USER_ID."""
    entities = (
        [{"type": "bot_command", "offset": 0, "length": len(text)}] if text[0] == "/" else []
    )
    data = {
        "update_id": n,
        "message": {
            "message_id": n,
            "date": 1764300000 + n,
            "chat": {"id": USER_ID, "type": "private"},
            "from": {"id": USER_ID, "is_bot": False, "first_name": "王"},
            "text": text,
            "entities": entities,
        },
    }
    update = Update.de_json(data, app.bot)
    assert update is not None
    return update


async def test_a_half_finished_conversation_survives_a_crash(engine: AsyncEngine) -> None:
    first = build_app(engine)
    await first.initialize()
    await first.process_update(message(first, 1, "/report"))
    await first.process_update(message(first, 2, "用地指标迟迟未落实"))
    # PTB hands state over only on its interval (or at shutdown): nothing is written yet.
    assert await rows(engine) == {}
    await first.update_persistence()  # what the interval does; then the process dies
    assert await rows(engine) == {
        ("user", str(USER_ID)): {"draft": {"project": "P1", "title": "用地指标迟迟未落实"}},
        ("conversation:t", f"[{USER_ID},{USER_ID}]"): PHOTO,
    }

    second = build_app(engine)
    await second.initialize()
    assert second.user_data[USER_ID]["draft"]["title"] == "用地指标迟迟未落实"
    await second.process_update(message(second, 3, "done"))  # only PHOTO's handler takes it
    assert second.user_data[USER_ID]["filed"]["project"] == "P1"
    await second.shutdown()  # shutdown writes the last changes
    assert await rows(engine) == {
        ("user", str(USER_ID)): {"filed": {"project": "P1", "title": "用地指标迟迟未落实"}},
    }


async def test_a_running_app_writes_on_its_interval(engine: AsyncEngine) -> None:
    app = build_app(engine, update_interval=0.05)
    await app.initialize()
    await app.start()
    try:
        await app.update_queue.put(message(app, 1, "/report"))
        key = ("conversation:t", f"[{USER_ID},{USER_ID}]")
        for _ in range(500):  # the interval is 0.05 s; a loaded machine may take seconds
            if key in await rows(engine):  # other rows (user data) may be written first
                break
            await asyncio.sleep(0.02)
        assert (await rows(engine))[key] == TITLE
    finally:
        await app.stop()
        await app.shutdown()


async def test_in_a_fleet_ptbs_late_copies_never_overwrite_another_process_step(
    engine: AsyncEngine,
) -> None:
    # Process A handled a step (CATEGORY); B the next (DESCRIBE). PTB's periodic write in A
    # then hands over the copy it took before: it must not put CATEGORY back.
    a, b = await loaded(engine), await loaded(engine)
    a.turns_only = b.turns_only = True  # as bot/turns.py sets it
    key, row = (USER_ID, USER_ID), ("conversation:chat", f"[{USER_ID},{USER_ID}]")
    await a.put_conversation("chat", key, 1)
    await a.put_user_data(USER_ID, {"report": {"step": 1}})
    assert (await b.read([row]))[row] == 1  # B's turn reads A's step …
    await b.put_conversation("chat", key, 2)  # … and makes the next
    await b.put_user_data(USER_ID, {"report": {"step": 2}})
    await a.read([row, ("user", str(USER_ID))])  # A's next turn begins: it knows 2 now …
    await a.update_conversation("chat", key, 1)  # … when its PTB, late, hands the old copy
    await a.update_user_data(USER_ID, {"report": {"step": 1}})
    await a.update_conversation("chat", key, None)
    stored = await rows(engine)
    assert stored[row] == 2 and stored[("user", str(USER_ID))] == {"report": {"step": 2}}
    # a process alone (not a fleet) keeps PTB's writes
    alone = await loaded(engine)
    await alone.update_conversation("chat", key, 3)
    assert (await rows(engine))[row] == 3
