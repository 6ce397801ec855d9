"""Projects and their monthly progress reports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, text
from sqlmodel import Field, SQLModel

from models.codes import Stage
from models.tables.types import UTCDateTime, code_enum


class Project(SQLModel, table=True):
    """An investment project and its service team (挂钩领导, 项目长, 代办员)."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=200)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    region_id: int = Field(foreign_key="region.id", index=True)
    industry: str | None = Field(default=None, max_length=100)
    # Total investment in 万元: an integer, never a float.
    investment_wan: int = Field(ge=0)
    stage: Stage = Field(sa_type=code_enum(Stage))
    signed_on: date | None = None
    started_on: date | None = None
    completed_on: date | None = None
    production_on: date | None = None
    capacity_on: date | None = None
    listed_on: date | None = None
    leader_id: int | None = Field(default=None, foreign_key="official.id")
    manager_id: int | None = Field(default=None, foreign_key="official.id")
    agent_id: int | None = Field(default=None, foreign_key="official.id")

    @property
    def team_ids(self) -> frozenset[int]:
        """The officials of the project's service team: leader, manager and agent."""
        return frozenset(i for i in (self.leader_id, self.manager_id, self.agent_id) if i)


class ProgressReport(SQLModel, table=True):
    """An enterprise's progress report: append-only history, never updated but for the verdict.

    A report gives the cumulative investment completed (counted as reported) and may claim a
    stage reached (a `Stage` code, or "listed" for 列统) with its date. A claim is `pending`
    until the project's service agent or manager confirms it (then the project's stage and
    that stage's date change) or rejects it with a reason. Several reports may fall in a month:
    the latest counts.
    """

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    month: date  # the first day of the month reported on
    stage: Stage = Field(sa_type=code_enum(Stage))  # the project's (confirmed) stage then
    # Cumulative investment completed, in 万元; None when the report only claims a stage.
    invested_wan: int | None = Field(default=None, ge=0)
    note: str | None = Field(default=None, max_length=2000)
    reported_at: datetime = Field(sa_type=UTCDateTime)
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    # Photos and documents sent with it, as Telegram gave them ({kind, file_id, name, size}).
    files: list[dict[str, Any]] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False, server_default=text("'[]'")),
    )
    # The chat's draft key: a repeated submit finds the report already made.
    submission_key: str | None = Field(default=None, max_length=32, unique=True)
    claim: str | None = Field(default=None, max_length=32)  # a Stage code, or "listed"
    claim_on: date | None = None
    claim_status: str | None = Field(default=None, max_length=16)  # pending|confirmed|rejected
    decided_by_id: int | None = Field(default=None, foreign_key="official.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decision_note: str | None = Field(default=None, max_length=2000)
