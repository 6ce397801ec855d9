"""The token mask `ztc run` puts on its logs: the bot token never shows, whoever logs it and
however (`ztc run` as a process, its logs masked end to end: tests/e2e/test_run.py)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from telegram.error import InvalidToken

from bot.cli.common import json_formatter
from bot.logmask import TokenMask, mask_log_handlers, mask_token

# Shaped like BotFather's tokens: bot id, colon, a 35-character secret.
REJECTED = "987654321:AAH" + "x" * 32
ODD = "123456:WRONG-TOKEN"  # not token-shaped: only masking the configured token hides it


# --- the masking filter itself ---


@pytest.fixture
def root_log() -> Iterator[io.StringIO]:
    """The root logger writing to a string as `ztc run` does, masked for REJECTED."""
    stream, root = io.StringIO(), logging.getLogger()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    mask_log_handlers(REJECTED)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        for other in root.handlers:  # pytest's own capture handlers got a mask too
            for mask in [f for f in other.filters if isinstance(f, TokenMask)]:
                other.removeFilter(mask)


def test_mask_covers_percent_arguments_of_a_child_logger(root_log: io.StringIO) -> None:
    url = f"https://api.telegram.org/bot{REJECTED}"
    logging.getLogger("telegram.ext.ExtBot").debug("Set Bot API URL: %s", url)
    logging.getLogger("httpx").warning(
        "HTTP Request: %(method)s %(url)s", {"method": "POST", "url": url}
    )
    assert root_log.getvalue().splitlines() == [
        "DEBUG telegram.ext.ExtBot: Set Bot API URL: https://api.telegram.org/bot987654321:***",
        "WARNING httpx: HTTP Request: POST https://api.telegram.org/bot987654321:***",
    ]


def test_mask_covers_a_message_built_beforehand(root_log: io.StringIO) -> None:
    other = "1234567890:AAF" + "y" * 32  # another bot's token, never configured here
    logging.getLogger("ztc").info(f"tokens {REJECTED} and {other} and {quote(REJECTED)}")
    assert root_log.getvalue() == (
        "INFO ztc: tokens 987654321:*** and 1234567890:*** and 987654321:***\n"
    )


def test_mask_covers_the_exception_and_its_traceback(root_log: io.StringIO) -> None:
    try:
        try:
            raise ValueError(f"POST /bot{REJECTED}/getMe: 401")
        except ValueError as cause:
            raise InvalidToken(f"The token `{REJECTED}` was rejected by the server.") from cause
    except InvalidToken:
        logging.getLogger("telegram.ext").exception("Invalid token %s", REJECTED)
    text = root_log.getvalue()
    assert "Traceback" in text and "direct cause" in text
    assert "Invalid token 987654321:***" in text and "/bot987654321:***/getMe" in text
    assert "The token `987654321:***` was rejected" in text
    assert "AAHxxx" not in text


def test_json_lines_are_masked_too_traceback_included(root_log: io.StringIO) -> None:
    root = logging.getLogger()
    ours = next(h for h in root.handlers if getattr(h, "stream", None) is root_log)
    ours.setFormatter(json_formatter())  # ZTC_LOG_FORMAT=json
    try:
        raise ValueError(f"POST /bot{REJECTED}/getMe: 401")
    except ValueError:
        logging.getLogger("ztc.outbox").exception("问题 %s: send failed", "2026-00001")
    (line,) = root_log.getvalue().splitlines()
    record = json.loads(line)
    assert (record["level"], record["logger"]) == ("ERROR", "ztc.outbox")
    assert record["message"] == "问题 2026-00001: send failed" and record["time"]
    assert "Traceback" in record["exc_info"] and "/bot987654321:***/getMe" in record["exc_info"]
    assert "AAHxxx" not in line


def test_mask_covers_stack_info(root_log: io.StringIO) -> None:
    logging.getLogger("ztc").info("where %s", REJECTED, stack_info=True)
    assert "Stack (most recent call last)" in root_log.getvalue()
    assert "AAHxxx" not in root_log.getvalue()


def test_mask_leaves_a_bad_format_string_to_the_handler_with_the_args_masked() -> None:
    record = logging.LogRecord("ztc", logging.INFO, __file__, 1, "count %d", (REJECTED,), None)
    assert TokenMask(REJECTED).filter(record)  # no exception: Handler.handleError reports it
    assert (record.msg, record.args) == ("count %d", ("987654321:***",))


def test_mask_keeps_the_bot_id_and_leaves_other_text_alone() -> None:
    docs_example = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"  # Telegram's: 34 characters
    assert mask_token(f"token {docs_example}.") == "token 110201543:***."
    assert mask_token(f"bot{ODD}/getMe", ODD) == "bot123456:***/getMe"
    assert mask_token("secret garbage here", "garbage") == "secret *** here"
    plain = "2026-11-20 10:00:00 chat 1234567890 sent 42:7 at 12345:short-one"
    assert mask_token(plain, "") == plain and mask_token(plain, REJECTED) == plain
