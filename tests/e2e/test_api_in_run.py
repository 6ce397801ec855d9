"""The intake API inside the running bot (ZTC_API_PORT): a request another system posts reaches
the enterprise's contact in Telegram at once — the API wakes the bot's outbox dispatcher."""

from __future__ import annotations

import socket

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.sandbox import FakeBotAPI
from models.api_keys import create_key
from models.db import session_scope
from models.rules import Rules
from tests.support.chat import CONTACT, Chat
from tests.support.factories import World, at


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_request_posted_to_the_running_bot_reaches_the_contact(
    api: FakeBotAPI, engine: AsyncEngine, rules: Rules, world: World
) -> None:
    harness = Chat(api=api, engine=engine, rules=rules, now=at("2026-11-20 10:00"))
    async with session_scope(engine) as session:
        key, _row = await create_key(
            session=session, name="12345", regions=["r1"], now=harness.now
        )
    port = free_port()
    await harness.start(api_port=port)
    url = f"http://127.0.0.1:{port}/api/v1/requests"
    try:
        assert world.contact is not None
        await harness.bind(world.contact, CONTACT)
        body = {
            "project": "P1",
            "category": "land",
            "description": "用地报批慢",
            "urgency": "normal",
        }
        async with (
            aiohttp.ClientSession() as client,
            client.post(url, json=body, headers={"X-Api-Key": key}) as response,
        ):
            assert response.status == 201
            number = (await response.json())["service_request_id"]
        notice = await harness.until("C1", number)
        assert "用地报批慢" in notice["text"]
    finally:
        await harness.stop()
    with pytest.raises(aiohttp.ClientConnectionError):  # it stopped with the bot
        async with aiohttp.ClientSession() as client, client.get(url):
            pass
