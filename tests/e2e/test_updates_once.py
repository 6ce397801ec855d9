"""An update delivered twice — Telegram retrying a webhook it heard no answer from, or one update
reaching two processes — is handled once: its id is recorded in the database first."""

from __future__ import annotations

import copy
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.sandbox import FakeBotAPI
from models.rules import Rules
from models.tables.infra import SeenUpdate
from models.updates import first_time, forget_old
from tests.support.chat import CONTACT, Chat
from tests.support.factories import World, at

NOW = at("2026-11-20 10:00")


async def test_an_update_delivered_twice_is_answered_once(
    api: FakeBotAPI, engine: AsyncEngine, rules: Rules, world: World
) -> None:
    chat = Chat(api=api, engine=engine, rules=rules, now=NOW)
    await chat.start()
    try:
        assert world.contact is not None
        await chat.bind(world.contact, CONTACT)
        before = len(api.outbox(CONTACT))
        api.user_says(CONTACT, "/help")
        # the same update again, in the same batch (nothing runs between these two lines)
        api.state.updates.append(copy.deepcopy(api.state.updates[-1]))
        api.state.changed()
        await chat.settle()
        answers = api.outbox(CONTACT)[before:]
        assert len(answers) == 1, [m.get("text", "")[:40] for m in answers]
    finally:
        await chat.stop()
    async with AsyncSession(engine) as session:
        assert (await session.exec(select(func.count()).select_from(SeenUpdate))).one() >= 2


async def test_an_update_id_is_taken_once_per_bot_and_forgotten_after_two_days(
    engine: AsyncEngine,
) -> None:
    assert await first_time(engine=engine, bot_id=1, update_id=7, now=NOW)
    assert not await first_time(engine=engine, bot_id=1, update_id=7, now=NOW)
    assert await first_time(engine=engine, bot_id=2, update_id=7, now=NOW)  # another bot's
    assert await forget_old(engine=engine, now=NOW + timedelta(days=2)) == 0
    assert await forget_old(engine=engine, now=NOW + timedelta(days=2, seconds=1)) == 2
    assert await first_time(engine=engine, bot_id=1, update_id=7, now=NOW)
