"""progress: monthly progress reports become append-only history with stage claims

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-15

A project may now report more than once in a month (the latest counts), so the unique
(project_id, month) goes. A report may claim a stage reached (`claim`, `claim_on`) that the
project's agent or manager confirms or rejects (`claim_status`, `decided_by_id`, `decided_at`,
`decision_note`); it may give no amount (`invested_wan` nullable), carry photos (`files`), and
carries the chat draft's key (`submission_key`) so a repeated submit makes one report.

Downgrading keeps, per project and month, the latest report that has an amount (the old
table's shape), and drops the rest.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.tables.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = models.tables.types.UTCDateTime(timezone=True)
# SQLite keeps 0001's unique constraint unnamed: batch mode finds it by this convention.
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s_%(column_1_name)s"}
_SQLITE_UQ = "uq_progressreport_project_id_month"


def _month_unique() -> str | None:
    """The name PostgreSQL gave 0001's unique (project_id, month)."""
    for found in sa.inspect(op.get_bind()).get_unique_constraints("progressreport"):
        if found["column_names"] == ["project_id", "month"]:
            return found["name"]
    return None


def upgrade() -> None:
    """Apply."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if not sqlite:
        name = _month_unique()
        if name is not None:
            op.drop_constraint(name, "progressreport", type_="unique")
    with op.batch_alter_table(
        "progressreport", schema=None, naming_convention=_NAMING if sqlite else None
    ) as batch_op:
        if sqlite:
            batch_op.drop_constraint(_SQLITE_UQ, type_="unique")
        batch_op.alter_column("invested_wan", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(
            sa.Column("files", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.add_column(
            sa.Column("submission_key", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.add_column(
            sa.Column("claim", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.add_column(sa.Column("claim_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("claim_status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
        batch_op.add_column(sa.Column("decided_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("decided_at", _UTC, nullable=True))
        batch_op.add_column(
            sa.Column(
                "decision_note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True
            )
        )
        batch_op.create_unique_constraint(
            "uq_progressreport_submission_key" if sqlite else None, ["submission_key"]
        )
        batch_op.create_foreign_key(
            "fk_progressreport_decided_by_id" if sqlite else None,
            "official",
            ["decided_by_id"],
            ["id"],
        )


def downgrade() -> None:
    """Revert: per project and month, the latest report with an amount is kept."""
    op.execute("DELETE FROM progressreport WHERE invested_wan IS NULL")
    op.execute(
        "DELETE FROM progressreport WHERE id NOT IN (SELECT MAX(id) FROM progressreport"
        " GROUP BY project_id, month)"
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table(
        "progressreport", schema=None, naming_convention=_NAMING if sqlite else None
    ) as batch_op:
        batch_op.drop_constraint(
            _constraint("progressreport", "submission_key", "unique"), type_="unique"
        )
        batch_op.drop_constraint(
            _constraint("progressreport", "decided_by_id", "foreignkey"), type_="foreignkey"
        )
        for column in (
            "decision_note",
            "decided_at",
            "decided_by_id",
            "claim_status",
            "claim_on",
            "claim",
            "submission_key",
            "files",
        ):
            batch_op.drop_column(column)
        batch_op.alter_column("invested_wan", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(_SQLITE_UQ if sqlite else None, ["project_id", "month"])


def _constraint(table: str, column: str, kind: str) -> str:
    """The name of the constraint on one column (as upgrade made it, or PostgreSQL named it)."""
    inspector = sa.inspect(op.get_bind())
    found = (
        inspector.get_unique_constraints(table)
        if kind == "unique"
        else inspector.get_foreign_keys(table)
    )
    for item in found:
        columns = item.get("column_names") or item.get("constrained_columns")
        if columns == [column] and item["name"]:
            return str(item["name"])
    return f"{'uq' if kind == 'unique' else 'fk'}_{table}_{column}"
