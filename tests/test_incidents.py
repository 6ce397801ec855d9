"""The error handler tells the admins: once per kind of error and hour, the repeats counted."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

import handlers.lists
from handlers import signature
from models.db import session_scope
from models.errors import InvalidInput
from models.incidents import WINDOW, record_incident
from models.tables.incident import Incident
from models.tables.infra import Outbox
from models.text import checked_text
from tests.chat import ADMIN, HEAD, Chat
from tests.factories import World, at

T0 = at("2026-11-20 10:00")


async def notices(session: AsyncSession) -> int:
    query = select(func.count()).select_from(Outbox).where(Outbox.kind == "incident")
    return (await session.exec(query)).one()


async def test_the_first_of_a_kind_is_told_the_repeats_counted(
    session: AsyncSession, world: World
) -> None:
    first = await record_incident(session=session, signature="KeyError@x.py:1", detail="a", now=T0)
    assert await notices(session) == 1  # one admin in the world
    again = await record_incident(
        session=session, signature="KeyError@x.py:1", detail="b", now=T0 + WINDOW / 2
    )
    assert again.id == first.id and again.count == 2 and await notices(session) == 1
    other = await record_incident(
        session=session, signature="ValueError@y.py:2", detail="", now=T0
    )
    assert other.id != first.id and await notices(session) == 2
    later = await record_incident(
        session=session, signature="KeyError@x.py:1", detail="c", now=T0 + WINDOW
    )
    assert later.id != first.id and later.count == 1 and await notices(session) == 3


def test_a_signature_names_the_type_and_our_line_never_the_message() -> None:
    try:
        checked_text("王先生 13800000000" * 400, "note", required=True)  # too long
    except InvalidInput as exc:
        ours = exc
    try:
        raise KeyError("王先生的手机号 13800000000")  # raised in a test: not our code
    except KeyError as exc:
        elsewhere = exc
    assert signature(ours).startswith("InvalidInput@models/text.py:")
    assert signature(elsewhere) == "KeyError@?"
    assert "138" not in signature(ours) + signature(elsewhere)
    assert signature(None) == "unknown"


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
