"""Untrusted text made safe to keep: control characters out, at every door (chat, CSV, CLI).

A NUL fails a PostgreSQL commit; a vertical tab (what Excel writes for a line break inside a cell)
makes openpyxl refuse the whole workbook; neither means anything to a reader. Whitespace controls
become what they look like (a space, or a line break where lines are kept); the rest go.
"""

from __future__ import annotations

import re

from models.errors import InvalidInput

# C0 controls except tab and line feed, DEL, C1 controls, and lone surrogates (not encodable).
_DROP = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_SPACE = re.compile(r"[\t\x0b\x0c]")
_BREAKS = re.compile(r"\r\n?|[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def clean_text(value: str) -> str:
    """Multi-line text (a description, a note): line breaks and tabs kept, other controls gone."""
    return _DROP.sub("", _BREAKS.sub("\n", value))


def clean_line(value: str) -> str:
    """One-line text (a name, a code, a cell): every line break or tab a space, controls gone."""
    if value.isprintable():  # no control, separator or surrogate: nothing to change (fast)
        return value
    return _DROP.sub("", _SPACE.sub(" ", clean_text(value).replace("\n", " ")))


MAX_TEXT = 4000  # characters of a description or a note


def checked_text(value: str | None, field: str, *, required: bool) -> str | None:
    """A person's description or note, cleaned and trimmed; None when empty and optional.

    Raises InvalidInput (`empty`, or `too_long` with the limit and the length).
    """
    text = clean_text(value or "").strip()
    if required and not text:
        raise InvalidInput(field=field, reason="empty")
    if len(text) > MAX_TEXT:
        raise InvalidInput(field=field, reason="too_long", limit=MAX_TEXT, length=len(text))
    return text or None
