"""A load balancer for tests of a webhook fleet: round robin over the instances' webhook URLs,
passing an update on to the next instance when one does not answer (nginx's
`proxy_next_upstream error`)."""

from __future__ import annotations

import itertools
import socket
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from bot.serving import Serving, serve, stop_serving

_PASSED_ON = ("Content-Type", "X-Telegram-Bot-Api-Secret-Token")


def free_port() -> int:
    """A TCP port nobody listens on just now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Balancer:
    """Round robin over `targets`; counts what each one took."""

    def __init__(self, targets: list[str]) -> None:
        self.targets, self.handed = targets, [0] * len(targets)
        self._next = itertools.cycle(range(len(targets)))
        self._session: aiohttp.ClientSession | None = None

    async def forward(self, request: web.Request) -> web.Response:
        """Hand the update to the next instance that answers (502 when none does)."""
        body = await request.read()
        headers = {name: request.headers[name] for name in _PASSED_ON if name in request.headers}
        assert self._session is not None
        for _ in self.targets:
            index = next(self._next)
            try:
                async with self._session.post(
                    self.targets[index], data=body, headers=headers
                ) as answer:
                    self.handed[index] += 1
                    return web.Response(status=answer.status)
            except aiohttp.ClientConnectionError:
                continue  # that instance is down: the next one
        return web.Response(status=502)

    async def start(self, url: str) -> Serving:
        """Listen at `url` (loopback, its port and path)."""
        self._session = aiohttp.ClientSession()
        app = web.Application()
        parts = urlsplit(url)
        app.router.add_post(parts.path, self.forward)
        assert parts.port is not None
        return await serve(app, host="127.0.0.1", port=parts.port)

    async def stop(self, serving: Serving) -> None:
        """Stop listening and close the connections to the instances."""
        await stop_serving(serving)
        assert self._session is not None
        await self._session.close()
