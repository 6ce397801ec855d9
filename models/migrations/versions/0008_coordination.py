"""co-handlers' deadlines, officials' portfolios, files that came without Telegram

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.tables.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = models.tables.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("issuecohandler", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_at", _UTC, nullable=True))
        batch_op.add_column(sa.Column("answered_at", _UTC, nullable=True))
        batch_op.add_column(
            sa.Column("reminders_sent", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("overdue", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("next_check_at", _UTC, nullable=True))
        batch_op.create_index(
            batch_op.f("ix_issuecohandler_next_check_at"), ["next_check_at"], unique=False
        )
    with op.batch_alter_table("official", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("portfolio", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True)
        )
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.alter_column(
            "file_id", existing_type=sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True
        )
        batch_op.add_column(sa.Column("data", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    """Revert (files that came without Telegram are dropped with their rows)."""
    op.execute("DELETE FROM attachment WHERE file_id IS NULL")
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_column("data")
        batch_op.alter_column(
            "file_id", existing_type=sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False
        )
    with op.batch_alter_table("official", schema=None) as batch_op:
        batch_op.drop_column("portfolio")
    with op.batch_alter_table("issuecohandler", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issuecohandler_next_check_at"))
        for column in ("next_check_at", "overdue", "reminders_sent", "answered_at", "due_at"):
            batch_op.drop_column(column)
