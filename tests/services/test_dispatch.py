"""The outbox dispatcher on a real database, sending through the Telegram channel with a
recording stand-in for telegram.Bot, and through an in-memory second channel of the test's own
(notices with files, over HTTP on the fake Bot API: tests/e2e/test_dispatch.py)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from jobs.channels import (
    DeliveryError,
    Rejected,
    Rendered,
    RetryLater,
    Transient,
    Unreachable,
)
from jobs.channels.telegram import TelegramChannel
from jobs.textsplit import visible_length
from models.db import make_engine, session_scope
from models.tables.org import Contact, Official
from tests.support.dispatch import (
    AGENT_A,
    AGENT_B,
    CONTACT,
    GROUP,
    NO_PTB_DEPRECATION,
    T0,
    Clock,
    FakeBot,
    bind_people,
    make,
    outbox,
    queue,
    to,
)


@pytest.fixture
async def ids(engine: AsyncEngine) -> dict[str, int]:
    """Agents a and b and the contact bound to chats; the region head not bound."""
    return await bind_people(engine)


def three_people(ids: dict[str, int]) -> list[dict[str, Any]]:
    """Recipient columns of two officials and a contact, each in a private chat of their own."""
    return [{"official_id": ids["a"]}, {"official_id": ids["b"]}, {"contact_id": ids["contact"]}]


async def queue_rounds(engine: AsyncEngine, ids: dict[str, int], rounds: int) -> None:
    """`rounds` rows for each of three people, keyed "<round>-<person>", round by round."""
    rows = ((f"{n}-{i}", spec) for n in range(rounds) for i, spec in enumerate(three_people(ids)))
    await queue(engine, *rows)


async def test_due_rows_go_out_in_id_order_per_chat(
    engine: AsyncEngine, ids: dict[str, int]
) -> None:
    later = {"next_attempt_at": T0 + timedelta(minutes=5)}
    await queue(
        engine,
        ("a1", to(ids["a"])),
        ("b1", to(ids["b"])),
        ("a2", to(ids["a"])),
        ("c1", {"contact_id": ids["contact"]}),
        ("a3", to(ids["a"])),
        ("a4", to(ids["a"], **later)),
    )
    bot, clock = FakeBot(), Clock()
    report = await make(engine, bot, clock).run_once()
    assert (report.sent, report.picked, report.held, report.waiting) == (5, 5, 0, 0)
    assert bot.texts(AGENT_A) == ["a1", "a2", "a3"]
    assert bot.texts(AGENT_B) == ["b1"] and bot.texts(CONTACT) == ["c1"]
    first = bot.sent[0]
    assert first.parse_mode == "HTML" and first.link_preview_options.is_disabled
    rows = await outbox(engine)
    assert rows["a1"].sent_at == T0 and rows["a1"].address == str(AGENT_A)
    assert rows["a1"].parts_sent == 1 and rows["c1"].address == str(CONTACT)
    assert rows["a4"].sent_at is None  # not due yet


async def test_a_row_backing_off_holds_back_its_chat_only(
    engine: AsyncEngine, ids: dict[str, int]
) -> None:
    await queue(engine, ("a1", to(ids["a"])), ("a2", to(ids["a"])), ("b1", to(ids["b"])))
    bot, clock = FakeBot(script={AGENT_A: [TimedOut()]}), Clock()
    dispatcher = make(engine, bot, clock)
    report = await dispatcher.run_once()
    assert (report.retried, report.waiting, report.sent) == (1, 1, 1)
    # a1 is not due, so a2 (due) must still wait behind it in the next pass.
    report = await dispatcher.run_once()
    assert (report.waiting, report.sent) == (1, 0)
    clock.advance(3)
    assert (await dispatcher.run_once()).sent == 2
    assert bot.texts(AGENT_A) == ["a1", "a2"]


async def test_unbound_and_unreachable_people_are_held_untouched(
    engine: AsyncEngine, ids: dict[str, int]
) -> None:
    async with session_scope(engine) as session:
        contact = await session.get(Contact, ids["contact"])
        assert contact is not None
        contact.unreachable = True
    await queue(
        engine,
        ("h1", to(ids["head"])),
        ("c1", {"contact_id": ids["contact"]}),
        ("h2", to(ids["head"])),
    )
    bot, clock = FakeBot(), Clock()
    dispatcher = make(engine, bot, clock)
    report = await dispatcher.run_once()
    assert (report.held, report.sent, bot.calls) == (3, 0, 0)
    rows = await outbox(engine)
    assert all(r.attempts == 0 and r.next_attempt_at == T0 for r in rows.values())
    async with session_scope(engine) as session:  # the head binds, the contact comes back
        head, contact = (
            await session.get(Official, ids["head"]),
            await session.get(Contact, ids["contact"]),
        )
        assert head is not None and contact is not None
        head.chat_id, contact.unreachable = 3001, False
    assert (await dispatcher.run_once()).sent == 3
    assert bot.texts(3001) == ["h1", "h2"] and bot.texts(CONTACT) == ["c1"]


@NO_PTB_DEPRECATION
async def test_429_is_waited_out_in_its_chat_and_sends_once(
    engine: AsyncEngine, ids: dict[str, int]
) -> None:
    await queue(engine, ("a1", to(ids["a"])), ("a2", to(ids["a"])), ("b1", to(ids["b"])))
    flood = RetryAfter(retry_after=timedelta(milliseconds=200))
    bot, clock = FakeBot(script={AGENT_A: [flood]}), Clock()
    report = await make(engine, bot, clock).run_once()
    assert report.sent == 3 and bot.calls == 4
    assert bot.texts(AGENT_A) == ["a1", "a2"]
    # The other chat did not wait for the flood wait.
    assert bot.sent[0].chat_id == AGENT_B
    rows = await outbox(engine)
    assert rows["a1"].attempts == 0 and rows["a1"].sent_at == T0


@NO_PTB_DEPRECATION
async def test_429_longer_than_the_claim_hands_the_row_back(
    engine: AsyncEngine, ids: dict[str, int]
) -> None:
    await queue(engine, ("a1", to(ids["a"])), ("a2", to(ids["a"])))
    bot, clock = FakeBot(script={AGENT_A: [RetryAfter(retry_after=30)]}), Clock()
    dispatcher = make(engine, bot, clock, lease=timedelta(seconds=10))
    report = await dispatcher.run_once()
    assert (report.retried, report.waiting, bot.sent) == (1, 1, [])
    row = (await outbox(engine))["a1"]
    assert (row.attempts, row.last_error) == (0, "retry_after")
    assert row.next_attempt_at == T0 + timedelta(seconds=30)
    # a2 is due as before, behind a1 (on PostgreSQL the pass's batch claim handed it back,
    # rather than leaving it leased for the claim's 10 s)
    assert (await outbox(engine))["a2"].next_attempt_at <= T0
    clock.advance(30)
    assert (await dispatcher.run_once()).sent == 2
    assert bot.texts(AGENT_A) == ["a1", "a2"]


async def test_5xx_backs_off_then_gives_up(
    engine: AsyncEngine, ids: dict[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    await queue(engine, ("a1", to(ids["a"])), ("a2", to(ids["a"])))
    errors: list[Exception | None] = [
        NetworkError("Bad Gateway"),
        TimedOut(),
        NetworkError("Bad Gateway"),
    ]
    bot, clock = FakeBot(script={AGENT_A: errors}), Clock()
    dispatcher = make(engine, bot, clock, max_attempts=3)
    for attempt, backoff in ((1, 2.0), (2, 4.0)):
        assert (await dispatcher.run_once()).retried == 1
        row = (await outbox(engine))["a1"]
        assert row.attempts == attempt and row.last_error and row.failed_at is None
        assert row.next_attempt_at is not None
        wait = (row.next_attempt_at - clock.now).total_seconds()
        assert backoff <= wait <= backoff * 1.1 + 0.001
        clock.advance(wait)
    with caplog.at_level(logging.ERROR, logger="jobs.dispatch"):
        report = await dispatcher.run_once()
    assert (report.failed, report.sent) == (1, 1)  # a2 is free to go once a1 is given up
    row = (await outbox(engine))["a1"]
    assert (
        row.failed_at == clock.now
        and row.attempts == 3
        and "Bad Gateway" in (row.last_error or "")
    )
    assert any("a1" in r.getMessage() and str(row.id) in r.getMessage() for r in caplog.records)
    assert bot.texts(AGENT_A) == ["a2"]


async def test_403_marks_the_person_unreachable_and_keeps_the_row(
    engine: AsyncEngine, ids: dict[str, int]
) -> None:
    await queue(engine, ("a1", to(ids["a"])), ("a2", to(ids["a"])))
    blocked = Forbidden("Forbidden: bot was blocked by the user")
    bot, clock = FakeBot(script={AGENT_A: [blocked]}), Clock()
    dispatcher = make(engine, bot, clock)
    report = await dispatcher.run_once()
    assert (report.blocked, report.waiting) == (1, 1)
    row = (await outbox(engine))["a1"]
    assert (row.attempts, row.last_error, row.sent_at, row.failed_at) == (
        1,
        "forbidden",
        None,
        None,
    )
    async with session_scope(engine) as session:
        agent = await session.get(Official, ids["a"])
        assert agent is not None and agent.unreachable
        assert (await dispatcher.run_once()).held == 2
        agent.unreachable = False  # they /start again
    assert (await dispatcher.run_once()).sent == 2
    assert bot.texts(AGENT_A) == ["a1", "a2"]


async def test_bad_request_fails_the_row(
    engine: AsyncEngine, ids: dict[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    await queue(engine, ("a1", to(ids["a"])), ("a2", to(ids["a"])))
    bot, clock = FakeBot(script={AGENT_A: [BadRequest("Can't parse entities")]}), Clock()
    with caplog.at_level(logging.ERROR, logger="jobs.dispatch"):
        report = await make(engine, bot, clock).run_once()
    assert (report.failed, report.sent) == (1, 1)
    row = (await outbox(engine))["a1"]
    assert row.failed_at == T0 and "parse entities" in (row.last_error or "")
    assert any("a1" in r.getMessage() for r in caplog.records)
    assert bot.texts(AGENT_A) == ["a2"]


async def test_a_sent_row_is_never_sent_again(engine: AsyncEngine, ids: dict[str, int]) -> None:
    await queue(engine, ("a1", to(ids["a"])))
    bot, clock = FakeBot(), Clock()
    dispatcher = make(engine, bot, clock)
    assert (await dispatcher.run_once()).sent == 1
    assert (await dispatcher.run_once()).picked == 0
    clock.advance(3600)
    assert (await dispatcher.run_once()).picked == 0
    assert bot.texts(AGENT_A) == ["a1"]


async def test_render_none_marks_the_row_sent_without_sending(
    engine: AsyncEngine, ids: dict[str, int]
) -> None:
    await queue(engine, ("a1", to(ids["a"], skip=True)), ("a2", to(ids["a"])))
    bot, clock = FakeBot(), Clock()
    report = await make(engine, bot, clock).run_once()
    assert (report.skipped, report.sent) == (1, 1)
    row = (await outbox(engine))["a1"]
    assert row.sent_at == T0 and row.last_error == "skipped"
    assert bot.texts(AGENT_A) == ["a2"]


async def test_two_dispatchers_send_each_row_once(
    database_url: str, engine: AsyncEngine, ids: dict[str, int]
) -> None:
    await queue_rounds(engine, ids, 8)
    bot, clock = FakeBot(delay=0.002), Clock()
    # Separate engines: two processes' connection pools on the same database.
    other = make_engine(database_url)
    try:
        first, second = make(engine, bot, clock), make(other, bot, clock)
        for _ in range(10):
            await asyncio.gather(first.run_once(), second.run_once())
    finally:
        await other.dispose()
    assert sorted(s.text for s in bot.sent) == sorted(
        f"{n}-{i}" for n in range(8) for i in range(3)
    )
    for chat, i in ((AGENT_A, 0), (AGENT_B, 1), (CONTACT, 2)):
        assert bot.texts(chat) == [f"{n}-{i}" for n in range(8)]


async def test_a_long_text_goes_in_parts_with_the_buttons_on_the_last(
    engine: AsyncEngine, ids: dict[str, int]
) -> None:
    # Six paragraphs of 1,603 characters: two to a message.
    text = "\n\n".join(f"<b>{i}</b> " + "word " * 320 for i in range(6))
    await queue(engine, ("a1", to(ids["a"], text=text, markup=True)))
    bot, clock = FakeBot(), Clock()
    assert (await make(engine, bot, clock).run_once()).sent == 1
    assert len(bot.sent) == 3
    assert all(visible_length(s.text) <= 4096 for s in bot.sent)
    assert [s.reply_markup is not None for s in bot.sent] == [False, False, True]
    assert (await outbox(engine))["a1"].parts_sent == 3


async def test_a_retry_resumes_after_the_parts_already_sent(
    engine: AsyncEngine, ids: dict[str, int]
) -> None:
    text = "\n\n".join(f"part {i} " + "x" * 4000 for i in range(3))
    await queue(engine, ("a1", to(ids["a"], text=text)))
    bot, clock = FakeBot(script={AGENT_A: [None, NetworkError("Bad Gateway")]}), Clock()
    dispatcher = make(engine, bot, clock)
    assert (await dispatcher.run_once()).retried == 1
    row = (await outbox(engine))["a1"]
    assert (row.parts_sent, row.attempts, row.sent_at) == (1, 1, None)
    clock.advance(5)
    assert (await dispatcher.run_once()).sent == 1
    assert [t[:6] for t in bot.texts(AGENT_A)] == ["part 0", "part 1", "part 2"]
    assert (await outbox(engine))["a1"].parts_sent == 3


async def test_a_migrated_group_gets_its_new_chat_id(
    engine: AsyncEngine, ids: dict[str, int]
) -> None:
    await queue(engine, ("g1", {"address": str(GROUP)}), ("g2", {"address": str(GROUP)}))
    moved = -1009876
    bot, clock = FakeBot(script={GROUP: [ChatMigrated(new_chat_id=moved)]}), Clock()
    report = await make(engine, bot, clock, group_per_minute=1000).run_once()
    assert report.sent == 2 and bot.texts(moved) == ["g1", "g2"]
    rows = await outbox(engine)
    assert rows["g1"].address == rows["g2"].address == str(moved)


async def test_chats_go_concurrently_each_within_its_interval(
    engine: AsyncEngine, ids: dict[str, int]
) -> None:
    await queue_rounds(engine, ids, 3)
    bot, clock = FakeBot(), Clock()
    started = time.monotonic()
    assert (await make(engine, bot, clock, private_interval=0.2).run_once()).sent == 9
    # Serially this would take 8 intervals; per chat in parallel, about 2.
    assert time.monotonic() - started < 1.2
    for chat in (AGENT_A, AGENT_B, CONTACT):
        times = [s.at for s in bot.sent if s.chat_id == chat]
        assert all(b - a >= 0.18 for a, b in itertools.pairwise(times))


async def test_the_overall_limit_holds_across_chats(
    engine: AsyncEngine, ids: dict[str, int]
) -> None:
    await queue(engine, *((f"x-{i}", spec) for i, spec in enumerate(three_people(ids))))
    await queue(engine, ("g1", {"address": str(GROUP)}))
    bot, clock = FakeBot(), Clock()
    dispatcher = make(engine, bot, clock, overall_per_second=5, group_per_minute=20)
    assert (await dispatcher.run_once()).sent == 4
    times = sorted(s.at for s in bot.sent)
    # Four chats at once, yet no more than five a second: one every 0.2 s, no burst.
    assert all(b - a >= 0.18 for a, b in itertools.pairwise(times))
    telegram = dispatcher.channels["telegram"]
    assert isinstance(telegram, TelegramChannel)
    group = telegram.limiter.pace(GROUP)  # twenty a minute: a delivery every three seconds
    assert group.interval == 3.0


async def test_run_loops_until_stopped_and_survives_a_failed_pass(
    engine: AsyncEngine, ids: dict[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    bot, clock = FakeBot(), Clock()
    dispatcher = make(engine, bot, clock)
    passes = 0
    real = dispatcher.run_once

    async def flaky() -> Any:
        nonlocal passes
        passes += 1
        if passes == 1:
            raise RuntimeError("database went away")
        return await real()

    dispatcher.run_once = flaky  # type: ignore[method-assign]
    stop = asyncio.Event()
    with caplog.at_level(logging.ERROR, logger="jobs.dispatch"):
        task = asyncio.create_task(dispatcher.run(stop, idle=30))
        await asyncio.sleep(0.05)
        await queue(engine, ("a1", to(ids["a"])))
        dispatcher.wake()  # without it the loop would sleep for 30 s
        await asyncio.wait_for(bot.delivered.wait(), 2)
        stop.set()
        await asyncio.wait_for(task, 1)
    assert bot.texts(AGENT_A) == ["a1"] and passes >= 2
    assert any("pass failed" in r.getMessage() and r.exc_info for r in caplog.records)


async def test_held_and_waiting_rows_never_fill_the_batch(
    engine: AsyncEngine, ids: dict[str, int]
) -> None:
    held = [(f"h{i}", to(ids["head"])) for i in range(3)]
    backing_off = {"next_attempt_at": T0 + timedelta(minutes=1)}
    waiting = [("a0", to(ids["a"], **backing_off)), *((f"a{i}", to(ids["a"])) for i in (1, 2, 3))]
    await queue(engine, *held, *waiting, ("b1", to(ids["b"])))
    bot, clock = FakeBot(), Clock()
    report = await make(engine, bot, clock, batch=2).run_once()
    assert (report.sent, report.held, report.waiting, report.picked) == (1, 3, 3, 1)
    assert bot.texts(AGENT_B) == ["b1"]


async def test_a_claim_is_won_once_when_both_read_the_same_rows(
    engine: AsyncEngine, ids: dict[str, int]
) -> None:
    await queue_rounds(engine, ids, 2)
    bot, clock = FakeBot(), Clock()
    both_read = asyncio.Barrier(2)
    dispatchers = [make(engine, bot, clock), make(engine, bot, clock)]
    for dispatcher in dispatchers:
        load = dispatcher._load

        async def read_then_wait(now: datetime, load: Any = load) -> Any:
            loaded = await load(now)
            await both_read.wait()  # both hold the same six rows before either claims one
            return loaded

        dispatcher._load = read_then_wait  # type: ignore[method-assign]
    first, second = await asyncio.gather(*(d.run_once() for d in dispatchers))
    assert first.sent + second.sent == 6 and len(bot.sent) == 6
    if engine.dialect.name == "postgresql":
        # The batch claim (SKIP LOCKED) took all six for one pass; the other read none.
        assert sorted([first.picked, second.picked]) == [0, 6]
    else:
        # Whoever lost a chat's first claim left that chat alone: its second row too.
        assert first.waiting + second.waiting == 6
    for chat, i in ((AGENT_A, 0), (AGENT_B, 1), (CONTACT, 2)):
        assert bot.texts(chat) == [f"0-{i}", f"1-{i}"]


async def test_rows_another_dispatcher_has_locked_are_skipped_not_waited_for(
    engine: AsyncEngine, ids: dict[str, int]
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's (SQLite claims row by row)")
    await queue(engine, ("a1", to(ids["a"])), ("b1", to(ids["b"])))
    bot, clock = FakeBot(), Clock()
    async with engine.connect() as other:  # another dispatcher, in the middle of its claim
        locked = text("SELECT id FROM outbox WHERE dedupe_key = 'a1' FOR UPDATE")
        await other.execute(locked)
        async with asyncio.timeout(10):  # waiting for the lock would hang here
            report = await make(engine, bot, clock).run_once()
        assert (report.sent, bot.texts(AGENT_A), bot.texts(AGENT_B)) == (1, [], ["b1"])
        await other.rollback()
    assert (await make(engine, bot, clock).run_once()).sent == 1
    assert bot.texts(AGENT_A) == ["a1"]


async def test_stopping_finishes_the_message_in_hand(
    engine: AsyncEngine, ids: dict[str, int]
) -> None:
    await queue(engine, ("a1", to(ids["a"])), ("a2", to(ids["a"])))
    bot, clock = FakeBot(delay=0.2), Clock()
    dispatcher, stop = make(engine, bot, clock), asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    await asyncio.wait_for(bot.called.wait(), 2)
    stop.set()  # while a1 is on the wire
    await asyncio.wait_for(task, 2)
    rows = await outbox(engine)
    assert rows["a1"].sent_at == T0 and bot.texts(AGENT_A) == ["a1"]
    assert (
        rows["a2"].sent_at is None
        and rows["a2"].attempts == 0
        and rows["a2"].next_attempt_at == T0
    )


async def test_a_backlog_of_held_rows_does_not_spin_the_loop(
    engine: AsyncEngine, ids: dict[str, int]
) -> None:
    await queue(engine, *((f"h{i}", to(ids["head"])) for i in range(5)))
    dispatcher = make(engine, FakeBot(), Clock(), batch=2)
    passes, real = 0, dispatcher.run_once

    async def counted() -> Any:
        nonlocal passes
        passes += 1
        return await real()

    dispatcher.run_once = counted  # type: ignore[method-assign]
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop, idle=0.2))
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.wait_for(task, 1)
    assert 1 <= passes <= 3  # a pass, an idle wait, maybe one more: held rows are no work


# --- a second channel through the same dispatcher, and rows no channel can take -----------------


@dataclass
class Memo:
    """A channel in memory, for addresses only (like a group robot): a part per paragraph, the
    buttons' labels as a last part; `script[address]` holds outcomes to raise in turn."""

    person_address: str | None = None
    script: dict[str, list[DeliveryError | None]] = field(default_factory=dict)
    got: list[tuple[str, str]] = field(default_factory=list)

    def parts(self, message: Rendered) -> list[str]:
        labels = " ".join(f"[{button.label}]" for row in message.buttons for button in row)
        return [*message.text.split("\n\n"), *([labels] if labels else [])]

    async def send(self, address: str, part: str) -> None:
        steps = self.script.get(address)
        if steps and (outcome := steps.pop(0)) is not None:
            raise outcome
        self.got.append((address, part))

    def texts(self, address: str) -> list[str]:
        return [part for to, part in self.got if to == address]


def on_memo(address: str, **payload: Any) -> dict[str, Any]:
    return {"channel": "memo", "address": address, **payload}


async def test_a_second_channel_has_its_own_failures_and_keeps_each_address_in_order(
    engine: AsyncEngine, ids: dict[str, int]
) -> None:
    await queue(
        engine,
        ("r1-1", on_memo("room-1")),
        ("mp", {"channel": "memo", "official_id": ids["a"]}),  # memo reaches no people
        ("a1", to(ids["a"])),
        ("r1-2", on_memo("room-1")),
        ("r2-1", on_memo("room-2")),
        ("r3-1", on_memo("room-3")),
        ("r3-2", on_memo("room-3")),
        ("r4-1", on_memo("room-4", text="one\n\ntwo", markup=True)),
    )
    memo = Memo(
        script={
            "room-1": [RetryLater(30)],  # longer than the claim: handed back, not an attempt
            "room-2": [Rejected("no such room")],
            "room-3": [Unreachable("robot removed")],  # an address: backs off, not held
            "room-4": [None, Transient("502 Bad Gateway")],  # after its first part
        }
    )
    bot, clock = FakeBot(), Clock()
    dispatcher = make(engine, bot, clock, lease=timedelta(seconds=10), channels={"memo": memo})
    report = await dispatcher.run_once()
    assert (report.sent, report.retried, report.failed, report.waiting) == (1, 3, 2, 2)
    assert bot.texts(AGENT_A) == ["a1"]  # Telegram went on
    rows = await outbox(engine)
    assert (rows["r1-1"].attempts, rows["r1-1"].last_error) == (0, "retry_after")
    assert rows["r1-1"].next_attempt_at == T0 + timedelta(seconds=30)
    assert rows["r2-1"].failed_at == T0 and rows["r2-1"].last_error == "no such room"
    assert (rows["r3-1"].attempts, rows["r3-1"].last_error) == (1, "robot removed")
    assert rows["r3-1"].failed_at is None and rows["r3-2"].sent_at is None
    assert rows["mp"].failed_at == T0 and "no address for a person" in (
        rows["mp"].last_error or ""
    )
    assert (rows["r4-1"].parts_sent, rows["r4-1"].attempts) == (1, 1)
    clock.advance(30)
    assert (await dispatcher.run_once()).sent == 5
    assert memo.texts("room-1") == ["r1-1", "r1-2"]
    assert memo.texts("room-3") == ["r3-1", "r3-2"] and memo.texts("room-2") == []
    assert memo.texts("room-4") == ["one", "two", "[open]"]  # the first part never twice
    rows = await outbox(engine)
    assert rows["r4-1"].parts_sent == 3 and rows["r4-1"].address == "room-4"


async def test_a_row_of_an_unknown_channel_fails_for_good(
    engine: AsyncEngine, ids: dict[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    await queue(
        engine,
        ("f1", {"channel": "fax", "address": "+86 517 8360 0000"}),
        ("f2", {"channel": "fax", "official_id": ids["a"]}),
        ("a1", to(ids["a"])),
    )
    bot, clock = FakeBot(), Clock()
    dispatcher = make(engine, bot, clock)
    with caplog.at_level(logging.ERROR, logger="jobs.dispatch"):
        report = await dispatcher.run_once()
    assert (report.failed, report.sent, report.held) == (2, 1, 0)
    rows = await outbox(engine)
    for key in ("f1", "f2"):
        assert rows[key].failed_at == T0 and rows[key].attempts == 0
        assert "unknown channel 'fax'" in (rows[key].last_error or "")
    assert any("f1" in r.getMessage() and "fax" in r.getMessage() for r in caplog.records)
    assert bot.texts(AGENT_A) == ["a1"]
    clock.advance(3600)
    assert (await dispatcher.run_once()).picked == 0


async def test_a_migrated_group_re_addresses_its_pending_rows_only(
    engine: AsyncEngine, ids: dict[str, int]
) -> None:
    later = {"next_attempt_at": T0 + timedelta(minutes=5)}
    group = {"address": str(GROUP)}
    await queue(
        engine,
        ("g1", dict(group)),
        ("g2", group | later),  # pending, not due yet: re-addressed before it is ever tried
        ("m1", {"channel": "memo", **group}),  # the same text on another channel: untouched
    )
    moved, memo = -1009876, Memo()
    bot, clock = FakeBot(script={GROUP: [ChatMigrated(new_chat_id=moved)]}), Clock()
    dispatcher = make(engine, bot, clock, group_per_minute=1000, channels={"memo": memo})
    assert (await dispatcher.run_once()).sent == 2
    rows = await outbox(engine)
    assert rows["g1"].address == rows["g2"].address == str(moved)
    assert rows["g2"].sent_at is None and rows["g2"].attempts == 0
    assert rows["m1"].address == str(GROUP) and memo.texts(str(GROUP)) == ["m1"]
    clock.advance(300)
    assert (await dispatcher.run_once()).sent == 1
    assert bot.texts(moved) == ["g1", "g2"] and bot.texts(GROUP) == []
