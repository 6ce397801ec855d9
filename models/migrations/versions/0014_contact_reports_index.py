"""an index on the issues a contact reported, by moment: the daily limit counts them at each new
report (models/issues/intake.py)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_index(
        "ix_issue_reporter_contact_created",
        "issue",
        ["reporter_contact_id", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    """Revert."""
    op.drop_index("ix_issue_reporter_contact_created", table_name="issue")
