"""Every callback-data prefix and conversation state, in one registry.

Callback data is `prefix:part:part…` and never trusted: handlers re-read the issue and re-check
permission on every press. Telegram allows 64 bytes; the longest here is ~30.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class CB(StrEnum):
    """Callback prefixes."""

    LANG = "lang"  # lang:<locale>
    PROJECT = "rp"  # rp:<project id>
    CATEGORY = "rc"  # rc:<category>
    URGENCY = "ru"  # ru:<urgency>
    SUBMIT = "rs"  # rs
    ABORT = "rx"  # rx
    CARD = "c"  # c:<issue id>
    ACT = "a"  # a:<action>:<issue id>:<stamp>
    COHANDLER = "co"  # co:<issue id>:<department id>:<stamp>
    RATE = "rt"  # rt:<issue id>:<rating>:<stamp>
    PAGE = "pg"  # pg:<list>:<page>
    FILES = "f"  # f:<issue id>
    TRANSFER = "tr"  # tr:<issue id>:<official id>:<stamp>
    SUPPLY = "sp"  # sp:<issue id>: which issue a message of material answers
    # Progress reports (handlers/progress.py); the notices' buttons come from jobs/progress.py,
    # which spells the same prefixes (ps, pc, pj, pf).
    PROGRESS_START = "ps"  # ps:<project id>: the monthly reminder's button
    PROGRESS_PROJECT = "pp"  # pp:<project id>
    PROGRESS_STAGE = "pk"  # pk:<stage code | listed | same>
    PROGRESS_TODAY = "pd"  # pd: the stage was reached today
    PROGRESS_NEXT = "pn"  # pn: no (more) note or photos
    PROGRESS_SUBMIT = "pv"  # pv:go | pv:no
    PROGRESS_CONFIRM = "pc"  # pc:<report id>: 认定
    PROGRESS_REJECT = "pj"  # pj:<report id>: 驳回 (asks why)
    PROGRESS_PHOTOS = "pf"  # pf:<report id>


class State(IntEnum):
    """Conversation states."""

    PROJECT = 1
    CATEGORY = 2
    DESCRIBE = 3
    URGENCY = 4
    CONFIRM = 5
    NOTE = 10
    # a progress report, and the reason for rejecting a stage claim
    PROGRESS_PROJECT = 20
    PROGRESS_STAGE = 21
    PROGRESS_DATE = 22
    PROGRESS_AMOUNT = 23
    PROGRESS_NOTE = 24
    PROGRESS_CONFIRM = 25
    PROGRESS_REASON = 26


def pack(prefix: CB, *parts: object) -> str:
    """Callback data from a prefix and its parts."""
    return ":".join((prefix.value, *(str(p) for p in parts)))


def unpack(data: str | None) -> list[str]:
    """The parts after the prefix (empty for missing data)."""
    return (data or "").split(":")[1:]


def pattern(prefix: CB) -> str:
    """The regex matching a prefix's callback data."""
    return rf"^{prefix.value}(:|$)"


MAX_ID = 2**31 - 1  # ids are INTEGER columns on PostgreSQL


def parse_id(part: str | None) -> int | None:
    """A database id from callback data: ASCII digits within INTEGER's range, else None.

    `str.isdigit` is not enough: it accepts '²' and '١٢٣', which `int()` then refuses or reads.
    """
    if not part or not part.isascii() or not part.isdigit() or len(part) > 10:
        return None
    value = int(part)
    return value if 0 < value <= MAX_ID else None
