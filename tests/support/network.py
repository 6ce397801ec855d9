"""The network guard: a test reaches loopback and nothing else.

STYLE.md asks for what python-telegram-bot's own suite does with its `OfflineRequest`; this guard
sits lower, under every client at once. Every connection is a `socket.socket.connect` (or
`connect_ex`, or a datagram's `sendto`): asyncio's selector loop calls it from `sock_connect`,
and so from `create_connection` (asyncpg, aiohttp, httpx through anyio), and
`socket.create_connection` calls it (httpx's sync client, urllib3 under Selenium). Every name
becomes an address through `socket.getaddrinfo` (asyncio's `loop.getaddrinfo` runs it in a
thread). The guard wraps those four:

- an address must be loopback (127.0.0.0/8, ::1, ::ffff:127.x.x.x); unix sockets and the other
  non-IP families pass;
- a name must be one this machine itself calls loopback (`localhost`, `*.localhost`, a name on a
  loopback line of /etc/hosts), and is then resolved and its addresses checked; any other name
  (api.telegram.org, the default `ZTC_BOT_API_URL`) is refused before it is looked up, so not
  even a DNS query leaves.

A refusal raises `NetworkRefused`, a ConnectionError (the code under test fails as it would
offline, and cleans up as it would), and is recorded; the autouse fixture in tests/conftest.py
fails the test at teardown with what was refused, even when the code under test swallowed the
error or a background task met it.

Outside the guard: subprocesses (`ztc run`, `python -m bot`, `ztc demo`, chromium and
chromedriver), which are pointed at the fake Bot API and the demo by their environment; C
libraries that open sockets themselves (none here: asyncpg and aiosqlite are Python on asyncio);
and an event loop that does not connect through Python sockets (uvloop; not used).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, NoReturn

import pytest

HOSTS = Path("/etc/hosts")
IP_FAMILIES = (socket.AF_INET, socket.AF_INET6)


class NetworkRefused(ConnectionError):
    """A test tried to reach beyond loopback."""


def is_address(host: str) -> bool:
    """An IP address written out (no lookup needed)."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def is_loopback(host: str) -> bool:
    """An IP address on this machine's loopback."""
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


@cache
def local_names() -> frozenset[str]:
    """`localhost`, and the names /etc/hosts gives a loopback address."""
    names = {"localhost"}
    try:
        lines = HOSTS.read_text("utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    for line in lines:
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and is_loopback(fields[0]):
            names.update(name.lower().rstrip(".") for name in fields[1:])
    return frozenset(names)


def is_local_name(name: str) -> bool:
    """A name this machine answers itself, without DNS (RFC 6761 keeps *.localhost local)."""
    name = name.lower().rstrip(".")
    return name in local_names() or name.endswith(".localhost")


def _text(host: Any) -> str | None:
    if isinstance(host, bytes | bytearray):
        return bytes(host).decode("idna")
    return host if isinstance(host, str) else None


def _where(host: str, port: Any) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Guard:
    """The wrapped socket functions' judge, and what it refused since it was last asked."""

    def __init__(self, resolve: Callable[..., Any] = socket.getaddrinfo) -> None:
        self.resolve = resolve  # the real getaddrinfo
        self.refused: list[str] = []
        self._lock = threading.Lock()

    def take(self) -> list[str]:
        """What was refused since the last call; forgets it."""
        with self._lock:
            taken, self.refused = self.refused, []
        return taken

    def refuse(self, what: str) -> NoReturn:
        """Record and raise."""
        with self._lock:
            self.refused.append(what)
        raise NetworkRefused(
            f"network access refused in tests: {what} "
            "(tests reach loopback only: 127.0.0.0/8, ::1, unix sockets; tests/support/network.py)"
        )

    def looked_up(self, host: Any, port: Any, results: Any) -> None:
        """A name's addresses must all be loopback."""
        addresses = {str(info[4][0]) for info in results if info[0] in IP_FAMILIES}
        outside = sorted(a for a in addresses if not is_loopback(a))
        if outside:
            self.refuse(f"{host!r} resolves to {', '.join(outside)} (port {port})")

    def getaddrinfo(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        """socket.getaddrinfo: a name not known locally is refused before any lookup."""
        name = _text(host)
        if name and not is_address(name) and not is_local_name(name):
            self.refuse(f"looking up {name!r} (port {port})")
        results = self.resolve(host, port, *args, **kwargs)
        if name and not is_address(name):
            self.looked_up(name, port, results)
        return results

    def check(self, sock: socket.socket, address: Any, how: str) -> None:
        """A destination of an IP socket: loopback, or a local name that resolves to it."""
        if sock.family not in IP_FAMILIES or not isinstance(address, tuple) or not address:
            return  # unix sockets and the like; a malformed address is the socket's to refuse
        host, port = _text(address[0]), address[1] if len(address) > 1 else None
        if host is None:
            return
        if is_address(host):
            if not is_loopback(host):
                self.refuse(f"{how} {_where(host, port)}")
            return
        # socket.connect(("name", port)) resolves in C, past socket.getaddrinfo: judge it here.
        if not is_local_name(host):
            self.refuse(f"{how} {host}:{port} (a name that needs DNS)")
        self.looked_up(host, port, self.resolve(host, port, sock.family))


@contextmanager
def guarded() -> Iterator[Guard]:
    """The guard installed on `socket` for the duration."""
    real = socket.socket
    guard = Guard(socket.getaddrinfo)
    connect, connect_ex, sendto = real.connect, real.connect_ex, real.sendto

    def guarded_connect(sock: socket.socket, address: Any) -> None:
        guard.check(sock, address, "connect to")
        connect(sock, address)

    def guarded_connect_ex(sock: socket.socket, address: Any) -> int:
        guard.check(sock, address, "connect to")
        return connect_ex(sock, address)

    def guarded_sendto(sock: socket.socket, data: Any, *args: Any) -> int:
        if args:
            guard.check(sock, args[-1], "send a datagram to")
        return sendto(sock, data, *args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", guard.getaddrinfo)
        patch.setattr(real, "connect", guarded_connect)
        patch.setattr(real, "connect_ex", guarded_connect_ex)
        patch.setattr(real, "sendto", guarded_sendto)
        yield guard
