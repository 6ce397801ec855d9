"""End to end: the real application over real HTTP against the fake Bot API, as processes, and
in a browser. Nothing here reaches beyond loopback (the guard in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.sandbox import FakeBotAPI
from models.rules import Rules
from tests.support.chat import Chat
from tests.support.factories import World, at


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    """The fake Telegram, on a free port."""
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
async def chat(
    api: FakeBotAPI, engine: AsyncEngine, rules: Rules, world: World
) -> AsyncIterator[Chat]:
    """The running bot, on Friday 2026-11-20 10:00 in Huai'an."""
    harness = Chat(api=api, engine=engine, rules=rules, now=at("2026-11-20 10:00"))
    await harness.start()
    yield harness
    if harness.app is not None:
        await harness.stop()
