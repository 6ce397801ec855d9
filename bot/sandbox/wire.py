"""The Bot API's wire format: Telegram-shaped replies and errors, and reading parameters."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from typing import Any

from aiohttp import web

Params = dict[str, Any]

# PTB JSON-encodes every value that is not a string, but only these parameters are structures;
# everything else stays the string Telegram received (a text "123" is not a number).
STRUCTURED = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "commands",
        "scope",
        "allowed_updates",
        "link_preview_options",
        "reply_parameters",
        "media",
        "parameters",
    }
)

_FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")
_TRUE = frozenset({"true", "True", "1"})


class ApiError(Exception):
    """A Bot API error, answered in Telegram's shape with its HTTP status."""

    def __init__(self, code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        """`{"ok": false, "error_code", "description"}`, plus `parameters` for a 429."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body

    def response(self) -> web.Response:
        """This error as an HTTP response."""
        return json_response(self.payload(), status=self.code)


def bad_request(detail: str) -> ApiError:
    """A 400 with Telegram's "Bad Request: " prefix."""
    return ApiError(400, f"Bad Request: {detail}")


def too_many_requests(retry_after: int) -> ApiError:
    """A 429 telling the caller how many seconds to wait."""
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


def default_description(code: int, retry_after: int | None) -> str:
    """What Telegram would say for an error code when the test names no description."""
    if code == 429:
        return f"Too Many Requests: retry after {retry_after}"
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return f"Error {code}"


def json_response(body: Any, *, status: int = 200) -> web.Response:
    """JSON with non-ASCII text kept readable (the bot speaks Chinese)."""
    return web.json_response(body, status=status, dumps=partial(json.dumps, ensure_ascii=False))


def ok(result: Any) -> web.Response:
    """A successful call's reply."""
    return json_response({"ok": True, "result": result})


@dataclass(frozen=True)
class Upload:
    """One file part of a multipart request."""

    file_name: str
    data: bytes
    mime_type: str


async def read_params(request: web.Request) -> Params:
    """The call's parameters from its query string and body, structured fields decoded."""
    params: Params = dict(request.query)
    if request.content_type == "application/json":
        params.update(await _json_body(request))
    elif request.content_type in _FORMS:
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                params[key] = Upload(value.filename, value.file.read(), value.content_type)
            else:
                params[key] = value
    for key in STRUCTURED & params.keys():
        if isinstance(params[key], str):
            params[key] = decode(key, params[key])
    return params


async def _json_body(request: web.Request) -> Params:
    try:
        body = await request.json()
    except ValueError as exc:
        raise bad_request("can't parse JSON body") from exc
    if not isinstance(body, dict):
        raise bad_request("JSON body must be an object")
    return body


def decode(key: str, raw: str) -> Any:
    """A JSON-encoded parameter; 400 when it is not JSON."""
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise bad_request(f"can't parse {key} JSON object") from exc


def get_str(params: Params, name: str) -> str | None:
    """A text parameter; a JSON body's number becomes its text, as Telegram reads it."""
    value = params.get(name)
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value) if isinstance(value, bool) else str(value)


def get_int(params: Params, name: str, default: int | None = None) -> int | None:
    """An integer parameter, or `default` when absent."""
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise bad_request(f"invalid {name} specified") from exc


def need_int(params: Params, name: str, missing: str) -> int:
    """A required integer parameter; `missing` is Telegram's complaint when it is absent."""
    value = get_int(params, name)
    if value is None:
        raise bad_request(missing)
    return value


def get_bool(params: Params, name: str) -> bool:
    """A boolean parameter, sent by PTB as "true"/"false"."""
    value = params.get(name)
    return value is True or (isinstance(value, str) and value in _TRUE)
