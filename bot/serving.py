"""An aiohttp application served inside the running event loop, beside the bot: the intake API
(bot/api/) and the ops server (bot/ops.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass
class Serving:
    """A server listening: stop it with `stop_serving`."""

    runner: web.AppRunner
    host: str
    port: int

    @property
    def url(self) -> str:
        """Its root, e.g. http://127.0.0.1:8090."""
        return f"http://{self.host}:{self.port}"


async def serve(app: web.Application, *, host: str, port: int, **options: Any) -> Serving:
    """Serve `app` on host:port (0: a free port) in the running event loop; `options` go to
    aiohttp's AppRunner (access_log, shutdown_timeout)."""
    runner = web.AppRunner(app, **options)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = runner.addresses[0][1] if runner.addresses else port
    return Serving(runner, host, bound)


async def stop_serving(running: Serving) -> None:
    """Stop serving: requests in hand finish first."""
    await running.runner.cleanup()
