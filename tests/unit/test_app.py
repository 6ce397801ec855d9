"""The application's wiring: per-chat ordered concurrency, the factory's refusals."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Chat, Message, Update, User

from bot.app import PerChatOrder, build_application
from bot.settings import Settings, SettingsError


def _update(update_id: int, chat_id: int) -> Update:
    user = User(chat_id, "u", is_bot=False)
    chat = Chat(chat_id, "private")
    message = Message(update_id, date=None, chat=chat, from_user=user, text="x")  # type: ignore[arg-type]
    return Update(update_id, message=message)


async def test_one_chat_in_order_different_chats_at_once() -> None:
    processor = PerChatOrder(8)
    log: list[str] = []
    gate = asyncio.Event()

    async def work(name: str, wait: bool) -> None:
        log.append(f"start {name}")
        if wait:
            await gate.wait()
        log.append(f"end {name}")

    tasks = [
        asyncio.create_task(processor.process_update(_update(1, 10), work("a1", True))),
        asyncio.create_task(processor.process_update(_update(2, 10), work("a2", False))),
        asyncio.create_task(processor.process_update(_update(3, 20), work("b1", False))),
    ]
    for _ in range(5):
        await asyncio.sleep(0)
    assert log == ["start a1", "start b1", "end b1"]  # a2 waits for a1; b1 does not
    gate.set()
    await asyncio.gather(*tasks)
    assert log[3:] == ["end a1", "start a2", "end a2"]


def test_no_token_is_a_settings_error_naming_it() -> None:
    with pytest.raises(SettingsError, match="ZTC_BOT_TOKEN"):
        build_application(Settings(bot_token=None, database_url="sqlite:///:memory:"))
