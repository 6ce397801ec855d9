"""The intake API over HTTP (aiohttp): authenticate the key, hold it to its rate, parse, call one
service of models/service_requests.py, answer JSON. Errors are English JSON for machines:
`{"errors": [{"field": …, "message": …}]}`.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web
from aiolimiter import AsyncLimiter
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.api.openapi import openapi_document
from models.api_keys import authenticate
from models.db import session_scope
from models.errors import NotFound
from models.holidays import refresh_calendar
from models.rules import Rules
from models.service_requests import (
    IDEMPOTENCY,
    MAX_PAGE,
    PAGE,
    FieldError,
    OutOfScope,
    PayloadRejected,
    changed_since,
    create_request,
    find_request,
    parse_request,
    request_json,
)
from models.tables.api import ApiKey

log = logging.getLogger(__name__)
PREFIX = "/api/v1"
BODY_LIMIT = 64 * 1024  # bytes of a request's body
RATE_PER_MINUTE = 60  # requests per key
_IDEMPOTENCY = re.compile(rf"[A-Za-z0-9_.:-]{{1,{IDEMPOTENCY}}}")
_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


@dataclass
class ApiState:
    """What every request of one API server shares."""

    engine: AsyncEngine
    rules: Rules
    clock: Callable[[], datetime]
    rate_per_minute: float = RATE_PER_MINUTE
    on_change: Callable[[], None] | None = None  # new outbox rows are committed (wake delivery)
    limiters: dict[int, AsyncLimiter] = field(default_factory=dict)

    def limiter(self, key: ApiKey) -> AsyncLimiter:
        """The key's own leaky bucket."""
        assert key.id is not None
        if key.id not in self.limiters:
            self.limiters[key.id] = AsyncLimiter(self.rate_per_minute, 60)
        return self.limiters[key.id]


STATE = web.AppKey("ztc_api", ApiState)


def api_app(
    *,
    engine: AsyncEngine,
    rules: Rules,
    clock: Callable[[], datetime],
    rate_per_minute: float = RATE_PER_MINUTE,
    on_change: Callable[[], None] | None = None,
) -> web.Application:
    """The API as an aiohttp application on `engine` (the caller disposes of it)."""
    app = web.Application(client_max_size=BODY_LIMIT, middlewares=[_errors])
    app[STATE] = ApiState(engine, rules, clock, rate_per_minute, on_change)
    app.router.add_get(f"{PREFIX}/openapi.json", _openapi)
    app.router.add_post(f"{PREFIX}/requests", _create)
    app.router.add_get(f"{PREFIX}/requests", _list)
    app.router.add_get(f"{PREFIX}/requests/{{id}}", _get)
    return app


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(
        data,
        status=status,
        headers={**_HEADERS, **(headers or {})},
        dumps=lambda value: json.dumps(value, ensure_ascii=False),
    )


def _failure(status: int, message: str, field: str | None = None, **headers: str) -> web.Response:
    error = {"field": field, "message": message} if field else {"message": message}
    return _json({"errors": [error]}, status, headers)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Refused(Exception):
    """The caller is refused before its request is looked at (no key, over its rate)."""

    def __init__(self, response: web.Response) -> None:
        """Carry the answer."""
        super().__init__(response.status)
        self.response = response


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure as the API's JSON error."""
    try:
        return await handler(request)
    except Refused as refusal:
        return refusal.response
    except PayloadRejected as exc:
        errors = [{"field": e.field, "message": e.message} for e in exc.errors]
        return _json({"errors": errors}, 422)
    except OutOfScope:
        return _failure(403, "outside this key's regions")
    except NotFound:
        return _failure(404, "no such request")
    except web.HTTPRequestEntityTooLarge:
        return _failure(413, f"the body is over {BODY_LIMIT} bytes")
    except web.HTTPException as exc:  # aiohttp's own: an unknown path, a wrong method …
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}
        return _failure(exc.status, exc.reason.lower(), **headers)
    except Exception:  # a bug or the database down: logged here, never shown to the caller
        log.exception("intake API: %s %s failed", request.method, request.path)
        return _failure(500, "internal error")


async def _openapi(request: web.Request) -> web.Response:
    """The contract (no key needed)."""
    return _json(openapi_document())


async def _key(request: web.Request) -> ApiKey:
    """The caller's live key, within its rate; else the 401 or 429 as an exception."""
    state = request.app[STATE]
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    presented = token.strip() if scheme.lower() == "bearer" else ""
    presented = presented or request.headers.get("X-Api-Key", "").strip()
    key = None
    if presented:
        async with session_scope(state.engine) as session:
            key = await authenticate(session=session, presented=presented, now=state.clock())
    if key is None:
        raise Refused(
            _failure(401, "a live API key is required", **{"WWW-Authenticate": "Bearer"})
        )
    limiter = state.limiter(key)
    if not limiter.has_capacity():
        wait = max(1, math.ceil(limiter.time_period / limiter.max_rate))
        raise Refused(_failure(429, "too many requests", **{"Retry-After": str(wait)}))
    await limiter.acquire()  # there is capacity: this does not wait
    return key


async def _create(request: web.Request) -> web.StreamResponse:
    """POST /requests: report a problem; 201 with the request."""
    state, key = request.app[STATE], await _key(request)
    idempotency = request.headers.get("Idempotency-Key")
    if idempotency is not None and not _IDEMPOTENCY.fullmatch(idempotency):
        raise PayloadRejected([FieldError("Idempotency-Key", "must match [A-Za-z0-9_.:-]{1,40}")])
    if request.content_type != "application/json":
        return _failure(415, "send the body as application/json")
    if request.content_length is not None and request.content_length > BODY_LIMIT:
        return _failure(413, f"the body is over {BODY_LIMIT} bytes")
    wanted = parse_request(_parsed(await request.read()))
    now = state.clock()

    async def report() -> dict[str, Any]:
        async with session_scope(state.engine) as session:
            await refresh_calendar(session=session, calendar=state.rules.calendar)
            issue = await create_request(
                session=session,
                rules=state.rules,
                key=key,
                request=wanted,
                now=now,
                idempotency_key=idempotency,
            )
            return await request_json(session=session, rules=state.rules, issue=issue)

    try:
        data = await report()
    except IntegrityError:
        if idempotency is None:
            raise
        data = await report()  # the same Idempotency-Key twice at once: the other one made it
    if state.on_change is not None:
        state.on_change()  # the handler and the enterprise are told now, not at the next pass
    location = f"{PREFIX}/requests/{data['service_request_id']}"
    return _json(data, 201, {"Location": location})


def _parsed(body: bytes) -> Any:
    """The body as JSON, or PayloadRejected (`body`)."""
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise PayloadRejected([FieldError("body", "not valid JSON in UTF-8")]) from None


async def _get(request: web.Request) -> web.StreamResponse:
    """GET /requests/{id}: one request with its timeline."""
    state, key = request.app[STATE], await _key(request)
    async with session_scope(state.engine) as session:
        issue = await find_request(
            session=session, key=key, service_request_id=request.match_info["id"]
        )
        return _json(await request_json(session=session, rules=state.rules, issue=issue))


async def _list(request: web.Request) -> web.StreamResponse:
    """GET /requests?since=CURSOR&limit=N: the requests changed since the cursor."""
    state, key = request.app[STATE], await _key(request)
    raw = request.query.get("limit", str(PAGE))
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_PAGE):
        raise PayloadRejected([FieldError("limit", f"must be a whole number 1 to {MAX_PAGE}")])
    async with session_scope(state.engine) as session:
        found, cursor = await changed_since(
            session=session,
            rules=state.rules,
            key=key,
            cursor=request.query.get("since"),
            limit=int(raw),
        )
    return _json({"service_requests": found, "next_cursor": cursor})
