"""FakeRobots: WeCom, DingTalk and Feishu group robots and signed webhooks on 127.0.0.1.

One aiohttp server answers at each platform's paths, as the platform would: it checks the
message's format and size, the signature, and the rate limit, and answers with the platform's
real error codes when one is broken (bot/sandbox/robot_checks.py). Tests and the demo register
robots (each registration returns the URL to put in the group's environment variable), read
what each received, and inject answers on demand: the platform's rate-limit answer ("rate"),
an HTTP status (500, 502, 503 …), no answer at all ("hang", until the client gives up), or
the message taken but the answer held back until the client gives up ("late": the sender
cannot know it arrived, and sends it again).

    async with FakeRobots() as robots:
        url = robots.wecom("leaders")                       # the robot's webhook URL
        robots.fail("leaders", "rate", 502)                 # its next two answers
        ... deliver ...
        robots.messages("leaders")                          # what it accepted, in order
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self

from aiohttp import web

from bot.sandbox import robot_checks as checks

log = logging.getLogger(__name__)

Kind = Literal["wecom", "dingtalk", "feishu", "webhook"]
Fault = int | Literal["rate", "hang", "late"]
BODY_LIMIT = 32 * 1024 * 1024  # an upload of 20 MB and its multipart wrapping


@dataclass
class Robot:
    """One registered destination: its secret, what it accepted, and the answers it gave."""

    kind: Kind
    key: str
    secret: str | None = None
    per_minute: int | None = None  # a webhook's own limit (None: none)
    messages: list[dict[str, Any]] = field(default_factory=list)
    answers: list[tuple[int, Any]] = field(default_factory=list)  # every request's (status, body)
    faults: deque[Fault] = field(default_factory=deque)
    sent: deque[float] = field(default_factory=deque)  # accepted, for the rate windows
    second: deque[float] = field(default_factory=deque)  # Feishu's per-second window
    throttled_until: float = 0.0  # DingTalk, after the 21st message of a minute
    media: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # WeCom's uploads
    keys: dict[str, int] = field(default_factory=dict)  # a webhook's idempotency keys seen
    duplicates: int = 0


class FakeRobots:
    """The fake platforms' server; `clock` (Unix seconds) judges signatures and rate windows."""

    def __init__(self, *, clock: Callable[[], float] = time.time, hang: float = 30.0) -> None:
        """No robots yet; a "hang" fault holds its request `hang` seconds."""
        self.clock, self.hang = clock, hang
        self.robots: dict[str, Robot] = {}
        self.url = ""
        self.in_flight = 0  # requests being answered now (a hang holds one)
        self.on_message: Callable[[], None] | None = None  # told when a robot takes a message
        self._runner: web.AppRunner | None = None

    # --- serving ---------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0: a free port) in the running loop; returns the root URL."""
        app = web.Application(client_max_size=BODY_LIMIT)
        app.router.add_post("/cgi-bin/webhook/send", self._wecom)
        app.router.add_post("/cgi-bin/webhook/upload_media", self._wecom_upload)
        app.router.add_post("/robot/send", self._dingtalk)
        app.router.add_post("/open-apis/bot/v2/hook/{key}", self._feishu)
        app.router.add_post("/hook/{key}", self._webhook)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.url = f"http://{bound_host}:{bound_port}"
        return self.url

    async def stop(self) -> None:
        """Close the server (requests held by a "hang" are cut)."""
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # --- robots ------------------------------------------------------------------------------

    def _add(self, robot: Robot) -> Robot:
        if robot.key in self.robots:
            raise ValueError(f"a robot named {robot.key!r} is registered already")
        self.robots[robot.key] = robot
        return robot

    def wecom(self, key: str) -> str:
        """A WeCom group robot; its webhook URL."""
        self._add(Robot("wecom", key))
        return f"{self.url}/cgi-bin/webhook/send?key={key}"

    def dingtalk(self, token: str, secret: str | None = None) -> str:
        """A DingTalk custom robot (加签 when `secret`); its webhook URL, unsigned."""
        self._add(Robot("dingtalk", token, secret))
        return f"{self.url}/robot/send?access_token={token}"

    def feishu(self, token: str, secret: str | None = None) -> str:
        """A Feishu custom bot (签名校验 when `secret`); its webhook URL."""
        self._add(Robot("feishu", token, secret))
        return f"{self.url}/open-apis/bot/v2/hook/{token}"

    def webhook(self, name: str, secret: str, per_minute: int | None = None) -> str:
        """A signed JSON webhook; its URL."""
        self._add(Robot("webhook", name, secret, per_minute))
        return f"{self.url}/hook/{name}"

    def robot(self, key: str) -> Robot:
        """A registered robot by its key, token or name."""
        return self.robots[key]

    def messages(self, key: str) -> list[dict[str, Any]]:
        """What the robot accepted, in order."""
        return self.robots[key].messages

    def fail(self, key: str, *faults: Fault) -> None:
        """The robot's next answers: "rate" (its platform's rate-limit answer), an HTTP status,
        "hang" (no answer until the client gives up) or "late" (the message taken, the answer
        held back as long); then it answers normally again."""
        self.robots[key].faults.extend(faults)

    # --- handlers ----------------------------------------------------------------------------

    async def _wecom(self, request: web.Request) -> web.StreamResponse:
        return await self._answer(request, "wecom", request.query.get("key", ""), checks.wecom)

    async def _wecom_upload(self, request: web.Request) -> web.StreamResponse:
        key = request.query.get("key", "")
        return await self._answer(request, "wecom", key, checks.wecom_upload, faults=False)

    async def _dingtalk(self, request: web.Request) -> web.StreamResponse:
        token = request.query.get("access_token", "")
        return await self._answer(request, "dingtalk", token, checks.dingtalk)

    async def _feishu(self, request: web.Request) -> web.StreamResponse:
        return await self._answer(request, "feishu", request.match_info["key"], checks.feishu)

    async def _webhook(self, request: web.Request) -> web.StreamResponse:
        return await self._answer(request, "webhook", request.match_info["key"], checks.webhook)

    async def _answer(
        self,
        request: web.Request,
        kind: Kind,
        key: str,
        check: checks.Check,
        *,
        faults: bool = True,
    ) -> web.StreamResponse:
        """Find the robot, play an injected fault, else let the platform's check answer."""
        self.in_flight += 1
        try:
            robot = self.robots.get(key)
            if robot is None or robot.kind != kind:
                status, body = checks.unknown(kind)
            elif faults and robot.faults and robot.faults[0] != "late":
                status, body = await self._fault(robot, robot.faults.popleft())
            else:
                late = faults and bool(robot.faults) and robot.faults.popleft() == "late"
                taken = len(robot.messages)
                status, body = await self._check(robot, request, check)
                if len(robot.messages) > taken and self.on_message is not None:
                    self.on_message()
                if late:  # recorded now: a test must not wait out the hang to see it
                    robot.answers.append((status, body))
                    await asyncio.sleep(self.hang)
                    return _response(status, body)
            if robot is not None:
                robot.answers.append((status, body))
            return _response(status, body)
        finally:
            self.in_flight -= 1

    async def _check(self, robot: Robot, request: web.Request, check: checks.Check) -> Any:
        try:
            return await check(robot, request, self.clock())
        except Exception:  # a fake's bug: answer 500, and say so loudly
            log.exception("fake %s robot failed", robot.kind)
            return 500, {"error": "fake robot failed"}

    async def _fault(self, robot: Robot, fault: Fault) -> tuple[int, Any]:
        if fault == "hang":
            await asyncio.sleep(self.hang)
            return 504, "fake robot: held past the client's patience"
        if fault == "rate":
            return checks.rate_answer(robot)
        return int(fault), f"fake robot: injected {fault}"


def _response(status: int, body: Any) -> web.Response:
    headers = {"Retry-After": "1"} if status == 429 else None
    if isinstance(body, dict):
        return web.json_response(body, status=status, headers=headers)
    return web.Response(status=status, text=str(body), headers=headers)
