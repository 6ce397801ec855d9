"""The few things every issue command works with: who acts and when (`Ctx`), and what a
command did (`Change`) — from which the runner writes the event and the notices."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from models.codes import Audience, EventKind
from models.permissions import Actor
from models.rules import Rules
from models.tables.issue import Attachment, Issue, IssueEvent


@dataclass(frozen=True)
class Ctx:
    """Who acts, when, under which rules, in which unit of work."""

    session: AsyncSession
    rules: Rules
    actor: Actor
    now: datetime


@dataclass(frozen=True)
class Change:
    """What a command did to the issue, for its event and notices."""

    kind: EventKind
    note: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    previous_assignee: int | None = None  # a move to another level: who had it
    also: tuple[Audience, ...] = ()  # told besides the event's own audiences
    files: tuple[Attachment, ...] = ()  # photos and documents that came with it


@dataclass(frozen=True)
class Outcome:
    """The issue after a command, and the event it recorded (None: nothing was due)."""

    issue: Issue
    event: IssueEvent | None


Apply = Callable[[Ctx, Issue, Any], Awaitable[Change | None]]
