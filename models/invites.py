"""One-time invites that bind a Telegram account to a contact or an official."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from models.rules import Rules
from models.tables.infra import Invite
from models.tables.org import Contact, Official


def hash_token(token: str) -> str:
    """The stored form of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


async def create_invite(
    *, session: AsyncSession, rules: Rules, person: Official | Contact, now: datetime
) -> tuple[str, Invite]:
    """A new invite for `person`; returns the token (shown once, never stored) and the row."""
    token = secrets.token_urlsafe(24)  # 32 characters, fits Telegram's 64-character start limit
    invite = Invite(
        token_hash=hash_token(token),
        official_id=person.id if isinstance(person, Official) else None,
        contact_id=person.id if isinstance(person, Contact) else None,
        created_at=now,
        expires_at=now + timedelta(days=rules.policy.invites.ttl_days),
    )
    session.add(invite)
    await session.flush()
    return token, invite
