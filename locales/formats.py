"""Turning domain results and errors into text in a reader's language (CLI now, chat later)."""

from __future__ import annotations

from datetime import date, datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel.core import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_compact_currency, format_decimal

from locales import DEFAULT_LOCALE, LOCALES, N_, gettext_for, ngettext_for
from locales.labels import label
from models.codes import Action, Category, EventKind, Level, Status, Urgency
from models.errors import DomainError
from models.importer import RowError
from models.tables.org import Department

ENTITIES = {
    "issue": N_("issue"),
    "project": N_("project"),
    "official": N_("official"),
    "contact": N_("contact"),
    "department": N_("department"),
    "region": N_("region"),
}
ACTIONS = {
    Action.VIEW: N_("view"),
    Action.ACCEPT: N_("accept"),
    Action.COMMENT: N_("comment on"),
    Action.REQUEST_INFO: N_("ask for material on"),
    Action.RESUME: N_("resume"),
    Action.ADD_COHANDLER: N_("add a co-handler to"),
    Action.ESCALATE: N_("escalate"),
    Action.DIRECT_LINE: N_("send by the direct line"),
    Action.RESOLVE: N_("resolve"),
    Action.CONFIRM: N_("rate"),
    Action.REOPEN: N_("reopen"),
    Action.SUPPLY: N_("send material for"),
    Action.OPINION: N_("give a co-handling opinion on"),
    Action.TRANSFER: N_("transfer"),
    Action.REMIND: N_("send the reminders of"),
    Action.FLAG_OVERDUE: N_("flag as overdue"),
    Action.RETIER: N_("re-route by tier"),
    Action.CHASE_COHANDLERS: N_("chase the co-handlers of"),
    Action.REMIND_RATING: N_("ask for a rating of"),
    Action.CLOSE_UNRATED: N_("close unrated"),
    "report": N_("report an issue on"),
    "report_progress": N_("report progress on"),
    "confirm_progress": N_("confirm the stage of"),
}
DOMAIN_ERRORS = {
    "not_found": N_("No {entity} with the code or number {key}."),
    "not_allowed": N_("You may not {action} {issue}."),
    "invalid_transition": N_("Issue {issue} is {status}: cannot {action} it now."),
    "at_top": N_("Issue {issue} is already with the city's principal leaders: nowhere higher."),
    "invalid_input": N_("Invalid {field}."),
    "invite_refused": N_("This invitation cannot be used."),
    "too_many": N_("Over the limit: {count} today, {allowed} allowed."),
}
LIMITS = {  # TooMany by the policy's [limits] key
    "reports_per_contact_per_day": N_(
        "New problems this contact reported today: {count}; the limit is {allowed} a day. "
        "Anything more today can be logged by an official on their behalf."
    ),
}
INVITE_REASONS = {
    "unknown": N_("This invitation link is not valid. Please ask for a new one."),
    "used": N_("This invitation link was already used. Please ask for a new one."),
    "expired": N_("This invitation link has expired. Please ask for a new one."),
}
INPUT_REASONS = {
    "empty": N_("The {field} is empty."),
    "too_long": N_("The {field} is {length} characters long; the limit is {limit}."),
    "already_cohandler": N_("Department {department} already co-handles this issue."),
    "too_many": N_("At most {limit} files can be attached."),
    "too_big": N_("A file may be at most {limit} MB."),
    # progress reports (models/progress.py)
    "nothing": N_("Give the stage reached or the investment completed (or both)."),
    "not_amount": N_(
        "{value} is not an amount. Send a number in 万元 (10,000 yuan), for example 12000, "
        "3000万 or 1.2亿."
    ),
    "needs_unit": N_(
        "{value}: 万元 or 亿元? Send 1.2亿 for 1.2亿元, or a whole number of 万元 such as 12000."
    ),
    "fraction": N_("{value} is not a whole number of 万元. Please round it to 万元."),
    "negative": N_("The investment completed cannot be negative ({value})."),
    "over_limit": N_("{value} is over the limit of {limit}万元: please check the unit."),
    "bad_date": N_("{value} is not a date. Write it like 2026-11-18."),
    "future": N_("The date {date} is in the future."),
    "before_earlier": N_("The date {date} is before the project's earlier stage ({earlier})."),
    "not_next": N_("Project {project} cannot claim that stage now."),
    "claim_pending": N_("Project {project} already has a stage claim awaiting confirmation."),
    "no_claim": N_("Project {project} has no stage claim awaiting confirmation."),
    "not_eligible": N_("That official does not handle issues at this level."),
}
FIELDS = {
    "text": N_("description"),
    "note": N_("note"),
    "department": N_("department"),
    "files": N_("files"),
    "file": N_("file"),
    "invested": N_("investment completed"),
    "date": N_("date"),
    "stage": N_("stage"),
    "claim": N_("stage claim"),
    "progress": N_("progress report"),
    "official": N_("official"),
    "rating": N_("rating"),
}
ROW_REASONS = {
    "missing_column": N_("the column {column} is missing from the header"),
    "unknown_column": N_("unknown column {column}"),
    "duplicate_column": N_("the column {column} appears more than once in the header"),
    "empty": N_("the file has no data rows"),
    "extra_cells": N_("more cells than columns in the header"),
    "required": N_("{column} is required"),
    "duplicate": N_("the code {value} appears twice in this file"),
    "duplicate_value": N_("{column} {value} already belongs to {other}"),
    "too_long": N_("{column} is longer than {limit} characters"),
    "bad_code": N_("{value} is not a valid {column}"),
    "bad_date": N_("{column}: {value} is not a date (YYYY-MM-DD)"),
    "bad_int": N_("{column}: {value} is not a whole number of at least 0"),
    "bad_digits": N_("{column}: {value} must be written with the half-width digits 0-9"),
    "too_large": N_("{column}: {value} is over the limit of {limit}"),
    "unknown_ref": N_("{column}: no record with the code {value}"),
    "credit_length": N_("credit code {value} must be 18 characters"),
    "credit_alphabet": N_("credit code {value} has a character not allowed (I, O, Z, S, V …)"),
    "credit_check": N_("credit code {value} fails its check character"),
    # a holiday schedule's own (ztc calendar load)
    "wrong_year": N_("{value} is not in {year}"),
    "bad_kind": N_("kind: {value} is neither holiday nor workday"),
    "duplicate_day": N_("the date {value} appears twice in this file"),
    "not_utf8": N_("the file is not UTF-8 text"),
}


def error_text(error: DomainError, locale: str) -> str:
    """A domain error as a sentence in the reader's language."""
    _ = gettext_for(locale)
    params: dict[str, Any] = dict(error.params)
    reason = params.get("reason")
    if error.code == "invite_refused" and reason in INVITE_REASONS:
        return _(INVITE_REASONS[reason])
    if error.code == "too_many" and params.get("limit") in LIMITS:
        return _(LIMITS[params["limit"]]).format_map(_Blank(params))
    if error.code == "invalid_input" and reason in INPUT_REASONS:
        field = params.get("field", "")
        params["field"] = _(FIELDS[field]) if field in FIELDS else field
        return _(INPUT_REASONS[reason]).format(**params)
    if "entity" in params:
        params["entity"] = _(ENTITIES.get(params["entity"], params["entity"]))
    if "action" in params:
        params["action"] = _(ACTIONS.get(params["action"], params["action"]))
    if isinstance(params.get("status"), Status):
        params["status"] = label(params["status"], locale)
    return _(DOMAIN_ERRORS.get(error.code, N_("Invalid {field}."))).format_map(_Blank(params))


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def row_error_text(source: str, error: RowError, locale: str) -> str:
    """`FILE:LINE: reason` in the reader's language."""
    reason = gettext_for(locale)(ROW_REASONS[error.reason]).format_map(_Blank(error.params))
    return f"{source}:{error.line}: {reason}"


def when(value: str | None, tz: ZoneInfo, locale: str) -> str:
    """An ISO moment (the JSON's) as `moment` writes it; a dash for none."""
    return moment(datetime.fromisoformat(value) if value else None, tz, locale)


def issue_text(data: dict[str, Any], tz: ZoneInfo, locale: str) -> str:
    """An issue (the JSON shape) as a few readable lines, timeline included when present (the CLI
    gives it names for the codes, and the project's `region`)."""
    _ = gettext_for(locale)
    lines = [
        _("Issue {number} · project {project} · {category} · {urgency}").format(
            number=data["number"],
            project=data["project"],
            category=label(Category(data["category"]), locale),
            urgency=label(Urgency(data["urgency"]), locale),
        ),
        *([_("Region: {region}").format(region=data["region"])] if data.get("region") else []),
        _("Status: {status} · level: {level} · handler: {assignee}").format(
            status=label(Status(data["status"]), locale),
            level=label(Level(data["level"]), locale),
            assignee=data["assignee"] or _("nobody yet"),
        ),
        _("Accept by: {accept} · resolve by: {resolve}").format(
            accept=when(data["accept_due"], tz, locale),
            resolve=when(data["resolve_due"], tz, locale),
        ),
    ]
    if data["co_handlers"]:
        lines.append(
            _("Co-handlers: {departments}").format(departments=_list(data["co_handlers"], locale))
        )
    if data["provisional"]:
        lines.append(_("Deadline provisional: next year's holidays are not known yet."))
    if data.get("repeats"):
        lines.append(_("Repeat reports: {count}").format(count=data["repeats"]))
    for event in data.get("events", []):
        note = f" — {event['note']}" if event["note"] else ""
        kind = label(EventKind(event["kind"]), locale)
        lines.append(f"  {when(event['at'], tz, locale)}  {kind}  {event['actor']}{note}")
    return "\n".join(lines)


def _list(items: list[str], locale: str) -> str:
    return ("、" if locale.startswith("zh") else ", ").join(items)


def moment(value: datetime | None, tz: ZoneInfo, locale: str) -> str:
    """A moment to the minute in the city's zone, in the one style of each locale for every
    deadline and time a person reads ("2026年12月1日 09:00", "Dec 1, 2026, 9:00 AM"): the
    locale's medium date (the year always written out) and its short time, no seconds; a dash
    for none."""
    if value is None:
        return "—"
    local = value.astimezone(tz)
    return _moment(local.date(), local.time().replace(second=0, microsecond=0), locale)


@lru_cache(maxsize=8192)
def _moment(day: date, clock: time, locale: str) -> str:
    """A local day and minute in words (a bulletin's list repeats them: babel once each)."""
    where = Locale.parse(locale if locale in LOCALES else DEFAULT_LOCALE)
    day_text = format_date(day, "medium", locale=where)
    clock_text = format_time(clock, "short", locale=where)  # no zone in the short pattern
    pattern = str(where.datetime_formats["medium"]).replace("'", "")
    return pattern.replace("{1}", day_text).replace("{0}", clock_text)


def span_text(amount: int, unit: str, locale: str) -> str:
    """A policy span ("5wd", "4h") in words, per locale."""
    if unit == "h":
        return ngettext_for(locale)("{n} hour", "{n} hours", amount).format(n=amount)
    return ngettext_for(locale)("{n} working day", "{n} working days", amount).format(n=amount)


def department_name(department: Department, locale: str) -> str:
    """A department's name in the reader's language (Chinese when no English name is kept)."""
    if locale.startswith("zh"):
        return department.name_zh
    return department.name_en or department.name_zh


def money(wan: int, locale: str) -> str:
    """An amount held in 万元: 亿元/万元 in Chinese, a compact CNY figure elsewhere."""
    if locale.startswith("zh"):
        if wan >= 10_000:
            return format_decimal(wan / 10_000, "#,##0.####", locale=locale) + "亿元"
        return format_decimal(wan, "#,##0", locale=locale) + "万元"
    return format_compact_currency(wan * 10_000, "CNY", locale=locale, fraction_digits=2)
