"""Who is talking: binding a Telegram account to a contact or an official by a one-time invite.

One account speaks for one person. Redeeming an invite binds the account (and its private chat)
to the invite's person; an account bound before to somebody else is moved, so the newest invite
wins and no two people share an account.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.errors import InviteRefused
from models.invites import hash_token
from models.tables.infra import Invite
from models.tables.org import Contact, Official

Person = Official | Contact


async def person_for(*, session: AsyncSession, telegram_user_id: int) -> Person | None:
    """The contact or official bound to a Telegram account, or None for a stranger."""
    official = (
        await session.exec(select(Official).where(Official.telegram_user_id == telegram_user_id))
    ).first()
    if official is not None:
        return official
    query = select(Contact).where(Contact.telegram_user_id == telegram_user_id)
    return (await session.exec(query)).first()


async def redeem_invite(
    *,
    session: AsyncSession,
    token: str,
    telegram_user_id: int,
    chat_id: int,
    locale: str | None,
    now: datetime,
) -> Person:
    """Use an invite once: bind the account to its person; raise InviteRefused if it cannot."""
    query = select(Invite).where(Invite.token_hash == hash_token(token)).with_for_update()
    invite = (await session.exec(query)).first()
    if invite is None:
        raise InviteRefused(reason="unknown")
    if invite.used_at is not None:
        raise InviteRefused(reason="used")
    if invite.expires_at <= now:
        raise InviteRefused(reason="expired")
    person: Person | None = (
        await session.get(Official, invite.official_id)
        if invite.official_id
        else await session.get(Contact, invite.contact_id)
    )
    if person is None:
        raise InviteRefused(reason="unknown")
    previous = await person_for(session=session, telegram_user_id=telegram_user_id)
    if previous is not None and previous is not person:
        previous.telegram_user_id = previous.chat_id = None
        await session.flush()  # free the unique account id before it is given again
    person.telegram_user_id, person.chat_id, person.unreachable = telegram_user_id, chat_id, False
    if locale and not person.locale:
        person.locale = locale
    invite.used_at = now
    await session.flush()
    return person


def mark_reachable(person: Person, chat_id: int) -> bool:
    """A person who writes to the bot can be reached again; True if anything changed."""
    changed = person.unreachable or person.chat_id != chat_id
    person.unreachable, person.chat_id = False, chat_id
    return changed
