"""Projects and their monthly progress reports."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import UniqueConstraint
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
    """An enterprise's monthly report: the stage reached and cumulative investment completed."""

    __table_args__ = (UniqueConstraint("project_id", "month"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    month: date  # the first day of the month reported on
    stage: Stage = Field(sa_type=code_enum(Stage))
    invested_wan: int = Field(ge=0)
    note: str | None = Field(default=None, max_length=2000)
    reported_at: datetime = Field(sa_type=UTCDateTime)
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
