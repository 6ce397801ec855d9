"""`ztc api key new|list|revoke` with click's CliRunner on a real database: the key is printed
once and never stored (a salted hash is), a listing never shows it, a revoked key is refused."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from bot.cli import cli
from models.api_keys import authenticate
from models.db import make_engine, session_scope
from models.migrate import migrate_on, upgrade
from models.tables.api import ApiKey
from tests.services.test_migrations import _own_database
from tests.support.factories import World, at

T = TypeVar("T")
KEY = re.compile(r"ztc_[0-9a-f]{16}_[A-Za-z0-9_-]{43}")


@pytest.fixture
def url(
    database_url: str, engine: AsyncEngine, world: World, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The run's database (empty tables, the small city: regions r1, r2, city), English."""
    for name in list(os.environ):
        if name.startswith("ZTC_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ZTC_DATABASE_URL", database_url)
    monkeypatch.setenv("ZTC_DEFAULT_LOCALE", "en")
    return database_url


def ztc(*args: str, code: int = 0) -> Result:
    """`ztc ARGS` in-process, checked for its exit code and for no traceback."""
    result = CliRunner().invoke(cli, list(args), prog_name="ztc")
    assert "Traceback" not in result.output + result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"ztc {' '.join(args)} raised {result.exception!r}")
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def in_db(url: str, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work` in a committed session of its own, behind the CLI's back."""

    async def go() -> T:
        engine = make_engine(url)
        try:
            async with session_scope(engine) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(go())


async def rows(session: Any) -> list[ApiKey]:
    return list((await session.exec(select(ApiKey).order_by(ApiKey.name))).all())


async def live(session: Any, key: str) -> str | None:
    found = await authenticate(session=session, presented=key, now=at("2026-11-20 10:00"))
    return found.name if found else None


def test_a_new_key_is_printed_once_and_only_its_hash_kept(url: str) -> None:
    result = ztc("api", "key", "new", "12345-lsx", "--regions", "r1,r2")
    key = result.stdout.strip()
    assert KEY.fullmatch(key), result.stdout  # stdout is the key alone: KEY=$(ztc api key new …)
    assert "not shown again" in result.stderr and "12345-lsx (r1, r2)" in result.stderr
    [row] = in_db(url, rows)
    assert row.regions == ["r1", "r2"] and not row.all_regions
    secret = key[len("ztc_") + 16 + 1 :]  # after the key id (the secret may hold "_" too)
    assert row.secret_hash == hashlib.sha256((row.salt + secret).encode()).hexdigest()
    stored = json.dumps(row.model_dump(), default=str)
    assert secret not in stored and key not in stored
    assert in_db(url, lambda s: live(s, key)) == "12345-lsx"
    assert in_db(url, lambda s: live(s, key[:-1] + ("A" if key[-1] != "A" else "B"))) is None
    listed = ztc("api", "key", "list").stdout
    assert "12345-lsx" in listed and secret not in listed and row.secret_hash not in listed


def test_regions_repeated_or_city_wide(url: str) -> None:
    ztc("api", "key", "new", "a", "--regions", "r1", "--regions", "r2")
    ztc("api", "key", "new", "city.hotline", "--all-regions")
    found = {row.name: (row.regions, row.all_regions) for row in in_db(url, rows)}
    assert found == {"a": (["r1", "r2"], False), "city.hotline": ([], True)}
    listed = json.loads(ztc("api", "key", "list", "--json").stdout)
    assert [(k["name"], k["regions"], k["last_used_at"]) for k in listed] == [
        ("a", ["r1", "r2"], None),
        ("city.hotline", "all", None),
    ]
    assert set(listed[0]) == {"name", "regions", "created_at", "last_used_at", "revoked_at"}


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("bad name", "--regions", "r1"), "is not a key name"),
        (("x",), "--all-regions"),
        (("x", "--regions", "r1", "--all-regions"), "not both"),
        (("x", "--regions", "nowhere"), "nowhere"),
    ],
)
def test_a_key_refused(url: str, args: tuple[str, ...], says: str) -> None:
    result = ztc("api", "key", "new", *args, code=1)
    assert says in result.stderr and not result.stdout
    assert in_db(url, rows) == []


def test_a_name_is_taken_for_good(url: str) -> None:
    ztc("api", "key", "new", "12345", "--regions", "r1")
    ztc("api", "key", "revoke", "12345")
    assert (
        "already an API key named 12345"
        in ztc("api", "key", "new", "12345", "--all-regions", code=1).stderr
    )


def test_revoke(url: str) -> None:
    key = ztc("api", "key", "new", "12345", "--regions", "r1").stdout.strip()
    assert in_db(url, lambda s: live(s, key)) == "12345"
    assert "revoked" in ztc("api", "key", "revoke", "12345").stdout
    assert in_db(url, lambda s: live(s, key)) is None
    ztc("api", "key", "revoke", "12345")  # again: nothing changes
    [row] = json.loads(ztc("api", "key", "list", "--json").stdout)
    assert row["revoked_at"] is not None and row["last_used_at"] is not None
    assert "revoked" in ztc("api", "key", "list").stdout
    assert "no API key named ghost" in ztc("api", "key", "revoke", "ghost", code=1).stderr


def test_serve_refuses_an_old_schema(url: str, tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("ZTC_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    assert "ztc db upgrade" in ztc("api", "serve", "--port", "0", code=1).stderr


async def test_0010_makes_the_table_and_goes_back(database_url: str, tmp_path: Any) -> None:
    url = database_url if database_url.startswith("postgres") else f"sqlite:///{tmp_path}/m.db"
    async for engine in _own_database(url):
        await upgrade(engine, "0010")
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO api_key (name, key_id, salt, secret_hash, regions, all_regions,"
                    " created_at) VALUES ('12345', '0123456789abcdef', 's', 'h', '[]', true,"
                    " '2026-12-01 02:00:00')"
                )
            )
            await conn.run_sync(migrate_on, "0009", down=True)
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert "api_key" not in tables and "holiday_day" in tables
        await upgrade(engine)
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM api_key"))).scalar() == 0
        await engine.dispose()
