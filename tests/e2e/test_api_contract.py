"""The intake API keeps its published contract: schemathesis reads /api/v1/openapi.json from the
running server and sends what the document allows (and what it forbids), checking every answer
against it — statuses, content types, bodies and headers. Bounded: 25 examples an operation.

The server runs on 127.0.0.1 in a thread with its own event loop (aiohttp is not ASGI, so
schemathesis calls it over real HTTP), on the run's database with a small city and a city-wide
key; its rate limit is raised so the run measures the contract, not the limiter. (schemathesis'
lazy `from_fixture` loader does not run under pytest 9, so the operations come from the same
document object and the first test proves the server publishes exactly that.)
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings

from bot.api import api_app, start_api, stop_api
from bot.api.openapi import openapi_document
from models.api_keys import create_key
from models.db import make_engine, session_scope
from models.policy import load_policy
from models.rules import Rules
from models.service_requests import CODE_LIMIT
from models.tables.org import Contact
from tests.support.database import empty_tables
from tests.support.factories import at, build_world, make_project

NOW = at("2026-11-20 10:00")


@pytest.fixture(scope="module")
def served(database_url: str) -> Iterator[tuple[str, str]]:
    """The API's root URL and a city-wide key; P01 (2亿, r1) and its enterprise's C01 exist,
    as the document's examples name them."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="api-under-test", daemon=True)
    thread.start()
    engine = make_engine(database_url)

    async def start() -> tuple[Any, str]:
        await empty_tables(engine)
        async with session_scope(engine) as session:
            world = await build_world(session)
            await make_project(session, world, 20_000, code="P01")
            assert world.enterprise is not None
            session.add(Contact(code="C01", enterprise_id=world.enterprise.id, name="彭雅琴"))
            key, _row = await create_key(
                session=session, name="contract", all_regions=True, now=NOW
            )
        rules = Rules.build(load_policy(), "Asia/Shanghai")
        app = api_app(engine=engine, rules=rules, clock=lambda: NOW, rate_per_minute=1e6)
        return await start_api(app, host="127.0.0.1", port=0), key

    def call(coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=60)

    running, key = call(start())
    try:
        yield running.url, key
    finally:
        call(stop_api(running))
        call(engine.dispose())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


# A request the document allows may still name a project that does not exist, or a description
# of control characters only: a 422 naming the field is the right answer to those.
CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"max-examples": 25, "database": "none"},
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "401", "403", "404", "422", "429"]
            }
        },
    }
)
# The document itself, as the server publishes it (the first test checks that it does): the
# operations are collected from it before the server runs.
schema = schemathesis.openapi.from_dict(openapi_document(), config=CONFIG)


@schema.hook
def map_body(context: schemathesis.HookContext, body: Any) -> Any:
    """Name the city's own project and contact where the generated one is well-formed anyway:
    so most requests reach the intake (a random code is a 422 for an unknown project), and what
    makes a negative case negative stays (a code of the wrong type or length is left alone)."""
    if not isinstance(body, dict):
        return body
    for name, known in (("project", "P01"), ("contact", "C01")):
        value = body.get(name)
        if isinstance(value, str) and 0 < len(value) <= CODE_LIMIT:
            body = {**body, name: known}
    return body


def test_the_served_document_is_the_one_tested(served: tuple[str, str]) -> None:
    url, _key = served
    published = requests.get(f"{url}/api/v1/openapi.json", timeout=10)
    assert published.status_code == 200
    assert published.headers["Content-Type"].startswith("application/json")
    assert published.json() == openapi_document()


@schema.parametrize()
@settings(
    deadline=None, max_examples=25, derandomize=True, suppress_health_check=list(HealthCheck)
)
def test_the_api_keeps_its_contract(case: schemathesis.Case, served: tuple[str, str]) -> None:
    url, key = served
    case.call_and_validate(base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {key}"})
