"""The figures of one scope (the city, a region, a department, an official's own) over a period,
as at a moment: what `/stats`, `ztc stats` and `ztc bulletin --format json` show.

Drawn from the same book as the bulletins (models/bulletin.py), issue by issue with `counts`
(the bulletins sum the projects' tallies the database counted; tests/services/test_tallies.py
holds the two to the same numbers), with the rates of models/figures.py, so a scope and period
reads the same in every output. JSON keys are a contract (`<rate>_rate` with its numerator and
denominator), used by other tools as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.bulletin import Book, counts, load_book
from models.codes import Level, RegionKind, Role
from models.errors import NotFound
from models.figures import RATE_KEYS, json_key
from models.periods import Period
from models.permissions import Actor
from models.report_data import Bulletin, IssueCounts, RecordCheck
from models.rules import Rules
from models.tables.org import Department, Official, Region
from models.tallies import IssueFacts

ScopeKind = Literal["city", "region", "department", "official"]
CITY_LEVELS = (Level.CITY_DEPUTY, Level.CITY_PRINCIPAL)
COUNT_KEYS = (
    "new", "accepted", "resolved", "overdue", "escalated", "rated", "unrated", "reopened"
)  # fmt: skip


@dataclass(frozen=True)
class Scope:
    """Whose figures: the city, a region or a department (by code), or one official's own
    (a deputy: the issues at the city's levels and those assigned to them)."""

    kind: ScopeKind
    code: str | None = None
    official_id: int | None = None


@dataclass(frozen=True)
class ScopeFigures:
    """A scope's counts over a period as at the cut, with its names."""

    scope: Scope
    name_zh: str
    name_en: str | None
    period: Period
    cut: datetime
    issues: IssueCounts


def scope_of(actor: Actor, region_code: str | None, department_code: str | None) -> Scope:
    """The scope an official's role lets them see: the city for principals and admins, the
    deputy's own (city levels and assigned), a department head's department, else the region."""
    if actor.role in (Role.ADMIN, Role.CITY_PRINCIPAL):
        return Scope("city")
    if actor.role == Role.CITY_DEPUTY:
        return Scope("official", official_id=actor.id)
    if actor.role == Role.DEPT_HEAD and department_code:
        return Scope("department", department_code)
    return Scope("region", region_code) if region_code else Scope("official", official_id=actor.id)


async def actor_scope(*, session: AsyncSession, actor: Actor) -> Scope:
    """`scope_of` with the codes of the actor's region and department looked up."""
    region = await session.get(Region, actor.region_id) if actor.region_id else None
    unit = await session.get(Department, actor.department_id) if actor.department_id else None
    return scope_of(actor, region.code if region else None, unit.code if unit else None)


async def _officials_of(session: AsyncSession, department_id: int | None) -> set[int]:
    query = select(Official.id).where(Official.department_id == department_id)
    return {i for i in (await session.exec(query)).all() if i is not None}


async def _issues_of(
    session: AsyncSession, book: Book, scope: Scope
) -> tuple[list[IssueFacts], Any]:
    """The scope's issues in the book, and the table row that names the scope (or None)."""
    if scope.kind == "city":
        city = next((r for r in book.regions if r.kind == RegionKind.CITY), None)
        return list(book.issues), city
    if scope.kind == "region":
        region = next((r for r in book.regions if r.code == scope.code), None)
        if region is None:
            raise NotFound(entity="region", key=scope.code or "")
        mine = {p.id for p in book.projects if p.region_id == region.id}
        return [i for i in book.issues if i.project_id in mine], region
    if scope.kind == "department":
        query = select(Department).where(Department.code == scope.code)
        department = (await session.exec(query)).first()
        if department is None:
            raise NotFound(entity="department", key=scope.code or "")
        staff = await _officials_of(session, department.id)
        shared = {row.issue_id for row, d in book.cohandling if d.id == department.id}
        chosen = [i for i in book.issues if i.id in shared or i.assignee_id in staff]
        return chosen, department
    official = await session.get(Official, scope.official_id) if scope.official_id else None
    if official is None:
        raise NotFound(entity="official", key=str(scope.official_id))
    city_wide = official.role == Role.CITY_DEPUTY
    chosen = [
        i
        for i in book.issues
        if i.assignee_id == official.id or (city_wide and book.at_cut(i).level in CITY_LEVELS)
    ]
    return chosen, official


async def scope_figures(
    *, session: AsyncSession, rules: Rules, scope: Scope, period: Period, cut: datetime
) -> ScopeFigures:
    """One scope's figures over `period` as at `cut`. Raises NotFound for an unknown code."""
    book = await load_book(session=session, rules=rules, period=period, cut=cut)
    issues, named = await _issues_of(session, book, scope)
    name_zh = str(getattr(named, "name_zh", None) or getattr(named, "name", ""))
    return ScopeFigures(
        scope, name_zh, getattr(named, "name_en", None), period, cut, counts(book, issues)
    )


def figures_json(issues: IssueCounts) -> dict[str, Any]:
    """A scope's figures as every JSON output shows them: `on_time_accept_rate` … (0..1, or null
    when the denominator is 0), each with `…_numerator` and `…_denominator`, and the counts."""
    out: dict[str, Any] = {}
    for key in RATE_KEYS:
        name = json_key(key)
        numerator, denominator = issues.parts(key)
        out[name] = issues.rate(key)
        out[f"{name}_numerator"], out[f"{name}_denominator"] = numerator, denominator
    out["counts"] = {k: getattr(issues, k) for k in COUNT_KEYS}
    return out


def period_cut(period: Period, rules: Rules, now: datetime) -> datetime:
    """The moment a period's figures are drawn as at, unless one is given: its end, or now
    while it runs (the bulletin of a period is drawn as at the same cut by every format)."""
    return min(period.bounds(rules.tz)[1], now)


def _iso(moment: datetime, rules: Rules) -> str:
    return moment.astimezone(rules.tz).isoformat()


def bulletin_json(bulletin: Bulletin, rules: Rules) -> dict[str, Any]:
    """A bulletin's figures as `ztc bulletin --format json` and `ztc stats --json` print them:
    the scope's, then each region's in the ranking's order."""
    return {
        "period": bulletin.period,
        "as_at": _iso(bulletin.cut, rules),
        "scope": bulletin.scope,
        "name": bulletin.scope_name_zh,
        "name_en": bulletin.scope_name_en,
        **figures_json(bulletin.issues),
        "regions": [
            {
                "code": row.code,
                "name": row.name_zh,
                "name_en": row.name_en,
                "rank": row.rank,
                "score": row.score,
                "flag": row.flag,
                "below": list(row.below),
                **figures_json(row.issues),
            }
            for row in bulletin.regions
        ],
    } | _record(bulletin.record, rules)


def _record(record: RecordCheck | None, rules: Rules) -> dict[str, Any]:
    """`record`: what a bulletin's check of the record found (models/audit.py); nothing for
    figures drawn without one (`ztc stats`)."""
    if record is None:
        return {}
    broken = {"issue": record.broken_issue, "event_id": record.broken_event}
    check = {
        "verified": record.verified,
        "at": _iso(record.at, rules),
        "events": record.events,
        "head": {"seq": record.head_seq, "hash": record.head_hash},
        "first_broken": None if record.verified else broken,
    }
    return {"record": check}


def scope_json(figures: ScopeFigures, rules: Rules) -> dict[str, Any]:
    """One scope's figures (a department's, an official's own) in the same keys."""
    return {
        "period": figures.period.key,
        "as_at": _iso(figures.cut, rules),
        "scope": figures.scope.code or figures.scope.kind,
        "name": figures.name_zh,
        "name_en": figures.name_en,
        **figures_json(figures.issues),
        "regions": [],
    }
