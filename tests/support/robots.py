"""Group destinations for the tests: the shipped policy with groups in its audiences, the fake
robots in a thread of their own (for the CLI, which runs its own event loop), and the
environment naming the city leaders' groups."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.sandbox.robots import FakeRobots
from models.policy import parse_policy
from models.rules import Rules
from tests.support.paths import ROOT

# The city leaders' groups, as an admin writes them into [audiences.monthly_bulletin].
LEADERS = (
    "groups = [\n"
    '  {channel = "wecom", key_env = "ZTC_WECOM_LEADERS"},\n'
    '  {channel = "dingtalk", key_env = "ZTC_DINGTALK_LEADERS",'
    ' secret_env = "ZTC_DINGTALK_LEADERS_SECRET"},\n'
    '  {channel = "webhook", url_env = "ZTC_HOOK_URL", secret_env = "ZTC_HOOK_SECRET"},\n'
    "]"
)
WECOM_KEY, DINGTALK_TOKEN, HOOK = "wk-leaders", "dt-leaders", "city-hook"
DINGTALK_SECRET, HOOK_SECRET = "SECdt-leaders-0123456789", "hook-secret-0123456789"


def policy_text(groups: str = LEADERS, jobs: tuple[str, ...] = ("monthly_bulletin",)) -> str:
    """The shipped policy, with `groups` added to each job's audience."""
    text = (ROOT / "models" / "policy.toml").read_text("utf-8")
    for job in jobs:
        header = f"[audiences.{job}]\n"
        if header in text:
            text = text.replace(header, header + groups + "\n", 1)
        else:  # a job the shipped policy sends to nobody but the people concerned
            text += f"\n{header}{groups}\n"
    return text


def rules_with_groups(groups: str = LEADERS, **kw: tuple[str, ...]) -> Rules:
    """The shipped rules with the groups in the audiences."""
    return Rules.build(parse_policy(policy_text(groups, **kw)), "Asia/Shanghai")


def write_policy(folder: Path, groups: str = LEADERS) -> Path:
    """The policy with the groups, as a file for ZTC_POLICY."""
    path = folder / "policy.toml"
    path.write_text(policy_text(groups), "utf-8")
    return path


def leaders(robots: FakeRobots) -> dict[str, str]:
    """Register the leaders' three robots; the environment that names them."""
    robots.wecom(WECOM_KEY)
    robots.dingtalk(DINGTALK_TOKEN, DINGTALK_SECRET)
    return {
        "ZTC_WECOM_LEADERS": WECOM_KEY,
        "ZTC_DINGTALK_LEADERS": DINGTALK_TOKEN,
        "ZTC_DINGTALK_LEADERS_SECRET": DINGTALK_SECRET,
        "ZTC_HOOK_URL": robots.webhook(HOOK, HOOK_SECRET),
        "ZTC_HOOK_SECRET": HOOK_SECRET,
    }


@contextmanager
def robots_in_thread(**options: float) -> Iterator[FakeRobots]:
    """The fake robots serving from a thread of their own."""
    robots, loop, ready = FakeRobots(**options), asyncio.new_event_loop(), threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(robots.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield robots
    finally:
        asyncio.run_coroutine_threadsafe(robots.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
