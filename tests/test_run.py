"""`ztc run` as a user runs it: a real process, polling the fake Bot API, stopped by SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from bot.sandbox import FakeBotAPI
from models.db import make_engine, session_scope
from models.invites import create_invite
from models.migrate import upgrade
from models.rules import Rules
from tests.factories import at, build_world


def _env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZTC_")}
    return {**env, **values}


def test_run_without_a_token_names_the_setting(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        env=_env(ZTC_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}"),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 3
    assert "ZTC_BOT_TOKEN" in result.stderr and len(result.stderr.strip().splitlines()) == 1


async def test_run_serves_a_person_and_stops_cleanly_on_sigterm(
    tmp_path: Path, rules: Rules
) -> None:
    url = f"sqlite:///{tmp_path / 'ztc.db'}"
    engine = make_engine(url)
    await upgrade(engine)
    async with session_scope(engine) as session:
        world = await build_world(session)
        token, _ = await create_invite(
            session=session,
            rules=rules,
            person=world.officials["r1-head"],
            now=at("2026-11-20 10:00"),
        )
    await engine.dispose()
    async with FakeBotAPI() as api:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=_env(ZTC_DATABASE_URL=url, ZTC_BOT_TOKEN=api.token, ZTC_BOT_API_URL=api.url),
            cwd=tmp_path,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            api.user_says(2001, f"/start {token}")
            greeting = await api.next_message(2001, timeout=60)
            assert "r1-head" in greeting["text"] and "/inbox" in greeting["text"]
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 60) == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert process.stderr is not None
        log = (await process.stderr.read()).decode()
    assert "Traceback" not in log, log
