"""The error handler tells the admins: once per kind of error and hour, the repeats counted."""

from __future__ import annotations

from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.incidents import WINDOW, record_incident
from models.tables.infra import Outbox
from tests.support.factories import World, at

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
