"""FakeBotAPI: a fake Telegram Bot API over HTTP, driven by tests and the demo as the users."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self

from aiohttp import web

from bot.sandbox.admin import BotAdmin, WebhookPusher
from bot.sandbox.checks import FloodControl
from bot.sandbox.driver import Fault, SandboxDriver
from bot.sandbox.messages import Messaging
from bot.sandbox.state import SandboxState
from bot.sandbox.wire import ApiError, bad_request, ok, read_params

log = logging.getLogger(__name__)

UPLOAD_LIMIT = 50 * 1024 * 1024  # Telegram's limit for files a bot uploads


class FakeBotAPI(SandboxDriver):
    """A fake Telegram Bot API server on 127.0.0.1 for end-to-end tests and the demo."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        username: str = "ztc_test_bot",
        *,
        rate_limits: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self.username = username
        self.state = SandboxState(token, username, clock)
        self._admin = BotAdmin(self.state)
        messaging = Messaging(self.state, FloodControl() if rate_limits else None)
        tables = {**self._admin.table(), **messaging.table()}
        # Telegram matches method names case-insensitively; `calls` records the canonical name.
        self._methods = {name.lower(): (name, method) for name, method in tables.items()}
        self._faults: list[Fault] = []
        self._chaos = None
        self._runner: web.AppRunner | None = None
        self._pusher: asyncio.Task[None] | None = None
        self.url = ""

    # --- serving ---------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0 picks a free port) in the running loop; returns the root URL."""
        app = web.Application(client_max_size=UPLOAD_LIMIT)
        app.router.add_route("*", "/bot{token}/{method}", self._call)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._download)
        self.state.closing = False
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.url = f"http://{bound_host}:{bound_port}"
        self._pusher = asyncio.create_task(WebhookPusher(self.state).run())
        return self.url

    async def stop(self) -> None:
        """Release long polls, stop webhook delivery and close the server."""
        self.state.closing = True
        self.state.changed()
        if self._pusher:
            self._pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pusher
            self._pusher = None
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

    async def _call(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return ApiError(401, "Unauthorized").response()
        asked = request.match_info["method"]
        name, method = self._methods.get(asked.lower(), (asked, None))
        try:
            params = await read_params(request)
            self.state.calls.append((name, params))
            self.state.changed()
            if method is None:
                raise bad_request("method not found")  # not 404: PTB reads 404 as a bad token
            if (fault := self._fault_for(name, params)) is not None:
                if fault.hang:
                    await asyncio.sleep(fault.hang)  # held, nothing done: a timeout
                raise ApiError(fault.code, fault.description, retry_after=fault.retry_after)
            result = method(params)
            if inspect.isawaitable(result):
                result = await result
            self.state.succeeded.append((name, params))
            return ok(result)
        except ApiError as error:
            self.state.too_many += error.code == 429
            return error.response()
        except Exception as exc:  # a sandbox bug: answer like Telegram would, and say so loudly
            log.exception("sandbox failed on %s", name)
            return ApiError(500, f"Internal Server Error: {exc!r}").response()

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return ApiError(401, "Unauthorized").response()
        stored = self.state.file_by_path(request.match_info["file_path"])
        if stored is None:
            return ApiError(404, "Not Found").response()
        mime = stored.mime_type or "application/octet-stream"
        return web.Response(body=stored.data, content_type=mime)
