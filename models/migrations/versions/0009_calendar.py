"""holiday schedules loaded by an admin (`ztc calendar load`)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.tables.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "holiday_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("loaded_at", models.tables.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("loaded_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.PrimaryKeyConstraint("day"),
    )
    with op.batch_alter_table("holiday_day", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_holiday_day_year"), ["year"], unique=False)


def downgrade() -> None:
    """Revert (the loaded years are dropped: reload them after upgrading again)."""
    with op.batch_alter_table("holiday_day", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_holiday_day_year"))
    op.drop_table("holiday_day")
