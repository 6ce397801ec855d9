"""The outbox dispatcher: delivers queued notices through their channels, in order, with retries.

Each row is claimed (a lease on `next_attempt_at`) and committed before it is sent, so two
dispatchers never send the same row; `sent_at` is committed after the send. On PostgreSQL a
pass claims its whole batch at once with `SELECT … FOR UPDATE SKIP LOCKED` (another dispatcher's
pass skips those rows instead of waiting, and then sees their lease) and hands back the rows it
does not deliver; on SQLite, one writer at a time, each row is claimed as it goes out.
A row names its channel and its address there (none: the person's own address on that channel).
The channel cuts a notice into messages and sends each within its own limits (jobs/channels);
`Outbox.parts_sent` counts the ones delivered, so a retry resumes with the first one not yet
sent. What the channel answers decides the rest here, the same for every channel: wait and send
again, back off, hold a person's rows, re-address, or give up.

A recipient slow to answer (a webhook that times out, a robot's rate limit) holds back only its
own rows: `run` waits at most `idle` for a pass's recipients, and one still sending goes on in
its own task while the next passes serve the others (its rows are claimed or behind it, so no
pass takes them twice).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Collection, Hashable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Literal

from sqlalchemy import ColumnElement, Update, and_, exists, func, or_, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from jobs.channels import (
    Channel,
    DeliveryError,
    Moved,
    Rejected,
    Rendered,
    RetryLater,
    Unreachable,
)
from models.tables.infra import Outbox
from models.tables.org import Contact, Official

logger = logging.getLogger(__name__)

Person = Official | Contact
Whose = tuple[str, int | None]  # ("official"|"contact", id)
People = dict[Whose, Person]
Channels = Mapping[str, Channel[Any]]
_UTCNOW = partial(datetime.now, UTC)
DATABASE_SLOTS = 8  # recipients' tasks using the database at once (a claim, a render, a mark)
_PENDING = (col(Outbox.sent_at).is_(None), col(Outbox.failed_at).is_(None))

RenderFn = Callable[[AsyncSession, Outbox, Person | None], Awaitable[Rendered | None]]
# What became of a row, named as the report's counter; "waiting": another dispatcher has it.
Outcome = Literal["sent", "skipped", "retried", "failed", "blocked", "waiting"]


@dataclass
class DispatchReport:
    """The due rows one pass saw, counted by what became of them."""

    sent: int = 0
    skipped: int = 0  # render had nothing to say: marked sent, nothing sent
    retried: int = 0  # due again later (back-off, or a wait longer than the claim)
    failed: int = 0  # for good: rejected, out of attempts, or a channel we do not have
    held: int = 0  # recipient not bound or unreachable: untouched
    blocked: int = 0  # unreachable just now: the person is marked so
    waiting: int = 0  # behind an earlier row of the same recipient, or another dispatcher's
    picked: int = 0  # rows this pass took up (at most `batch`; held and waiting ones are not,
    # nor those of a recipient an earlier pass's task is still serving)


def _whose(row: Outbox) -> Whose:
    if row.official_id is not None:
        return ("official", row.official_id)
    return ("contact", row.contact_id)


def _recipient(row: Outbox) -> Hashable:
    """Whose rows go out in order: an address on a channel, else a person (on any channel)."""
    return ("to", row.channel, row.address) if row.address is not None else _whose(row)


def _filters(
    now: datetime, columns: Mapping[str, str]
) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Can the row's recipient be reached; is an earlier row of theirs backing off or in hand.

    `columns`: the channels that reach people, and the person's column holding their address.
    Rows of other channels are let through, to be failed for good (they can never go out).
    """
    o, e = Outbox, aliased(Outbox)  # this row, an earlier row
    bound = (
        and_(
            col(o.channel) == name,
            exists().where(
                col(m.id) == ref, col(getattr(m, column)).is_not(None), ~col(m.unreachable)
            ),
        )
        for name, column in columns.items()
        for m, ref in ((Official, o.official_id), (Contact, o.contact_id))
    )
    go = or_(col(o.address).is_not(None), col(o.channel).not_in(list(columns)), *bound)
    person = or_(col(e.official_id) == o.official_id, col(e.contact_id) == o.contact_id)
    person = and_(col(e.address).is_(None), col(o.address).is_(None), person)
    address = and_(col(e.channel) == o.channel, col(e.address) == o.address)
    waiting = col(e.id) < o.id, col(e.next_attempt_at) > now
    pending = col(e.sent_at).is_(None), col(e.failed_at).is_(None)
    behind = exists().where(*waiting, *pending, or_(address, person))
    return go, behind


class Dispatcher:
    """Delivers due outbox rows through `channels` (by name), one committed claim per row."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        channels: Channels,
        render: RenderFn,
        clock: Callable[[], datetime] = _UTCNOW,
        max_attempts: int = 8,
        batch: int = 200,
        lease: timedelta = timedelta(minutes=2),
        only: Collection[str] | None = None,
        observe: Callable[[str, str], None] | None = None,
    ) -> None:
        """Keep the settings; the channels keep their rate limits across passes.

        `only`: deliver the rows of these channels and leave every other row alone (for
        another dispatcher: `ztc outbox send` without a bot token leaves Telegram's to the bot);
        by default a row of a channel not in `channels` fails for good. `observe(channel,
        result)` hears each row's outcome, and "rate_limited" for each busy answer (metrics).
        """
        self.engine, self.channels, self.render, self.clock = engine, dict(channels), render, clock
        self.max_attempts, self.batch, self.lease = max_attempts, batch, lease
        self.observe = observe or (lambda channel, result: None)
        self.only = None if only is None else sorted(only)
        self._busy: dict[Hashable, asyncio.Task[None]] = {}  # recipients being served now
        self._patience: float | None = None  # how long a pass waits for them (None: all)
        self._columns = {n: c.person_address for n, c in channels.items() if c.person_address}
        self._moved: dict[tuple[str, str], str] = {}  # (channel, old address) -> new address
        self._wake = asyncio.Event()
        # A pass serves up to `batch` recipients at once, each mostly waiting for its turn to
        # send; their database work takes turns here, below the engine's pool (5 + 10), so 200
        # of them never wait out the pool's timeout for a connection.
        self._database = asyncio.Semaphore(DATABASE_SLOTS)
        # PostgreSQL: a pass claims its batch at once (and hands back what it does not deliver)
        self._claims_batches = engine.dialect.name == "postgresql"
        self._stop = asyncio.Event()  # run() puts its own here; run_once alone never stops

    def wake(self) -> None:
        """Cut the idle wait short: rows were just committed."""
        self._wake.set()

    async def run(
        self, stop: asyncio.Event, idle: float = 1.0, active: Callable[[], bool] | None = None
    ) -> None:
        """Pass after pass until `stop` is set; the messages in hand are finished first.

        A pass waits at most `idle` for its recipients: a slow one goes on in its own task.
        `active()` false: no pass now (a fleet's follower, bot/app.py), asked again after `idle`.
        """
        self._stop, self._patience = stop, idle
        try:
            while not stop.is_set():
                try:
                    if active is None or active():  # (a fleet's follower makes none)
                        if (await self.run_once()).picked >= self.batch:
                            continue  # a full batch: more are due, no pause
                except Exception:
                    logger.exception("outbox pass failed")
                waits = [asyncio.ensure_future(e.wait()) for e in (stop, self._wake)]
                await asyncio.wait(waits, timeout=idle, return_when=asyncio.FIRST_COMPLETED)
                for waiting in waits:
                    waiting.cancel()
                self._wake.clear()
        finally:
            self._patience = None
            if self._busy:
                await asyncio.wait(list(self._busy.values()))

    async def run_once(self) -> DispatchReport:
        """One pass over the due rows: each recipient in its own task, its rows in id order
        (a recipient still served by an earlier pass's task is left to it)."""
        rows, people, (held, waiting) = await self._load(self.clock())
        report = DispatchReport(held=held, waiting=waiting, picked=len(rows))
        queues: dict[Hashable, list[Outbox]] = {}
        for row in rows:
            queues.setdefault(_recipient(row), []).append(row)
        started = []
        for key, queue in queues.items():
            if key in self._busy:  # not picked: a pass that only finds these is no full batch
                report.waiting += len(queue)
                report.picked -= len(queue)
                await self._release(queue)
                continue
            task = asyncio.create_task(self._recipient(queue, people, report))
            self._busy[key] = task
            task.add_done_callback(partial(self._served, key))
            started.append(task)
        if started:
            await asyncio.wait(started, timeout=self._patience)
        return report

    def _served(self, key: Hashable, task: asyncio.Task[None]) -> None:
        """A recipient's task ended: free its place, and log what broke it, if anything."""
        if self._busy.get(key) is task:
            del self._busy[key]
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.error("outbox: a recipient's deliveries broke off", exc_info=error)

    async def _load(self, now: datetime) -> tuple[list[Outbox], People, tuple[int, int]]:
        """Due rows that can go now, their recipients, and how many are held or must wait."""
        # Held and waiting rows are left out in SQL, so a backlog of them never fills the batch.
        due = and_(*_PENDING, col(Outbox.next_attempt_at) <= now)
        if self.only is not None:
            due = and_(due, col(Outbox.channel).in_(self.only))
        go, behind = _filters(now, self._columns)
        query = select(Outbox).where(due, go, ~behind).order_by(col(Outbox.id)).limit(self.batch)
        counts = select(func.count().filter(~go), func.count().filter(go & behind)).where(due)
        async with AsyncSession(self.engine) as session:
            if self._claims_batches:
                rows = await self._claim(session, query.with_for_update(skip_locked=True))
            else:  # SQLite has one writer at a time: each row's own claim (_deliver) suffices
                rows = list((await session.exec(query)).all())
            held, waiting = (await session.exec(counts)).one()
            officials = select(Official).where(col(Official.id).in_({r.official_id for r in rows}))
            contacts = select(Contact).where(col(Contact.id).in_({r.contact_id for r in rows}))
            people: People = {("official", p.id): p for p in (await session.exec(officials)).all()}
            people |= {("contact", p.id): p for p in (await session.exec(contacts)).all()}
        return rows, people, (held, waiting)

    async def _claim(self, session: AsyncSession, query: SelectOfScalar[Outbox]) -> list[Outbox]:
        """PostgreSQL: take the due rows no other dispatcher has locked, lease them all, and
        commit — one round trip for the batch where each row's claim would take its own."""
        rows = list((await session.exec(query)).all())
        if rows:
            session.expunge_all()  # detached: the lease below is set on them, never flushed
            until = self.clock() + self.lease
            claim = update(Outbox).where(col(Outbox.id).in_([row.id for row in rows]))
            await session.exec(claim.values(next_attempt_at=until))
            for row in rows:
                row.next_attempt_at = until
        await session.commit()
        return rows

    async def _release(self, rows: list[Outbox]) -> None:
        """Hand back rows this pass claimed but does not deliver now (PostgreSQL's batch
        claim): due again at once, not when the lease ends."""
        if rows and self._claims_batches:
            leased = col(Outbox.next_attempt_at) == rows[0].next_attempt_at
            ids = col(Outbox.id).in_([row.id for row in rows])
            back = update(Outbox).where(ids, leased, *_PENDING)
            await self._write(back.values(next_attempt_at=self.clock()))

    async def _recipient(
        self, queue: list[Outbox], people: People, report: DispatchReport
    ) -> None:
        """One recipient's rows in id order; stop at the first that cannot go out now."""
        for index, row in enumerate(queue):
            person, channel = people.get(_whose(row)), self.channels.get(row.channel)
            if channel is None or (row.address is None and channel.person_address is None):
                outcome = await self._give_up(row, _unusable(row, channel))
            else:
                address = self._address(row, channel, person)
                if address is None:  # unbound since the query: untouched, out once they bind
                    report.held += len(queue) - index
                    await self._release(queue[index:])
                    return
                if self._stop.is_set():
                    await self._release(queue[index:])
                    return
                try:
                    outcome = await self._deliver(row, channel, person, address)
                except Exception:  # the database, most likely: the claim lapses, the row is back
                    logger.exception("outbox %s (%s): delivery broke off", row.id, row.dedupe_key)
                    outcome = "waiting"
            setattr(report, outcome, getattr(report, outcome) + 1)
            self.observe(row.channel, outcome)
            if outcome in ("retried", "blocked", "waiting"):
                report.waiting += len(queue) - index - 1
                await self._release(queue[index + 1 :])
                return

    def _address(self, row: Outbox, channel: Channel[Any], person: Person | None) -> str | None:
        """Where the row goes: its own address (as moved since), else the person's there."""
        if row.address is not None:
            row.address = self._moved.get((row.channel, row.address), row.address)
            return row.address
        if person is None or person.unreachable or channel.person_address is None:
            return None
        value = getattr(person, channel.person_address)
        return None if value is None else str(value)

    async def _give_up(self, row: Outbox, reason: str) -> Outcome:
        """Fail a row that no channel of ours can deliver, for good."""
        seen = col(Outbox.next_attempt_at) == row.next_attempt_at
        if not await self._write(self._row(row, seen, failed_at=self.clock(), last_error=reason)):
            return "waiting"
        logger.error("outbox %s (%s) failed: %s", row.id, row.dedupe_key, reason)
        return "failed"

    async def _deliver(
        self, row: Outbox, channel: Channel[Any], person: Person | None, address: str
    ) -> Outcome:
        """Claim, render and send one row; record what happened."""
        seen = col(Outbox.next_attempt_at) == row.next_attempt_at  # nobody moved it since we read
        if not await self._write(self._row(row, seen, next_attempt_at=self.clock() + self.lease)):
            return "waiting"
        deadline = time.monotonic() + self.lease.total_seconds()
        try:
            async with self._database, AsyncSession(self.engine, expire_on_commit=False) as s:
                rendered = await self.render(s, row, person)
        except Exception as exc:
            logger.exception("outbox %s (%s): render failed", row.id, row.dedupe_key)
            return await self._on_error(row, person, exc)
        if rendered is None:
            await self._write(self._row(row, sent_at=self.clock(), last_error="skipped"))
            logger.info("outbox %s (%s): nothing to say, skipped", row.id, row.dedupe_key)
            return "skipped"
        if not rendered.key:  # the receiver's idempotency key: the same on every retry
            rendered = replace(rendered, key=row.dedupe_key)
        try:
            address = await self._send_parts(row, channel, address, rendered, deadline)
        except (
            DeliveryError
        ) as exc:  # the endpoint's answers only: a database error is no send error
            return await self._on_error(row, person, exc)
        logger.info("outbox %s (%s) sent to %s %s", row.id, row.dedupe_key, row.channel, address)
        return "sent"

    async def _send_parts(
        self, row: Outbox, channel: Channel[Any], address: str, rendered: Rendered, until: float
    ) -> str:
        """Send the parts not yet delivered, committing after each one and `sent_at` last."""
        parts = channel.parts(rendered)
        for index in range(row.parts_sent, len(parts)):
            address = await self._send(row, channel, address, parts[index], until)
            row.parts_sent = index + 1
            if row.parts_sent < len(parts):  # a retry resumes after this part, never repeats it
                await self._write(self._row(row, parts_sent=row.parts_sent))
        done = max(row.parts_sent, len(parts))
        await self._write(self._row(row, sent_at=self.clock(), address=address, parts_sent=done))
        return address

    async def _send(
        self, row: Outbox, channel: Channel[Any], address: str, part: Any, until: float
    ) -> str:
        """One part; waits out a "retry later" in this recipient's task while the claim lasts."""
        while True:
            try:
                await channel.send(address, part)
                return address
            except RetryLater as exc:
                self.observe(row.channel, "rate_limited")
                if self._stop.is_set() or time.monotonic() + exc.seconds + 1 > until:
                    raise  # would outlive the claim: hand the row back, due after the wait
                logger.warning("outbox %s (%s): %s", row.id, row.dedupe_key, exc)
                if await _stopped(self._stop, exc.seconds):
                    raise  # stopping: hand the row back, due after the wait
            except Moved as exc:
                if row.address is None:  # a person's own address does not move
                    raise Rejected(f"the person's address {exc}") from exc
                address = await self._move(row, address, exc.address)

    async def _move(self, row: Outbox, old: str, new: str) -> str:
        """Re-address every pending row of the channel's `old` address (a migrated group)."""
        logger.warning("outbox %s: %s %s moved to %s", row.id, row.channel, old, new)
        moved = update(Outbox).where(
            *_PENDING, col(Outbox.channel) == row.channel, col(Outbox.address) == old
        )
        await self._write(moved.values(address=new))
        row.address = self._moved[(row.channel, old)] = new
        return new

    async def _on_error(self, row: Outbox, person: Person | None, exc: Exception) -> Outcome:
        """Record a failed send: hand back, back off, mark unreachable or give up."""
        now, also = self.clock(), []
        error = str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
        values: dict[str, Any] = {"attempts": row.attempts + 1, "last_error": error}
        outcome: Outcome = "retried"
        if isinstance(exc, RetryLater):  # not an attempt: the endpoint said wait, nothing was sent
            values = {"next_attempt_at": now + timedelta(seconds=exc.seconds)}
            values["last_error"] = "retry_after"
        elif isinstance(exc, Unreachable) and person is not None and row.address is None:
            # Pending, not failed: held while unreachable, it goes out when they /start again.
            outcome, values["next_attempt_at"] = "blocked", now
            who = update(type(person)).where(col(type(person).id) == person.id)
            also.append(who.values(unreachable=True))
        elif isinstance(exc, Rejected) or row.attempts + 1 >= self.max_attempts:
            outcome, values["failed_at"] = "failed", now
        else:  # Transient, an unreachable address, a failed render: back off exponentially
            delay = min(2.0 * 2**row.attempts * random.uniform(1.0, 1.1), 900.0)
            values["next_attempt_at"] = now + timedelta(seconds=delay)
        level = logging.ERROR if outcome == "failed" else logging.WARNING
        logger.log(level, "outbox %s (%s) %s: %s", row.id, row.dedupe_key, outcome, error)
        await self._write(self._row(row, **values), *also)
        return outcome

    def _row(self, row: Outbox, *where: ColumnElement[bool], **values: Any) -> Update:
        """An update of a still-pending row (a sent or failed row is never touched again)."""
        return update(Outbox).where(col(Outbox.id) == row.id, *_PENDING, *where).values(**values)

    async def _write(self, *statements: Update) -> bool:
        """Run the updates in one committed transaction; True if the first touched one row."""
        async with self._database, self.engine.begin() as connection:
            results = [await connection.execute(statement) for statement in statements]
        return results[0].rowcount == 1


async def _stopped(stop: asyncio.Event, seconds: float) -> bool:
    """Wait `seconds`, or less if `stop` is set meanwhile; whether it was."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return False
    return True


def _unusable(row: Outbox, channel: Channel[Any] | None) -> str:
    if channel is None:
        return f"unknown channel {row.channel!r}: no such channel is configured"
    return f"channel {row.channel!r} has no address for a person"
