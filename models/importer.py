"""CSV import of reference data: regions, departments, officials, enterprises, contacts, projects.

UTF-8 with or without BOM, a header row naming each column once, in any order, an empty cell is
"none"; every cell is kept as one line without control characters. Rows are upserted by `code`.
Every row is checked before anything is written; any bad row rejects the whole file
(`CsvRejected` lists each as line + reason code), and the caller's transaction rolls back.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.codes import Category, RegionKind, Role, Stage
from models.credit_code import credit_code_problem, normalize_credit_code
from models.issues.context import Ctx
from models.issues.retier import retier_project
from models.permissions import SYSTEM
from models.rules import Rules
from models.tables.org import Contact, Department, Enterprise, Official, Region
from models.tables.project import Project
from models.text import clean_line

KINDS = ("regions", "departments", "officials", "enterprises", "contacts", "projects")


@dataclass(frozen=True)
class RowError:
    """One problem: the file's line, a reason code and its parameters."""

    line: int
    reason: str
    params: dict[str, str] = field(default_factory=dict)


class CsvRejected(Exception):
    """The file has bad rows; nothing from it is kept."""

    def __init__(self, errors: list[RowError]) -> None:
        """Keep every row's error."""
        self.errors = errors
        super().__init__(f"{len(errors)} bad row(s)")


@dataclass
class ImportResult:
    """What an import did."""

    created: int = 0
    updated: int = 0
    retiered: list[str] = field(default_factory=list)


class _Bad(Exception):
    def __init__(self, reason: str, **params: str) -> None:
        self.reason, self.params = reason, params


@dataclass(frozen=True)
class _Spec:
    model: type[SQLModel]
    required: tuple[str, ...]
    optional: tuple[str, ...]
    refs: dict[str, type[SQLModel]] = field(default_factory=dict)
    unique: tuple[str, ...] = ()


DATE_COLUMNS = (
    "signed_on",
    "started_on",
    "completed_on",
    "production_on",
    "capacity_on",
    "listed_on",
)
SPECS: dict[str, _Spec] = {
    "regions": _Spec(Region, ("code", "name_zh", "kind"), ("name_en",)),
    "departments": _Spec(Department, ("code", "name_zh"), ("name_en", "categories")),
    "officials": _Spec(
        Official,
        ("code", "name", "role"),
        ("title", "region", "department", "portfolio"),
        {"region": Region, "department": Department},
    ),
    "enterprises": _Spec(Enterprise, ("code", "name", "credit_code"), (), unique=("credit_code",)),
    "contacts": _Spec(
        Contact, ("code", "enterprise", "name"), ("phone",), {"enterprise": Enterprise}
    ),
    "projects": _Spec(
        Project,
        ("code", "name", "enterprise", "region", "investment_wan", "stage"),
        ("industry", *DATE_COLUMNS, "leader", "manager", "agent"),
        {
            "enterprise": Enterprise,
            "region": Region,
            "leader": Official,
            "manager": Official,
            "agent": Official,
        },
    ),
}
# 1万亿元 (one trillion yuan): the largest single projects in China are a few 千亿元, so a figure
# above this is a typo (a 元 amount in the 万元 column), and it stays far below PostgreSQL's
# INTEGER limit (2**31 - 1), which would otherwise fail the commit without a line number.
MAX_INVESTMENT_WAN = 100_000_000
# A whole number as Excel exports it: plain ASCII digits, or grouped by thousands ("12,000", the
# "#,##0" format a money column usually has), groups well formed. `int()` alone would also take
# full-width or Arabic-Indic digits, "_", a sign or inner spaces: slips more likely than values.
_WHOLE = re.compile(r"[0-9]+|[1-9][0-9]{0,2}(?:,[0-9]{3})+")


def _enum(enum: Any, column: str, value: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        raise _Bad("bad_code", column=column, value=value) from None


def _date(column: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _Bad("bad_date", column=column, value=value) from None


def _int(column: str, value: str, limit: int) -> int:
    if not _WHOLE.fullmatch(value):
        wide = any(char.isdecimal() and not char.isascii() for char in value)
        raise _Bad("bad_digits" if wide else "bad_int", column=column, value=value)
    number = int(value.replace(",", ""))
    if number > limit:
        raise _Bad("too_large", column=column, value=value, limit=str(limit))
    return number


def _categories(value: str | None) -> list[str]:
    codes = [c.strip() for c in (value or "").split(";") if c.strip()]
    for code in codes:
        _enum(Category, "categories", code)
    return codes


def _credit(value: str) -> str:
    code = normalize_credit_code(value)
    problem = credit_code_problem(code)
    if problem:
        raise _Bad(f"credit_{problem}", value=value)
    return code


Row = dict[str, str | None]
Refs = dict[str, dict[str, int]]


def _fields(kind: str, row: Row, refs: Refs) -> dict[str, Any]:
    """The model fields for a row (raises _Bad); references resolved to ids."""

    def ref(column: str) -> int | None:
        value = row.get(column)
        if value is None:
            return None
        if value not in refs[column]:
            raise _Bad("unknown_ref", column=column, value=value)
        return refs[column][value]

    builders: dict[str, Callable[[], dict[str, Any]]] = {
        "regions": lambda: {
            "name_zh": row["name_zh"],
            "name_en": row.get("name_en"),
            "kind": _enum(RegionKind, "kind", row["kind"] or ""),
        },
        "departments": lambda: {
            "name_zh": row["name_zh"],
            "name_en": row.get("name_en"),
            "categories": _categories(row.get("categories")),
        },
        "officials": lambda: _official(row, ref),
        "enterprises": lambda: {
            "name": row["name"],
            "credit_code": _credit(row["credit_code"] or ""),
        },
        "contacts": lambda: {
            "enterprise_id": ref("enterprise"),
            "name": row["name"],
            "phone": row.get("phone"),
        },
        "projects": lambda: _project(row, ref),
    }
    return builders[kind]()


def _official(row: Row, ref: Callable[[str], int | None]) -> dict[str, Any]:
    role = _enum(Role, "role", row["role"] or "")
    fields = {
        "name": row["name"],
        "title": row.get("title"),
        "role": role,
        "region_id": ref("region"),
        "department_id": ref("department"),
    }
    if role in (Role.SERVICE_AGENT, Role.REGION_HEAD) and fields["region_id"] is None:
        raise _Bad("required", column="region")
    if role == Role.DEPT_HEAD and fields["department_id"] is None:
        raise _Bad("required", column="department")
    return fields


def _project(row: Row, ref: Callable[[str], int | None]) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": row["name"],
        "industry": row.get("industry"),
        "enterprise_id": ref("enterprise"),
        "region_id": ref("region"),
        "investment_wan": _int("investment_wan", row["investment_wan"] or "", MAX_INVESTMENT_WAN),
        "stage": _enum(Stage, "stage", row["stage"] or ""),
        "leader_id": ref("leader"),
        "manager_id": ref("manager"),
        "agent_id": ref("agent"),
    }
    fields.update({column: _date(column, row.get(column)) for column in DATE_COLUMNS})
    return fields


def _read(text: str) -> tuple[list[str], list[tuple[int, Row]]]:
    """The header and the non-blank rows, each with the line it starts on."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = [_cell(name) or "" for name in reader.fieldnames or []]
    reader.fieldnames = header
    rows: list[tuple[int, Row]] = []
    for raw in reader:
        # the record ends on line_num; quoted cells may span lines, and blank lines are skipped
        cells = [v for v in raw.values() if isinstance(v, str)]
        line = reader.line_num - sum(v.count("\n") for v in cells)
        if raw.get(None):
            rows.append((line, {"\0": "extra"}))
            continue
        cleaned = {k: _cell(v) for k, v in raw.items()}
        if any(cleaned.values()):
            rows.append((line, cleaned))
    return header, rows


def _cell(value: object) -> str | None:
    """A cell as kept: one line, control characters out (Excel's \\v a space), trimmed; or None."""
    return (clean_line(value).strip() if isinstance(value, str) else None) or None


def _check_lengths(model: type[SQLModel], code: str, fields: dict[str, Any]) -> None:
    """Refuse a text longer than its column, the same way on every database."""
    columns = model.__table__.c  # type: ignore[attr-defined]  # set by SQLAlchemy, not declared
    for name, value in (("code", code), *fields.items()):
        limit = getattr(columns[name].type, "length", None) if name in columns else None
        if isinstance(value, str) and limit and len(value) > limit:
            raise _Bad("too_long", column=name, limit=str(limit))


async def _refs(session: AsyncSession, spec: _Spec) -> Refs:
    refs: Refs = {}
    for column, model in spec.refs.items():
        coded = select(model.code, model.id)  # type: ignore[attr-defined]  # a ref is a coded table
        result = await session.exec(coded)
        refs[column] = {code: id_ for code, id_ in result.all()}
    return refs


def _check_header(spec: _Spec, header: list[str]) -> list[RowError]:
    errors = [
        RowError(1, "missing_column", {"column": c}) for c in spec.required if c not in header
    ]
    known = {*spec.required, *spec.optional}
    errors += [RowError(1, "unknown_column", {"column": c}) for c in header if c not in known]
    # csv.DictReader would keep the last of two same-named cells and drop the other unseen.
    errors += [
        RowError(1, "duplicate_column", {"column": c})
        for c in dict.fromkeys(header)
        if c in known and header.count(c) > 1
    ]
    return errors


async def import_csv(
    *, session: AsyncSession, rules: Rules, kind: str, text: str, now: datetime
) -> ImportResult:
    """Check every row of a CSV of `kind`, then upsert them all by code, or raise CsvRejected."""
    spec = SPECS[kind]
    header, rows = _read(text)
    if not header:
        raise CsvRejected([RowError(1, "empty", {})])
    errors = _check_header(spec, header)
    if errors or not rows:
        raise CsvRejected(errors or [RowError(1, "empty", {})])
    refs = await _refs(session, spec)
    parsed: dict[str, dict[str, Any]] = {}
    lines: dict[str, int] = {}
    for line, row in rows:
        try:
            if "\0" in row:
                raise _Bad("extra_cells")
            missing = next((c for c in spec.required if not row.get(c)), None)
            if missing:
                raise _Bad("required", column=missing)
            code = row["code"] or ""
            if code in parsed:
                raise _Bad("duplicate", value=code)
            fields = _fields(kind, row, refs)
            _check_lengths(spec.model, code, fields)
            parsed[code] = fields
            lines[code] = line
        except _Bad as bad:
            errors.append(RowError(line, bad.reason, bad.params))
    errors += await _unique_conflicts(session, spec, parsed, lines)
    if errors:
        raise CsvRejected(sorted(errors, key=lambda e: e.line))
    return await _upsert(session=session, rules=rules, spec=spec, parsed=parsed, now=now)


async def _unique_conflicts(
    session: AsyncSession, spec: _Spec, parsed: dict[str, dict[str, Any]], lines: dict[str, int]
) -> list[RowError]:
    """Rows whose unique values (besides the code) repeat in the file or belong to another code."""
    model: Any = spec.model
    errors: list[RowError] = []
    for column in spec.unique:
        owner: dict[Any, str] = {}
        values = {fields[column] for fields in parsed.values()}
        taken = await session.exec(
            select(model.code, getattr(model, column)).where(getattr(model, column).in_(values))
        )
        stored = {value: code for code, value in taken.all()}
        for code, fields in parsed.items():
            value = fields[column]
            other = owner.setdefault(value, code)  # an earlier row of this file
            if other == code:
                other = stored.get(value, code)  # another record already in the database
            if other != code:
                params = {"column": column, "value": str(value), "other": other}
                errors.append(RowError(lines[code], "duplicate_value", params))
    return errors


async def _upsert(
    *,
    session: AsyncSession,
    rules: Rules,
    spec: _Spec,
    parsed: dict[str, dict[str, Any]],
    now: datetime,
) -> ImportResult:
    model: Any = spec.model
    existing = {
        obj.code: obj
        for obj in (await session.exec(select(model).where(model.code.in_(parsed)))).all()
    }
    result = ImportResult()
    changed_tier: list[Any] = []
    for code, fields in parsed.items():
        obj = existing.get(code)
        if obj is None:
            session.add(model(code=code, **fields))
            result.created += 1
            continue
        if model is Project and rules.level_for(obj.investment_wan) != rules.level_for(
            fields["investment_wan"]
        ):
            changed_tier.append(obj)
        for name, value in fields.items():
            setattr(obj, name, value)
        session.add(obj)
        result.updated += 1
    await session.flush()
    ctx = Ctx(session=session, rules=rules, actor=SYSTEM, now=now)
    for project in changed_tier:
        result.retiered.extend(await retier_project(ctx, project))
    return result
