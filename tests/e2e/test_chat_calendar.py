"""End to end: a deadline counted into a year whose holidays are not announced says so — on the
enterprise's receipt and in its /my list (the rules: tests/unit/test_workcal_years.py)."""

from __future__ import annotations

from tests.support.chat import CONTACT, Chat
from tests.support.factories import World, at


async def test_the_receipt_says_the_deadline_is_provisional(chat: Chat, world: World) -> None:
    await chat.bind(world.contact, CONTACT, language="en")
    chat.now = at("2026-12-31 10:00")  # New Year's Eve: one working day runs into 2027
    done = await chat.report(
        "C1", category="land", urgency="normal", submit="Submit", text="No land quota yet"
    )
    assert "Received: issue 2026-00001" in done["text"]
    # 1 January is off by law even before 2027 is announced; then a weekend.
    assert "Jan 4, 2027" in done["text"]
    assert "(provisional: the holidays of that year are not announced yet)" in done["text"]
