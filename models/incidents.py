"""Telling the admins when the bot fails: once per kind of error and hour, the rest counted.

The error handler logs every failure with its context; the admins' chat must hear of it too,
without a flood when one bug meets every user. An incident is keyed by its signature (the
exception's type and the line of our code it came from: no message, which may carry what a
person typed); the first in a window queues one notice per admin, later ones in the same window
only count, and the notice shows the count as it is when it is delivered.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.codes import Role
from models.tables.incident import Incident
from models.tables.infra import TELEGRAM, Outbox
from models.tables.org import Official

WINDOW = timedelta(hours=1)


async def tell_admins(
    *, session: AsyncSession, kind: str, key: str, payload: dict[str, Any], now: datetime
) -> list[Outbox]:
    """One outbox notice of `kind` per admin, in the caller's transaction (dedupe key
    `KEY:official:ID`: the same key twice tells nobody twice). Every "the admins must hear of
    it" — an incident, a skipped period, a holiday year loaded — goes through here."""
    query = select(Official.id).where(Official.role == Role.ADMIN).order_by(col(Official.id))
    rows = [
        Outbox(
            dedupe_key=f"{key}:official:{admin}",
            created_at=now,
            kind=kind,
            official_id=admin,
            payload=payload,
            next_attempt_at=now,
            channel=TELEGRAM,
        )
        for admin in (await session.exec(query)).all()
        if admin is not None
    ]
    session.add_all(rows)
    return rows


async def record_incident(
    *, session: AsyncSession, signature: str, detail: str, now: datetime
) -> Incident:
    """Count an error; the first of its kind in `WINDOW` queues a notice to every admin."""
    since = now - WINDOW
    query = (
        select(Incident)
        .where(Incident.signature == signature[:200], col(Incident.first_at) > since)
        .order_by(col(Incident.first_at).desc())
        .with_for_update()
    )
    incident = (await session.exec(query)).first()
    if incident is not None:
        incident.count += 1
        incident.last_at = now
        session.add(incident)
        return incident
    incident = Incident(signature=signature[:200], first_at=now, last_at=now, detail=detail)
    session.add(incident)
    await session.flush()
    await tell_admins(
        session=session,
        kind="incident",
        key=f"incident:{incident.id}",
        payload={"incident": incident.id},
        now=now,
    )
    return incident
