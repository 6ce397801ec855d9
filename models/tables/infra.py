"""Outbox rows, invites and schedule runs: the tables that make delivery and jobs reliable."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.tables.types import UTCDateTime

TELEGRAM = "telegram"  # the channel people are reached on today


class Outbox(SQLModel, table=True):
    """A notification to one recipient, written in the transaction of the change that caused it.

    `dedupe_key` is unique, so the same notice can never be queued twice; the dispatcher marks
    `sent_at` and never sends a sent row again. The payload holds codes and parameters, translated
    at delivery time in the recipient's language.
    """

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=200, unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    kind: str = Field(max_length=32)
    issue_id: int | None = Field(default=None, foreign_key="issue.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="issueevent.id")
    official_id: int | None = Field(default=None, foreign_key="official.id")
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    # Where it goes: a channel (jobs/channels) and an address there (Telegram: a chat id, as
    # text). No address: the person's own on that channel (their private chat), looked up at
    # delivery; once sent, the address it went to.
    channel: str = Field(default=TELEGRAM, max_length=32)
    address: str | None = Field(default=None, max_length=255)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    attempts: int = 0
    # How many messages of the notice are delivered (its text's parts, then its files), so a
    # retry resumes with the next one and never repeats one.
    parts_sent: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_column=Column(Text))


class Invite(SQLModel, table=True):
    """A one-time invitation binding a Telegram account; only the token's SHA-256 is stored."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    official_id: int | None = Field(default=None, foreign_key="official.id")
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ScheduleRun(SQLModel, table=True):
    """A claim on one run of a periodic job for one period: the unique key makes it run once."""

    __table_args__ = (UniqueConstraint("job", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=64)
    period: str = Field(max_length=32)
    status: str = Field(max_length=16)  # done | late | skipped
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    note: str | None = Field(default=None, sa_column=Column(Text))
    # When the schedule said the run was due (None for a run by hand without --at).
    scheduled_for: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Report(SQLModel, table=True):
    """A report the cycle drew (a bulletin, an agenda, a digest …): figures as JSON, no language.

    Written in the transaction that claims the run, with the outbox rows that deliver it; each
    recipient reads it rendered in their own language.
    """

    __table_args__ = (UniqueConstraint("job", "period", "scope"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=64)
    period: str = Field(max_length=32)
    scope: str = Field(max_length=64)  # city | a region code | official:CODE | enterprise:CODE
    created_at: datetime = Field(sa_type=UTCDateTime)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ChatState(SQLModel, table=True):
    """PTB's persisted state (user/chat/bot data, conversation states) as JSON, by kind and key.

    Conversation state holds ids and codes only, never ORM objects (STYLE: "ids only").
    """

    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)  # user | chat | bot | conversation:<name>
    key: str = Field(max_length=200)
    data: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    updated_at: datetime = Field(sa_type=UTCDateTime)


class SeenUpdate(SQLModel, table=True):
    """A Telegram update taken up, by its bot and id: one delivered twice (a webhook's retry, an
    update that reached two processes) is handled once (models/updates.py)."""

    bot_id: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    update_id: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    seen_at: datetime = Field(sa_type=UTCDateTime, index=True)
