"""Telling the admins when the bot fails: once per kind of error and hour, the rest counted.

The error handler logs every failure with its context; the admins' chat must hear of it too,
without a flood when one bug meets every user. An incident is keyed by its signature (the
exception's type and the line of our code it came from: no message, which may carry what a
person typed); the first in a window queues one notice per admin, later ones in the same window
only count, and the notice shows the count as it is when it is delivered.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.codes import Role
from models.tables.incident import Incident
from models.tables.infra import TELEGRAM, Outbox
from models.tables.org import Official

WINDOW = timedelta(hours=1)


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
    admins = await session.exec(select(Official.id).where(Official.role == Role.ADMIN))
    session.add_all(
        Outbox(
            dedupe_key=f"incident:{incident.id}:official:{admin}",
            created_at=now,
            kind="incident",
            official_id=admin,
            payload={"incident": incident.id},
            next_attempt_at=now,
            channel=TELEGRAM,
        )
        for admin in admins.all()
    )
    return incident
