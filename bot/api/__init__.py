"""The intake API for other systems (`ztc api serve`, or inside `ztc run` with ZTC_API_PORT):
the HTTP layer over models/service_requests.py and models/api_keys.py."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bot.api.server import api_app


@dataclass
class RunningApi:
    """An API server listening: stop it with `stop_api`."""

    runner: web.AppRunner
    host: str
    port: int

    @property
    def url(self) -> str:
        """Its root, e.g. http://127.0.0.1:8090."""
        return f"http://{self.host}:{self.port}"


async def start_api(app: web.Application, *, host: str, port: int) -> RunningApi:
    """Serve `app` on host:port (0: a free port) in the running event loop."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = runner.addresses[0][1] if runner.addresses else port
    return RunningApi(runner, host, bound)


async def stop_api(running: RunningApi) -> None:
    """Stop serving: requests in hand finish first."""
    await running.runner.cleanup()


__all__ = ["RunningApi", "api_app", "start_api", "stop_api"]
