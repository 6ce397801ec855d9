"""The error handler tells the admins: once per kind of error and hour, the repeats counted."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

import handlers.lists
from models.db import session_scope
from models.tables.incident import Incident
from models.tables.infra import Outbox
from tests.support.chat import ADMIN, HEAD, Chat
from tests.support.factories import World


async def notices(session: AsyncSession) -> int:
    query = select(func.count()).select_from(Outbox).where(Outbox.kind == "incident")
    return (await session.exec(query)).one()


async def test_a_failing_handler_tells_the_admins_once(
    chat: Chat, world: World, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await chat.bind(world.officials["admin"], ADMIN)
    await chat.bind(world.officials["r1-head"], HEAD)

    async def broken(*args: object) -> list[object]:
        raise RuntimeError("the inbox query broke")

    monkeypatch.setattr(handlers.lists, "_issues", broken)
    for _ in range(2):
        assert "出错" in (await chat.say("r1-head", "/inbox"))["text"]
    told = await chat.until("admin", "机器人出错")
    assert "RuntimeError" in told["text"] and "handlers/lists.py" in told["text"]
    assert "the inbox query broke" not in told["text"]  # the message stays in the log
    await chat.settle()
    async with session_scope(engine) as session:
        incident = (await session.exec(select(Incident))).one()
        sent = await notices(session)
    assert incident.count == 2 and sent == 1
    assert "/inbox" in (incident.detail or "") and str(HEAD) in (incident.detail or "")
