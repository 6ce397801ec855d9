"""The outbox dispatcher's harness, for tests/services/test_dispatch.py and
tests/e2e/test_dispatch.py: a recording stand-in for telegram.Bot, a clock moved by hand, people
bound to chats, rows queued and read back, a dispatcher built on the Telegram channel."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot, Chat, InlineKeyboardMarkup, Message

from jobs.channels import Attachment, Button, Rendered
from jobs.channels.telegram import TelegramChannel
from jobs.channels.telegram_limits import TelegramRateLimiter
from jobs.dispatch import Dispatcher, Person
from models.db import session_scope
from models.tables.infra import Outbox
from tests.support.factories import build_world

T0 = datetime(2026, 10, 9, 2, 0, tzinfo=UTC)
AGENT_A, AGENT_B, CONTACT, GROUP = 1001, 1002, 2001, -100500


@dataclass
class Sent:
    """One message the stand-in accepted."""

    chat_id: int
    text: str
    parse_mode: str | None
    reply_markup: InlineKeyboardMarkup | None
    link_preview_options: Any
    at: float


@dataclass
class FakeBot:
    """Records send_message calls; `script[chat]` holds errors to raise in turn (None: succeed)."""

    delay: float = 0.0
    sent: list[Sent] = field(default_factory=list)
    calls: int = 0
    script: dict[int, list[Exception | None]] = field(default_factory=dict)
    called: asyncio.Event = field(default_factory=asyncio.Event)
    delivered: asyncio.Event = field(default_factory=asyncio.Event)

    async def send_message(
        self,
        chat_id: int,
        text: str,
        *,
        parse_mode: str | None = None,
        reply_markup: InlineKeyboardMarkup | None = None,
        link_preview_options: Any = None,
        **kw: Any,
    ) -> Message:
        self.calls += 1
        self.called.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        steps = self.script.get(chat_id)
        if steps and (error := steps.pop(0)) is not None:
            raise error
        at = time.monotonic()
        self.sent.append(Sent(chat_id, text, parse_mode, reply_markup, link_preview_options, at))
        self.delivered.set()
        kind = Chat.PRIVATE if chat_id > 0 else Chat.SUPERGROUP
        chat = Chat(id=chat_id, type=kind)
        return Message(message_id=len(self.sent), date=T0, chat=chat, text=text)

    def texts(self, chat_id: int) -> list[str]:
        return [s.text for s in self.sent if s.chat_id == chat_id]


class Clock:
    """A clock the test moves by hand; `monotonic` is the real one moved along with it."""

    def __init__(self) -> None:
        self.now = T0
        self.ahead = 0.0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.ahead += seconds

    def monotonic(self) -> float:
        return time.monotonic() + self.ahead


# A monthly bulletin's files: the workbook as a document, the chart as a photo.
WORKBOOK = Attachment("2026年10月 月报.xlsx", b"PK\x03\x04 workbook", caption="<b>十月</b>数据")
CHART = Attachment("chart.png", b"\x89PNG\r\n\x1a\n chart", "photo", caption="走势")


async def render(session: AsyncSession, row: Outbox, person: Person | None) -> Rendered | None:
    """Text from the payload (or the dedupe key), the bulletin's files if it asks; None: skip."""
    if row.payload.get("skip"):
        return None
    buttons = ((Button("open", "open"),),) if row.payload.get("markup") else ()
    files = (WORKBOOK, CHART) if row.payload.get("files") else ()
    return Rendered(row.payload.get("text", row.dedupe_key), buttons, files)


async def bind_people(engine: AsyncEngine) -> dict[str, int]:
    """The small world, agents a and b and the contact bound to chats (the region head not): their
    ids by "a", "b", "head" and "contact"."""
    async with session_scope(engine) as session:
        world = await build_world(session)
        world.officials["r1-agent-a"].chat_id = AGENT_A
        world.officials["r1-agent-b"].chat_id = AGENT_B
        assert world.contact is not None
        world.contact.chat_id = CONTACT
        session.add_all([*world.officials.values(), world.contact])
    people = {"a": "r1-agent-a", "b": "r1-agent-b", "head": "r1-head"}
    found = {key: world.officials[code].id for key, code in people.items()}
    found["contact"] = world.contact.id
    return {key: value for key, value in found.items() if value is not None}


async def queue(engine: AsyncEngine, *rows: tuple[str, dict[str, Any]]) -> None:
    """Outbox rows due at T0: (dedupe key, columns and payload)."""
    async with session_scope(engine) as session:
        for key, spec in rows:
            names = ("official_id", "contact_id", "channel", "address")
            columns = {k: spec.pop(k) for k in names if k in spec}
            due = spec.pop("next_attempt_at", T0)
            row = Outbox(dedupe_key=key, created_at=T0, kind="comment", next_attempt_at=due)
            for name, value in columns.items():
                setattr(row, name, value)
            row.payload = spec
            session.add(row)


async def outbox(engine: AsyncEngine) -> dict[str, Outbox]:
    async with AsyncSession(engine) as session:
        rows = (await session.exec(select(Outbox).order_by(col(Outbox.id)))).all()
        return {row.dedupe_key: row for row in rows}


def make(
    engine: AsyncEngine,
    bot: FakeBot | Bot,
    clock: Clock,
    *,
    private_interval: float = 0.001,
    overall_per_second: float = 1000,
    group_per_minute: float = 20,
    channels: dict[str, Any] | None = None,
    **kw: Any,
) -> Dispatcher:
    """A dispatcher with the Telegram channel on `bot` (its own budget), and any `channels`."""
    limiter = TelegramRateLimiter(
        private_interval=private_interval,
        overall_per_second=overall_per_second,
        group_per_minute=group_per_minute,
        monotonic=clock.monotonic,
    )
    telegram = TelegramChannel(cast(Bot, bot), limiter=limiter)
    every = {"telegram": telegram, **(channels or {})}
    return Dispatcher(engine=engine, channels=every, render=render, clock=clock, **kw)


def to(person_id: int, **payload: Any) -> dict[str, Any]:
    return {"official_id": person_id, **payload}


# PTB itself warns when a RetryAfter is built (it reads its own deprecated attribute).
NO_PTB_DEPRECATION = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
