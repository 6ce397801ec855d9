"""The intake API's keys: made for a calling system, shown once, checked on every request.

A key reads `ztc_<key id>_<secret>`. Only the key id (to find the row) and a salted SHA-256 of
the secret are stored; the secret is compared in constant time. A key acts in the regions it was
made for, or city-wide.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.errors import InvalidInput, NotFound
from models.tables.api import ApiKey
from models.tables.org import Region

PREFIX = "ztc_"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_KEY = re.compile(r"ztc_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
# How stale `last_used_at` may get: one write a minute per key, not one per request.
TOUCH_EVERY = timedelta(minutes=1)


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256((salt + secret).encode()).hexdigest()


async def create_key(
    *,
    session: AsyncSession,
    name: str,
    regions: Sequence[str] = (),
    all_regions: bool = False,
    now: datetime,
) -> tuple[str, ApiKey]:
    """A new key for the system `name`, in `regions` (codes) or city-wide; returns the key (to
    show once, never stored) and its row. Raises InvalidInput (`name`: bad_name, taken;
    `regions`: none, both) or NotFound for an unknown region."""
    if not NAME.fullmatch(name):
        raise InvalidInput(field="name", reason="bad_name", value=name)
    if all_regions == bool(regions):
        raise InvalidInput(field="regions", reason="both" if all_regions else "none")
    codes = list(dict.fromkeys(code.strip() for code in regions if code.strip()))
    known = set((await session.exec(select(Region.code).where(col(Region.code).in_(codes)))).all())
    for code in codes:
        if code not in known:
            raise NotFound(entity="region", key=code)
    taken = await session.exec(select(ApiKey.id).where(ApiKey.name == name))
    if taken.first() is not None:
        raise InvalidInput(field="name", reason="taken", value=name)
    key_id, secret, salt = secrets.token_hex(8), secrets.token_urlsafe(32), secrets.token_hex(16)
    row = ApiKey(
        name=name,
        key_id=key_id,
        salt=salt,
        secret_hash=_digest(salt, secret),
        regions=codes,
        all_regions=all_regions,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return f"{PREFIX}{key_id}_{secret}", row


async def list_keys(*, session: AsyncSession) -> list[ApiKey]:
    """Every key, revoked ones too, by name."""
    return list((await session.exec(select(ApiKey).order_by(col(ApiKey.name)))).all())


async def revoke_key(*, session: AsyncSession, name: str, now: datetime) -> ApiKey:
    """Revoke the key of system `name` (again: unchanged); NotFound when there is none."""
    key = (await session.exec(select(ApiKey).where(ApiKey.name == name))).first()
    if key is None:
        raise NotFound(entity="api_key", key=name)
    if key.revoked_at is None:
        key.revoked_at = now
        session.add(key)
    return key


async def authenticate(*, session: AsyncSession, presented: str, now: datetime) -> ApiKey | None:
    """The live key `presented` is, or None (malformed, unknown, wrong secret or revoked)."""
    match = _KEY.fullmatch(presented)
    if match is None:
        return None
    key_id, secret = match.groups()
    key = (await session.exec(select(ApiKey).where(ApiKey.key_id == key_id))).first()
    # Hash even when there is no such key, so a miss takes as long as a wrong secret.
    expected = key.secret_hash if key else "0" * 64
    matches = hmac.compare_digest(_digest(key.salt if key else "", secret), expected)
    if key is None or not matches or key.revoked_at is not None:
        return None
    if key.last_used_at is None or now - key.last_used_at >= TOUCH_EVERY:
        key.last_used_at = now
        session.add(key)
    return key


async def region_ids(*, session: AsyncSession, key: ApiKey) -> set[int] | None:
    """The ids of the regions a key acts in; None when city-wide."""
    if key.all_regions:
        return None
    found = await session.exec(select(Region.id).where(col(Region.code).in_(key.regions)))
    return {i for i in found.all() if i is not None}


def key_json(key: ApiKey, tz: ZoneInfo) -> dict[str, Any]:
    """A key as `ztc api key list --json` shows it: never the key, nor its hash."""

    def iso(value: datetime | None) -> str | None:
        return value.astimezone(tz).isoformat() if value else None

    return {
        "name": key.name,
        "regions": "all" if key.all_regions else list(key.regions),
        "created_at": iso(key.created_at),
        "last_used_at": iso(key.last_used_at),
        "revoked_at": iso(key.revoked_at),
    }
