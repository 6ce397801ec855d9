"""The demo's world: the examples plus the demo's extra projects, everyone bound to a sandbox
Telegram account, and the history the sample simulation made marked as delivered before the
demo began. Never used on a real database: it binds everybody to made-up accounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.codes import Role
from models.identity import Person
from models.importer import KINDS, import_csv
from models.rules import Rules
from models.tables.infra import Outbox
from models.tables.org import Contact, Enterprise, Official, Region

# Sandbox Telegram ids: a contact's is CONTACT_IDS + its row id, an official's OFFICIAL_IDS + id.
CONTACT_IDS, OFFICIAL_IDS = 5_000_000, 6_000_000
# The five people a first-time visitor is offered, in the order of a problem's way up.
FEATURED = ("C21", "lsx-head", "deputy-a", "principal-a", "admin-a")
ROLE_ORDER = ("contact", *(role.value for role in Role))  # the page lists people in this order


@dataclass(frozen=True)
class DemoPerson:
    """Someone the visitor can be: their sandbox account and how the page lists them."""

    user_id: int
    code: str
    name: str
    role: str  # "contact" or an official's Role value
    detail: str  # the enterprise, the official's title, or the region

    @property
    def featured(self) -> bool:
        """One of the five a first-time visitor is offered."""
        return self.code in FEATURED


async def load_demo_data(
    *, session: AsyncSession, rules: Rules, folders: list[Path], now: datetime
) -> None:
    """Import each folder's CSVs that exist, in the importer's order (upsert by code)."""
    for folder in folders:
        for kind in KINDS:
            path = folder / f"{kind}.csv"
            if path.exists():
                text = path.read_bytes().decode("utf-8-sig")
                await import_csv(session=session, rules=rules, kind=kind, text=text, now=now)


async def bind_everyone(*, session: AsyncSession, locale: str) -> None:
    """Give every contact and official a sandbox account (private chat id = user id)."""
    people: list[Person] = [*(await session.exec(select(Contact))).all()]
    people += (await session.exec(select(Official))).all()
    for person in people:
        assert person.id is not None
        base = CONTACT_IDS if isinstance(person, Contact) else OFFICIAL_IDS
        person.telegram_user_id = person.chat_id = base + person.id
        person.locale, person.unreachable = locale, False
        session.add(person)


async def set_language(*, session: AsyncSession, locale: str) -> None:
    """Everyone in the demo speaks `locale` from now on (the page's language switch)."""
    for model in (Contact, Official):
        await session.exec(
            update(model).where(col(model.telegram_user_id).is_not(None)).values(locale=locale)
        )


async def settle_outbox(*, session: AsyncSession, now: datetime) -> int:
    """Mark every notice not yet sent as sent: the history happened before the demo began."""
    result = await session.exec(
        update(Outbox).where(col(Outbox.sent_at).is_(None)).values(sent_at=now)
    )
    return int(result.rowcount or 0)


async def demo_people(*, session: AsyncSession, locale: str) -> list[DemoPerson]:
    """Everyone bound to a sandbox account: contacts first, then officials by rank, by code."""
    english = locale == "en"
    enterprises = {e.id: e.name for e in (await session.exec(select(Enterprise))).all()}
    regions = {
        r.id: (r.name_en or r.name_zh) if english else r.name_zh
        for r in (await session.exec(select(Region))).all()
    }
    people: list[DemoPerson] = []
    for c in (await session.exec(select(Contact))).all():
        if c.telegram_user_id is not None:
            detail = enterprises.get(c.enterprise_id, "")
            people.append(DemoPerson(c.telegram_user_id, c.code, c.name, "contact", detail))
    for o in (await session.exec(select(Official))).all():
        if o.telegram_user_id is not None:
            place = regions.get(o.region_id) if o.region_id else None
            detail = (o.title if not english else None) or place or ""
            people.append(DemoPerson(o.telegram_user_id, o.code, o.name, str(o.role), detail))
    return sorted(people, key=lambda p: (ROLE_ORDER.index(p.role), p.code))
