"""The outbox dispatcher's notices with files, over HTTP on the fake Bot API: a real Bot sends
the text, the workbook and the chart; failures and 429s on a file (the dispatcher on a stand-in
Bot: tests/services/test_dispatch.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot

from bot.sandbox import FakeBotAPI
from tests.support.dispatch import (
    AGENT_A,
    CHART,
    NO_PTB_DEPRECATION,
    T0,
    WORKBOOK,
    Clock,
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


BULLETIN_FILES = [
    ("document", WORKBOOK.name, WORKBOOK.data, WORKBOOK.caption),
    ("photo", None, CHART.data, CHART.caption),  # Telegram keeps no name for a photo
]


@pytest.fixture
async def http_bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    """A real Bot on the fake Bot API, where agent a has a private chat with it."""
    api.add_user(AGENT_A, "Agent A")
    urls = {"base_url": f"{api.url}/bot", "base_file_url": f"{api.url}/file/bot"}
    async with Bot(api.token, **urls) as bot:
        yield bot


async def received(api: FakeBotAPI, bot: Bot, chat_id: int) -> list[tuple[Any, ...]]:
    """The chat as its user sees it: ("text", text), or (kind, file name, bytes, caption)."""
    seen: list[tuple[Any, ...]] = []
    for message in api.sent(chat_id):
        if "text" in message:
            seen.append(("text", message["text"]))
            continue
        kind = "photo" if "photo" in message else "document"
        media = message["photo"][-1] if kind == "photo" else message["document"]
        data = await (await bot.get_file(media["file_id"])).download_as_bytearray()
        seen.append((kind, media.get("file_name"), bytes(data), message.get("caption")))
    return seen


async def test_a_notice_sends_its_text_then_its_files_in_order(
    engine: AsyncEngine, ids: dict[str, int], api: FakeBotAPI, http_bot: Bot
) -> None:
    text = "\n\n".join(f"part {i} " + "x" * 4000 for i in range(2))
    await queue(
        engine, ("a1", to(ids["a"], text=text, markup=True, files=True)), ("a2", to(ids["a"]))
    )
    assert (await make(engine, http_bot, Clock()).run_once()).sent == 2
    seen = await received(api, http_bot, AGENT_A)
    assert [item[1][:6] for item in seen[:2]] == ["part 0", "part 1"]
    assert seen[2:] == [*BULLETIN_FILES, ("text", "a2")]
    # The buttons close the text, not a file.
    assert [bool(m.get("reply_markup")) for m in api.sent(AGENT_A)] == [
        False,
        True,
        False,
        False,
        False,
    ]
    assert all(m.get("parse_mode") == "HTML" for m in api.sent(AGENT_A))
    assert (await outbox(engine))["a1"].sent_at == T0


@pytest.mark.parametrize("method", ["sendDocument", "sendPhoto"])
async def test_a_file_that_fails_is_retried_without_repeating_what_went_out(
    engine: AsyncEngine, ids: dict[str, int], api: FakeBotAPI, http_bot: Bot, method: str
) -> None:
    await queue(engine, ("a1", to(ids["a"], files=True)))
    api.fail_next(method, code=502)
    clock = Clock()
    dispatcher = make(engine, http_bot, clock)
    assert (await dispatcher.run_once()).retried == 1
    sent_first = 1 if method == "sendDocument" else 2  # the text, and the workbook if it went
    assert await received(api, http_bot, AGENT_A) == [("text", "a1"), *BULLETIN_FILES][:sent_first]
    row = (await outbox(engine))["a1"]
    assert (row.sent_at, row.attempts, row.failed_at) == (None, 1, None)
    clock.advance(5)
    assert (await dispatcher.run_once()).sent == 1
    assert await received(api, http_bot, AGENT_A) == [("text", "a1"), *BULLETIN_FILES]


@NO_PTB_DEPRECATION
async def test_a_429_on_a_file_is_waited_out(
    engine: AsyncEngine, ids: dict[str, int], api: FakeBotAPI, http_bot: Bot
) -> None:
    await queue(engine, ("a1", to(ids["a"], files=True)))
    api.fail_next("sendDocument", code=429, retry_after=1)
    assert (await make(engine, http_bot, Clock()).run_once()).sent == 1
    assert api.too_many == 1
    assert await received(api, http_bot, AGENT_A) == [("text", "a1"), *BULLETIN_FILES]
    assert (await outbox(engine))["a1"].attempts == 0  # a wait, not a failed attempt


async def test_a_bad_request_on_a_file_fails_the_row_for_good(
    engine: AsyncEngine, ids: dict[str, int], api: FakeBotAPI, http_bot: Bot
) -> None:
    await queue(engine, ("a1", to(ids["a"], files=True)), ("a2", to(ids["a"])))
    api.fail_next("sendPhoto", code=400, description="Bad Request: IMAGE_PROCESS_FAILED")
    clock = Clock()
    dispatcher = make(engine, http_bot, clock)
    report = await dispatcher.run_once()
    assert (report.failed, report.sent) == (1, 1)  # a2 is not held behind it
    row = (await outbox(engine))["a1"]
    assert row.failed_at == T0 and "image_process_failed" in (row.last_error or "").lower()
    clock.advance(3600)
    assert (await dispatcher.run_once()).picked == 0
    expected = [("text", "a1"), BULLETIN_FILES[0], ("text", "a2")]
    assert await received(api, http_bot, AGENT_A) == expected
