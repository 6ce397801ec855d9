"""What an outbox row says to its recipient: a headline in their language over the issue's card,
with the buttons they may press now (drawn at delivery, so they are never older than the message).
"""

from __future__ import annotations

import html
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import N_, gettext_for
from bot.labels import label
from bot.runtime import Runtime
from handlers.cards import render_card
from jobs.dispatch import Rendered
from models.codes import EventKind, Level, Rating
from models.identity import Person
from models.infra import Outbox
from models.issue import Issue
from models.org import Contact
from models.permissions import actor_of

K = EventKind
HEADLINES = {
    K.CREATED: N_("New issue {number}."),
    K.UNASSIGNED: N_("Issue {number} has nobody to handle it: please assign one."),
    K.ACCEPTED: N_("Issue {number} was accepted."),
    K.COMMENT: N_("New message on issue {number}: {note}"),
    K.INFO_REQUESTED: N_("Material is needed for issue {number}: {note}"),
    K.RESUMED: N_("Work on issue {number} resumed."),
    K.COHANDLER_ADDED: N_("A co-handling department was added to issue {number}."),
    K.ESCALATED: N_("Issue {number} was escalated to the {level}."),
    K.DIRECT_LINE: N_("Issue {number} went by the direct line to the {level}."),
    K.RETIERED: N_("Issue {number} was re-routed to the {level}: the project's size changed."),
    K.RESOLVED: N_("Issue {number} was resolved: {note}"),
    K.CONFIRMED: N_("Issue {number} was rated: {rating}."),
    K.REOPENED: N_("Issue {number} was reopened and is with the {level}."),
    K.REMINDER: N_("Reminder: issue {number} is waiting for you."),
    K.OVERDUE: N_("Issue {number} is overdue with the city's principal leaders."),
}


def headline(row: Outbox, locale: str, *, for_contact: bool) -> str:
    """The first line of a notice, from the row's codes, in the reader's language."""
    _ = gettext_for(locale)
    payload = row.payload
    kind = EventKind(payload.get("event", row.kind))
    rating = payload.get("rating")
    text = _(HEADLINES.get(kind, N_("Issue {number} changed."))).format(
        number=payload.get("issue", ""),
        note=html.escape(payload.get("note") or "", quote=False),
        level=label(Level(payload.get("level", "service_desk")), locale),
        rating=label(Rating(rating), locale) if rating else "",
    )
    text = f"<b>{text}</b>" if "\n" not in text else text
    if kind == K.RESOLVED and for_contact:
        text += "\n" + _("Please rate the result with the buttons below.")
    return text


def notice_renderer(rt: Runtime):  # type: ignore[no-untyped-def]
    """The dispatcher's render function for this bot."""

    async def render(session: AsyncSession, row: Outbox, person: Person | None) -> Rendered | None:
        locale = (person.locale if person else None) or rt.settings.default_locale
        issue = await session.get(Issue, row.issue_id) if row.issue_id else None
        top = headline(row, locale, for_contact=isinstance(person, Contact))
        if issue is None or person is None:  # a group audience reads the headline only
            return Rendered(top)
        now: datetime = rt.now()
        text, markup = await render_card(
            session=session,
            rules=rt.rules,
            issue=issue,
            actor=actor_of(person),
            locale=locale,
            now=now,
        )
        return Rendered(f"{top}\n\n{text}", markup)

    return render
