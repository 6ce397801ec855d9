"""The intake API's contract as an OpenAPI 3 document, served at /api/v1/openapi.json and the
source of the contract test (tests/e2e/test_api_contract.py)."""

from __future__ import annotations

from typing import Any

from models.codes import Category, Level, Status, Urgency
from models.service_requests import CODE_LIMIT, IDEMPOTENCY, MAX_PAGE, PAGE
from models.text import MAX_TEXT

JSON = "application/json"
_ERRORS = {"$ref": "#/components/schemas/Errors"}
_ISO = {"type": "string", "format": "date-time"}
_ISO_OR_NULL = {"type": "string", "format": "date-time", "nullable": True}


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {JSON: {"schema": _ERRORS}}}
    if headers:
        response["headers"] = headers
    return response


_RESPONSES = {
    "401": _error(
        "No key, or not a live one (`Authorization: Bearer KEY` or `X-Api-Key: KEY`).",
        {"WWW-Authenticate": {"schema": {"type": "string"}}},
    ),
    "403": _error("The project or request is outside the key's regions."),
    "404": _error("No request has this id."),
    "413": _error("The body is over 64 KiB."),
    "415": _error("The body is not sent as application/json."),
    "422": _error("A field is missing or wrong: each error names its field."),
    "429": _error(
        "Over the key's rate limit: try again after Retry-After seconds.",
        {"Retry-After": {"schema": {"type": "integer"}, "required": True}},
    ),
}


def _responses(ok: str, body: dict[str, Any], *errors: str, **extra: Any) -> dict[str, Any]:
    success: dict[str, Any] = {"description": "Done.", "content": {JSON: {"schema": body}}}
    success.update(extra)
    return {ok: success, **{code: _RESPONSES[code] for code in ("401", *errors, "429")}}


def _code_field(description: str, example: str) -> dict[str, Any]:
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": CODE_LIMIT,
        "description": description,
        "example": example,
    }


_EVENT = {
    "type": "object",
    "required": ["at", "kind", "actor"],
    "properties": {
        "at": _ISO,
        "kind": {"type": "string", "description": "created, accepted, escalated, resolved …"},
        "actor": {
            "type": "string",
            "description": "An official's or contact's code, `system`, or `api:NAME`.",
        },
        "from_level": {"type": "string", "nullable": True},
        "to_level": {"type": "string", "nullable": True},
        "note": {"type": "string", "nullable": True},
    },
}
_ZTC = {
    "type": "object",
    "description": "ztc's own view: the ladder's level and handler, the deadlines, the timeline.",
    "required": ["status", "level", "urgency", "project", "region", "assignee"],
    "properties": {
        "status": {"type": "string", "enum": [s.value for s in Status]},
        "level": {"type": "string", "enum": [v.value for v in Level]},
        "urgency": {"type": "string", "enum": [u.value for u in Urgency]},
        "category": {"type": "string", "enum": [c.value for c in Category]},
        "project": {"type": "string"},
        "region": {"type": "string", "nullable": True},
        "assignee": {"type": "string", "nullable": True, "description": "The handler's code."},
        "co_handlers": {"type": "array", "items": {"type": "string"}},
        "accept_due": _ISO_OR_NULL,
        "resolve_due": _ISO_OR_NULL,
        "paused_until": _ISO_OR_NULL,
        "escalations": {"type": "integer"},
        "direct_line": {"type": "boolean"},
        "provisional": {"type": "boolean"},
        "rating": {"type": "string", "nullable": True},
        "reported_via": {
            "type": "object",
            "nullable": True,
            "description": "The system that reported it through this API, and the contact named.",
            "properties": {
                "system": {"type": "string"},
                "contact": {"type": "string", "nullable": True},
            },
        },
        "events": {"type": "array", "items": _EVENT, "description": "The timeline (one request)."},
    },
}


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI 3.0 document."""
    request_id = {
        "name": "id",
        "in": "path",
        "required": True,
        "description": "The request's `service_request_id` (the issue's number).",
        "schema": {"type": "string", "minLength": 1, "maxLength": 20, "example": "2026-00001"},
    }
    idempotency = {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "Sent again with a retry: the request it first made, not a second one.",
        "schema": {"type": "string", "pattern": f"^[A-Za-z0-9_.:-]{{1,{IDEMPOTENCY}}}$"},
    }
    one = {"$ref": "#/components/schemas/ServiceRequest"}
    page = {
        "type": "object",
        "required": ["service_requests", "next_cursor"],
        "properties": {
            "service_requests": {"type": "array", "items": one},
            "next_cursor": {"type": "string", "description": "Ask with since=this next."},
        },
    }
    created = _responses(
        "201",
        one,
        "403",
        "413",
        "415",
        "422",
        headers={"Location": {"schema": {"type": "string"}, "required": True}},
    )
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "ztc intake API",
            "version": "1.0.0",
            "description": (
                "Other systems (a 12345 platform …) report enterprises' problems on the city's "
                "projects and follow them, as Open311 GeoReport v2 service requests where it "
                "fits. Each key acts in its regions. Errors are English JSON: "
                '{"errors": [{"field": …, "message": …}]}.'
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}, {"apiKey": []}],
        "paths": {
            "/requests": {
                "post": {
                    "operationId": "createRequest",
                    "summary": "Report a problem on a project: routed and clocked like any other.",
                    "parameters": [idempotency],
                    "requestBody": {
                        "required": True,
                        "content": {JSON: {"schema": {"$ref": "#/components/schemas/NewRequest"}}},
                    },
                    "responses": created,
                },
                "get": {
                    "operationId": "listRequests",
                    "summary": "The requests changed since a cursor, least recently first.",
                    "parameters": [
                        {
                            "name": "since",
                            "in": "query",
                            "required": False,
                            "description": "A `next_cursor` given before; none: from the start.",
                            "schema": {"type": "string", "minLength": 1, "maxLength": 32},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "required": False,
                            "schema": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": MAX_PAGE,
                                "default": PAGE,
                            },
                        },
                    ],
                    "responses": _responses("200", page, "422"),
                },
            },
            "/requests/{id}": {
                "get": {
                    "operationId": "getRequest",
                    "summary": "One request with its timeline.",
                    "parameters": [request_id],
                    "responses": _responses("200", one, "403", "404"),
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
            },
            "schemas": {
                "NewRequest": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["project", "category", "description", "urgency"],
                    "properties": {
                        "project": _code_field("The project's code.", "P01"),
                        "category": {
                            "type": "string",
                            "enum": [c.value for c in Category],
                            "example": "land",
                        },
                        "description": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": MAX_TEXT,
                            "description": "What the enterprise reported (control characters "
                            "are dropped; not empty).",
                            "example": "用地报批慢",
                        },
                        "urgency": {
                            "type": "string",
                            "enum": [u.value for u in Urgency],
                            "example": "normal",
                        },
                        "contact": {
                            **_code_field("A contact of the project's enterprise.", "C01"),
                            "nullable": True,
                        },
                    },
                },
                "ServiceRequest": {
                    "type": "object",
                    "required": [
                        "service_request_id",
                        "status",
                        "service_code",
                        "description",
                        "requested_datetime",
                        "updated_datetime",
                        "ztc",
                    ],
                    "properties": {
                        "service_request_id": {"type": "string", "example": "2026-00001"},
                        "status": {"type": "string", "enum": ["open", "closed"]},
                        "status_notes": {"type": "string", "nullable": True},
                        "service_code": {"type": "string", "enum": [c.value for c in Category]},
                        "description": {"type": "string"},
                        "requested_datetime": _ISO,
                        "updated_datetime": _ISO,
                        "expected_datetime": {
                            **_ISO_OR_NULL,
                            "description": "The running deadline (accept, or resolve).",
                        },
                        "ztc": _ZTC,
                    },
                },
                "Errors": {
                    "type": "object",
                    "required": ["errors"],
                    "properties": {
                        "errors": {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                                "type": "object",
                                "required": ["message"],
                                "properties": {
                                    "field": {"type": "string"},
                                    "message": {"type": "string"},
                                },
                            },
                        }
                    },
                },
            },
        },
    }
