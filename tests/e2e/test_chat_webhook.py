"""Webhook mode over real HTTP: the fake Bot API pushes updates with the secret-token header;
a POST without it is refused by the bot's webhook server."""

from __future__ import annotations

import socket

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import build_application
from bot.sandbox import FakeBotAPI
from models.db import session_scope
from models.invites import create_invite
from models.rules import Rules
from tests.support.chat import HEAD, Chat
from tests.support.factories import World, at


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_webhook_mode_checks_the_secret_token(
    api: FakeBotAPI, engine: AsyncEngine, rules: Rules, world: World
) -> None:
    harness = Chat(api=api, engine=engine, rules=rules, now=at("2026-11-20 10:00"))
    port = _free_port()
    url = f"http://127.0.0.1:{port}/ztc"
    app = build_application(
        harness.settings(webhook_url=url, webhook_secret="s3cret-token"),
        engine=engine,
        clock=lambda: harness.now,
        scheduler=False,
    )
    async with session_scope(engine) as session:
        token, _ = await create_invite(
            session=session, rules=rules, person=world.officials["r1-head"], now=harness.now
        )
    await app.initialize()
    assert app.post_init is not None and app.updater is not None
    await app.post_init(app)
    await app.updater.start_webhook(
        listen="127.0.0.1", port=port, url_path="ztc", webhook_url=url, secret_token="s3cret-token"
    )
    await app.start()
    try:
        assert (await app.bot.get_webhook_info()).url == url
        api.add_user(HEAD, first_name="r1-head")
        api.user_says(HEAD, f"/start {token}")
        assert "/inbox" in (await api.next_message(HEAD))["text"]
        async with httpx.AsyncClient() as client:
            forged = await client.post(url, json={"update_id": 99, "message": {}})
        assert forged.status_code == 403
    finally:
        await app.updater.stop()
        await app.stop()
        assert app.post_stop is not None
        await app.post_stop(app)
        await app.shutdown()
