"""The error handler tells the admins: once per kind of error and hour, the repeats counted."""

from __future__ import annotations

import pytest
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut

from handlers import signature, telegram_side
from models.errors import InvalidInput
from models.text import checked_text


def test_a_signature_names_the_type_and_our_line_never_the_message() -> None:
    try:
        checked_text("王先生 13800000000" * 400, "note", required=True)  # too long
    except InvalidInput as exc:
        ours = exc
    try:
        raise KeyError("王先生的手机号 13800000000")  # raised in a test: not our code
    except KeyError as exc:
        elsewhere = exc
    assert signature(ours).startswith("InvalidInput@models/text.py:")
    assert signature(elsewhere) == "KeyError@?"
    assert "138" not in signature(ours) + signature(elsewhere)
    assert signature(None) == "unknown"


@pytest.mark.parametrize(
    ("error", "theirs"),
    [
        (Forbidden("Forbidden: bot was blocked by the user"), True),
        (TimedOut(), True),
        (NetworkError("Bad Gateway"), True),  # PTB's 5xx
        (RetryAfter(5), True),  # still 429 after the rate limiter's retries
        (BadRequest("Message to edit not found"), True),
        (BadRequest("Query is too old and response timeout expired or query id is invalid"), True),
        (BadRequest("Message is too long"), False),  # our text: a bug of ours
        (BadRequest("Can't parse entities: unclosed start tag"), False),
        (BadRequest("Message is not modified"), False),  # redraw() handles it before
        (ChatMigrated(-1001), False),
        (ValueError("x"), False),
        (None, False),
    ],
)
def test_only_telegrams_own_failures_are_not_told_to_the_admins(
    error: BaseException | None, theirs: bool
) -> None:
    """Telegram down, slow, refusing (the person blocked the bot) or the message gone: logged
    as a warning; any other error, a 400 about our own request included, goes to the admins."""
    assert telegram_side(error) is theirs
