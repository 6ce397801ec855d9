"""The one place that builds the bot: `build_application(settings, builder=None)`.

Nothing runs at import time. The application gets: the Bot API server from the settings, the
database persistence, per-chat ordered concurrency, every handler (handlers.register), the outbox
dispatcher and the scheduler (bot/scheduler.py), started and stopped with the application.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot, Update
from telegram.ext import ApplicationBuilder, BaseUpdateProcessor, ContextTypes, JobQueue
from telegram.request import HTTPXRequest

import handlers
from bot.api import api_app, start_api, stop_api
from bot.channels import group_channels, unset_variables
from bot.instance import InstanceLock
from bot.leader import Leadership
from bot.logctx import UPDATE
from bot.ops import QUIET, Metrics, Ops, ops_app
from bot.persistence import DbPersistence
from bot.runtime import Runtime, ZtcApplication, utc_now, ztc_application
from bot.scheduler import schedule_jobs, start_up
from bot.serving import serve, stop_serving
from bot.settings import Settings, SettingsError
from bot.turns import SharedTurns
from bot.wakeup import OutboxWakeup
from handlers import describe
from handlers.cards import draw_card
from handlers.context import ZtcApp, ZtcContext
from jobs.channels.telegram import TelegramChannel
from jobs.channels.telegram_limits import TelegramRateLimiter
from jobs.dispatch import Dispatcher
from jobs.notices import notice_renderer
from jobs.schedule import load_rules
from models.db import make_engine
from models.rules import Rules
from models.tables.infra import TELEGRAM

log = logging.getLogger(__name__)


class PerChatOrder(BaseUpdateProcessor):
    """Updates of different chats run concurrently; those of one chat one at a time, in order.

    A chat's backlog waits in its own line *before* taking one of the slots, so a flooded group
    (whose replies Telegram paces at 20 a minute) never holds the slots every other chat needs.
    PTB's own semaphore (taken before `do_process_update`) is therefore left unbounded and the
    slots are ours, taken after the line. Each update waits for the one that arrived before it
    in the same chat: PTB starts the processing tasks in arrival order, and the line is joined
    before anything suspends (an unbounded semaphore is taken without waiting), so the order is
    the arrival order.
    """

    def __init__(
        self,
        max_concurrent_updates: int = 64,
        metrics: Metrics | None = None,
        first_time: Callable[[int], Awaitable[bool]] | None = None,
        turn: Callable[[object], AbstractAsyncContextManager[None]] | None = None,
    ) -> None:
        """Allow up to `max_concurrent_updates` chats at once; time each turn in `metrics`;
        drop an update `first_time(update_id)` says was taken up already (models/updates.py);
        handle each inside `turn(update)` (a fleet's, bot/turns.py)."""
        super().__init__(_UNBOUNDED)
        self.slots, self.running, self.metrics = max_concurrent_updates, 0, metrics
        self.first_time, self.turn = first_time, turn
        self._free = asyncio.Semaphore(max_concurrent_updates)
        # chat -> (the done-signal of its last update in line, how many of its updates are in)
        self._lines: dict[int, tuple[asyncio.Future[None], int]] = {}

    async def _run(self, update: object, coroutine: Awaitable[Any]) -> None:
        async with self._free:
            self.running += 1  # PTB's current_concurrent_updates also counts those in line
            update_id = update.update_id if isinstance(update, Update) else None
            if update_id is not None and not await self._first_time(update_id):
                log.info("update %s came again: handled once already, dropped", update_id)
                self.running -= 1
                if asyncio.iscoroutine(coroutine):
                    coroutine.close()  # never to run: no "never awaited" warning
                return
            tag = UPDATE.set(update_id)
            started = time.perf_counter()
            try:
                if self.turn is None:
                    await coroutine
                else:
                    async with self.turn(update):
                        await coroutine
            finally:
                self.running -= 1
                seconds = time.perf_counter() - started
                if self.metrics is not None:
                    self.metrics.handled(update, seconds)
                log.info("%s handled in %.0f ms", describe(update), seconds * 1000)
                UPDATE.reset(tag)

    async def _first_time(self, update_id: int) -> bool:
        """Whether to take the update up: yes unless recorded before (and yes when the record
        cannot be read: the handler meets the database's failure and says so to the person)."""
        if self.first_time is None:
            return True
        try:
            return await self.first_time(update_id)
        except Exception:
            log.warning("update %s: could not check it is new; handled", update_id, exc_info=True)
            return True

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for the chat's previous update, then for a slot, then run."""
        key = _chat_key(update)
        if key is None:  # nothing to keep in order with (a poll, an inline query …)
            await self._run(update, coroutine)
            return
        previous, count = self._lines.get(key, (None, 0))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._lines[key] = (done, count + 1)
        try:
            if previous is not None:
                await asyncio.wait([previous])  # never cancels the predecessor's signal
            await self._run(update, coroutine)
        finally:
            if asyncio.iscoroutine(coroutine):
                coroutine.close()  # cancelled while in line: no "never awaited" warning
            done.set_result(None)
            last, left = self._lines[key]
            if left == 1:
                del self._lines[key]  # the line is empty: keep the map as small as the chats
            else:
                self._lines[key] = (last, left - 1)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


_UNBOUNDED = 2**31 - 1  # PTB's semaphore: never the one that makes an update wait


def _chat_key(update: object) -> int | None:
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return update.effective_chat.id
        if update.effective_user is not None:
            return update.effective_user.id
    return None


def build_application(
    settings: Settings,
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] | None = None,
    *,
    engine: AsyncEngine | None = None,
    clock: Callable[[], datetime] = utc_now,
    scheduler: bool = True,
    exclusive: bool | None = None,
    shared: bool | None = None,
    rules: Rules | None = None,
) -> ZtcApplication:
    """The bot, ready for run_polling/run_webhook or a test's own start/stop.

    `scheduler=False` leaves the policy's jobs (and the start-up catch-up) out: tests that drive
    time themselves run the jobs by hand. `shared`: one of a fleet of processes serving the bot
    (bot/turns.py) — by default when it takes a webhook (ZTC_WEBHOOK_URL) on PostgreSQL; long
    polling is one process's alone. `exclusive` (by default, when not shared) makes the start
    fail with AlreadyRunning while another bot process runs on the same database
    (bot/instance.py). `rules`: these instead of the settings' policy file (the demo adds its
    WeCom group).
    """
    if settings.bot_token is None:
        raise SettingsError("ZTC_BOT_TOKEN: missing (get one from @BotFather)")
    rules = rules or load_rules(settings.policy, settings.timezone)
    runtime = Runtime(
        settings=settings,
        rules=rules,
        engine=engine or make_engine(settings.database_url),
        clock=clock,
        owns_engine=engine is None,
        scheduled=scheduler,
    )
    if shared is None:
        shared = bool(settings.webhook_url) and runtime.engine.dialect.name == "postgresql"
    if exclusive if exclusive is not None else not shared:
        runtime.lock = InstanceLock(runtime.engine)
    persistence = DbPersistence(runtime.engine)
    if shared:
        runtime.turns = SharedTurns(runtime.engine, persistence)
    root = settings.bot_api_url.rstrip("/")
    # The builder's own default queue, but typed for our context (PTB's builder keeps the
    # default context's type for it whatever context_types says).
    jobs: JobQueue[ZtcContext] = JobQueue()
    app = (
        (builder or ApplicationBuilder())
        .token(settings.bot_token.get_secret_value())
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .application_class(ZtcApplication, kwargs={"runtime": runtime})
        .context_types(ContextTypes(context=ZtcContext))
        .job_queue(jobs)
        .persistence(persistence)
        .concurrent_updates(
            PerChatOrder(
                metrics=runtime.metrics,
                first_time=runtime.first_time,
                turn=runtime.turns.turn if runtime.turns else None,
            )
        )
        # The token's one sending budget: replies take their turns here (and wait out a 429,
        # then retry), the dispatcher's deliveries from the same object (_start_background).
        .rate_limiter(TelegramRateLimiter(max_retries=3))
        .post_init(_start_background)
        .post_stop(_stop_background)
        .post_shutdown(_dispose)
        .build()
    )
    assert isinstance(app, ZtcApplication)  # application_class above
    handlers.register(app)
    if runtime.lock is not None:  # another bot took the database while this one was cut off
        runtime.lock.on_lost = app.stop_running
    if runtime.turns is not None:
        runtime.turns.bind(app)
    if app.job_queue is not None and scheduler:
        schedule_jobs(app.job_queue, runtime)
    return app


def _dispatcher_bot(app: ZtcApp) -> Bot:
    """A Bot of the dispatcher's own: same server and token, its own connections, and no PTB
    rate limiter: its Telegram channel takes turns from the application's limiter itself, and
    must see a 429 rather than have it waited out (see TelegramChannel)."""
    bot = app.bot
    return Bot(
        bot.token,
        base_url=bot.base_url.removesuffix(bot.token),
        base_file_url=bot.base_file_url.removesuffix(bot.token),
        request=HTTPXRequest(connection_pool_size=16),
    )


async def _start_background(app: ZtcApp) -> None:
    rt = ztc_application(app).runtime
    if rt.lock is not None:
        await rt.lock.acquire()  # before anything is sent or polled: one bot per database
    if rt.settings.api_port is not None:
        await _start_api(rt)  # first: a port in use stops the start before anything runs
    if rt.settings.ops_port is not None:
        await _start_ops(rt)
    budget = app.bot.rate_limiter
    assert isinstance(budget, TelegramRateLimiter)  # build_application set it
    bot = _dispatcher_bot(app)
    await bot.initialize()
    render = notice_renderer(
        rules=rt.rules, default_locale=rt.default_locale, clock=rt.now, card=draw_card
    )
    channels: dict[str, Any] = {TELEGRAM: TelegramChannel(bot, limiter=budget)}
    channels |= group_channels(rt.settings, rt.rules)  # the policy's robots and webhooks
    for name in unset_variables(rt.settings, rt.rules):
        log.warning("%s is not set: its group gets nothing", name)
    rt.dispatcher = Dispatcher(
        engine=rt.engine,
        channels=channels,
        render=render,
        clock=rt.clock,
        observe=rt.metrics.delivery,
    )
    if rt.scheduled or rt.turns is not None:
        # The leader runs the jobs, and catches up on what the cycle missed, now or when it
        # leads; in a fleet it is also the one sender (Runtime.sending).
        rt.leader = Leadership(rt.engine, on_lead=(lambda: start_up(rt)) if rt.scheduled else None)
        await rt.leader.start()
    if rt.turns is not None:  # a fleet: notices queued elsewhere wake this dispatcher at once
        rt.wakeup = OutboxWakeup(rt.engine, rt.dispatcher.wake)
        await rt.wakeup.start()
    stop = asyncio.Event()
    run = rt.dispatcher.run(stop, active=rt.sending)
    rt.tasks = [stop, asyncio.create_task(run, name="outbox-dispatcher"), bot]


async def _start_api(rt: Runtime) -> None:
    """The intake API (bot/api/) on the bot's engine and clock; what it queues wakes the
    dispatcher."""
    port = rt.settings.api_port
    assert port is not None
    app = api_app(engine=rt.engine, rules=rt.rules, clock=rt.now, on_change=rt.wake_dispatcher)
    rt.api = await start_api(app, host=rt.settings.api_host, port=port)
    log.info("intake API listening on %s/api/v1", rt.api.url)


async def _start_ops(rt: Runtime) -> None:
    """/healthz and /metrics (bot/ops.py) on the bot's engine and clock."""
    port = rt.settings.ops_port
    assert port is not None
    ops = Ops(engine=rt.engine, clock=rt.now, metrics=rt.metrics, leading=rt.leading)
    rt.ops = await serve(ops_app(ops), host=rt.settings.ops_host, port=port, **QUIET)
    log.info("health and metrics on %s/healthz and /metrics", rt.ops.url)


async def _stop_servers(rt: Runtime) -> None:
    """The intake API and the ops server, if they serve (no new request from now on), the
    scheduler's leadership (another process may lead from now on) and the fleet's wake-up."""
    if rt.leader is not None:
        await rt.leader.stop()
        rt.leader = None
    if rt.wakeup is not None:
        await rt.wakeup.stop()
        rt.wakeup = None
    if rt.api is not None:
        await stop_api(rt.api)
        rt.api = None
    if rt.ops is not None:
        await stop_serving(rt.ops)
        rt.ops = None


async def _stop_background(app: ZtcApp) -> None:
    rt = ztc_application(app).runtime
    await _stop_servers(rt)  # no new request while the dispatcher finishes
    if rt.tasks:
        stop, task, bot = rt.tasks
        stop.set()
        await task  # the message in hand is finished and recorded
        await bot.shutdown()
        rt.tasks = []
    if rt.lock is not None:
        await rt.lock.release()  # stopped: another process may take the database now


async def _dispose(app: ZtcApp) -> None:
    rt = ztc_application(app).runtime
    await _stop_servers(rt)  # a start that failed after a server began to serve
    if rt.lock is not None:
        await rt.lock.release()
    if rt.turns is not None:
        await rt.turns.close()
    if rt.owns_engine:
        await rt.engine.dispose()


async def start_in_loop(app: ZtcApp, *, poll_timeout: int = 10) -> None:
    """Start the bot inside an event loop someone else runs (the demo, the tests), as
    `run_polling` would: initialize, post_init, long polling, then the update processing."""
    await app.initialize()
    if app.post_init is not None:
        try:
            await app.post_init(app)
        except BaseException:
            await app.shutdown()  # as run_polling does: nothing started is left running
            raise
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=poll_timeout)
    await app.start()


async def stop_in_loop(app: ZtcApp) -> None:
    """Stop as SIGTERM stops `run_polling`: updates in hand finish, persistence is flushed."""
    assert app.updater is not None
    await app.updater.stop()
    await app.stop()
    if app.post_stop is not None:
        await app.post_stop(app)
    await app.shutdown()
