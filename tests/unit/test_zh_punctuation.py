"""Chinese strings use full-width punctuation: （）：；，？ beside Chinese words, not ( ) : ; , ?.

A reader sees "县区（园区）名称标红：" in every message, never "县区(园区)名称标红:". What is not
prose is left alone: placeholders ({note}), commands and options (/report, --period, `ztc …`),
file names, times (09:00) and web addresses keep their ASCII.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from babel.messages.catalog import Message
from babel.messages.pofile import read_po

from tests.support.paths import ROOT

PO = ROOT / "locales" / "zh_CN" / "LC_MESSAGES" / "messages.po"
CJK = r"[\u3400-\u4dbf\u4e00-\u9fff]"
HALF = r"[(),:;?]"
# ASCII punctuation right beside a Chinese character (a space between counts as beside).
BESIDE = re.compile(rf"{CJK} ?{HALF}|{HALF} ?{CJK}")
# Not prose: `code`, {placeholders}, URLs, /commands, --options, file and e-mail names.
EXEMPT = re.compile(
    r"`[^`]*`|\{[^{}]*\}|https?://\S+|(?<![\w/])/[a-z_]+|--[a-z][a-z-]*|[\w.-]+\.[a-z]{2,4}\b"
)


def zh_strings() -> Iterator[tuple[Message, str]]:
    """Every zh_CN translation in the catalog (each plural form), with its message."""
    with PO.open("rb") as file:
        catalog = read_po(file, locale="zh_CN")
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            if text:
                yield message, text


def half_width(text: str) -> list[str]:
    """The places in `text` where ASCII punctuation stands beside Chinese, with some context."""
    prose = EXEMPT.sub(lambda m: "\x00" * len(m.group()), text)
    return [text[max(m.start() - 3, 0) : m.end() + 3] for m in BESIDE.finditer(prose)]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("县区(园区)名称标红:", True),
        ("清江浦区, 淮安区", True),
        ("是否确认?", True),
        ("县区（园区）名称标红：低于红线；", False),
        ("{name}（{code}）", False),
        ("请发送 /report 上报问题", False),
        ("用 `ztc calendar load {year} FILE` 载入", False),
        ("截至 09:00", False),
        ("详见 https://example.org/a(b)", False),
        ("{value}:{limit}", False),
    ],
)
def test_the_check_finds_half_width_punctuation_in_prose(text: str, found: bool) -> None:
    assert bool(half_width(text)) is found


def test_chinese_translations_use_full_width_punctuation() -> None:
    wrong = {message.id if isinstance(message.id, str) else message.id[0]: places
             for message, text in zh_strings() if (places := half_width(text))}  # fmt: skip
    assert not wrong, f"zh_CN: ASCII punctuation beside Chinese (use （）：；，？): {wrong}"
