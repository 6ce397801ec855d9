"""The update a log line belongs to: `PerChatOrder` (bot/app.py) sets it for each update's
turn, and `UpdateTag` puts it on every record logged meanwhile — in text as "[update N]", in
JSON as `update_id` — so an issue's line ("issue 2026-00042: escalated …", models/issues/
runner.py) names the update that caused it."""

from __future__ import annotations

import logging
from contextvars import ContextVar

UPDATE: ContextVar[int | None] = ContextVar("ztc_update", default=None)


class UpdateTag(logging.Filter):
    """Adds `update_id` (None outside an update) and `update` (" [update N]" or "")."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Tag the record; never drop it."""
        update_id = UPDATE.get()
        record.update_id = update_id
        record.update = "" if update_id is None else f" [update {update_id}]"
        return True


def first_line(exc: BaseException) -> str:
    """An error as one short log phrase: its message's first line, or its type's name when it
    has no message (`TimeoutError()` says nothing, and `"".splitlines()[0]` would raise)."""
    lines = str(exc).splitlines()
    return lines[0] if lines else type(exc).__name__
