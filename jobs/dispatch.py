"""The outbox dispatcher: delivers queued notices through the bot, in order, within the limits.

Each row is claimed (a lease on `next_attempt_at`) and committed before it is sent, so two
dispatchers on one PostgreSQL never send the same row; `sent_at` is committed after the send.
A notice is one or more messages (its text in parts, then its files); `Outbox.parts_sent`
counts the ones delivered, so a retry resumes with the first one not yet sent.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Literal

import telegram
from aiolimiter import AsyncLimiter
from sqlalchemy import ColumnElement, Update, and_, exists, func, or_, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup, InputFile, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from jobs.textsplit import split_text, visible_length
from models.tables.infra import Outbox
from models.tables.org import Contact, Official

logger = logging.getLogger(__name__)

Person = Official | Contact
Key = tuple[str, int | None]  # whose rows go out in order: ("chat"|"official"|"contact", id)
People = dict[Key, Person]
Markup = InlineKeyboardMarkup | None
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
_HTML: dict[str, Any] = {"parse_mode": ParseMode.HTML, "link_preview_options": _NO_PREVIEW}
_UTCNOW = partial(datetime.now, UTC)
_PENDING = (col(Outbox.sent_at).is_(None), col(Outbox.failed_at).is_(None))
CAPTION_LIMIT = 1024  # Telegram's, in visible characters once the HTML is parsed


@dataclass(frozen=True)
class Attachment:
    """A file sent after a notice's text: a document (any file) or a photo (shown inline).

    `caption` is HTML of at most `CAPTION_LIMIT` visible characters; a longer one is refused
    here rather than trimmed, so render fails before anything is sent instead of Telegram
    refusing the file after the text went out. Telegram takes documents up to 50 MB and photos
    up to 10 MB (and at most 10,000 pixels width plus height).
    """

    name: str
    data: bytes
    kind: Literal["document", "photo"] = "document"
    caption: str | None = None

    def __post_init__(self) -> None:
        """Refuse a caption Telegram would refuse."""
        if self.caption and visible_length(self.caption) > CAPTION_LIMIT:
            raise ValueError(f"caption of {self.name} over {CAPTION_LIMIT} characters")


@dataclass(frozen=True)
class Rendered:
    """A notice as it is sent: HTML text (the buttons on its last part), then the files."""

    text: str
    reply_markup: Markup = None
    files: tuple[Attachment, ...] = ()


RenderFn = Callable[[AsyncSession, Outbox, Person | None], Awaitable[Rendered | None]]
Step = Callable[[int], Awaitable[object]]  # one message of a notice, sent to the chat given
# What became of a row, named as the report's counter; "waiting": another dispatcher has it.
Outcome = Literal["sent", "skipped", "retried", "failed", "blocked", "waiting"]


@dataclass
class DispatchReport:
    """The due rows one pass saw, counted by what became of them."""

    sent: int = 0
    skipped: int = 0  # render had nothing to say: marked sent, nothing sent
    retried: int = 0  # due again later (back-off, or a 429 longer than the claim)
    failed: int = 0  # for good: a bad request, or out of attempts
    held: int = 0  # recipient not bound or unreachable: untouched
    blocked: int = 0  # a 403 just now: the recipient is marked unreachable
    waiting: int = 0  # behind an earlier row of the same chat, or another dispatcher's
    picked: int = 0  # rows this pass took up (at most `batch`; held and waiting ones are not)


def _key(chat_id: int | None, official_id: int | None, contact_id: int | None) -> Key:
    if chat_id is not None:
        return ("chat", chat_id)
    return ("official", official_id) if official_id is not None else ("contact", contact_id)


def _filters(now: datetime) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Can the row's recipient be reached; is an earlier row of its chat backing off or in hand."""
    bound = (
        exists().where(col(m.id) == ref, col(m.chat_id).is_not(None), ~col(m.unreachable))
        for m, ref in ((Official, Outbox.official_id), (Contact, Outbox.contact_id))
    )
    e, o = aliased(Outbox), Outbox  # an earlier row, this row
    person = or_(col(e.official_id) == o.official_id, col(e.contact_id) == o.contact_id)
    person = and_(col(e.chat_id).is_(None), col(o.chat_id).is_(None), person)
    waiting = col(e.id) < o.id, col(e.next_attempt_at) > now
    pending = col(e.sent_at).is_(None), col(e.failed_at).is_(None)
    behind = exists().where(*waiting, *pending, or_(col(e.chat_id) == o.chat_id, person))
    return or_(col(o.chat_id).is_not(None), *bound), behind


def _retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings(action="ignore"):  # PTB 22 warns that the int form is going
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Dispatcher:
    """Delivers due outbox rows through a `telegram.Bot`, one committed claim per row."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        bot: telegram.Bot,
        render: RenderFn,
        clock: Callable[[], datetime] = _UTCNOW,
        overall_per_second: int = 30,
        private_interval: float = 1.0,
        group_per_minute: int = 20,
        max_attempts: int = 8,
        batch: int = 200,
        lease: timedelta = timedelta(minutes=2),
    ) -> None:
        """Keep the settings; limiters live as long as the dispatcher, across passes."""
        self.engine, self.bot, self.render, self.clock = engine, bot, render, clock
        # Buckets of one, evenly spaced: a bucket of N would allow a burst of N on top of the
        # steady N per period, twice the limit in the first period.
        self._rates = {True: (1, private_interval), False: (1, 60 / group_per_minute)}
        self.max_attempts, self.batch, self.lease = max_attempts, batch, lease
        self._overall = AsyncLimiter(1, 1 / overall_per_second)
        self._chats: dict[int, AsyncLimiter] = {}
        self._moved: dict[int, int] = {}  # groups that became supergroups: old id -> new id
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()  # run() puts its own here; run_once alone never stops

    def wake(self) -> None:
        """Cut the idle wait short: rows were just committed."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, idle: float = 1.0) -> None:
        """Pass after pass until `stop` is set; a message in hand is finished first."""
        self._stop = stop
        while not stop.is_set():
            try:
                if (await self.run_once()).picked >= self.batch:
                    continue  # a full batch: more are due, no pause
            except Exception:
                logger.exception("outbox pass failed")
            waits = [asyncio.ensure_future(e.wait()) for e in (stop, self._wake)]
            await asyncio.wait(waits, timeout=idle, return_when=asyncio.FIRST_COMPLETED)
            for waiting in waits:
                waiting.cancel()
            self._wake.clear()

    async def run_once(self) -> DispatchReport:
        """One pass over the due rows: each chat in its own task, its rows in id order."""
        rows, people, (held, waiting) = await self._load(self.clock())
        report = DispatchReport(held=held, waiting=waiting, picked=len(rows))
        queues: dict[Key, list[Outbox]] = {}
        for row in rows:
            queues.setdefault(_key(row.chat_id, row.official_id, row.contact_id), []).append(row)
        async with asyncio.TaskGroup() as group:
            for queue in queues.values():
                group.create_task(self._chat(queue, people, report))
        return report

    async def _load(self, now: datetime) -> tuple[list[Outbox], People, tuple[int, int]]:
        """Due rows that can go now, their recipients, and how many are held or must wait."""
        # Held and waiting rows are left out in SQL, so a backlog of them never fills the batch.
        due, (go, behind) = and_(*_PENDING, col(Outbox.next_attempt_at) <= now), _filters(now)
        query = select(Outbox).where(due, go, ~behind).order_by(col(Outbox.id)).limit(self.batch)
        counts = select(func.count().filter(~go), func.count().filter(go & behind)).where(due)
        async with AsyncSession(self.engine) as session:
            rows = list((await session.exec(query)).all())
            held, waiting = (await session.exec(counts)).one()
            officials = select(Official).where(col(Official.id).in_({r.official_id for r in rows}))
            contacts = select(Contact).where(col(Contact.id).in_({r.contact_id for r in rows}))
            people: People = {("official", p.id): p for p in (await session.exec(officials)).all()}
            people |= {("contact", p.id): p for p in (await session.exec(contacts)).all()}
        return rows, people, (held, waiting)

    async def _chat(self, queue: list[Outbox], people: People, report: DispatchReport) -> None:
        """One chat's rows in id order; stop at the first that cannot go out now."""
        for index, row in enumerate(queue):
            person = people.get(_key(None, row.official_id, row.contact_id))
            chat_id = row.chat_id = self._moved.get(row.chat_id or 0, row.chat_id)
            if chat_id is None and person is not None and not person.unreachable:
                chat_id = person.chat_id
            if chat_id is None:  # unbound since the query: untouched, out once they bind again
                report.held += len(queue) - index
                return
            if self._stop.is_set():
                return
            try:
                outcome = await self._deliver(row, person, chat_id)
            except Exception:  # the database, most likely: the claim lapses, the row comes back
                logger.exception("outbox %s (%s): delivery broke off", row.id, row.dedupe_key)
                outcome = "waiting"
            setattr(report, outcome, getattr(report, outcome) + 1)
            if outcome in ("retried", "blocked", "waiting"):
                report.waiting += len(queue) - index - 1
                return

    async def _deliver(self, row: Outbox, person: Person | None, chat_id: int) -> Outcome:
        """Claim, render and send one row; record what happened."""
        seen = col(Outbox.next_attempt_at) == row.next_attempt_at  # nobody moved it since we read
        if not await self._write(self._row(row, seen, next_attempt_at=self.clock() + self.lease)):
            return "waiting"
        deadline = time.monotonic() + self.lease.total_seconds()
        try:
            async with AsyncSession(self.engine, expire_on_commit=False) as session:
                rendered = await self.render(session, row, person)
        except Exception as exc:
            logger.exception("outbox %s (%s): render failed", row.id, row.dedupe_key)
            return await self._on_error(row, person, exc)
        if rendered is None:
            await self._write(self._row(row, sent_at=self.clock(), last_error="skipped"))
            logger.info("outbox %s (%s): nothing to say, skipped", row.id, row.dedupe_key)
            return "skipped"
        try:
            chat_id = await self._send_parts(row, chat_id, rendered, deadline)
        except TelegramError as exc:  # Telegram's answers only: a database error is no send error
            return await self._on_error(row, person, exc)
        logger.info("outbox %s (%s) sent to %s", row.id, row.dedupe_key, chat_id)
        return "sent"

    async def _send_parts(self, row: Outbox, chat: int, rendered: Rendered, until: float) -> int:
        """Send the messages not yet delivered, committing after each one and `sent_at` last."""
        steps = self._steps(rendered)
        for index in range(row.parts_sent, len(steps)):
            chat = await self._send(row, chat, steps[index], until)
            row.parts_sent = index + 1
            if row.parts_sent < len(steps):  # a retry resumes after this part, never repeats it
                await self._write(self._row(row, parts_sent=row.parts_sent))
        done = max(row.parts_sent, len(steps))
        await self._write(self._row(row, sent_at=self.clock(), chat_id=chat, parts_sent=done))
        return chat

    def _steps(self, rendered: Rendered) -> list[Step]:
        """The notice's messages in order: the text's parts, buttons on the last, then files."""
        parts = split_text(rendered.text)
        markups = [None] * (len(parts) - 1) + [rendered.reply_markup]
        steps: list[Step] = [
            partial(self.bot.send_message, text=part, reply_markup=markup, **_HTML)
            for part, markup in zip(parts, markups, strict=True)
        ]
        return steps + [partial(self._upload, file) for file in rendered.files]

    async def _upload(self, file: Attachment, chat: int) -> object:
        """One file, as a document or a photo, with its HTML caption."""
        send = self.bot.send_photo if file.kind == "photo" else self.bot.send_document
        upload = InputFile(file.data, filename=file.name)
        return await send(chat, upload, caption=file.caption, parse_mode=ParseMode.HTML)

    async def _send(self, row: Outbox, chat: int, step: Step, until: float) -> int:
        """One message; waits out a 429 in this chat's task while the claim lasts."""
        while True:
            await self._limiter(chat).acquire()
            await self._overall.acquire()
            try:
                await step(chat)
                return chat
            except RetryAfter as exc:
                wait = _retry_seconds(exc)
                if self._stop.is_set() or time.monotonic() + wait + 1 > until:
                    raise  # would outlive the claim: hand the row back, due after the wait
                logger.warning("outbox %s (%s): 429, waiting %.1fs", row.id, row.dedupe_key, wait)
                await asyncio.sleep(wait)
            except ChatMigrated as exc:
                if row.chat_id is None:
                    raise  # a person's private chat does not migrate: treated as a bad request
                logger.warning("outbox %s: chat %s moved to %s", row.id, chat, exc.new_chat_id)
                moved = update(Outbox).where(*_PENDING, col(Outbox.chat_id) == chat)
                await self._write(moved.values(chat_id=exc.new_chat_id))
                row.chat_id = self._moved[chat] = chat = exc.new_chat_id

    def _limiter(self, chat_id: int) -> AsyncLimiter:
        if chat_id not in self._chats:  # private chats have positive ids, groups negative
            self._chats[chat_id] = AsyncLimiter(*self._rates[chat_id > 0])
        return self._chats[chat_id]

    async def _on_error(self, row: Outbox, person: Person | None, exc: Exception) -> Outcome:
        """Record a failed send: hand back, back off, mark unreachable or give up."""
        now, error, also = self.clock(), f"{type(exc).__name__}: {exc}", []
        values: dict[str, Any] = {"attempts": row.attempts + 1, "last_error": error}
        outcome: Outcome = "retried"
        if isinstance(exc, RetryAfter):  # not an attempt: Telegram said wait, nothing was sent
            wait = timedelta(seconds=_retry_seconds(exc))
            values = {"next_attempt_at": now + wait, "last_error": "retry_after"}
        elif isinstance(exc, Forbidden) and person is not None and row.chat_id is None:
            # Pending, not failed: held while unreachable, it goes out when they /start again.
            outcome, values["last_error"], values["next_attempt_at"] = "blocked", "forbidden", now
            who = update(type(person)).where(col(type(person).id) == person.id)
            also.append(who.values(unreachable=True))
        elif isinstance(exc, BadRequest | ChatMigrated) or row.attempts + 1 >= self.max_attempts:
            outcome, values["failed_at"] = "failed", now
        else:  # TimedOut, NetworkError (5xx) and the like: back off exponentially
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
        async with self.engine.begin() as connection:
            results = [await connection.execute(statement) for statement in statements]
        return results[0].rowcount == 1
