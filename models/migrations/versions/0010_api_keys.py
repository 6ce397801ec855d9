"""api keys: the intake API's calling systems, scoped to regions (`ztc api key new`)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.tables.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("key_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("salt", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("secret_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("all_regions", sa.Boolean(), nullable=False),
        sa.Column("created_at", models.tables.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", models.tables.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", models.tables.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_id"),
        sa.UniqueConstraint("name"),
    )


def downgrade() -> None:
    """Revert (every key is gone: make new ones after upgrading again)."""
    op.drop_table("api_key")
