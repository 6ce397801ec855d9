"""chat state table, issue version (optimistic locking), outbox parts_sent

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.tables.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    # Existing issues start at version 1; the model keeps this server default, so rows inserted
    # outside the ORM (imports, SQL by hand) also get a valid version.
    with op.batch_alter_table("issue", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
        )

    # The default "0" only backfills rows already queued; it is dropped afterwards because the
    # model (like outbox.attempts in 0001) declares no server default — the ORM always sends it.
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("parts_sent", sa.Integer(), nullable=False, server_default="0"),
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("parts_sent", existing_type=sa.Integer(), server_default=None)

    op.create_table(
        "chatstate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("updated_at", models.tables.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "key"),
    )


def downgrade() -> None:
    """Revert."""
    op.drop_table("chatstate")
    # recreate="never": SQLite (>= 3.35) drops these columns in place. Rebuilding `issue` would
    # fail on any database with data — its DROP TABLE trips the foreign keys that `make_engine`
    # turns on, and that pragma cannot be switched off inside the migration's transaction.
    with op.batch_alter_table("outbox", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("parts_sent")
    with op.batch_alter_table("issue", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("version")
