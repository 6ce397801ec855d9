"""audit chain: each issue's events hash-chained (issueevent.prev_hash, .hash; issue.audit_head)
and anchored in one chain over all issues (auditlink); the events there are chained and anchored
here, oldest first

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.tables.types
from models.audit import chain_existing

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("issue", schema=None) as batch_op:
        batch_op.add_column(sa.Column("audit_head", sa.String(length=64), nullable=True))
    with op.batch_alter_table("issueevent", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    op.create_table(
        "auditlink",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("event_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("at", models.tables.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("event_id"),
    )
    chain_existing(op.get_bind())


def downgrade() -> None:
    """Revert."""
    op.drop_table("auditlink")
    with op.batch_alter_table("issueevent", schema=None) as batch_op:
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
    with op.batch_alter_table("issue", schema=None) as batch_op:
        batch_op.drop_column("audit_head")
