"""One sending budget per bot token, the limiter's arithmetic on its own: replies may burst,
deliveries keep their distance, a 429 slows both; and the neutral button rows Telegram gets
(the budget shared over HTTP on the fake Bot API: tests/e2e/test_telegram_budget.py)."""

from __future__ import annotations

import time

import pytest

from jobs.channels import Button
from jobs.channels.telegram import markup
from jobs.channels.telegram_limits import TelegramRateLimiter

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


def test_neutral_rows_become_an_inline_keyboard_with_the_codes_as_callback_data() -> None:
    rows = ((Button("受理", "a:accept:12:3f0a"), Button("回复", "a:comment:12:3f0a")), ())
    keyboard = markup(rows)
    assert keyboard is not None
    assert [[(b.text, b.callback_data) for b in row] for row in keyboard.inline_keyboard] == [
        [("受理", "a:accept:12:3f0a"), ("回复", "a:comment:12:3f0a")]
    ]
    assert markup(()) is None and markup(((),)) is None


async def test_replies_may_burst_and_deliveries_keep_their_distance_from_them() -> None:
    limiter = TelegramRateLimiter(private_interval=0.3, reply_burst=3)
    started = time.monotonic()
    for _ in range(3):
        await limiter.slot(5001, reply=True)  # someone is waiting: three at once
    burst = time.monotonic() - started
    await limiter.slot(5001)  # a delivery: only once the chat's bucket has drained
    delivered = time.monotonic() - started
    await limiter.slot(5002)  # another chat: at once
    assert burst < 0.25 and delivered >= 3 * 0.3 * 0.95
    assert time.monotonic() - started - delivered < 0.25


async def test_after_a_429_replies_too_keep_to_the_steady_rate() -> None:
    limiter = TelegramRateLimiter(private_interval=0.3, reply_burst=3)
    limiter.flood(5001, 0.1)
    started = time.monotonic()
    await limiter.slot(5001, reply=True)
    first = time.monotonic()
    await limiter.slot(5001, reply=True)
    assert first - started >= 0.1 * 0.95  # the 429's wait
    assert time.monotonic() - first >= 0.3 * 0.95  # then no burst
