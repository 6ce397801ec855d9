"""seen updates: each Telegram update handled once, even when delivered twice; an index on
the issues an official logged (the inbox reads them)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.tables.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "seenupdate",
        sa.Column("bot_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("seen_at", models.tables.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bot_id", "update_id"),
    )
    op.create_index(op.f("ix_seenupdate_seen_at"), "seenupdate", ["seen_at"], unique=False)
    op.create_index(
        op.f("ix_issue_reporter_official_id"), "issue", ["reporter_official_id"], unique=False
    )


def downgrade() -> None:
    """Revert."""
    op.drop_index(op.f("ix_issue_reporter_official_id"), table_name="issue")
    op.drop_index(op.f("ix_seenupdate_seen_at"), table_name="seenupdate")
    op.drop_table("seenupdate")
