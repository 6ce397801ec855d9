"""The end-to-end harness: the real application, over real HTTP, against the fake Bot API.

`Chat` starts the app exactly as `ztc run` does (initialize, post_init, polling, start) but with
the test's engine and a clock the test moves; people are bound by real invites through /start.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from telegram.ext import Application

from bot.app import build_application, start_in_loop, stop_in_loop
from bot.sandbox import FakeBotAPI
from bot.settings import Settings
from locales import LOCALES
from locales.labels import label
from models.codes import OPEN_STATUSES, Category
from models.db import session_scope
from models.invites import create_invite
from models.rules import Rules
from models.tables.issue import Issue
from models.tables.org import Contact, Official

Json = dict[str, Any]
CONTACT, OTHER_CONTACT, HEAD, DEPUTY, ADMIN, OTHER_HEAD = 1001, 1002, 2001, 2002, 2003, 2004


@dataclass
class Chat:
    """One running bot and the fake Telegram it talks to."""

    api: FakeBotAPI
    engine: AsyncEngine
    rules: Rules
    now: datetime
    app: Application | None = None  # type: ignore[type-arg]
    users: dict[str, int] = field(default_factory=dict)
    scheduler: bool = False  # True: the policy's jobs run, and catch up at start-up
    app_rules: Rules | None = None  # the app's rules instead of the shipped policy's

    def settings(self, **extra: Any) -> Settings:
        """Settings pointing at the fake server."""
        unused = "sqlite:///:memory:"  # unless `extra` names one: the test's engine is passed in
        return Settings(
            bot_token=self.api.token,
            bot_api_url=self.api.url,
            **{"database_url": unused, **extra},
        )

    async def start(self, **extra: Any) -> None:
        """Build and start the application, as `run_polling` would."""
        app = build_application(
            self.settings(**extra),
            engine=self.engine,
            clock=lambda: self.now,
            scheduler=self.scheduler,
            rules=self.app_rules,
        )
        await start_in_loop(app, poll_timeout=1)
        self.app = app

    async def stop(self) -> None:
        """Stop as SIGTERM would: updates in hand finish, persistence is flushed."""
        app, self.app = self.app, None
        assert app is not None
        await stop_in_loop(app)

    async def bind(
        self, person: Official | Contact, user_id: int, language: str = "zh-hans"
    ) -> Json:
        """Invite a person and /start with the token; returns the bot's greeting."""
        async with session_scope(self.engine) as session:
            token, _row = await create_invite(
                session=session, rules=self.rules, person=person, now=self.now
            )
        self.users[person.code] = user_id
        self.api.add_user(user_id, first_name=person.name, language_code=language)
        self.api.user_says(user_id, f"/start {token}")
        return await self.api.next_message(user_id)

    async def settle(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Wait until the bot has taken and handled every update queued so far."""
        assert self.app is not None
        async with asyncio.timeout(timeout):
            # Confirmed by the next getUpdates, once they are in PTB's queue; the sandbox
            # signals no change for a confirmation, so this polls.
            while self.api.pending_updates:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            await self.app.update_queue.join()  # PTB marks each done once it is handled

    def uid(self, code: str) -> int:
        """The Telegram id of a bound person."""
        return self.users[code]

    async def say(self, code: str, text: str) -> Json:
        """The person sends a text; returns the bot's next message to them."""
        self.api.user_says(self.uid(code), text)
        return await self.api.next_message(self.uid(code))

    async def press(self, code: str, message: Json, label: str) -> str:
        """The person presses the button with this label; returns the callback id."""
        data = self.data(message, label)
        return self.api.press(self.uid(code), message["message_id"], data)

    async def press_and_wait(self, code: str, message: Json, label: str) -> Json:
        """Press and wait for the message to be edited; returns it as it is now."""
        seen = self.api.edit_count(self.uid(code), message["message_id"])
        await self.press(code, message, label)
        return await self.api.wait_edit(self.uid(code), message["message_id"], seen)

    def data(self, message: Json, label: str) -> str:
        """The callback data of the button labelled `label`."""
        for text, data in self.api.buttons(message):
            if text == label and data is not None:
                return data
        raise AssertionError(f"no button {label!r} in {self.api.buttons(message)}")

    async def until(self, code: str, needle: str, limit: int = 6) -> Json:
        """Read this person's messages until one contains `needle` (skipping other notices)."""
        seen = []
        for _ in range(limit):
            message = await self.next(code)
            if needle in message.get("text", ""):
                return message
            seen.append(message.get("text", "")[:80])
        raise AssertionError(f"no message with {needle!r} for {code}; saw {seen}")

    async def report(
        self, who: str, *, category: str, urgency: str, submit: str, text: str
    ) -> Json:
        """Walk /report to the end (one project, so no project step); returns the confirmation.
        When the person has an issue of that category open, the chat asks whether this repeats
        it (tests/e2e/test_chat_repeats.py): here it is a different problem."""
        repeats = await self._has_open(who, category)
        categories = await self.say(who, "/report")
        await self.press(who, categories, category)
        prompt = await self.next(who)
        assert "4000" in prompt["text"]
        urgencies = await self.say(who, text)
        summary = await self.press_and_wait(who, urgencies, urgency)
        assert text in summary["text"]
        if repeats:
            offer = await self.press_and_wait(who, summary, submit)
            await self.press(who, offer, self._different(offer))
        else:
            await self.press(who, summary, submit)
        return await self.next(who)

    async def _has_open(self, who: str, category: str) -> bool:
        """Whether `who` has an open issue of the category labelled `category` (any language)."""
        codes = [c for c in Category for lang in LOCALES if label(c, lang) == category]
        async with session_scope(self.engine) as session:
            contact = (await session.exec(select(Contact).where(Contact.code == who))).first()
            official = (await session.exec(select(Official).where(Official.code == who))).first()
            mine = (
                col(Issue.reporter_contact_id) == contact.id
                if contact is not None
                else col(Issue.reporter_official_id) == (official.id if official else -1)
            )
            query = select(Issue).where(
                mine, col(Issue.category).in_(codes), col(Issue.status).in_(OPEN_STATUSES)
            )
            return (await session.exec(query)).first() is not None

    def _different(self, offer: Json) -> str:
        """The offer's "a different problem" button, in whichever language it speaks."""
        choices = [text for text, _data in self.api.buttons(offer)]
        return next(text for text in choices if text in ("另一个问题", "A different problem"))

    async def next(self, code: str) -> Json:
        """The next message the bot sends this person."""
        return await self.api.next_message(self.uid(code))


def labels(api: FakeBotAPI, message: Json) -> list[str]:
    """The labels of a message's buttons."""
    return [text for text, _data in api.buttons(message)]
