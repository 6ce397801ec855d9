"""B2, broadcast: the monthly bulletin to N people through the fake Bot API with Telegram's
limits enforced, delivered by the real outbox dispatcher.

Run:  .venv/bin/python bench/bench_broadcast.py [DATABASE_URL] [--recipients 5000] [--runs 1]
                                                [--instances K]

(default: a temporary SQLite file). It resets the database's schema: never point it at real
data. Seeding: the city and N city deputies (an audience of the monthly bulletin in the shipped
policy) bound to their private chats; then the November bulletin is run by hand as
`ztc cycle`/the scheduler runs it (jobs/cycle.py `run_cycle_job` → `produce`): one Report and
one outbox row per person, in one transaction. Each row is three messages (the text, the
workbook, the chart), so the load is 3·N messages.

Delivery: K processes (default 1) each build what `ztc run` builds for the outbox
(bot/app.py `_start_background`): a Bot of its own without PTB's rate limiter, a
TelegramRateLimiter, the TelegramChannel on them, the notice renderer, and the `Dispatcher`,
running until the outbox has no pending row. The fake (bot/sandbox, `rate_limits=True`: 30/s
overall, 1/s per private chat, 429 with retry_after) runs in this process and counts.

Printed per run, as a Markdown row: the messages the fake accepted over the wall time from the
dispatchers' start to the outbox's end (effective messages/s; Telegram's ceiling is 30, the
target 27), the 429s the fake answered, recipients who got fewer messages than their notice
has (lost) or more (duplicated), and the outbox rows still pending or failed. With
`--instances 2` (PostgreSQL) the two processes share one database, each with its own budget,
and, as in `ztc run`, only the scheduler leader among them sends (bot/leader.py): the ceiling
holds because they do not both send.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import OperationalError
from sqlmodel import col, select

sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]

from bot.sandbox import FakeBotAPI  # noqa: E402
from models.codes import RegionKind, Role  # noqa: E402
from models.db import make_engine, session_scope  # noqa: E402
from models.migrate import recreate  # noqa: E402
from models.periods import Period  # noqa: E402
from models.tables.infra import Outbox  # noqa: E402
from models.tables.org import Official, Region  # noqa: E402

TOKEN = "123456:BENCH-TOKEN"
FIRST_CHAT = 500_001
NOW = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)  # 09:30 in the city: the bulletin's morning
SCRIPT = Path(__file__).resolve()
PENDING = (col(Outbox.sent_at).is_(None), col(Outbox.failed_at).is_(None))


async def seed(url: str, n: int) -> int:
    """A fresh schema, the city and `n` bound deputies, the November bulletin queued to them;
    the number of outbox rows."""
    from jobs.cycle import run_cycle_job
    from jobs.schedule import load_rules

    engine = make_engine(url)
    await recreate(engine)
    async with session_scope(engine) as s:
        city = Region(code="city", name_zh="淮安市", kind=RegionKind.CITY)
        s.add(city)
        await s.flush()
        s.add_all(
            Official(
                code=f"D{i:05d}",
                name=f"副市长{i}",
                role=Role.CITY_DEPUTY,
                region_id=city.id,
                telegram_user_id=FIRST_CHAT + i,
                chat_id=FIRST_CHAT + i,
            )
            for i in range(n)
        )
    rules = load_rules(None, "Asia/Shanghai")
    run = await run_cycle_job(
        engine=engine, rules=rules, job="monthly_bulletin", now=NOW, period=Period.parse("2026-11")
    )
    async with session_scope(engine) as s:
        rows = (await s.exec(select(func.count()).select_from(Outbox))).one()
    await engine.dispose()
    assert run.notices == rows == n, (run, rows)
    return int(rows)


async def pending(url: str) -> tuple[int, int, int]:
    """Rows still to send, rows failed for good, and the most parts any sent row counts."""
    engine = make_engine(url)
    async with session_scope(engine) as s:
        left = (await s.exec(select(func.count()).select_from(Outbox).where(*PENDING))).one()
        failed = (
            await s.exec(
                select(func.count()).select_from(Outbox).where(col(Outbox.failed_at).is_not(None))
            )
        ).one()
        parts = (await s.exec(select(func.max(Outbox.parts_sent)))).one()
    await engine.dispose()
    return int(left), int(failed), int(parts or 0)


async def dispatch(api_url: str, db: str) -> None:
    """The child: the bot's outbox dispatcher as bot/app.py builds it, until SIGTERM."""
    from telegram import Bot
    from telegram.request import HTTPXRequest

    from bot.leader import Leadership
    from handlers.cards import draw_card
    from jobs.channels.telegram import TelegramChannel
    from jobs.channels.telegram_limits import TelegramRateLimiter
    from jobs.dispatch import Dispatcher
    from jobs.notices import notice_renderer
    from jobs.schedule import load_rules
    from models.tables.infra import TELEGRAM

    engine, rules = make_engine(db), load_rules(None, "Asia/Shanghai")
    bot = Bot(
        TOKEN,
        base_url=f"{api_url}/bot",
        base_file_url=f"{api_url}/file/bot",
        request=HTTPXRequest(connection_pool_size=16),
    )
    await bot.initialize()
    render = notice_renderer(
        rules=rules, default_locale="zh_CN", clock=lambda: datetime.now(UTC), card=draw_card
    )
    channel = TelegramChannel(bot, limiter=TelegramRateLimiter(max_retries=3))
    dispatcher = Dispatcher(engine=engine, channels={TELEGRAM: channel}, render=render)
    leader = Leadership(engine)  # as `ztc run`: only the leader among processes sends
    await leader.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await dispatcher.run(stop, active=lambda: leader.held)
    await leader.stop()
    await bot.shutdown()
    await engine.dispose()


def _dispatchers(api_url: str, db: str, k: int) -> list[subprocess.Popen[bytes]]:
    """`k` dispatcher processes (outside the checkout: no developer's .env is read)."""
    argv = [sys.executable, str(SCRIPT), "--dispatch", api_url, db]
    return [subprocess.Popen(argv, cwd=tempfile.gettempdir()) for _ in range(k)]


async def measure(url: str, n: int, k: int) -> dict[str, Any]:
    """Seed, start `k` dispatcher processes against the fake, wait until the outbox is done."""
    rows = await seed(url, n)
    async with FakeBotAPI(token=TOKEN, rate_limits=True) as api:
        for i in range(n):
            api.add_user(FIRST_CHAT + i, first_name=f"d{i}")
        procs = _dispatchers(api.url, url, k)
        left = failed = parts = 0
        try:
            # From the first send the fake sees (not the processes' start-up) ...
            await api.state.wait_for(partial(_first_send, api), 120)
            started = time.perf_counter()
            while True:  # ... until the outbox has nothing pending (polled every 0.25 s)
                await asyncio.sleep(0.25)
                try:
                    left, failed, parts = await pending(url)
                except OperationalError:  # SQLite: the dispatchers hold the write lock
                    continue
                if left == 0 or any(p.poll() is not None for p in procs):
                    break
            wall = time.perf_counter() - started
        finally:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in procs:
                await asyncio.to_thread(p.wait, 60)
        got = Counter({FIRST_CHAT + i: api.sent_count(FIRST_CHAT + i) for i in range(n)})
    delivered = sum(got.values())
    return {
        "rows": rows,
        "messages": delivered,
        "wall": wall,
        "rate": delivered / wall,
        "too_many": api.too_many,
        "lost": sum(max(0, parts - c) for c in got.values()),
        "duplicated": sum(max(0, c - parts) for c in got.values()),
        "per_recipient": parts,
        "left": left,
        "failed": failed,
    }


def _first_send(api: FakeBotAPI) -> bool | None:
    return any(name.startswith("send") for name, _params in api.state.calls) or None


async def bench(url: str, n: int, k: int, runs: int) -> None:
    """`runs` runs; a Markdown row each, then their median rate."""
    backend = url.split(":", 1)[0].split("+")[0]
    print(
        "| database | dispatchers | recipients | messages | wall | messages/s | 429s | lost | "
        "duplicated | rows left/failed |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    rates = []
    for _ in range(runs):
        r = await measure(url, n, k)
        rates.append(r["rate"])
        print(
            f"| {backend} | {k} | {r['rows']} | {r['messages']} ({r['per_recipient']} each) | "
            f"{r['wall']:.0f} s | {r['rate']:.1f} | {r['too_many']} | {r['lost']} | "
            f"{r['duplicated']} | {r['left']}/{r['failed']} |",
            flush=True,
        )
        print(json.dumps(r), file=sys.stderr)
    if runs > 1:
        print(f"median messages/s: {sorted(rates)[len(rates) // 2]:.1f}")


def main() -> None:
    """Parse the arguments; measure (or, with --dispatch, be one dispatcher)."""
    args = sys.argv[1:]
    if args and args[0] == "--dispatch":
        asyncio.run(dispatch(args[1], args[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--recipients", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--instances", type=int, default=1, help="dispatcher processes")
    parsed = parser.parse_args()
    if parsed.instances > 1 and not (parsed.url or "").startswith("postgresql"):
        parser.error("--instances 2 or more needs a PostgreSQL URL")
    os.environ.setdefault("PYTHONHASHSEED", "0")
    with tempfile.TemporaryDirectory() as folder:
        url = parsed.url or f"sqlite:///{folder}/bench.db"
        asyncio.run(bench(url, parsed.recipients, parsed.instances, parsed.runs))


if __name__ == "__main__":
    main()
