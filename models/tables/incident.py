"""Errors the bot met while handling an update, one row per kind of error and hour."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from models.tables.types import UTCDateTime


class Incident(SQLModel, table=True):
    """One kind of error (`signature`: its type and where in our code) in one window: the
    admins are told once when it first happens; repeats inside the window are counted."""

    id: int | None = Field(default=None, primary_key=True)
    signature: str = Field(max_length=200, index=True)
    first_at: datetime = Field(sa_type=UTCDateTime)
    last_at: datetime = Field(sa_type=UTCDateTime)
    count: int = 1
    detail: str | None = Field(default=None, sa_column=Column(Text))  # the first one's context
