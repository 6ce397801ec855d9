"""The chat's per-account message limit (handlers/gate.py MessageLimit) at its edges: a rolling
minute, one "tell" per minute past the limit, other accounts apart, 0 for none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from handlers.gate import MessageLimit

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_the_limit_then_one_tell_then_drops_until_the_minute_rolls() -> None:
    limit = MessageLimit()
    assert [limit.take(1, s(n), 3) for n in range(3)] == ["pass"] * 3
    assert limit.take(1, s(3), 3) == "tell"
    assert limit.take(1, s(4), 3) == "drop"
    assert limit.take(2, s(4), 3) == "pass"  # another account has its own minute
    assert limit.take(1, s(59.9), 3) == "drop"
    assert limit.take(1, s(60), 3) == "pass"  # the first of the minute rolled out
    assert limit.take(1, s(60.5), 3) == "drop"  # told at 3 s: still that minute
    assert limit.take(1, s(62), 3) == "pass"  # 1 s and 2 s rolled out: two places
    assert limit.take(1, s(62), 3) == "pass"
    assert limit.take(1, s(62), 3) == "drop"
    assert limit.take(1, s(63.5), 3) == "tell"  # a new minute past the limit: told once more


def test_zero_is_no_limit_and_a_clock_gone_back_starts_afresh() -> None:
    limit = MessageLimit()
    assert all(limit.take(1, s(0), 0) == "pass" for _ in range(1000))
    assert [limit.take(1, s(n), 2) for n in (100, 101, 102)] == ["pass", "pass", "tell"]
    assert limit.take(1, s(10), 2) == "pass"  # the demo moved the clock back
