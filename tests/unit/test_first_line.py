"""An error as one log phrase (bot/logctx.py first_line), used where a lost connection is
logged: an exception without a message must not raise inside the handler that logs it."""

from __future__ import annotations

from bot.logctx import first_line


def test_the_first_line_of_a_long_message() -> None:
    assert first_line(OSError("connection refused\nDETAIL: more")) == "connection refused"


def test_an_error_without_a_message_names_its_type() -> None:
    assert first_line(TimeoutError()) == "TimeoutError"
