"""reports are idempotent by their draft's key; a person's chat is their private chat;
Telegram ids are BIGINT

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TELEGRAM_IDS = (
    ("official", "telegram_user_id"),
    ("official", "chat_id"),
    ("contact", "telegram_user_id"),
    ("contact", "chat_id"),
    ("outbox", "chat_id"),
)


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("issue", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("submission_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.create_unique_constraint("uq_issue_submission_key", ["submission_key"])
    # Telegram user ids pass 2**31 and supergroup ids are -100…: INTEGER refused them (PG).
    for table, column in _TELEGRAM_IDS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column, existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=True
            )
    # `/start <token>` typed in a group used to save the group as the person's chat, and their
    # notices then went there. A person is reached in their private chat, whose id is their
    # account's id (Telegram numbers them so).
    for table in ("official", "contact"):
        op.execute(
            f"UPDATE {table} SET chat_id = telegram_user_id "
            "WHERE chat_id IS NOT NULL AND chat_id < 0"
        )


def downgrade() -> None:
    """Revert (the chats moved back to private stay there)."""
    for table, column in _TELEGRAM_IDS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column, existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=True
            )
    with op.batch_alter_table("issue", schema=None) as batch_op:
        batch_op.drop_constraint("uq_issue_submission_key", type_="unique")
        batch_op.drop_column("submission_key")
