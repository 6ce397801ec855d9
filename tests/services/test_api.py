"""The intake API over real HTTP on 127.0.0.1 with a real database: a request is reported through
the real intake (routed, clocked, the enterprise told), read back with its timeline and listed
by cursor; and every refusal — 401, 403, 404, 413, 415, 422, 429 — answers the API's JSON."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, func, select

from bot.api import RunningApi, api_app, start_api, stop_api
from models.api_keys import create_key, revoke_key
from models.codes import EventKind
from models.db import session_scope
from models.issues.commands import Accept
from models.rules import Rules
from models.tables.infra import Outbox
from models.tables.issue import Issue, IssueEvent
from models.tables.org import Contact, Official
from tests.support.factories import World, act, at, make_project

NOW = at("2026-11-20 10:00")  # a Friday: one working day later is Monday 10:00
BODY = {"project": "P1", "category": "land", "description": "用地报批慢", "urgency": "normal"}


@dataclass
class Api:
    """The running API, the keys made for it, and how often it said a change was committed."""

    running: RunningApi
    keys: dict[str, str]
    changes: list[int] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.running.url}/api/v1{path}"

    async def call(
        self, method: str, path: str, *, key: str | None = "r1", **kwargs: Any
    ) -> tuple[int, Any, aiohttp.ClientResponse]:
        headers = dict(kwargs.pop("headers", {}))
        if key is not None:
            headers["Authorization"] = f"Bearer {self.keys[key]}"
        async with (
            aiohttp.ClientSession() as client,
            client.request(method, self.url(path), headers=headers, **kwargs) as response,
        ):
            body = await response.json(content_type=None)
            return response.status, body, response


async def serve(
    engine: AsyncEngine, rules: Rules, keys: dict[str, str], rate: float = 1000
) -> Api:
    changes: list[int] = []
    app = api_app(
        engine=engine,
        rules=rules,
        clock=lambda: NOW,
        rate_per_minute=rate,
        on_change=lambda: changes.append(1),
    )
    running = await start_api(app, host="127.0.0.1", port=0)
    return Api(running, keys, changes)


@pytest.fixture
async def keys(engine: AsyncEngine, world: World) -> dict[str, str]:
    """Keys for r1, for r2 and city-wide; P2 is a project in r2."""
    made = {}
    async with session_scope(engine) as session:
        await make_project(session, world, 5_000, code="P2", region=world.other_region)
        for name, regions, everywhere in (
            ("r1", ["r1"], False),
            ("r2", ["r2"], False),
            ("city", [], True),
        ):
            made[name], _row = await create_key(
                session=session, name=name, regions=regions, all_regions=everywhere, now=NOW
            )
    return made


@pytest.fixture
async def api(engine: AsyncEngine, rules: Rules, keys: dict[str, str]) -> AsyncIterator[Api]:
    served = await serve(engine, rules, keys)
    yield served
    await stop_api(served.running)


async def test_a_request_is_routed_clocked_and_the_contact_told(
    api: Api, engine: AsyncEngine, world: World
) -> None:
    status, body, response = await api.call("POST", "/requests", json={**BODY, "contact": "C1"})
    assert status == 201, body
    number = body["service_request_id"]
    assert number == "2026-00001"
    assert response.headers["Location"] == f"/api/v1/requests/{number}"
    assert body["status"] == "open" and body["service_code"] == "land"
    assert body["description"] == "用地报批慢"
    ztc = body["ztc"]
    # A 2亿 project: the county's head, the accept clock one working day.
    assert (ztc["level"], ztc["assignee"], ztc["status"]) == ("county", "r1-head", "submitted")
    assert ztc["accept_due"] == body["expected_datetime"] == "2026-11-23T10:00:00+08:00"
    assert ztc["co_handlers"] == ["zgj"] and ztc["region"] == "r1"
    assert ztc["reported_via"] == {"system": "r1", "contact": "C1"}
    assert [(e["kind"], e["actor"]) for e in ztc["events"]] == [("created", "api:r1")]
    assert api.changes == [1]  # the dispatcher is woken: the notices go out now
    async with session_scope(engine) as session:
        issue = (await session.exec(select(Issue))).one()
        assert (issue.reporter_contact_id, issue.reporter_official_id) == (None, None)
        created = (await session.exec(select(IssueEvent))).one()
        assert created.kind == EventKind.CREATED
        assert (created.actor_contact_id, created.actor_official_id) == (None, None)
        assert {k: created.data[k] for k in ("via", "system", "contact")} == {
            "via": "api",
            "system": "r1",
            "contact": "C1",
        }
        rows = (await session.exec(select(Outbox).where(Outbox.kind == "created"))).all()
        contact = (await session.exec(select(Contact).where(Contact.code == "C1"))).one()
        head = (await session.exec(select(Official).where(Official.code == "r1-head"))).one()
    told = {(r.contact_id, r.official_id) for r in rows}
    assert (contact.id, None) in told  # the enterprise's contact hears of it
    assert (None, head.id) in told  # and the handler


async def test_get_one_and_list_changes_since_a_cursor(
    api: Api, engine: AsyncEngine, rules: Rules, world: World
) -> None:
    first = (await api.call("POST", "/requests", json=BODY))[1]["service_request_id"]
    second = (await api.call("POST", "/requests", json={**BODY, "urgency": "urgent"}))[1]
    status, page, _ = await api.call("GET", "/requests")
    assert status == 200
    assert [r["service_request_id"] for r in page["service_requests"]] == [
        first,
        second["service_request_id"],
    ]
    assert "events" not in page["service_requests"][0]["ztc"]  # the list is short: no timeline
    cursor = page["next_cursor"]
    assert (await api.call("GET", f"/requests?since={cursor}"))[1] == {
        "service_requests": [],
        "next_cursor": cursor,
    }
    async with session_scope(engine) as session:
        issue = (await session.exec(select(Issue).where(Issue.number == first))).one()
        assert issue.id is not None
        await act(session, rules, world.actor("r1-head"), Accept(issue.id), at("2026-11-20 11:00"))
    status, page, _ = await api.call("GET", "/requests", params={"since": cursor})
    assert [(r["service_request_id"], r["ztc"]["status"]) for r in page["service_requests"]] == [
        (first, "accepted")
    ]
    assert page["next_cursor"] != cursor
    status, one, _ = await api.call("GET", f"/requests/{first}")
    assert status == 200
    assert [e["kind"] for e in one["ztc"]["events"]] == ["created", "accepted"]
    assert one["ztc"]["events"][1]["actor"] == "r1-head"
    assert one["status"] == "open" and one["expected_datetime"] == one["ztc"]["resolve_due"]
    # A page at a time: each issue once, none skipped.
    status, small, _ = await api.call("GET", "/requests", params={"limit": "1"})
    rest = (await api.call("GET", "/requests", params={"since": small["next_cursor"]}))[1]
    assert [r["service_request_id"] for r in small["service_requests"] + rest["service_requests"]]
    assert {r["service_request_id"] for r in small["service_requests"]} | {
        r["service_request_id"] for r in rest["service_requests"]
    } == {first, second["service_request_id"]}


async def test_a_key_acts_only_in_its_regions(api: Api) -> None:
    number = (await api.call("POST", "/requests", json=BODY))[1]["service_request_id"]
    status, body, _ = await api.call("POST", "/requests", json=BODY, key="r2")
    assert (status, body) == (403, {"errors": [{"message": "outside this key's regions"}]})
    assert (await api.call("GET", f"/requests/{number}", key="r2"))[0] == 403
    assert (await api.call("GET", "/requests", key="r2"))[1]["service_requests"] == []
    assert (await api.call("POST", "/requests", json={**BODY, "project": "P2"}, key="r2"))[
        0
    ] == 201
    listed = (await api.call("GET", "/requests", key="city"))[1]["service_requests"]
    assert len(listed) == 2  # city-wide sees both
    assert (await api.call("GET", f"/requests/{number}", key="city"))[0] == 200


async def test_without_a_live_key_401(api: Api, engine: AsyncEngine) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer ztc_0000000000000000_" + "A" * 43},
        {"Authorization": "Basic " + api.keys["r1"]},
        {"Authorization": f"Bearer {api.keys['r1'][:-1]}x"},
        {"X-Api-Key": "nonsense"},
    ):
        status, body, response = await api.call("GET", "/requests", key=None, headers=headers)
        assert status == 401, headers
        assert body == {"errors": [{"message": "a live API key is required"}]}
        assert response.headers["WWW-Authenticate"] == "Bearer"
    ok = await api.call("GET", "/requests", key=None, headers={"X-Api-Key": api.keys["r1"]})
    assert ok[0] == 200
    async with session_scope(engine) as session:
        await revoke_key(session=session, name="r1", now=NOW)
    assert (await api.call("GET", "/requests"))[0] == 401
    assert (await api.call("POST", "/requests", json=BODY))[0] == 401


async def fields(api: Api, payload: Any, **kwargs: Any) -> dict[str, str]:
    status, body, _ = await api.call("POST", "/requests", json=payload, **kwargs)
    assert status == 422, body
    return {e["field"]: e["message"] for e in body["errors"]}


async def test_a_bad_payload_422_names_the_field(api: Api, engine: AsyncEngine) -> None:
    assert await fields(api, {}) == {
        "project": "is required",
        "category": "is required",
        "urgency": "is required",
        "description": "is required",
    }
    assert set(await fields(api, {**BODY, "category": "weather"})) == {"category"}
    assert set(await fields(api, {**BODY, "urgency": 1, "extra": True})) == {"urgency", "extra"}
    assert await fields(api, {**BODY, "description": " \x00\t "}) == {"description": "is empty"}
    too_long = await fields(api, {**BODY, "description": "字" * 4001})
    assert too_long == {"description": "is 4001 characters long; the limit is 4000"}
    assert set(await fields(api, {**BODY, "project": "P9"})) == {"project"}
    assert set(await fields(api, {**BODY, "project": "P\x001"})) == {"project"}
    assert set(await fields(api, {**BODY, "contact": "C2"})) == {"contact"}  # another enterprise
    assert set(await fields(api, [BODY])) == {"body"}
    status, body, _ = await api.call(
        "POST", "/requests", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert (status, body["errors"][0]["field"]) == (422, "body")
    assert set(await fields(api, BODY, headers={"Idempotency-Key": "a b"})) == {"Idempotency-Key"}
    for query in ({"limit": "0"}, {"limit": "x"}, {"since": "bm9wZQ"}, {"since": ""}):
        status, body, _ = await api.call("GET", "/requests", params=query)
        assert status == 422 and body["errors"][0]["field"] in query, query
    async with session_scope(engine) as session:
        assert (await session.exec(select(func.count()).select_from(Issue))).one() == 0


async def test_unknown_request_404(api: Api) -> None:
    for number in ("2026-00099", "x" * 30, "%00"):
        status, body, _ = await api.call("GET", f"/requests/{number}")
        assert (status, body) == (404, {"errors": [{"message": "no such request"}]})


async def test_a_body_over_64_kib_413_and_not_json_415(api: Api) -> None:
    big = {**BODY, "description": "x" * (64 * 1024)}
    status, body, _ = await api.call("POST", "/requests", json=big)
    assert status == 413 and body["errors"][0]["message"].startswith("the body is over")
    status, body, _ = await api.call("POST", "/requests", data="project=P1")
    assert status == 415


async def test_over_the_rate_429_with_retry_after(
    engine: AsyncEngine, rules: Rules, keys: dict[str, str]
) -> None:
    served = await serve(engine, rules, keys, rate=3)
    try:
        answers = [(await served.call("GET", "/requests"))[0] for _ in range(3)]
        status, body, response = await served.call("GET", "/requests")
        other = await served.call("GET", "/requests", key="city")  # another key: its own rate
    finally:
        await stop_api(served.running)
    assert answers == [200, 200, 200]
    assert (status, body) == (429, {"errors": [{"message": "too many requests"}]})
    assert int(response.headers["Retry-After"]) >= 1
    assert other[0] == 200


async def test_an_idempotency_key_makes_one_issue(api: Api, engine: AsyncEngine) -> None:
    headers = {"Idempotency-Key": "12345-ticket-0042"}
    first = await api.call("POST", "/requests", json=BODY, headers=headers)
    again = await api.call("POST", "/requests", json=BODY, headers=headers)
    other = await api.call("POST", "/requests", json=BODY, headers=headers, key="city")
    assert first[0] == again[0] == other[0] == 201
    assert first[1]["service_request_id"] == again[1]["service_request_id"]
    assert other[1]["service_request_id"] != first[1]["service_request_id"]  # the key's own
    async with session_scope(engine) as session:
        count = await session.exec(select(func.count()).select_from(Issue))
        assert count.one() == 2
        rows = await session.exec(select(col(Outbox.id)).where(Outbox.kind == "created"))
        assert rows.all()


async def test_the_contract_is_served(api: Api) -> None:
    status, document, _ = await api.call("GET", "/openapi.json", key=None)
    assert status == 200
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {"/requests", "/requests/{id}"}
    status, body, response = await api.call("DELETE", "/requests", key=None)
    assert status == 405 and "Allow" in response.headers and body["errors"]
