"""Issues, their co-handling departments, their append-only events and attachments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.codes import Category, EventKind, Level, Rating, Status, Urgency
from models.tables.types import UTCDateTime, code_enum

# Optimistic concurrency: every UPDATE of an issue checks and bumps this, so of two officials
# pressing a button at once (or a button and the clock sweep) one wins and the other gets
# StaleDataError instead of silently overwriting — SQLite has no SELECT … FOR UPDATE.
_VERSION = Column("version", Integer, nullable=False, server_default="1")


class Issue(SQLModel, table=True):
    """A problem a project met, on its way up the ladder.

    `clock_start` is when the running clock (accept or resolve) started; `reminders_sent`
    counts the policy's reminder fractions already sent for that clock, so a sweep never
    reminds twice.
    """

    __mapper_args__ = {"version_id_col": _VERSION}
    # A contact's reports of a day, counted against the policy's limit at each new report.
    __table_args__ = (
        Index("ix_issue_reporter_contact_created", "reporter_contact_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str | None = Field(default=None, max_length=20, unique=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    reporter_contact_id: int | None = Field(default=None, foreign_key="contact.id")
    reporter_official_id: int | None = Field(default=None, foreign_key="official.id", index=True)
    category: Category = Field(sa_type=code_enum(Category))
    urgency: Urgency = Field(sa_type=code_enum(Urgency))
    text: str = Field(sa_column=Column(Text, nullable=False))
    status: Status = Field(sa_type=code_enum(Status), index=True)
    level: Level = Field(sa_type=code_enum(Level))
    assignee_id: int | None = Field(default=None, foreign_key="official.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    clock_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    accept_due: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolve_due: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminders_sent: int = 0
    paused_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_check_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    overdue_flagged: bool = False
    escalations: int = 0
    missed_deadlines: int = 0
    reopen_count: int = 0
    repeats: int = 0  # the reporter reported it again while it was open (models/issues/intake.py)
    direct_line: bool = False
    provisional: bool = False
    rating: Rating | None = Field(default=None, sa_type=code_enum(Rating))
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The report's idempotency key (the chat's draft id): a second submit of the same draft —
    # a double tap, or a press again after a crash between commit and reply — finds this issue.
    submission_key: str | None = Field(default=None, max_length=64, unique=True)
    # The hash of its last event: the head of its chain (models/audit.py).
    audit_head: str | None = Field(default=None, max_length=64)
    version: int = Field(default=1, sa_column=_VERSION)


class IssueCoHandler(SQLModel, table=True):
    """A department co-handling an issue (多部门会办)."""

    __table_args__ = (UniqueConstraint("issue_id", "department_id"),)

    id: int | None = Field(default=None, primary_key=True)
    issue_id: int = Field(foreign_key="issue.id", index=True)
    department_id: int = Field(foreign_key="department.id")
    added_at: datetime = Field(sa_type=UTCDateTime)
    # 协办时限: its own deadline and reminders; answered by its 协办意见.
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminders_sent: int = 0
    overdue: bool = False  # past its deadline unanswered (flagged once)
    next_check_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)


class IssueEvent(SQLModel, table=True):
    """One step in an issue's life: who, when, what, from→to, note. Never updated or deleted."""

    id: int | None = Field(default=None, primary_key=True)
    issue_id: int = Field(foreign_key="issue.id", index=True)
    at: datetime = Field(sa_type=UTCDateTime)
    kind: EventKind = Field(sa_type=code_enum(EventKind))
    actor_official_id: int | None = Field(default=None, foreign_key="official.id")
    actor_contact_id: int | None = Field(default=None, foreign_key="contact.id")
    from_level: Level | None = Field(default=None, sa_type=code_enum(Level))
    to_level: Level | None = Field(default=None, sa_type=code_enum(Level))
    from_status: Status | None = Field(default=None, sa_type=code_enum(Status))
    to_status: Status | None = Field(default=None, sa_type=code_enum(Status))
    note: str | None = Field(default=None, sa_column=Column(Text))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Its issue's hash chain (models/audit.py): the hash of the event before it (the first's:
    # the issue's genesis), and its own over that and its content.
    prev_hash: str | None = Field(default=None, max_length=64)
    hash: str | None = Field(default=None, max_length=64)


class AuditLink(SQLModel, table=True):
    """One link of the chain over all issues' events (models/audit.py): appended by the
    sealer, never updated. No foreign keys: a link to a deleted event is evidence, kept."""

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    event_id: int = Field(unique=True)
    issue_id: int
    event_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    at: datetime = Field(sa_type=UTCDateTime)


class Attachment(SQLModel, table=True):
    """A photo or document sent with an issue or one of its events."""

    id: int | None = Field(default=None, primary_key=True)
    issue_id: int = Field(foreign_key="issue.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="issueevent.id")
    kind: str = Field(max_length=16)  # photo | document
    # Telegram's file id; None for a file that came another way (the CLI, an API): its bytes.
    file_id: str | None = Field(default=None, max_length=255)
    data: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    file_name: str | None = Field(default=None, max_length=255)
    mime_type: str | None = Field(default=None, max_length=100)
    size: int | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)
