"""A record nobody can quietly change: each issue's events form a hash chain, and every event is
anchored in one chain over all issues.

- **The issue's chain.** Every event carries `prev_hash` — the hash of the issue's event before
  it, or for its first event the issue's *genesis* (a hash of what never changes about the
  issue: its id, number, project, category, urgency, reporter, creation moment) — and `hash` =
  SHA-256(prev_hash ":" SHA-256(its content)). The content is everything the event says: kind,
  moment, actor, levels, statuses, note and data (a rating lives in its CONFIRMED event's data).
  The issue row keeps the head of its chain (`issue.audit_head`), so a deleted last event shows.
  `chain_event` is called by the one place events are written (models/issues/runner.record).
- **The anchor.** The sealer (`seal`: every clock tick of the scheduler's leader, and `ztc
  audit seal`; migration 0013 chained and anchored the events there were) appends each event
  not yet anchored to one global chain, in the order it finds them: `AuditLink(seq, event, the
  event's hash, hash)` with hash = SHA-256(the link before's hash ":" event id ":" event hash).
  An issue deleted whole, or an event deleted together with the issue's head rewritten, leaves
  a link pointing at nothing. The head of that chain (seq and hash) is printed by `ztc audit
  verify` and in each bulletin: a head written down elsewhere (`--head SEQ:HASH`) proves the
  chain has not been rebuilt since.
- **What the rows must agree with.** The issue row's status, level, rating, reopen count,
  repeats and text are what the figures read; `verify` replays them from the events.

The hashes have no key: someone with write access to the database and this code can rebuild
every chain after an edit. What they cannot do is make a head published before the edit
still verify (SECURITY.md).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncResult
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.codes import EventKind
from models.db import select_columns
from models.tables.issue import AuditLink, Issue, IssueEvent
from models.tables.types import UTCDateTime

VERSION = "ztc-audit-1"  # part of every genesis: a later scheme would start a new name
SEAL_BATCH = 5000  # events anchored per transaction
# The sealer's PostgreSQL advisory lock (transaction-scoped): two sealers never fork the chain.
SEAL_LOCK = zlib.crc32(b"ztc:audit-seal")
ORIGIN = hashlib.sha256(VERSION.encode()).hexdigest()  # the global chain's "link before" seq 1


def _digest(*parts: str) -> str:
    return hashlib.sha256(":".join(parts).encode()).hexdigest()


def _canonical(value: Any) -> str:
    """One spelling of a JSON value: sorted keys, no spaces, characters as they are."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _moment(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _code(value: Any) -> str | None:
    return None if value is None else str(getattr(value, "value", value))


def genesis(issue: Issue) -> str:
    """The hash an issue's first event links to: what never changes about the issue."""
    return _digest(
        VERSION,
        _canonical(
            {
                "issue": issue.id,
                "number": issue.number,
                "project": issue.project_id,
                "category": _code(issue.category),
                "urgency": _code(issue.urgency),
                "reporter_contact": issue.reporter_contact_id,
                "reporter_official": issue.reporter_official_id,
                "created_at": _moment(issue.created_at),
            }
        ),
    )


def content_hash(event: IssueEvent) -> str:
    """SHA-256 of everything the event says (its id and hashes aside), spelled as canonical
    JSON: an object with these keys, sorted, no spaces, characters as they are."""
    content = {
        "issue": event.issue_id,
        "at": _moment(event.at),
        "kind": _code(event.kind),
        "official": event.actor_official_id,
        "contact": event.actor_contact_id,
        "from_level": _code(event.from_level),
        "to_level": _code(event.to_level),
        "from_status": _code(event.from_status),
        "to_status": _code(event.to_status),
        "note": event.note,
        "data": event.data or {},
    }
    try:  # the data as the JSON column gives it back (tuples are lists in JSON already)
        spelled = _canonical(content)
    except TypeError:  # keys of mixed kinds: as stored, they are all strings
        spelled = _canonical(json.loads(json.dumps(content)))
    return hashlib.sha256(spelled.encode()).hexdigest()


def event_hash(prev_hash: str, event: IssueEvent) -> str:
    """The event's link in its issue's chain."""
    return _digest(prev_hash, content_hash(event))


def link_hash(prev_hash: str, event_id: int, event_hash: str) -> str:
    """A link of the global chain."""
    return _digest(prev_hash, str(event_id), event_hash)


def chain_event(issue: Issue, event: IssueEvent) -> None:
    """Link a new event into its issue's chain and move the issue's head to it."""
    event.prev_hash = issue.audit_head or genesis(issue)
    event.hash = event_hash(event.prev_hash, event)
    issue.audit_head = event.hash


def chain_existing(bind: Connection) -> None:
    """Chain every issue's events and anchor them all, as the code does for new ones, on a
    synchronous connection: migration 0013 on the events there were (and the benchmarks on
    the ones they insert in bulk). Every event must be unchained."""
    issue = sa.table(
        "issue",
        *(sa.column(n) for n in ("id", "number", "project_id", "category", "urgency")),
        *(sa.column(n) for n in ("reporter_contact_id", "reporter_official_id", "audit_head")),
        sa.column("created_at", UTCDateTime()),
    )
    event = sa.table(
        "issueevent",
        *(sa.column(n) for n in ("id", "issue_id", "kind", "note", "prev_hash", "hash")),
        *(sa.column(n) for n in ("actor_official_id", "actor_contact_id")),
        *(sa.column(n) for n in ("from_level", "to_level", "from_status", "to_status")),
        sa.column("at", UTCDateTime()),
        sa.column("data", sa.JSON()),
    )
    heads: dict[int, str] = {}
    issues: dict[int, Any] = {row.id: row for row in bind.execute(sa.select(issue))}
    chained: list[dict[str, Any]] = []
    for found in bind.execute(sa.select(event).order_by(event.c.id)):
        one: Any = found  # a row with the event's columns: what content_hash reads
        prev = heads.get(one.issue_id) or genesis(issues[one.issue_id])
        heads[one.issue_id] = digest = event_hash(prev, one)
        chained.append(
            {"key": one.id, "prev": prev, "digest": digest, "issue": one.issue_id, "at": one.at}
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
        sa.column("at", UTCDateTime()),
    )
    prev, links = ORIGIN, []  # each link dated as its event: what was there is anchored as it was
    for seq, item in enumerate(chained, start=1):
        prev = link_hash(prev, item["key"], item["digest"])
        links.append(
            {
                "seq": seq,
                "event_id": item["key"],
                "issue_id": item["issue"],
                "event_hash": item["digest"],
                "hash": prev,
                "at": item["at"],
            }
        )
    bind.execute(link.insert(), links)


# --- the anchor -------------------------------------------------------------------------------


async def seal(*, session: AsyncSession, now: datetime, batch: int = SEAL_BATCH) -> int:
    """Anchor the events not yet in the global chain (at most `batch`, oldest first); how many.
    The caller commits."""
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEAL_LOCK})
    else:  # SQLite: take the write lock before reading the chain's end (an empty UPDATE does)
        await connection.execute(text("UPDATE auditlink SET seq = seq WHERE 0"))
    last = (
        await session.exec(select(AuditLink).order_by(col(AuditLink.seq).desc()).limit(1))
    ).first()
    seq, prev = (last.seq, last.hash) if last is not None else (0, ORIGIN)
    anchored = select(AuditLink.event_id).where(col(AuditLink.event_id) == IssueEvent.id)
    pending = await session.exec(
        select(IssueEvent.id, IssueEvent.issue_id, IssueEvent.hash)
        .where(~anchored.exists(), col(IssueEvent.hash).is_not(None))
        .order_by(col(IssueEvent.id))
        .limit(batch)
    )
    count = 0
    for event_id, issue_id, digest in pending.all():
        assert event_id is not None and digest is not None
        seq, prev = seq + 1, link_hash(prev, event_id, digest)
        link = AuditLink(
            seq=seq, event_id=event_id, issue_id=issue_id, event_hash=digest, hash=prev, at=now
        )
        session.add(link)
        count += 1
    await session.flush()
    return count


async def seal_all(*, session: AsyncSession, now: datetime) -> int:
    """Anchor every pending event, a batch at a time (one transaction: the caller commits)."""
    total = 0
    while count := await seal(session=session, now=now):
        total += count
    return total


# --- verification ----------------------------------------------------------------------------

REASONS = ("genesis", "order", "content", "head", "missing", "row", "anchor", "published")


@dataclass(frozen=True)
class Break:
    """A broken link: the issue (its number, or `#id` when the issue row is gone), the event id
    (None when the issue has no events at all), and why (one of REASONS) with a detail."""

    issue: str
    event_id: int | None
    reason: str
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        """The break as the CLI's JSON prints it."""
        return {
            "issue": self.issue,
            "event_id": self.event_id,
            "reason": self.reason,
            "detail": self.detail,
        }


@dataclass
class Verdict:
    """What `verify` found: counts, the global chain's head, and the breaks (the first first)."""

    issues: int = 0
    events: int = 0
    anchored: int = 0
    pending: int = 0  # events written since the last seal (chained, not yet anchored)
    head_seq: int = 0
    head_hash: str = ORIGIN
    breaks: list[Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the record verifies."""
        return not self.breaks

    @property
    def ordered(self) -> list[Break]:
        """The breaks by event id (the ones without an event last)."""
        return sorted(self.breaks, key=lambda b: (b.event_id is None, b.event_id or 0))

    @property
    def first(self) -> Break | None:
        """The first broken link."""
        return self.ordered[0] if self.breaks else None

    def as_json(self) -> dict[str, Any]:
        """The verdict as `ztc audit verify --json` prints it."""
        first = self.first
        return {
            "ok": self.ok,
            "issues": self.issues,
            "events": self.events,
            "anchored": self.anchored,
            "pending": self.pending,
            "head": {"seq": self.head_seq, "hash": self.head_hash},
            "first_broken": first.as_json() if first else None,
            "breaks": [b.as_json() for b in self.ordered],
        }


@dataclass
class _Replay:
    """An issue's fields as its events say they are, walked in order."""

    head: str
    last_id: int | None = None
    status: str | None = None
    level: str | None = None
    rating: str | None = None
    reopened: int = 0
    repeats: int = 0
    text: str | None = None


# What verification reads: plain rows, streamed (a city's year is hundreds of thousands of
# events: no ORM objects, nothing kept but the issue rows and one replay at a time).
_ISSUE_COLUMNS = (
    Issue.id,
    Issue.number,
    Issue.project_id,
    Issue.category,
    Issue.urgency,
    Issue.reporter_contact_id,
    Issue.reporter_official_id,
    Issue.created_at,
    Issue.audit_head,
    Issue.status,
    Issue.level,
    Issue.rating,
    Issue.reopen_count,
    Issue.repeats,
    Issue.text,
)
_EVENT_COLUMNS = (
    IssueEvent.id,
    IssueEvent.issue_id,
    IssueEvent.at,
    IssueEvent.kind,
    IssueEvent.actor_official_id,
    IssueEvent.actor_contact_id,
    IssueEvent.from_level,
    IssueEvent.to_level,
    IssueEvent.from_status,
    IssueEvent.to_status,
    IssueEvent.note,
    IssueEvent.data,
    IssueEvent.prev_hash,
    IssueEvent.hash,
)
_BATCH = 2000


async def verify(*, session: AsyncSession, published: Iterable[tuple[int, str]] = ()) -> Verdict:
    """Walk every issue's chain and the global chain; the record verifies when nothing breaks.
    `published`: heads (seq, hash) written down before (a bulletin's), which must still be
    links of the chain."""
    verdict = Verdict()
    issues: dict[int, Any] = {}
    for row in (await session.exec(select_columns(*_ISSUE_COLUMNS))).all():
        issues[row[0]] = row
    verdict.issues = len(issues)
    walked: set[int] = set()
    replay: _Replay | None = None
    issue: Any = None
    order = (col(IssueEvent.issue_id), col(IssueEvent.id))
    query = select_columns(*_EVENT_COLUMNS).order_by(*order).execution_options(yield_per=_BATCH)
    async for event in _rows(await session.stream(query)):
        verdict.events += 1
        if issue is None or event.issue_id != issue.id:
            if replay is not None:
                _row(verdict, issue, replay)
            issue = issues.get(event.issue_id)
            replay = None if issue is None else _Replay(head=genesis(issue))
            walked.add(event.issue_id)
        if replay is not None:  # else an event whose issue is gone: its anchor names it
            _walk(verdict, issue, replay, event)
    if replay is not None:
        _row(verdict, issue, replay)
    for issue_id in issues.keys() - walked:
        number = _number(issues[issue_id], issue_id)
        verdict.breaks.append(Break(number, None, "missing", "no events"))
    links = await _anchor(session, verdict, issues)
    for seq, digest in published:
        if links.get(seq) != digest:
            verdict.breaks.append(Break("—", None, "published", f"seq {seq} {_short(digest)}"))
    return verdict


async def _rows(result: AsyncResult[Any]) -> AsyncIterator[Any]:
    """A streamed result's rows, fetched a batch at a time (one hop to the driver per batch,
    not per row)."""
    async for batch in result.partitions(_BATCH):
        for row in batch:
            yield row


def _number(issue: Any, issue_id: int) -> str:
    return issue.number if issue is not None and issue.number else f"#{issue_id}"


def _walk(verdict: Verdict, issue: Any, replay: _Replay, event: Any) -> None:
    """One event of an issue's chain, checked and replayed."""
    if event.prev_hash != replay.head:
        reason = "genesis" if replay.last_id is None else "order"
        number = _number(issue, event.issue_id)
        verdict.breaks.append(Break(number, event.id, reason, _short(event.prev_hash)))
    elif event.hash != event_hash(replay.head, event):
        number = _number(issue, event.issue_id)
        verdict.breaks.append(Break(number, event.id, "content", _short(event.hash)))
    replay.head = event.hash or ""
    replay.last_id = event.id
    replay.status, replay.level = _code(event.to_status), _code(event.to_level)
    if isinstance(event.data, dict) and "rating" in event.data:
        replay.rating = str(event.data["rating"])
    if event.kind == EventKind.REOPENED:
        replay.reopened += 1
    elif event.kind == EventKind.REPEATED:
        replay.repeats += 1
    elif event.kind == EventKind.CREATED:
        replay.text = event.note


def _row(verdict: Verdict, issue: Any, replay: _Replay) -> None:
    """The issue row against its replayed events: its head, and the fields the figures read."""
    number = _number(issue, issue.id)
    if issue.audit_head != replay.head:
        verdict.breaks.append(Break(number, replay.last_id, "head", _short(issue.audit_head)))
    row = {
        "status": _code(issue.status),
        "level": _code(issue.level),
        "rating": _code(issue.rating),
        "reopen_count": issue.reopen_count,
        "repeats": issue.repeats,
        "text": issue.text,
    }
    events = {
        "status": replay.status,
        "level": replay.level,
        "rating": replay.rating,
        "reopen_count": replay.reopened,
        "repeats": replay.repeats,
        "text": replay.text,
    }
    differ = [name for name in row if row[name] != events[name]]
    if differ:
        verdict.breaks.append(Break(number, replay.last_id, "row", ", ".join(differ)))


async def _anchor(
    session: AsyncSession, verdict: Verdict, issues: dict[int, Any]
) -> dict[int, str]:
    """The global chain: each link over the one before, each pointing at its event as it is
    (joined in SQL). Returns seq -> hash of every link."""
    prev, expected, seen = ORIGIN, 1, {}
    query = (
        select_columns(
            AuditLink.seq,
            AuditLink.event_id,
            AuditLink.issue_id,
            AuditLink.event_hash,
            AuditLink.hash,
            col(IssueEvent.issue_id).label("found_issue"),
            col(IssueEvent.hash).label("found_hash"),
        )
        .outerjoin(IssueEvent, col(IssueEvent.id) == AuditLink.event_id)
        .order_by(col(AuditLink.seq))
        .execution_options(yield_per=_BATCH)
    )
    async for link in _rows(await session.stream(query)):
        if link.seq != expected or link.hash != link_hash(prev, link.event_id, link.event_hash):
            broken: str | None = "anchor"
        elif link.found_issue is None:
            broken = "missing"
        elif (link.found_issue, link.found_hash) != (link.issue_id, link.event_hash):
            broken = "anchor"
        else:
            broken = None
            verdict.anchored += 1
        if broken is not None:
            number = _number(issues.get(link.issue_id), link.issue_id)
            verdict.breaks.append(Break(number, link.event_id, broken, f"seq {link.seq}"))
        prev, expected = link.hash, link.seq + 1
        seen[link.seq] = link.hash
        verdict.head_seq, verdict.head_hash = link.seq, link.hash
    anchored = select(AuditLink.event_id).where(col(AuditLink.event_id) == IssueEvent.id)
    pending = select(func.count()).select_from(IssueEvent).where(~anchored.exists())
    verdict.pending = (await session.exec(pending)).one()
    return seen


def _short(value: str | None) -> str:
    return (value or "—")[:12]
