"""the cycle's reports, and when each schedule run was due

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.tables.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", models.tables.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job", "period", "scope"),
    )
    with op.batch_alter_table("schedulerun", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "scheduled_for", models.tables.types.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("schedulerun", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("scheduled_for")
    op.drop_table("report")
