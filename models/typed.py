"""What people type where a number or a day is wanted: amounts in 万元 or 亿元, and dates.

Lenient where people are (full-width digits and commas, spaces, a 万/亿 unit, a trailing 元, a
date in the Chinese or ISO way) and strict where a guess could be wrong by ten thousand times:
"1.2" is asked about, never read as 1.2万元 or 1.2亿元.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

from models.errors import InvalidInput
from models.importer import MAX_INVESTMENT_WAN

YI = 10_000  # 万元 in 1亿元

_AMOUNT = re.compile(
    r"(?P<sign>[-−])?(?P<number>[0-9]+(?:\.[0-9]+)?|[1-9][0-9]{0,2}(?:,[0-9]{3})+(?:\.[0-9]+)?)"
    r"(?P<unit>万|亿)?(?P<yuan>元)?"
)
_FULL_DATE = re.compile(r"([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?")
_COMPACT_DATE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_SHORT_DATE = re.compile(r"([0-9]{1,2})[-/.月]([0-9]{1,2})日?")


def _plain(text: str) -> str:
    """Full-width forms to ASCII (１２，０００ → 12,000), spaces out."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def parse_wan(text: str) -> int:
    """An amount as typed, in 万元: "12000", "12,000", "3000万", "1.2亿", "1.2亿元" …

    A number without a unit is 万元 and must be whole ("1.2" might be 1.2亿: asked, not
    guessed). Raises InvalidInput (field "invested"): `not_amount`, `needs_unit`, `fraction`,
    `negative` or `over_limit`, with the text as `value`.
    """
    shown = text.strip()[:40]
    match = _AMOUNT.fullmatch(_plain(text))
    if match is None:
        raise InvalidInput(field="invested", reason="not_amount", value=shown)
    number, unit = match["number"].replace(",", ""), match["unit"]
    if match["sign"]:
        raise InvalidInput(field="invested", reason="negative", value=shown)
    if unit is None and ("." in number or match["yuan"]):
        raise InvalidInput(field="invested", reason="needs_unit", value=shown)
    try:
        wan = Decimal(number) * (YI if unit == "亿" else 1)
    except InvalidOperation:  # the pattern admits only plain decimals: never, but be exact
        raise InvalidInput(field="invested", reason="not_amount", value=shown) from None
    if wan != wan.to_integral_value():
        raise InvalidInput(field="invested", reason="fraction", value=shown)
    return checked_wan(int(wan), shown)


def checked_wan(wan: int, shown: str | None = None) -> int:
    """An amount in 万元 between 0 and the importer's cap (1万亿元), else InvalidInput."""
    value = shown if shown is not None else str(wan)
    if wan < 0:
        raise InvalidInput(field="invested", reason="negative", value=value)
    if wan > MAX_INVESTMENT_WAN:
        raise InvalidInput(
            field="invested", reason="over_limit", value=value, limit=f"{MAX_INVESTMENT_WAN:,}"
        )
    return wan


def parse_day(text: str, today: date) -> date:
    """A date as typed: 2026-11-18, 2026/11/18, 2026年11月18日, 20261118, or 11-18 / 11月18日
    (this year). Raises InvalidInput (field "date", reason `bad_date`)."""
    plain = _plain(text)
    parts: tuple[int, int, int] | None = None
    if match := _FULL_DATE.fullmatch(plain) or _COMPACT_DATE.fullmatch(plain):
        parts = (int(match[1]), int(match[2]), int(match[3]))
    elif match := _SHORT_DATE.fullmatch(plain):
        parts = (today.year, int(match[1]), int(match[2]))
    try:
        if parts is None:
            raise ValueError(plain)
        return date(*parts)
    except ValueError:
        raise InvalidInput(field="date", reason="bad_date", value=text.strip()[:20]) from None
