"""Every action on an issue as a command: one frozen dataclass each, ids and values only.

The chat's buttons, the CLI's `issues …` verbs, the clock sweep and an import build these and
hand them to `models.issues.runner.run`, which does what all of them share. A command names its
`action` (the permission matrix's key), the `events` it may record, and what the chat must ask
for before it can be built (`asks`). The registry of what each one does is in actions.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, ClassVar, Literal, TypeVar

from models.codes import Action, EventKind, Level, Rating


@dataclass(frozen=True)
class FileIn:
    """A photo or document that came with a command: Telegram's file id, or the bytes."""

    kind: Literal["photo", "document"]
    file_id: str | None = None
    data: bytes | None = None
    name: str | None = None
    mime: str | None = None
    size: int | None = None


Ask = Literal["note", "department", "rating", "material", "official"]


COMMANDS: dict[Action, type[Command]] = {}  # every command, by its action
C = TypeVar("C", bound=type["Command"])


def command(
    action: Action, events: tuple[EventKind, ...], *, asks: Ask | None = None, system: bool = False
) -> Callable[[C], C]:
    """Declare a command class: its action, the events it records, what the chat asks first,
    whether it is the system's own; and enter it in `COMMANDS`."""

    def declare(kind: C) -> C:
        kind.action, kind.events, kind.asks, kind.system = action, events, asks, system
        COMMANDS[action] = kind
        return kind

    return declare


@dataclass(frozen=True)
class Command:
    """An action on one issue."""

    issue_id: int
    action: ClassVar[Action]
    events: ClassVar[tuple[EventKind, ...]]
    asks: ClassVar[Ask | None] = None  # what a person must give first (the chat asks for it)
    system: ClassVar[bool] = False  # the system's own: no person may do it, no button shows it


@command(Action.ACCEPT, (EventKind.ACCEPTED,))
@dataclass(frozen=True)
class Accept(Command):
    """受理: the handler takes the issue on; the resolve clock starts."""

    note: str | None = None


@command(Action.COMMENT, (EventKind.COMMENT,), asks="note")
@dataclass(frozen=True)
class Comment(Command):
    """A reply or comment on the timeline, for the other side to read."""

    note: str = ""


@command(Action.REQUEST_INFO, (EventKind.INFO_REQUESTED,), asks="note")
@dataclass(frozen=True)
class RequestInfo(Command):
    """待补充材料: ask the enterprise for material; the resolve clock pauses (capped)."""

    note: str = ""


@command(Action.RESUME, (EventKind.RESUMED,))
@dataclass(frozen=True)
class Resume(Command):
    """The material is in (or the pause cap ran out): the resolve clock runs again."""

    note: str | None = None
    resumed_at: datetime | None = None  # the sweep resumes at the cap, not when it noticed


@command(Action.ADD_COHANDLER, (EventKind.COHANDLER_ADDED,), asks="department")
@dataclass(frozen=True)
class AddCoHandler(Command):
    """协办: bring another department in on the issue."""

    department_id: int = 0


@command(Action.ESCALATE, (EventKind.ESCALATED,))
@dataclass(frozen=True)
class Escalate(Command):
    """提级: one rung up; `missed` when the clock does it at a missed deadline."""

    note: str | None = None
    missed: bool = False


@command(Action.DIRECT_LINE, (EventKind.DIRECT_LINE,))
@dataclass(frozen=True)
class DirectLine(Command):
    """直通车: straight to the city's principal leaders."""

    note: str | None = None


@command(Action.RESOLVE, (EventKind.RESOLVED,), asks="note")
@dataclass(frozen=True)
class Resolve(Command):
    """办结: resolved, with a note to the enterprise."""

    note: str = ""


@command(Action.CONFIRM, (EventKind.CONFIRMED, EventKind.REOPENED), asks="rating")
@dataclass(frozen=True)
class Confirm(Command):
    """The enterprise rates the resolution: 满意/基本满意 close it, 不满意 reopens it higher."""

    rating: Rating | None = None
    note: str | None = None


@command(Action.REOPEN, (EventKind.REOPENED,), asks="note")
@dataclass(frozen=True)
class Reopen(Command):
    """Not solved after all: back to the handler, who must accept it afresh."""

    note: str | None = None


@command(Action.SUPPLY, (EventKind.SUPPLIED,), asks="material")
@dataclass(frozen=True)
class Supply(Command):
    """补充材料: the enterprise sends what was asked for; the resolve clock runs again at once."""

    note: str = ""
    files: tuple[FileIn, ...] = ()


@command(Action.OPINION, (EventKind.OPINION,), asks="note")
@dataclass(frozen=True)
class Opinion(Command):
    """协办意见: a co-handling department's opinion, for the lead handler."""

    note: str = ""


@command(Action.TRANSFER, (EventKind.TRANSFERRED,), asks="official")
@dataclass(frozen=True)
class Transfer(Command):
    """转办: to another official of the same level, with a reason; the clock keeps running."""

    to_official_id: int = 0
    note: str = ""


@command(Action.REMIND, (EventKind.REMINDER,), system=True)
@dataclass(frozen=True)
class Remind(Command):
    """The sweep: remind the handler of the running clock's reminders now passed."""


@command(Action.FLAG_OVERDUE, (EventKind.OVERDUE,), system=True)
@dataclass(frozen=True)
class FlagOverdue(Command):
    """The sweep: at the top of the ladder nothing is higher; the issue is flagged overdue."""


@command(Action.RETIER, (EventKind.RETIERED,), system=True)
@dataclass(frozen=True)
class Retier(Command):
    """The project's tier changed: the issue moves to `level` (an import does this)."""

    level: Level = Level.SERVICE_DESK
    investment_wan: int = 0


@command(
    Action.CHASE_COHANDLERS,
    (EventKind.COHANDLER_REMINDER, EventKind.COHANDLER_OVERDUE),
    system=True,
)
@dataclass(frozen=True)
class ChaseCoHandlers(Command):
    """The sweep: remind co-handling departments near their deadline, name the late ones."""


@command(Action.REMIND_RATING, (EventKind.RATING_REMINDER,), system=True)
@dataclass(frozen=True)
class RemindRating(Command):
    """The sweep: a resolved issue not rated yet; the enterprise is asked once."""


@command(Action.CLOSE_UNRATED, (EventKind.CLOSED_UNRATED,), system=True)
@dataclass(frozen=True)
class CloseUnrated(Command):
    """The sweep: still not rated; closed as 未评价 (not counted in 满意率 either way)."""


def command_for(action: Action, issue_id: int, **given: Any) -> Command:
    """The command for a button's action, from what the person gave (a note, a rating, a
    department); what the command has no field for is left out."""
    kind = COMMANDS[action]
    names = {f.name for f in fields(kind)}
    return kind(issue_id=issue_id, **{k: v for k, v in given.items() if k in names})
