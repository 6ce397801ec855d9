"""`ztc channels test` and `ztc outbox send` with click's CliRunner, against the fake robots
serving from a thread of their own (the CLI runs its own event loop)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cli import cli
from bot.sandbox.robots import FakeRobots
from jobs.cycle import run_cycle_job
from models.db import make_engine
from models.tables.infra import Outbox
from tests.support.factories import World, at
from tests.support.robots import (
    DINGTALK_TOKEN,
    HOOK,
    WECOM_KEY,
    leaders,
    robots_in_thread,
    rules_with_groups,
    write_policy,
)

T = TypeVar("T")


@pytest.fixture
def robots() -> Iterator[FakeRobots]:
    with robots_in_thread() as server:
        yield server


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """`ztc` on the test's database, in English, from an empty directory."""
    for name in list(os.environ):
        if name.startswith("ZTC_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ZTC_DATABASE_URL", database_url)
    monkeypatch.setenv("ZTC_DEFAULT_LOCALE", "en")
    monkeypatch.chdir(tmp_path)
    return database_url


@pytest.fixture
def leaders_env(
    cli_env: str, robots: FakeRobots, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The policy with the leaders' groups, their robots, and the variables naming them."""
    env = leaders(robots)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ZTC_POLICY", str(write_policy(tmp_path)))
    monkeypatch.setenv("ZTC_WECOM_API_URL", robots.url)
    monkeypatch.setenv("ZTC_DINGTALK_API_URL", robots.url)
    return env


def ztc(*args: str, code: int = 0) -> Result:
    """`ztc ARGS` in-process: the exit code checked, never a traceback."""
    result = CliRunner().invoke(cli, list(args), prog_name="ztc")
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"ztc {' '.join(args)} raised {result.exception!r}")
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def db(url: str, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    async def go() -> T:
        engine = make_engine(url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(go())


# --- ztc channels test --------------------------------------------------------------------------


def test_channels_test_sends_to_a_wecom_robot_and_prints_its_answer(
    cli_env: str, robots: FakeRobots
) -> None:
    url = robots.wecom("try-me")
    out = ztc("channels", "test", "--kind", "wecom", "--url", url).stdout
    assert 'HTTP 200: {"errcode": 0, "errmsg": "ok"}' in out
    assert "Sent: wecom took the test notice." in out
    (message,) = robots.messages("try-me")
    assert message["msgtype"] == "markdown" and message["content"].startswith(
        "**ztc test notice**"
    )


def test_channels_test_signs_for_dingtalk_and_fails_with_the_platforms_answer(
    cli_env: str, robots: FakeRobots
) -> None:
    url = robots.dingtalk("dt", "SECright")
    ztc("channels", "test", "--kind", "dingtalk", "--url", url, "--secret", "SECright")
    wrong = ztc("channels", "test", "--kind", "dingtalk", "--url", url, "--secret", "SECw", code=1)
    assert "errcode 310000: sign not match" in wrong.stdout and "SECw" not in wrong.stdout
    unsigned = ztc("channels", "test", "--kind", "dingtalk", "--url", url, code=1)
    assert "310000" in unsigned.stdout
    assert len(robots.messages("dt")) == 1


def test_channels_test_signs_for_feishu_and_the_webhook(cli_env: str, robots: FakeRobots) -> None:
    feishu = robots.feishu("fs", "fs-secret")
    out = ztc("channels", "test", "--kind", "feishu", "--url", feishu, "--secret", "fs-secret")
    assert '"code": 0' in out.stdout
    assert robots.messages("fs")[0]["post"]["en_us"]["title"] == "ztc test notice"
    hook = robots.webhook("h", "hook-secret")
    ztc("channels", "test", "--kind", "webhook", "--url", hook, "--secret", "hook-secret")
    (message,) = robots.messages("h")
    assert message["key"].startswith("channels-test:webhook:") and message["title"]
    bad = ztc("channels", "test", "--kind", "webhook", "--url", hook, "--secret", "x", code=1)
    assert "HTTP 401" in bad.stdout
    missing = ztc("channels", "test", "--kind", "webhook", "--url", hook, code=2)
    assert "--secret" in missing.stderr
    ztc("channels", "test", "--kind", "fax", "--url", hook, code=2)
    ztc("channels", "test", code=2)


def test_channels_test_unreachable_fails_without_the_url(cli_env: str) -> None:
    url = "http://127.0.0.1:9/cgi-bin/webhook/send?key=very-secret-key"
    out = ztc("channels", "test", "--kind", "wecom", "--url", url, code=1)
    assert "no answer (ConnectError)" in out.stdout and "very-secret-key" not in out.output


def test_channels_test_name_sends_to_a_group_of_the_policy(
    leaders_env: dict[str, str], robots: FakeRobots
) -> None:
    for name in ("ZTC_WECOM_LEADERS", "ZTC_DINGTALK_LEADERS", "ZTC_HOOK_URL"):
        ztc("channels", "test", name)
    assert len(robots.messages(WECOM_KEY)) == 1 and len(robots.messages(DINGTALK_TOKEN)) == 1
    assert len(robots.messages(HOOK)) == 1
    unknown = ztc("channels", "test", "nobody", code=2)
    assert "ZTC_WECOM_LEADERS" in unknown.stderr


def test_channels_test_name_says_which_variable_is_missing(
    leaders_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ZTC_DINGTALK_LEADERS_SECRET")
    out = ztc("channels", "test", "ZTC_DINGTALK_LEADERS", code=1)
    assert "ZTC_DINGTALK_LEADERS_SECRET is not set" in out.stderr


# --- ztc outbox send ----------------------------------------------------------------------------


async def pending(engine: AsyncEngine) -> dict[str, int]:
    """Pending rows by channel."""
    async with AsyncSession(engine) as session:
        query = select(Outbox.channel).where(
            col(Outbox.sent_at).is_(None), col(Outbox.failed_at).is_(None)
        )
        channels = list((await session.exec(query)).all())
    return {name: channels.count(name) for name in sorted(set(channels))}


def test_outbox_send_once_delivers_the_groups_and_leaves_telegram_for_the_bot(
    leaders_env: dict[str, str], robots: FakeRobots, world: World, cli_env: str
) -> None:
    rules = rules_with_groups()
    db(
        cli_env,
        lambda engine: run_cycle_job(
            engine=engine, rules=rules, job="monthly_bulletin", now=at("2026-12-01 09:00")
        ),
    )
    assert db(cli_env, pending) == {"dingtalk": 1, "telegram": 7, "webhook": 1, "wecom": 1}
    out = ztc("outbox", "send", "--once").stdout
    assert "ZTC_BOT_TOKEN is not set" in out
    assert "Outbox: 3 sent" in out
    assert db(cli_env, pending) == {"telegram": 7}
    assert [m["msgtype"] for m in robots.messages(WECOM_KEY)] == ["markdown", "file", "image"]
    assert len(robots.messages(DINGTALK_TOKEN)) == 1 and len(robots.messages(HOOK)) == 1
    again = ztc("outbox", "send").stdout  # nothing is sent twice
    assert "Outbox: 0 sent" in again
    assert len(robots.messages(HOOK)) == 1 and len(robots.messages(WECOM_KEY)) == 3


# --- ztc doctor ---------------------------------------------------------------------------------


def test_doctor_names_the_groups_missing_variables_and_unknown_region_codes(
    leaders_env: dict[str, str], world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ready = ztc("doctor").stdout
    assert "✓ Group destinations: 3, each with its variables set." in ready
    monkeypatch.delenv("ZTC_DINGTALK_LEADERS_SECRET")
    policy = Path(os.environ["ZTC_POLICY"])
    region = '{channel = "wecom", key_env = "ZTC_WECOM_R1"}'
    policy.write_text(
        policy.read_text("utf-8") + f"\n[escalations]\nregions = {{ r1 = [{region}], r9 = [] }}\n",
        "utf-8",
    )
    lacking = ztc("doctor").stdout  # warnings: the exit code stays 0
    assert (
        "! The policy's groups name variables the environment lacks: "
        "ZTC_DINGTALK_LEADERS_SECRET, ZTC_WECOM_R1." in lacking
    )
    assert "! The policy names groups for region codes no region has: r9." in lacking
