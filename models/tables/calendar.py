"""The holiday schedules an admin loaded (`ztc calendar load`): one row per listed day."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel

from models.tables.types import UTCDateTime


class HolidayDay(SQLModel, table=True):
    """A day of an announced year that is not as a plain week has it: a holiday (off), or a
    weekend day worked (调休). A year with any row here is known; its other days go by weekday.
    Loading a year again replaces all of its rows."""

    __tablename__ = "holiday_day"

    day: date = Field(primary_key=True)
    kind: str = Field(max_length=16)  # holiday | workday (models.workcal.DayKind)
    year: int = Field(index=True)
    loaded_at: datetime = Field(sa_type=UTCDateTime)
    loaded_by: str | None = Field(default=None, max_length=100)
