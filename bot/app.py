"""The one place that builds the bot: `build_application(settings, builder=None)`.

Nothing runs at import time. The application gets: the Bot API server from the settings, the
database persistence, per-chat ordered concurrency, every handler (handlers.register), the outbox
dispatcher and the scheduler (bot/scheduler.py), started and stopped with the application.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot, Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    ContextTypes,
)
from telegram.request import HTTPXRequest

import handlers
from bot.persistence import DbPersistence
from bot.runtime import Runtime, ZtcApplication, ZtcContext, utc_now
from bot.scheduler import schedule_jobs, start_up
from bot.settings import Settings, SettingsError
from handlers.notices import notice_renderer
from jobs.dispatch import Dispatcher
from models.db import make_engine
from models.policy import load_policy
from models.rules import Rules

log = logging.getLogger(__name__)


class PerChatOrder(BaseUpdateProcessor):
    """Updates of different chats run concurrently; those of one chat one at a time, in order."""

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        """Allow up to `max_concurrent_updates` chats at once."""
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}

    async def do_process_update(self, update: object, coroutine: Any) -> None:
        """Run the update's handlers under its chat's lock."""
        key = _chat_key(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                await coroutine
        finally:
            if not lock.locked() and self._locks.get(key) is lock:
                del self._locks[key]  # keep the map as small as the chats in flight

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


def _chat_key(update: object) -> int:
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return update.effective_chat.id
        if update.effective_user is not None:
            return update.effective_user.id
    return 0


def build_application(
    settings: Settings,
    builder: ApplicationBuilder | None = None,  # type: ignore[type-arg]
    *,
    engine: AsyncEngine | None = None,
    clock: Callable[[], datetime] = utc_now,
    scheduler: bool = True,
) -> Application:  # type: ignore[type-arg]
    """The bot, ready for run_polling/run_webhook or a test's own start/stop.

    `scheduler=False` leaves the policy's jobs (and the start-up catch-up) out: tests that drive
    time themselves run the jobs by hand.
    """
    if settings.bot_token is None:
        raise SettingsError("ZTC_BOT_TOKEN: missing (get one from @BotFather)")
    rules = Rules.build(load_policy(settings.policy), settings.tz)
    runtime = Runtime(
        settings=settings,
        rules=rules,
        engine=engine or make_engine(settings.database_url),
        clock=clock,
        owns_engine=engine is None,
        scheduled=scheduler,
    )
    root = settings.bot_api_url.rstrip("/")
    app = (
        (builder or ApplicationBuilder())
        .token(settings.bot_token.get_secret_value())
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .application_class(ZtcApplication, kwargs={"runtime": runtime})
        .context_types(ContextTypes(context=ZtcContext))
        .persistence(DbPersistence(runtime.engine))
        .concurrent_updates(PerChatOrder())
        # Replies in a conversation wait out a 429 and retry; notices go through the dispatcher,
        # which has its own Bot (below) because this limiter halts *every* request on a 429.
        .rate_limiter(AIORateLimiter(max_retries=3))
        .post_init(_start_background)
        .post_stop(_stop_background)
        .post_shutdown(_dispose)
        .build()
    )
    handlers.register(app)
    if app.job_queue is not None and scheduler:
        schedule_jobs(app.job_queue, runtime)
    return app


def _dispatcher_bot(app: Application) -> Bot:  # type: ignore[type-arg]
    """A Bot of the dispatcher's own: same server and token, no shared rate limiter."""
    bot = app.bot
    return Bot(
        bot.token,
        base_url=bot.base_url.removesuffix(bot.token),
        base_file_url=bot.base_file_url.removesuffix(bot.token),
        request=HTTPXRequest(connection_pool_size=16),
    )


async def _start_background(app: Application) -> None:  # type: ignore[type-arg]
    rt: Runtime = app.runtime  # type: ignore[attr-defined]
    bot = _dispatcher_bot(app)
    await bot.initialize()
    rt.dispatcher = Dispatcher(
        engine=rt.engine, bot=bot, render=notice_renderer(rt), clock=rt.clock
    )
    stop = asyncio.Event()
    task = asyncio.create_task(rt.dispatcher.run(stop), name="outbox-dispatcher")
    rt.tasks = [stop, task, bot]
    if rt.scheduled:
        await start_up(rt)


async def _stop_background(app: Application) -> None:  # type: ignore[type-arg]
    rt: Runtime = app.runtime  # type: ignore[attr-defined]
    if rt.tasks:
        stop, task, bot = rt.tasks
        stop.set()
        await task  # the message in hand is finished and recorded
        await bot.shutdown()
        rt.tasks = []


async def _dispose(app: Application) -> None:  # type: ignore[type-arg]
    rt: Runtime = app.runtime  # type: ignore[attr-defined]
    if rt.owns_engine:
        await rt.engine.dispose()


async def start_in_loop(app: Application, *, poll_timeout: int = 10) -> None:  # type: ignore[type-arg]
    """Start the bot inside an event loop someone else runs (the demo, the tests), as
    `run_polling` would: initialize, post_init, long polling, then the update processing."""
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=poll_timeout)
    await app.start()


async def stop_in_loop(app: Application) -> None:  # type: ignore[type-arg]
    """Stop as SIGTERM stops `run_polling`: updates in hand finish, persistence is flushed."""
    assert app.updater is not None
    await app.updater.stop()
    await app.stop()
    if app.post_stop is not None:
        await app.post_stop(app)
    await app.shutdown()
