"""The intake API's keys: one per calling system (a 12345 platform …), scoped to regions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from models.tables.types import UTCDateTime


class ApiKey(SQLModel, table=True):
    """A calling system's key. The key itself is shown once and never stored: `key_id` (its
    public part) finds the row, and `secret_hash` is the SHA-256 of `salt` + its secret part.

    A revoked key keeps its row (and its name: the issues it created name their system by it).
    """

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    key_id: str = Field(max_length=32, unique=True)
    salt: str = Field(max_length=64)
    secret_hash: str = Field(max_length=64)
    # Region codes the key may act in; ignored when `all_regions` (city-wide).
    regions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    all_regions: bool = False
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
