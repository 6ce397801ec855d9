"""repeats: how often an issue's reporter reported it again while it was open (merged into it
instead of a second ticket)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    # The default "0" only backfills the issues there are; the model declares none (the ORM
    # always sends it), as outbox.parts_sent in 0002.
    with op.batch_alter_table("issue", schema=None) as batch_op:
        batch_op.add_column(sa.Column("repeats", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("issue", schema=None) as batch_op:
        batch_op.alter_column("repeats", existing_type=sa.Integer(), server_default=None)


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("issue", schema=None) as batch_op:
        batch_op.drop_column("repeats")
