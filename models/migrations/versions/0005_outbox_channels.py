"""outbox rows name their channel and address; chat_id goes

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08

A row goes to `channel` ("telegram", and the robots and webhooks to come) at `address` (text:
a Telegram chat id, a robot's name …); no address means the person's own on that channel.
Existing rows become Telegram rows at their chat id: a group audience's row keeps its group, and
a person's sent row keeps the chat it went to (their pending rows had none: they still have
none, and go to the person's chat).

`chat_id` is dropped rather than kept beside `address`: two columns saying where a row goes
would drift (a migrated group re-addressed in one and not the other), and only Telegram has chat
ids. Downgrading puts Telegram addresses back into `chat_id`; rows of other channels, which the
old code cannot tell from a person's, are failed if still pending.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "channel",
                sqlmodel.sql.sqltypes.AutoString(length=32),
                nullable=False,
                server_default="telegram",  # the existing rows'; new rows name theirs
            )
        )
        batch_op.add_column(
            sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True)
        )
    op.execute(
        "UPDATE outbox SET address = CAST(chat_id AS VARCHAR(255)) WHERE chat_id IS NOT NULL"
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column(
            "channel",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=32),
            existing_nullable=False,
            server_default=None,
        )
        batch_op.drop_column("chat_id")


def downgrade() -> None:
    """Revert: Telegram addresses back to chat ids; other channels' pending rows failed."""
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chat_id", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE outbox SET chat_id = CAST(address AS BIGINT)"
        " WHERE channel = 'telegram' AND address IS NOT NULL"
    )
    op.execute(
        "UPDATE outbox SET failed_at = CURRENT_TIMESTAMP,"
        " last_error = 'its channel is unknown before migration 0005'"
        " WHERE channel <> 'telegram' AND sent_at IS NULL AND failed_at IS NULL"
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("address")
        batch_op.drop_column("channel")
