"""B1, conversation throughput: N enterprises completing /report at once through the sandbox
Bot API (bot/sandbox), beside a bare python-telegram-bot echo bot on the same fake.

Run:  .venv/bin/python bench/bench_chat.py [DATABASE_URL] [--sizes 1,8,32] [--reports 3]
                                           [--runs 3] [--instances K] [--profile FILE]

(default: a temporary SQLite file). It resets the database's schema: never point it at real
data. Each of N enterprises has its own bound contact and one project (so /report asks no
project); each contact walks /report `--reports` times back to back — /report, a category, the
description, an urgency, 确认提交: five updates, each sent when the bot's answer to the previous
one has arrived (as a person would). The N contacts go at once. The echo bot gets the same five
updates per conversation (a MessageHandler that sends a message with buttons, a
CallbackQueryHandler that answers and sends or edits), through the same code.

Measured per run: updates/s (all updates over the wall time from the first to the last reply)
and p50/p95 of each update's latency: from the moment the fake makes it available (queued for
getUpdates, or for the webhook) until the bot's answer to it (the message or edit the next step
waits for) has arrived at the fake. The median of `--runs` runs is printed as Markdown rows.

Neither bot has a rate limiter, and the fake enforces no flood control: this measures the
bots. `build_application` always installs TelegramRateLimiter (and `_start_background` asserts
it), so the ztc application gets `Unlimited`, a TelegramRateLimiter that never waits, swapped
in after the build (the dispatcher's Telegram channel takes its turns from it too).

Modes:
- default (`--instances 0`): polling, the bot in this process with the fake and the users.
- `--instances K` (K >= 1, PostgreSQL): K bot processes in webhook mode, each started as
  `ztc run` starts it (settings from ZTC_* variables, `build_application`, `run_webhook`), but
  by this script (`--serve`) so the limiter can be swapped. Every instance registers its
  webhook with the fake; the harness then takes delivery over and plays the load balancer:
  each update is POSTed to one instance, round-robin, with the X-Telegram-Bot-Api-Secret-Token
  header, as the fake's own WebhookPusher does. The echo rows are polling, in this process.
  `--profile FILE` (with K = 1): the instance runs under cProfile and dumps its stats to FILE.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import itertools
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]

from bot.app import build_application, start_in_loop, stop_in_loop  # noqa: E402
from bot.sandbox import FakeBotAPI  # noqa: E402
from bot.sandbox.state import ChatLog  # noqa: E402
from bot.settings import Settings  # noqa: E402
from jobs.channels.telegram_limits import TelegramRateLimiter  # noqa: E402
from locales.labels import label  # noqa: E402
from models.codes import Category, Stage  # noqa: E402
from models.db import make_engine, session_scope  # noqa: E402
from models.migrate import recreate  # noqa: E402
from models.tables.org import Contact, Enterprise  # noqa: E402
from models.tables.project import Project  # noqa: E402
from tests.support.factories import build_world  # noqa: E402

TOKEN = "123456:BENCH-TOKEN"
SECRET = "bench-secret-token"
HEAD, DEPUTY, FIRST_CONTACT = 2001, 2002, 10_001
DESCRIPTION = "用地指标迟迟未落实，影响开工"
Json = dict[str, Any]


@dataclass(frozen=True)
class Step:
    """One update of a conversation: a text said, or a button (by label) pressed on the last
    answer; and what answers it: a new message, or an edit of the pressed one."""

    action: str  # "say" | "press"
    arg: str
    answer: str  # "message" | "edit"


ZTC_STEPS = (
    Step("say", "/report", "message"),
    Step("press", "土地", "message"),  # another category for each report (another_problem)
    Step("say", DESCRIPTION, "message"),
    Step("press", "普通", "edit"),
    Step("press", "确认提交", "message"),
)
ECHO_STEPS = (
    Step("say", "/report", "message"),
    Step("press", "send", "message"),
    Step("say", DESCRIPTION, "message"),
    Step("press", "edit", "edit"),
    Step("press", "send", "message"),
)


class Unlimited(TelegramRateLimiter):
    """The application's limiter, never waiting: no pace, no overall budget, no 429 retry."""

    async def slot(self, chat_id: object, *, reply: bool = False) -> None:
        """Room at once."""

    async def process_request(
        self,
        callback: Callable[..., Awaitable[Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        """Straight through."""
        return await callback(*args, **kwargs)


def unlimited(app: Application) -> Application:  # type: ignore[type-arg]
    """The built application with `Unlimited` in place of its TelegramRateLimiter."""
    app.bot._rate_limiter = Unlimited()  # type: ignore[attr-defined]
    return app


# --- the users -------------------------------------------------------------------------------


@dataclass
class Tally:
    """Every update's latency, and the wall time of the whole load."""

    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0


async def converse(api: FakeBotAPI, uid: int, steps: tuple[Step, ...], tally: Tally) -> None:
    """One conversation: each step sent when the answer to the previous one has arrived."""
    state, shown = api.state, 0
    for step in steps:
        chat = state.chats[uid]
        before = len(chat.outbox)
        if step.action == "say":
            api.user_says(uid, step.arg)
        else:
            message = chat.messages[shown]
            data = next((d for label, d in api.buttons(message) if label == step.arg), None)
            if data is None:  # the bot answered something else: say what, for the reader
                raise AssertionError(f"user {uid}, {step}: no button in {message.get('text')!r}")
            api.press(uid, shown, data)
        edits = chat.edits.get(shown, 0)
        started = time.perf_counter()
        if step.answer == "message":
            await state.wait_for(partial(_new_message, chat, before), 60)
            shown = chat.outbox[before]["message_id"]
        else:
            await state.wait_for(partial(_edited, chat, shown, edits), 60)
        tally.latencies.append(time.perf_counter() - started)


def _new_message(chat: ChatLog, before: int) -> bool | None:
    return len(chat.outbox) > before or None


def _edited(chat: ChatLog, message_id: int, before: int) -> bool | None:
    return chat.edits.get(message_id, 0) > before or None


def another_problem(steps: tuple[Step, ...], k: int) -> tuple[Step, ...]:
    """The k-th conversation's steps: ztc's k-th report is of another category (the same one
    again while the first is open would be offered as a repeat), the echo bot's unchanged."""
    land = label(Category.LAND, "zh_CN")
    other = label(list(Category)[k % len(Category)], "zh_CN")
    return tuple(Step(s.action, other, s.answer) if s.arg == land else s for s in steps)


async def load(api: FakeBotAPI, uids: list[int], steps: tuple[Step, ...], reports: int) -> Tally:
    """Every user at once (but the last, who warms the bot up first), each walking `reports`
    conversations back to back."""
    await converse(api, uids[-1], steps, Tally())  # a warm-up, not counted
    uids, tally = uids[:-1], Tally()

    async def user(uid: int) -> None:
        for k in range(reports):
            await converse(api, uid, another_problem(steps, k), tally)

    started = time.perf_counter()
    await asyncio.gather(*(user(uid) for uid in uids))
    tally.wall = time.perf_counter() - started
    return tally


# --- the ztc bot -----------------------------------------------------------------------------


async def seed(url: str, n: int) -> list[int]:
    """A fresh schema, the small world, `n` (+ 1 to warm up) enterprises each with a bound
    contact and one 2亿 project in r1 (its leader deputy-a); the region head and deputy-a bound
    too."""
    engine = make_engine(url)
    await recreate(engine)
    uids = [FIRST_CONTACT + i for i in range(n + 1)]  # the last one warms up
    async with session_scope(engine) as s:
        world = await build_world(s)
        for code, uid in (("r1-head", HEAD), ("deputy-a", DEPUTY)):
            world.officials[code].telegram_user_id = world.officials[code].chat_id = uid
        for i, uid in enumerate(uids):
            firm = Enterprise(code=f"B{i}", name=f"企业{i}", credit_code=f"91BENCH{i:011d}")
            s.add(firm)
            await s.flush()
            # bound as /start with an invite binds them
            contact = Contact(code=f"BC{i}", enterprise_id=firm.id or 0, name=f"联系人{i}")
            contact.telegram_user_id = contact.chat_id = uid
            s.add(contact)
            s.add(
                Project(
                    code=f"BP{i}",
                    name=f"项目{i}",
                    enterprise_id=firm.id or 0,
                    region_id=world.region.id or 0,
                    investment_wan=20_000,
                    stage=Stage.STARTED,
                    leader_id=world.officials["deputy-a"].id,
                )
            )
    await engine.dispose()
    return uids


def fake_users(api: FakeBotAPI, uids: list[int]) -> None:
    """The contacts and the two officials exist in the fake (their chats take messages)."""
    for uid in (HEAD, DEPUTY, *uids):
        api.add_user(uid, first_name=f"u{uid}", language_code="zh-hans")


async def ztc_polling(url: str, n: int, reports: int) -> Tally:
    """The ztc application polling in this process."""
    uids = await seed(url, n)
    async with FakeBotAPI(token=TOKEN) as api:
        fake_users(api, uids)
        settings = Settings(bot_token=TOKEN, bot_api_url=api.url, database_url=url)
        app = unlimited(build_application(settings))
        await start_in_loop(app, poll_timeout=1)
        try:
            return await load(api, uids, ZTC_STEPS, reports)
        finally:
            await stop_in_loop(app)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def balance(api: FakeBotAPI, hooks: list[str]) -> None:
    """The load balancer: every update the fake queues, POSTed to the next instance in turn."""
    state, turn = api.state, itertools.cycle(hooks)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    tasks: set[asyncio.Task[None]] = set()
    connector = aiohttp.TCPConnector(limit=100)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def post(url: str, update: Json) -> None:
            async with session.post(url, json=update, headers=headers) as response:
                if response.status != 200:
                    print(f"webhook {url}: {response.status}", file=sys.stderr)

        while True:
            await state.wait_for(lambda: state.updates or None, None)
            batch, state.updates = state.updates, []
            for update in batch:
                task = asyncio.create_task(post(next(turn), update))
                tasks.add(task)
                task.add_done_callback(tasks.discard)


async def ztc_webhook(url: str, n: int, reports: int, k: int, profile: str | None) -> Tally:
    """K instances in webhook mode (processes), the harness balancing the updates."""
    uids = await seed(url, n)
    async with FakeBotAPI(token=TOKEN) as api:
        fake_users(api, uids)
        ports = [_free_port() for _ in range(k)]
        hooks = [f"http://127.0.0.1:{port}/ztc" for port in ports]
        procs = [
            _serve(api.url, url, hook, port, profile)
            for hook, port in zip(hooks, ports, strict=True)
        ]
        try:
            await _registered(api, procs, k)
            api.state.webhook = None  # the harness delivers from here on, not the fake
            balancer = asyncio.create_task(balance(api, hooks))
            try:
                return await load(api, uids, ZTC_STEPS, reports)
            finally:
                balancer.cancel()
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in procs:
                await asyncio.to_thread(proc.wait, 60)


def _serve(api_url: str, db: str, hook: str, port: int, profile: str | None) -> Any:
    env = {
        **os.environ,
        "ZTC_BOT_TOKEN": TOKEN,
        "ZTC_BOT_API_URL": api_url,
        "ZTC_DATABASE_URL": db,
        "ZTC_WEBHOOK_URL": hook,
        "ZTC_WEBHOOK_SECRET": SECRET,
        "ZTC_WEBHOOK_PORT": str(port),
    }
    argv = [sys.executable, str(Path(__file__).resolve()), "--serve"]
    if profile:
        argv += ["--profile", profile]
    # Outside the checkout, so no .env of a developer's is read.
    return subprocess.Popen(argv, env=env, cwd=tempfile.gettempdir())


async def _registered(api: FakeBotAPI, procs: list[Any], k: int) -> None:
    """Wait until every instance has set its webhook; an instance that exits fails the run."""
    async with asyncio.timeout(120):
        while len(api.calls_of("setWebhook")) < k:
            if any(p.poll() is not None for p in procs):
                codes = [p.poll() for p in procs]
                raise RuntimeError(f"an instance exited before serving (exit codes {codes})")
            await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # run_webhook starts the application after setting the webhook


def serve(profile: str | None) -> None:
    """The child: `ztc run` in webhook mode (bot/cli/run.py), with `Unlimited` swapped in."""
    from bot.settings import load_settings

    settings = load_settings()
    app = unlimited(build_application(settings))
    assert settings.webhook_url and settings.webhook_secret
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    app.run_webhook(
        listen=settings.webhook_listen,
        port=settings.webhook_port,
        url_path="ztc",
        webhook_url=settings.webhook_url,
        secret_token=settings.webhook_secret.get_secret_value(),
        allowed_updates=Update.ALL_TYPES,
    )
    if profiler and profile:
        profiler.disable()
        profiler.dump_stats(profile)


# --- the echo bot ----------------------------------------------------------------------------

_KEYS = InlineKeyboardMarkup(
    [
        [InlineKeyboardButton("send", callback_data="send")],
        [InlineKeyboardButton("edit", callback_data="edit")],
    ]
)


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply with the text, and the two buttons."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        update.effective_message.text or "-", reply_markup=_KEYS
    )


async def _pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the press, then edit the message ("edit") or send a new one ("send")."""
    query = update.callback_query
    assert query is not None and query.message is not None
    await query.answer()
    if query.data == "edit":
        await query.edit_message_text(f"edited {time.time()}", reply_markup=_KEYS)
    else:
        await context.bot.send_message(query.message.chat.id, "next", reply_markup=_KEYS)


async def echo_polling(n: int, reports: int) -> Tally:
    """The bare PTB bot polling in this process: 64 updates at once, as ztc's PerChatOrder."""
    async with FakeBotAPI(token=TOKEN) as api:
        uids = [FIRST_CONTACT + i for i in range(n + 1)]
        fake_users(api, uids)
        app = (
            ApplicationBuilder()
            .token(TOKEN)
            .base_url(f"{api.url}/bot")
            .concurrent_updates(64)
            .build()
        )
        app.add_handler(MessageHandler(filters.TEXT, _echo))
        app.add_handler(CallbackQueryHandler(_pressed))
        await app.initialize()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        await app.start()
        try:
            return await load(api, uids, ECHO_STEPS, reports)
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()


# --- the table -------------------------------------------------------------------------------


def _row(tallies: list[Tally]) -> tuple[float, float, float, int]:
    """Median over runs of updates/s, p50 and p95 (ms); and the updates per run."""
    rates, p50s, p95s = [], [], []
    for t in tallies:
        ordered = sorted(t.latencies)
        rates.append(len(ordered) / t.wall)
        p50s.append(statistics.median(ordered) * 1000)
        p95s.append(ordered[max(0, round(0.95 * len(ordered)) - 1)] * 1000)
    return (
        statistics.median(rates),
        statistics.median(p50s),
        statistics.median(p95s),
        len(tallies[0].latencies),
    )


async def bench(args: argparse.Namespace, url: str) -> None:
    """Each size: `runs` runs of ztc then echo; a Markdown row each."""
    backend = url.split(":", 1)[0].split("+")[0]
    mode = f"webhook ×{args.instances}" if args.instances else "polling"
    print("| bot | database | mode | enterprises | updates | updates/s | p50 | p95 | ztc/echo |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in args.sizes:
        ztc, echo = [], []
        for _ in range(args.runs):
            if args.instances:
                ztc.append(await ztc_webhook(url, n, args.reports, args.instances, args.profile))
            else:
                ztc.append(await ztc_polling(url, n, args.reports))
            echo.append(await echo_polling(n, args.reports))
        z, e = _row(ztc), _row(echo)
        for name, (rate, p50, p95, count), db, how in (
            ("ztc", z, backend, mode),
            ("echo", e, "—", "polling"),
        ):
            ratio = f"{z[0] / e[0]:.2f}×" if name == "ztc" else ""
            print(
                f"| {name} | {db} | {how} | {n} | {count} | {rate:.1f} | {p50:.0f} ms | "
                f"{p95:.0f} ms | {ratio} |",
                flush=True,
            )


def main() -> None:
    """Parse the arguments; measure (or, with --serve, be one webhook instance)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="database URL (default: a temporary SQLite file)")
    parser.add_argument(
        "--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8, 32]
    )
    parser.add_argument("--reports", type=int, default=3, help="conversations per enterprise")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--instances", type=int, default=0, help="0: polling in this process")
    parser.add_argument("--profile", help="cProfile stats of the (one) instance to this file")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.profile)
        return
    if args.instances and not (args.url or "").startswith("postgresql"):
        parser.error("--instances needs a PostgreSQL URL")
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(bench(args, args.url or f"sqlite:///{folder}/bench.db"))


if __name__ == "__main__":
    main()
