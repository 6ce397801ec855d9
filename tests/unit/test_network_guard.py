"""The network guard (tests/support/network.py, installed by tests/conftest.py): nothing beyond
loopback is reached, not even a DNS server, and loopback works; a refusal the code under test
swallows still fails the test.

203.0.113.1 and 2001:db8::1 are documentation addresses (RFC 5737, RFC 3849): never routed, so a
broken guard makes these tests fail or time out, never reach anyone.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest
from telegram import Bot
from telegram.error import NetworkError

from bot.settings import Settings
from tests.support.network import Guard, NetworkRefused, is_local_name, is_loopback

TEST_NET = ("203.0.113.1", 443)
REFUSED = "network access refused in tests"


def test_a_connection_beyond_loopback_fails_with_a_clear_message(network_guard: Guard) -> None:
    clear = r"connect to 203\.0\.113\.1:443 \(tests reach loopback only"
    with pytest.raises(NetworkRefused, match=clear):
        socket.create_connection(TEST_NET, timeout=1)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with pytest.raises(NetworkRefused, match=REFUSED):
            sock.connect_ex(TEST_NET)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        with pytest.raises(NetworkRefused, match=REFUSED):
            sock.sendto(b"?", ("203.0.113.1", 53))
    expected = ["connect to 203.0.113.1:443"] * 2 + ["send a datagram to 203.0.113.1:53"]
    try:
        ipv6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:  # a kernel without IPv6
        pass
    else:
        with ipv6, pytest.raises(NetworkRefused, match=r"\[2001:db8::1\]:443"):
            ipv6.connect(("2001:db8::1", 443))
        expected.append("connect to [2001:db8::1]:443")
    assert network_guard.take() == expected


async def test_asyncio_and_its_clients_are_refused_too(network_guard: Guard) -> None:
    with pytest.raises(NetworkRefused, match=REFUSED):
        await asyncio.open_connection(*TEST_NET)
    async with httpx.AsyncClient() as client:
        # anyio's happy eyeballs words it "All connection attempts failed": the record names it.
        with pytest.raises(httpx.ConnectError):
            await client.get("https://203.0.113.1/")
    assert network_guard.take() == ["connect to 203.0.113.1:443"] * 2


async def test_telegram_is_never_reached_not_even_its_name(network_guard: Guard) -> None:
    # A bot built without the fake's URL talks to the settings' default, the real Telegram.
    default = Settings.model_fields["bot_api_url"].default
    assert default == "https://api.telegram.org"
    with pytest.raises(NetworkError, match=r"looking up 'api\.telegram\.org'"):
        async with Bot("123456:TEST-TOKEN", base_url=f"{default}/bot"):  # getMe, first thing
            pass
    with pytest.raises(NetworkRefused):
        socket.create_connection(("149.154.167.220", 443), timeout=1)  # one of Telegram's own
    assert network_guard.take() == [
        "looking up 'api.telegram.org' (port 443)",
        "connect to 149.154.167.220:443",
    ]


def test_a_name_is_refused_before_it_is_looked_up(
    network_guard: Guard, monkeypatch: pytest.MonkeyPatch
) -> None:
    looked_up: list[object] = []
    real = network_guard.resolve

    def spy(host: object, *args: object, **kwargs: object) -> object:
        looked_up.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(network_guard, "resolve", spy)
    with pytest.raises(NetworkRefused, match=r"looking up 'example\.com'"):
        socket.getaddrinfo("example.com", 443)
    with socket.socket() as sock, pytest.raises(NetworkRefused, match="needs DNS"):
        sock.connect(("example.com", 443))  # a name socket.connect would resolve itself
    assert looked_up == []  # no DNS query left
    assert network_guard.take() == [
        "looking up 'example.com' (port 443)",
        "connect to example.com:443 (a name that needs DNS)",
    ]
    assert socket.getaddrinfo("localhost", 80) and looked_up == ["localhost"]


def test_what_counts_as_loopback() -> None:
    for address in ("127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"):
        assert is_loopback(address), address
    for address in ("0.0.0.0", "10.0.0.1", "203.0.113.1", "::", "2001:db8::1", "localhost"):
        assert not is_loopback(address), address
    for name in ("localhost", "LOCALHOST.", "a.localhost"):
        assert is_local_name(name), name
    assert not is_local_name("api.telegram.org") and not is_local_name("localhost.example.org")


async def test_loopback_works(network_guard: Guard, tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        for host in ("127.0.0.1", "localhost"):
            socket.create_connection((host, port), timeout=5).close()

        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(await reader.readline())
            await writer.drain()
            writer.close()

        echo = await asyncio.start_server(answer, "127.0.0.1", 0)
        async with echo:
            reader, writer = await asyncio.open_connection(
                "localhost", echo.sockets[0].getsockname()[1], family=socket.AF_INET
            )
            writer.write(b"ping\n")
            assert await reader.readline() == b"ping\n"
            writer.close()
    path = str(tmp_path / "s")
    with socket.socket(socket.AF_UNIX) as listening, socket.socket(socket.AF_UNIX) as client:
        listening.bind(path)
        listening.listen()
        client.connect(path)
    assert network_guard.take() == []


def test_a_swallowed_refusal_still_fails_the_test(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makeconftest("from tests.conftest import _network_guard_installed, network_guard\n")
    pytester.makepyfile(
        """
        import socket

        def test_reaches_out_and_hides_it():
            try:
                socket.create_connection(("203.0.113.1", 443), timeout=1)
            except OSError:
                pass  # the code under test carries on

        def test_stays_home():
            socket.getaddrinfo("localhost", 80)
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        ["*network access beyond loopback: connect to 203.0.113.1:443 (tests/support/network.py)*"]
    )
