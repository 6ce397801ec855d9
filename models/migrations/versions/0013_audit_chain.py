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
from models.audit import ORIGIN, event_hash, genesis, link_hash
from models.tables.issue import Issue, IssueEvent

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Moment = models.tables.types.UTCDateTime


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
        sa.Column("at", Moment(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("event_id"),
    )
    _chain_what_is_there(op.get_bind())


def _chain_what_is_there(bind: sa.Connection) -> None:
    """Chain every issue's events and anchor them all, as the code does for new ones."""
    issue = sa.table(
        "issue",
        *(sa.column(n) for n in ("id", "number", "project_id", "category", "urgency")),
        *(sa.column(n) for n in ("reporter_contact_id", "reporter_official_id", "audit_head")),
        sa.column("created_at", Moment()),
    )
    event = sa.table(
        "issueevent",
        *(sa.column(n) for n in ("id", "issue_id", "kind", "note", "prev_hash", "hash")),
        *(sa.column(n) for n in ("actor_official_id", "actor_contact_id")),
        *(sa.column(n) for n in ("from_level", "to_level", "from_status", "to_status")),
        sa.column("at", Moment()),
        sa.column("data", sa.JSON()),
    )
    heads: dict[int, str] = {}
    issues = {
        row.id: Issue(**{k: v for k, v in row._mapping.items() if k != "audit_head"})
        for row in bind.execute(sa.select(issue))
    }
    chained: list[dict[str, object]] = []
    for row in bind.execute(sa.select(event).order_by(event.c.id)):
        values = dict(row._mapping)
        values.pop("prev_hash"), values.pop("hash")
        record = IssueEvent(**values)
        prev = heads.get(row.issue_id) or genesis(issues[row.issue_id])
        heads[row.issue_id] = digest = event_hash(prev, record)
        chained.append(
            {"key": row.id, "prev": prev, "digest": digest, "issue": row.issue_id, "at": row.at}
        )
    if not chained:
        return
    bind.execute(
        event.update()
        .where(event.c.id == sa.bindparam("key"))
        .values(prev_hash=sa.bindparam("prev"), hash=sa.bindparam("digest")),
        chained,
    )
    bind.execute(
        issue.update()
        .where(issue.c.id == sa.bindparam("key"))
        .values(audit_head=sa.bindparam("head")),
        [{"key": key, "head": head} for key, head in heads.items()],
    )
    link = sa.table(
        "auditlink",
        *(sa.column(n) for n in ("seq", "event_id", "issue_id", "event_hash", "hash")),
        sa.column("at", Moment()),
    )
    prev, links = ORIGIN, []  # each link dated as its event: what was there is anchored as it was
    for seq, row in enumerate(chained, start=1):
        prev = link_hash(prev, int(str(row["key"])), str(row["digest"]))
        links.append(
            {
                "seq": seq,
                "event_id": row["key"],
                "issue_id": row["issue"],
                "event_hash": row["digest"],
                "hash": prev,
                "at": row["at"],
            }
        )
    bind.execute(link.insert(), links)


def downgrade() -> None:
    """Revert."""
    op.drop_table("auditlink")
    with op.batch_alter_table("issueevent", schema=None) as batch_op:
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
    with op.batch_alter_table("issue", schema=None) as batch_op:
        batch_op.drop_column("audit_head")
