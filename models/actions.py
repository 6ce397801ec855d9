"""One entry point for the chat's buttons: perform an action on an issue by its code.

The chat knows an action only as the code on a button; this maps it to the service, so a handler
stays one call. Every service still authorizes the actor itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from models import issues as svc
from models.codes import Action, Rating
from models.errors import InvalidInput
from models.permissions import Actor
from models.rules import Rules
from models.tables.issue import Issue
from models.tables.org import Department

# Actions that need the person's words before they can be done.
NEEDS_NOTE = frozenset({Action.COMMENT, Action.REQUEST_INFO, Action.RESOLVE})


async def perform(
    *,
    session: AsyncSession,
    rules: Rules,
    actor: Actor,
    issue: Issue,
    action: Action,
    now: datetime,
    note: str | None = None,
    rating: Rating | None = None,
    department: Department | None = None,
) -> None:
    """Do `action` on `issue` as `actor` (the caller commits)."""
    common: dict[str, Any] = {
        "session": session,
        "rules": rules,
        "actor": actor,
        "issue": issue,
        "now": now,
    }
    if action == Action.COMMENT:
        await svc.comment_issue(**common, text=note or "")
    elif action == Action.REQUEST_INFO:
        await svc.request_info(**common, reason=note or "")
    elif action == Action.RESOLVE:
        await svc.resolve_issue(**common, note=note or "")
    elif action == Action.CONFIRM:
        if rating is None:
            raise InvalidInput(field="rating", reason="empty")
        await svc.confirm_issue(**common, rating=rating, note=note)
    elif action == Action.ADD_COHANDLER:
        if department is None:
            raise InvalidInput(field="department", reason="empty")
        await svc.add_cohandler(**common, department=department)
    else:
        simple = {
            Action.ACCEPT: svc.accept_issue,
            Action.RESUME: svc.resume_issue,
            Action.ESCALATE: svc.escalate_issue,
            Action.DIRECT_LINE: svc.direct_line,
            Action.REOPEN: svc.reopen_issue,
        }
        if action not in simple:
            raise InvalidInput(field="action", reason="empty")
        await simple[action](**common, note=note)
