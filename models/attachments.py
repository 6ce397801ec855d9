"""Photos and documents sent with a report: limits and storage (Telegram keeps the bytes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from models.errors import InvalidInput
from models.tables.issue import Attachment, Issue

MAX_FILES = 5
MAX_FILE_BYTES = 20 * 1024 * 1024  # what a bot may download from Telegram


def check_file(files: list[dict[str, Any]], size: int | None) -> None:
    """Refuse one more file over the count or a file over the size (limits in the error)."""
    if len(files) >= MAX_FILES:
        raise InvalidInput(field="files", reason="too_many", limit=MAX_FILES)
    if size is not None and size > MAX_FILE_BYTES:
        raise InvalidInput(field="file", reason="too_big", limit=MAX_FILE_BYTES // (1024 * 1024))


async def attach_files(
    *, session: AsyncSession, issue: Issue, files: list[dict[str, Any]], now: datetime
) -> list[Attachment]:
    """Record the files sent with an issue (file ids as Telegram gave them)."""
    assert issue.id is not None
    rows = [
        Attachment(
            issue_id=issue.id,
            kind=f["kind"],
            file_id=f["file_id"],
            file_name=f.get("name"),
            mime_type=f.get("mime"),
            size=f.get("size"),
            created_at=now,
        )
        for f in files[:MAX_FILES]
    ]
    session.add_all(rows)
    return rows
