"""PerChatOrder: one chat's updates one at a time and in order; a busy chat never holds the
slots other chats need (issue 11: 150 /start in one group made another user's /help wait
200 s, and a chat's lock deleted while updates waited on it let 4 run at once, out of order)."""

from __future__ import annotations

import asyncio
import random

from telegram import Chat, Message, Update, User

from bot.app import PerChatOrder

PRIVATE, GROUP = 1001, -100200


def update(update_id: int, chat_id: int) -> Update:
    """A text message in a chat (a group's sender is a user of its own)."""
    kind = Chat.PRIVATE if chat_id > 0 else Chat.SUPERGROUP
    user = User(id=abs(chat_id) + update_id, first_name="U", is_bot=False)
    chat = Chat(id=chat_id, type=kind)
    message = Message(message_id=update_id, date=None, chat=chat, from_user=user, text="x")  # type: ignore[arg-type]
    return Update(update_id=update_id, message=message)


async def test_a_flooded_chat_does_not_hold_the_slots_of_others() -> None:
    order = PerChatOrder(max_concurrent_updates=4)
    release = asyncio.Event()
    other_done = asyncio.Event()

    async def slow() -> None:
        await release.wait()  # the group's replies are paced: this one waits its turn

    async def quick() -> None:
        other_done.set()

    flood = [
        asyncio.create_task(order.process_update(update(n, GROUP), slow())) for n in range(50)
    ]
    other = asyncio.create_task(order.process_update(update(99, PRIVATE), quick()))
    # The private chat's update runs while all fifty of the group's are still waiting.
    await asyncio.wait_for(other_done.wait(), timeout=30)
    assert not any(task.done() for task in flood)
    assert order.running == 1  # the group holds one slot, not four
    release.set()
    await asyncio.gather(*flood, other)
    assert order._lines == {}  # every line is gone once empty


async def test_one_chat_runs_one_at_a_time_in_arrival_order() -> None:
    order = PerChatOrder(max_concurrent_updates=64)
    rng = random.Random(11)
    started: list[int] = []
    finished: list[int] = []
    running = 0
    most = 0

    async def handle(n: int) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        started.append(n)
        for _ in range(rng.randint(0, 3)):
            await asyncio.sleep(0)
        running -= 1
        finished.append(n)

    tasks = []
    for wave in range(20):  # updates keep arriving while earlier ones finish
        for k in range(rng.randint(1, 6)):
            n = wave * 10 + k
            tasks.append(asyncio.create_task(order.process_update(update(n, GROUP), handle(n))))
        for _ in range(rng.randint(0, 4)):
            await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert most == 1
    assert started == finished == sorted(started)
    assert order._lines == {}


async def test_different_chats_run_at_once() -> None:
    order = PerChatOrder(max_concurrent_updates=8)
    both = asyncio.Barrier(2)

    async def meet() -> None:
        await both.wait()  # only returns when the other chat's update runs at the same time

    await asyncio.wait_for(
        asyncio.gather(
            order.process_update(update(1, PRIVATE), meet()),
            order.process_update(update(2, GROUP), meet()),
        ),
        timeout=30,
    )
