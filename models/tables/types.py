"""Column types shared by the tables."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored in UTC on every backend.

    PostgreSQL keeps the offset (timestamptz); SQLite drops it, so values are normalised to UTC on
    the way in and marked UTC on the way out. A naive datetime is refused: it is always a bug here.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        """Refuse naive values and store UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def code_enum(enum_class: type[StrEnum]) -> SAEnum:
    """A code column: stored as the code's text (VARCHAR), read back as the enum member."""
    return SAEnum(
        enum_class,
        values_callable=lambda members: [m.value for m in members],
        native_enum=False,
        length=32,
        validate_strings=True,
    )
