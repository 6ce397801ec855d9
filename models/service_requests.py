"""The intake API's service: other systems (a 12345 platform …) report problems and follow them.

Shaped after Open311 GeoReport v2 where it fits: a problem is a *service request* whose
`service_request_id` is the issue's number, `service_code` its category, `status` open or closed.
A request is reported through the same intake as the chat's (`report_issue`: routed to the
level of the project's tier, clocked, the enterprise's contacts and the handler told through the
outbox) by the system itself; the CREATED event's data names the calling system
(`{"via": "api", "system": NAME}`). Nothing here knows HTTP: the API (bot/api/) parses the
request, calls one of these and writes the answer.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.api_keys import region_ids
from models.codes import Category, EventKind, Status, Urgency
from models.errors import DomainError, InvalidInput, NotFound
from models.issues.context import Ctx
from models.issues.deadlines import running_due
from models.issues.intake import report_issue
from models.permissions import SYSTEM
from models.queries import issue_json
from models.rules import Rules
from models.tables.api import ApiKey
from models.tables.issue import Issue, IssueEvent
from models.tables.org import Contact, Region
from models.tables.project import Project
from models.text import MAX_TEXT, checked_text, clean_line

FIELDS = ("project", "category", "description", "urgency", "contact")
CODE_LIMIT = 32  # characters of a project's or a contact's code
PAGE, MAX_PAGE = 50, 200  # requests in one page of a list
IDEMPOTENCY = 40  # characters of an Idempotency-Key
_CURSOR = re.compile(r"[A-Za-z0-9_-]{2,32}")
VIA = "api"  # the CREATED event's data["via"] for a request made through the API
# Open311's two statuses: the city is done with it (resolved, awaiting the rating, or closed).
CLOSED = frozenset({Status.RESOLVED, Status.CLOSED})


@dataclass(frozen=True)
class FieldError:
    """What is wrong with one field of a request (English: read by machines and their
    programmers)."""

    field: str
    message: str


class PayloadRejected(DomainError):
    """The request's payload is not acceptable: `errors` names each bad field."""

    code = "payload_rejected"

    def __init__(self, errors: list[FieldError]) -> None:
        """Keep every field's error."""
        self.errors = errors
        super().__init__(fields=",".join(e.field for e in errors))


class OutOfScope(DomainError):
    """The project or issue is outside the key's regions: param `key` (its code or number)."""

    code = "out_of_scope"


@dataclass(frozen=True)
class RequestIn:
    """A new service request, its fields checked for form (not yet against the database)."""

    project: str
    category: Category
    description: str
    urgency: Urgency
    contact: str | None = None


def parse_request(data: object) -> RequestIn:
    """The request in a JSON body, or PayloadRejected naming every bad field."""
    if not isinstance(data, dict):
        raise PayloadRejected([FieldError("body", "must be a JSON object")])
    errors = [FieldError(str(name), "unknown field") for name in data if name not in FIELDS]
    project = _code(data, "project", errors, required=True)
    contact = _code(data, "contact", errors, required=False)
    category = _choice(data, "category", Category, errors)
    urgency = _choice(data, "urgency", Urgency, errors)
    description = _description(data, errors)
    if errors:
        raise PayloadRejected(errors)
    assert project and category and urgency and description
    return RequestIn(project, Category(category), description, Urgency(urgency), contact)


def _string(data: dict[str, Any], name: str, errors: list[FieldError], required: bool) -> Any:
    value = data.get(name)
    if value is None:
        if required:
            errors.append(FieldError(name, "is required"))
        return None
    if not isinstance(value, str):
        errors.append(FieldError(name, "must be a string"))
        return None
    return value


def _code(data: dict[str, Any], name: str, errors: list[FieldError], required: bool) -> Any:
    value = _string(data, name, errors, required)
    if value is not None and not 0 < len(value) <= CODE_LIMIT:
        errors.append(FieldError(name, f"must be 1 to {CODE_LIMIT} characters"))
        return None
    if value is not None and clean_line(value) != value:
        errors.append(FieldError(name, "must not contain control characters"))
        return None
    return value


def _choice(
    data: dict[str, Any], name: str, codes: type[Category | Urgency], errors: list[FieldError]
) -> str | None:
    value = _string(data, name, errors, required=True)
    allowed = [c.value for c in codes]
    if value is not None and value not in allowed:
        errors.append(FieldError(name, "must be one of: " + ", ".join(allowed)))
        return None
    return str(value) if value is not None else None


def _description(data: dict[str, Any], errors: list[FieldError]) -> str | None:
    """The chat's own check of a description (models/text.py): cleaned, not empty, not long."""
    value = _string(data, "description", errors, required=True)
    if value is None:
        return None
    if len(value) > MAX_TEXT:  # as sent, too (the contract's maxLength), not only as cleaned
        message = f"is {len(value)} characters long; the limit is {MAX_TEXT}"
        errors.append(FieldError("description", message))
        return None
    try:
        return checked_text(value, "description", required=True)
    except InvalidInput:  # too long is caught above, and cleaning only shortens
        errors.append(FieldError("description", "is empty"))
        return None


async def create_request(
    *,
    session: AsyncSession,
    rules: Rules,
    key: ApiKey,
    request: RequestIn,
    now: datetime,
    idempotency_key: str | None = None,
) -> Issue:
    """Report the request's problem for the calling system: PayloadRejected for an unknown
    project or a contact not of its enterprise, OutOfScope for a project outside the key's
    regions. With an `idempotency_key` the key sent before, the issue that first request made."""
    project = (await session.exec(select(Project).where(Project.code == request.project))).first()
    if project is None:
        raise PayloadRejected([FieldError("project", "no project has this code")])
    scope = await region_ids(session=session, key=key)
    if scope is not None and project.region_id not in scope:
        raise OutOfScope(key=project.code)
    origin: dict[str, Any] = {"via": VIA, "system": key.name}
    if request.contact is not None:
        contact = (
            await session.exec(select(Contact).where(Contact.code == request.contact))
        ).first()
        if contact is None or contact.enterprise_id != project.enterprise_id:
            message = "no contact of the project's enterprise has this code"
            raise PayloadRejected([FieldError("contact", message)])
        origin["contact"] = contact.code
    # The system reports, as `ztc issues new` without --by does: every contact of the
    # enterprise hears of it (the contact named too), and the reporter columns stay empty.
    return await report_issue(
        Ctx(session=session, rules=rules, actor=SYSTEM, now=now),
        project=project,
        category=request.category,
        text=request.description,
        urgency=request.urgency,
        submission_key=f"api:{key.id}:{idempotency_key}" if idempotency_key else None,
        data=origin,
    )


async def find_request(*, session: AsyncSession, key: ApiKey, service_request_id: str) -> Issue:
    """The issue numbered `service_request_id`: NotFound, or OutOfScope outside the key's
    regions."""
    if len(service_request_id) > 20 or clean_line(service_request_id) != service_request_id:
        raise NotFound(entity="issue", key="?")  # no number looks so (and NUL fails PostgreSQL)
    issue = (await session.exec(select(Issue).where(Issue.number == service_request_id))).first()
    if issue is None:
        raise NotFound(entity="issue", key=service_request_id)
    scope = await region_ids(session=session, key=key)
    if scope is not None:
        project = await session.get(Project, issue.project_id)
        if project is None or project.region_id not in scope:
            raise OutOfScope(key=service_request_id)
    return issue


async def request_json(
    *, session: AsyncSession, rules: Rules, issue: Issue, timeline: bool = True
) -> dict[str, Any]:
    """An issue as a service request: Open311's names, ztc's own fields under `ztc` (with
    `timeline`, its events)."""
    tz = rules.tz
    events = list(
        (
            await session.exec(
                select(IssueEvent)
                .where(IssueEvent.issue_id == issue.id)
                .order_by(col(IssueEvent.id))
            )
        ).all()
    )
    created = next((e for e in events if e.kind == EventKind.CREATED), None)
    origin = created.data if created and created.data.get("via") == VIA else None
    notes = [e.note for e in events if e.from_status != e.to_status and e.note]
    ours = await issue_json(session=session, issue=issue, tz=tz, events=timeline, rules=rules)
    project = await session.get(Project, issue.project_id)
    region = await session.get(Region, project.region_id) if project else None
    ztc = {k: v for k, v in ours.items() if k not in ("id", "number", "text")}
    ztc["region"] = region.code if region else None
    ztc["reported_via"] = (
        {"system": origin.get("system"), "contact": origin.get("contact")} if origin else None
    )
    if timeline and origin:
        for event in ztc["events"]:  # the system that reported it, not "system"
            if event["kind"] == EventKind.CREATED.value and event["actor"] == "system":
                event["actor"] = f"{VIA}:{origin.get('system')}"
    due = running_due(issue)
    return {
        "service_request_id": issue.number,
        "status": "closed" if issue.status in CLOSED else "open",
        "status_notes": notes[-1] if notes else None,
        "service_code": issue.category.value,
        "description": issue.text,
        "requested_datetime": issue.created_at.astimezone(tz).isoformat(),
        "updated_datetime": issue.updated_at.astimezone(tz).isoformat(),
        "expected_datetime": due.astimezone(tz).isoformat() if due else None,
        "ztc": ztc,
    }


def encode_cursor(event_id: int) -> str:
    """An opaque cursor: the last event a page covered."""
    return base64.urlsafe_b64encode(f"e{event_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The event id in a cursor this API gave; PayloadRejected (`since`) otherwise."""
    try:
        if not _CURSOR.fullmatch(cursor):
            raise ValueError(cursor)
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        if not text.startswith("e") or not text[1:].isdigit():
            raise ValueError(cursor)
        return int(text[1:])
    except (ValueError, binascii.Error):
        raise PayloadRejected([FieldError("since", "not a cursor this API gave")]) from None


async def changed_since(
    *,
    session: AsyncSession,
    rules: Rules,
    key: ApiKey,
    cursor: str | None,
    limit: int = PAGE,
) -> tuple[list[dict[str, Any]], str]:
    """The requests in the key's regions with an event after `cursor` (from the first without),
    least recently changed first, at most `limit`; and the cursor to ask with next."""
    after = decode_cursor(cursor) if cursor is not None else 0
    last = func.max(IssueEvent.id).label("last")
    query = (
        select(IssueEvent.issue_id, last)
        .where(col(IssueEvent.id) > after)
        .group_by(col(IssueEvent.issue_id))
        .order_by(last)
        .limit(limit)
    )
    scope = await region_ids(session=session, key=key)
    if scope is not None:
        projects = select(Project.id).where(col(Project.region_id).in_(scope))
        issues = select(Issue.id).where(col(Issue.project_id).in_(projects))
        query = query.where(col(IssueEvent.issue_id).in_(issues))
    rows = list((await session.exec(query)).all())
    # Every issue left out has its last event after the page's last one: none is skipped.
    found, newest = [], after
    for issue_id, changed in rows:
        issue = await session.get(Issue, issue_id)
        assert issue is not None and changed is not None
        found.append(await request_json(session=session, rules=rules, issue=issue, timeline=False))
        newest = max(newest, changed)
    return found, encode_cursor(newest)
