"""`ztc run` as a user runs it: a real process, polling the fake Bot API, stopped by SIGTERM (the
token mask on its logs, in the process: tests/unit/test_run.py)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.sandbox import FakeBotAPI
from models.db import make_engine, session_scope
from models.invites import create_invite
from models.migrate import upgrade
from models.rules import Rules
from tests.support.factories import build_world


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


async def _city_with_an_invite(tmp_path: Path, rules: Rules) -> tuple[str, str]:
    """A migrated SQLite city and an invite for its r1 head: the database URL and the token."""
    url = f"sqlite:///{tmp_path / 'ztc.db'}"
    engine = make_engine(url)
    await upgrade(engine)
    async with session_scope(engine) as session:
        world = await build_world(session)
        token, _ = await create_invite(
            session=session,
            rules=rules,
            person=world.officials["r1-head"],
            now=datetime.now(UTC),  # `ztc run` reads the wall clock: a fixed date would expire
        )
    await engine.dispose()
    return url, token


async def test_run_serves_a_person_and_stops_cleanly_on_sigterm(
    tmp_path: Path, rules: Rules
) -> None:
    url, token = await _city_with_an_invite(tmp_path, rules)
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


async def test_a_second_run_on_the_same_database_refuses_to_start(
    tmp_path: Path, rules: Rules
) -> None:
    url, token = await _city_with_an_invite(tmp_path, rules)
    async with FakeBotAPI() as api:
        env = _env(ZTC_DATABASE_URL=url, ZTC_BOT_TOKEN=api.token, ZTC_BOT_API_URL=api.url)
        first = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, cwd=tmp_path
        )
        try:
            api.user_says(2001, f"/start {token}")
            await api.next_message(2001, timeout=60)  # the first is up and serving
            second = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "bot", "run"),
                env=env,
                cwd=tmp_path,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            _out, err = await asyncio.wait_for(second.communicate(), 60)
            assert second.returncode == 1, err
            lines = err.decode().strip().splitlines()
            assert len(lines) == 1 and "已有一个 ztc 机器人" in lines[0], lines
            assert f"（{tmp_path / 'ztc.db'}）" in lines[0]
            api.user_says(2001, "/help")  # the first one still serves (among its bulletins)
            for _ in range(6):
                if "/inbox" in (await api.next_message(2001, timeout=60)).get("text", ""):
                    break
            else:
                raise AssertionError("the first bot stopped answering")
            first.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(first.wait(), 60) == 0
        finally:
            if first.returncode is None:
                first.kill()
                await first.wait()


# --- the bot token never shows (issue 11, item 6) ---

# Shaped like BotFather's tokens: bot id, colon, a 35-character secret.
REJECTED = "987654321:AAH" + "x" * 32
ODD = "123456:WRONG-TOKEN"  # not token-shaped: only masking the configured token hides it


async def _run_with_token(
    tmp_path: Path, token: str, *args: str, **settings: str
) -> tuple[int, str, str]:
    """`ztc run ARGS` with `token` against the fake Bot API, which rejects it: code, out, err."""
    url = f"sqlite:///{tmp_path / 'ztc.db'}"
    engine = make_engine(url)
    await upgrade(engine)
    await engine.dispose()
    async with FakeBotAPI() as api:
        assert token != api.token
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "bot", "run", *args),
            env=_env(
                ZTC_DATABASE_URL=url, ZTC_BOT_TOKEN=token, ZTC_BOT_API_URL=api.url, **settings
            ),
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _free_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_run_with_a_rejected_token_says_so_in_one_line_without_the_token(
    tmp_path: Path, mode: str
) -> None:
    webhook = {"ZTC_WEBHOOK_URL": "https://bot.example.org/hook", "ZTC_WEBHOOK_PORT": _free_port()}
    code, out, err = await _run_with_token(
        tmp_path, REJECTED, **(webhook if mode == "webhook" else {})
    )
    assert code == 3, err
    assert out == ""
    assert err.strip().splitlines() == [
        "配置错误：ZTC_BOT_TOKEN 被 Telegram 拒绝（无效或已被撤销），"
        "请向 @BotFather 获取新的令牌。"
    ]


@pytest.mark.parametrize("token", [REJECTED, ODD])
async def test_run_verbose_logs_the_bot_api_url_with_the_token_masked(
    tmp_path: Path, token: str
) -> None:
    code, out, err = await _run_with_token(tmp_path, token, "-v")
    bot_id, secret = token.split(":")
    assert code == 3, err
    assert secret not in out + err
    # PTB logs the URL (and the failure, traceback and all): they are there, masked
    assert "Set Bot API URL: http://127.0.0.1:" in err and f"/bot{bot_id}:***" in err
    assert f"The token `{bot_id}:***` was rejected" in err
    assert "ZTC_BOT_TOKEN" in err.strip().splitlines()[-1]
