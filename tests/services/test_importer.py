"""The CSV importer (models.importer) on a real database: the examples, upserts, every rejection.

Contract: UTF-8 with or without BOM, a header row, columns in any order, empty cell = none; rows
are upserted by code; any bad row rejects the whole file (`CsvRejected`, line + reason code) and
the caller's rollback leaves the tables as they were.
"""

from __future__ import annotations

import csv
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from locales.formats import ROW_REASONS
from models.codes import Category, EventKind, Level, RegionKind, Role, Stage, Status
from models.credit_code import credit_check_char
from models.importer import (
    KINDS,
    MAX_INVESTMENT_WAN,
    SPECS,
    CsvRejected,
    ImportResult,
    RowError,
    import_csv,
)
from models.issues.context import Ctx
from models.issues.intake import report_issue
from models.permissions import actor_of
from models.rules import Rules
from models.tables.issue import Issue, IssueEvent
from models.tables.org import Contact, Department, Enterprise, Official, Region
from models.tables.project import Project
from tests.support.factories import TZ
from tests.support.paths import EXAMPLES

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=TZ)  # a Friday
MODELS: dict[str, Any] = {
    "regions": Region,
    "departments": Department,
    "officials": Official,
    "enterprises": Enterprise,
    "contacts": Contact,
    "projects": Project,
}
PROJECT_HEADER = (
    "code,name,enterprise,region,industry,investment_wan,stage,signed_on,started_on,"
    "completed_on,production_on,capacity_on,listed_on,leader,manager,agent"
)


def credit(first17: str) -> str:
    """A valid credit code from its first 17 characters."""
    return first17 + credit_check_char(first17)


GOOD_CREDIT = credit("91320800MA1TE0T01")
GOOD_CREDIT_2 = credit("91320800MA1TE0T02")


def example(kind: str) -> str:
    """The text of a sample file."""
    return (EXAMPLES / f"{kind}.csv").read_text(encoding="utf-8")


def example_rows(kind: str) -> list[dict[str, str]]:
    """The data rows of a sample file."""
    with (EXAMPLES / f"{kind}.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


async def load(session: AsyncSession, rules: Rules, kind: str, text: str) -> ImportResult:
    """Import one file's text at NOW."""
    return await import_csv(session=session, rules=rules, kind=kind, text=text, now=NOW)


async def load_examples(
    session: AsyncSession, rules: Rules, kinds: tuple[str, ...] = KINDS
) -> dict[str, ImportResult]:
    """Import the sample files in order (flushed, not committed)."""
    return {kind: await load(session, rules, kind, example(kind)) for kind in kinds}


async def count(session: AsyncSession, model: Any) -> int:
    """Rows in a table."""
    return (await session.exec(select(func.count()).select_from(model))).one()


async def rejected(session: AsyncSession, rules: Rules, kind: str, text: str) -> list[RowError]:
    """Import text that must be rejected; roll back; return the errors."""
    with pytest.raises(CsvRejected) as info:
        await load(session, rules, kind, text)
    await session.rollback()
    assert info.value.errors, "CsvRejected must carry at least one error"
    return info.value.errors


def reasons(errors: list[RowError]) -> list[tuple[int, str]]:
    """(line, reason) of each error."""
    return [(e.line, e.reason) for e in errors]


async def by_code(session: AsyncSession, model: Any, code: str) -> Any:
    """A row by code, or None."""
    return (await session.exec(select(model).where(model.code == code))).first()


async def session_get(session: AsyncSession, model: Any, id_: int) -> Any:
    """session.get that must find the row."""
    found = await session.get(model, id_)
    assert found is not None
    return found


# --- the sample files ---


async def test_every_example_file_imports_in_order(
    session: AsyncSession, rules: Rules, engine: AsyncEngine
) -> None:
    results = await load_examples(session, rules)
    await session.commit()
    async with AsyncSession(engine) as fresh:
        for kind in KINDS:
            rows = example_rows(kind)
            assert rows, kind
            assert (results[kind].created, results[kind].updated) == (len(rows), 0), kind
            assert results[kind].retiered == []
            assert await count(fresh, MODELS[kind]) == len(rows), kind


async def test_examples_field_values(session: AsyncSession, rules: Rules) -> None:
    await load_examples(session, rules)
    p01 = await by_code(session, Project, "P01")
    assert p01.investment_wan == 600000 and p01.stage == Stage.IN_PRODUCTION
    assert p01.signed_on.isoformat() == "2023-03-15" and p01.capacity_on is None
    leader = await session.get(Official, p01.leader_id)
    assert leader.code == "principal-b"
    p08 = await by_code(session, Project, "P08")
    assert (p08.leader_id, p08.manager_id, p08.agent_id) == (None, None, None)
    zgj = await by_code(session, Department, "zgj")
    assert zgj.categories == ["land", "planning"]
    head = await by_code(session, Official, "hetdz-head")
    assert head.role == Role.REGION_HEAD and head.department_id is None
    region = await session.get(Region, head.region_id)
    assert region.code == "hetdz" and region.kind == RegionKind.PARK
    c01 = await by_code(session, Contact, "C01")
    assert c01.phone == "13851701023"
    e01 = await by_code(session, Enterprise, "E01")
    assert e01.credit_code == "91320800MA142QXJN5"


async def test_reimport_updates_and_creates_nothing(
    session: AsyncSession, rules: Rules, engine: AsyncEngine
) -> None:
    await load_examples(session, rules)
    await session.commit()
    again = await load_examples(session, rules)
    for kind in KINDS:
        assert (again[kind].created, again[kind].updated) == (0, len(example_rows(kind))), kind
        assert again[kind].retiered == []
    changed = example("regions").replace("qjp,清江浦区,", "qjp,清江浦区（新）,")
    assert changed != example("regions")
    result = await load(session, rules, "regions", changed)
    assert (result.created, result.updated) == (0, 10)
    await session.commit()
    async with AsyncSession(engine) as fresh:
        assert await count(fresh, Region) == 10
        assert (await by_code(fresh, Region, "qjp")).name_zh == "清江浦区（新）"
        assert (await by_code(fresh, Region, "haq")).name_zh == "淮安区"


async def test_reimport_mixes_created_and_updated(session: AsyncSession, rules: Rules) -> None:
    await load(session, rules, "regions", "code,name_zh,kind\nr1,甲区,district\n")
    result = await load(
        session, rules, "regions", "code,name_zh,kind\nr1,甲区改,county\nr2,乙区,park\n"
    )
    assert (result.created, result.updated) == (1, 1)
    r1 = await by_code(session, Region, "r1")
    assert (r1.name_zh, r1.kind) == ("甲区改", RegionKind.COUNTY)


# --- format: BOM, column order, quoting, blank lines ---


async def test_bom_and_other_column_order(session: AsyncSession, rules: Rules) -> None:
    text = "\ufeffkind,name_en,code,name_zh\r\npark,Test Park,tp,测试园区\r\ncity,,c,淮安市\r\n"
    result = await load(session, rules, "regions", text)
    assert (result.created, result.updated) == (2, 0)
    park = await by_code(session, Region, "tp")
    assert (park.name_zh, park.name_en, park.kind) == ("测试园区", "Test Park", RegionKind.PARK)
    city = await by_code(session, Region, "c")
    assert city.name_en is None  # empty cell = none


async def test_examples_with_bom_and_reversed_columns(session: AsyncSession, rules: Rules) -> None:
    for kind in KINDS:
        rows = list(csv.reader(example(kind).splitlines()))
        flipped = "\n".join(",".join(f'"{c}"' for c in reversed(row)) for row in rows)
        result = await load(session, rules, kind, "\ufeff" + flipped + "\n")
        assert result.created == len(rows) - 1, kind
    p02 = await by_code(session, Project, "P02")
    assert p02.investment_wan == 100000 and p02.industry == "电子信息"


async def test_quoted_cell_with_comma_and_newline(session: AsyncSession, rules: Rules) -> None:
    text = (
        "code,name_zh,name_en,kind\n"
        'q1,"甲,乙","Line one, with comma\nline two",county\n'
        "q2,丙,,district\n"
    )
    result = await load(session, rules, "regions", text)
    assert result.created == 2
    q1 = await by_code(session, Region, "q1")
    assert q1.name_zh == "甲,乙"
    assert q1.name_en == "Line one, with comma line two"  # a name is one line


async def test_line_numbers_count_physical_lines(session: AsyncSession, rules: Rules) -> None:
    # Line 2-3: one record over two lines; line 4 blank; line 5 the bad row.
    text = 'code,name_zh,name_en,kind\nq1,甲,"two\nlines",county\n\nq2,乙,,village\n'
    errors = await rejected(session, rules, "regions", text)
    assert reasons(errors) == [(5, "bad_code")]


async def test_cells_are_trimmed(session: AsyncSession, rules: Rules) -> None:
    await load(session, rules, "regions", " code , name_zh ,kind\n  t1 ,  甲  , park \n")
    t1 = await by_code(session, Region, "t1")
    assert (t1.name_zh, t1.kind) == ("甲", RegionKind.PARK)


async def test_control_characters_are_cleaned_from_every_cell(
    session: AsyncSession, rules: Rules, engine: AsyncEngine
) -> None:
    # Excel writes \v for a line break in a cell; a NUL would fail PostgreSQL's commit.
    text = "code\x00,name_zh,name_en,kind\x0b\nt1\x00,甲\x0b乙\x00丙,\x0bEast\x07 Gate\x1b,park\n"
    await load(session, rules, "regions", text)
    await session.commit()
    async with AsyncSession(engine) as fresh:
        t1 = await by_code(fresh, Region, "t1")
        assert (t1.name_zh, t1.name_en, t1.kind) == ("甲 乙丙", "East Gate", RegionKind.PARK)


async def test_fewer_cells_than_header_means_empty_optional(
    session: AsyncSession, rules: Rules
) -> None:
    await load(session, rules, "regions", "code,name_zh,kind,name_en\nt1,甲,park\n")
    assert (await by_code(session, Region, "t1")).name_en is None


# --- rejection rolls everything back ---


async def test_bad_row_among_good_rows_keeps_nothing(
    session: AsyncSession, rules: Rules, engine: AsyncEngine
) -> None:
    await load(session, rules, "regions", example("regions"))
    await session.commit()
    before = await count(session, Region)
    text = (
        "code,name_zh,name_en,kind\n"
        "new1,新区一,,district\n"  # line 2: a new, good row
        "qjp,清江浦区（改）,,district\n"  # line 3: a good update of an existing row
        "new2,新区二,,township\n"  # line 4: bad kind
        "new3,新区三,,park\n"  # line 5: good
    )
    errors = await rejected(session, rules, "regions", text)
    assert reasons(errors) == [(4, "bad_code")]
    assert errors[0].params == {"column": "kind", "value": "township"}
    async with AsyncSession(engine) as fresh:
        assert await count(fresh, Region) == before == 10
        assert (await by_code(fresh, Region, "qjp")).name_zh == "清江浦区"
        for code in ("new1", "new2", "new3"):
            assert await by_code(fresh, Region, code) is None


async def test_bad_row_on_empty_table_keeps_nothing(
    session: AsyncSession, rules: Rules, engine: AsyncEngine
) -> None:
    rows = example("regions").rstrip("\n") + "\nbad,坏,,nowhere\n"
    errors = await rejected(session, rules, "regions", rows)
    assert reasons(errors) == [(12, "bad_code")]
    async with AsyncSession(engine) as fresh:
        assert await count(fresh, Region) == 0


async def test_bad_project_row_keeps_earlier_files_and_no_projects(
    session: AsyncSession, rules: Rules, engine: AsyncEngine
) -> None:
    await load_examples(session, rules, KINDS[:-1])
    await session.commit()
    text = example("projects").replace(
        "P16,传艺钠电正负极材料项目,E04,hagy,", "P16,传艺钠电正负极材料项目,E04,atlantis,"
    )
    errors = await rejected(session, rules, "projects", text)
    assert reasons(errors) == [(17, "unknown_ref")]
    assert errors[0].params == {"column": "region", "value": "atlantis"}
    async with AsyncSession(engine) as fresh:
        assert await count(fresh, Project) == 0
        assert await count(fresh, Official) == len(example_rows("officials"))


async def test_every_bad_row_is_reported(session: AsyncSession, rules: Rules) -> None:
    text = "code,name_zh,kind\na,甲,city\nb,,park\nc,丙,moon\na,丁,park\n"
    errors = await rejected(session, rules, "regions", text)
    assert reasons(errors) == [(3, "required"), (4, "bad_code"), (5, "duplicate")]


# --- each reason ---


@pytest.fixture
async def base(session: AsyncSession, rules: Rules) -> AsyncSession:
    """The sample regions, departments, officials, enterprises and contacts (flushed)."""
    await load_examples(session, rules, KINDS[:-1])
    return session


def project_row(**overrides: str) -> str:
    """A good project row (P99 in lsx), with some cells replaced."""
    cells = dict.fromkeys(PROJECT_HEADER.split(","), "")
    cells.update(
        code="P99",
        name="测试项目",
        enterprise="E01",
        region="lsx",
        investment_wan="12000",
        stage="signed",
        signed_on="2026-01-05",
    )
    cells.update(overrides)
    return ",".join(cells.values())


def projects_file(*rows: str) -> str:
    """A projects file: one good row, then `rows` (from line 3)."""
    return "\n".join([PROJECT_HEADER, project_row(code="P98"), *rows]) + "\n"


REASON_CASES: list[tuple[str, str, str, int, str, dict[str, str]]] = [
    # (id, kind, text, line, reason, params)
    ("missing_column", "regions", "code,name_zh\nx,甲\n", 1, "missing_column", {"column": "kind"}),
    (
        "unknown_column",
        "regions",
        "code,name_zh,kind,colour\nx,甲,city,red\n",
        1,
        "unknown_column",
        {"column": "colour"},
    ),
    (
        "duplicate_column",
        "regions",
        "code,name_zh,kind,name_zh\nx,甲,city,乙\n",
        1,
        "duplicate_column",
        {"column": "name_zh"},
    ),
    ("header_only", "regions", "code,name_zh,name_en,kind\n", 1, "empty", {}),
    ("header_and_blank_lines", "regions", "code,name_zh,name_en,kind\n\n\n", 1, "empty", {}),
    (
        "required_name",
        "regions",
        "code,name_zh,kind\nx,甲,city\ny,,city\n",
        3,
        "required",
        {"column": "name_zh"},
    ),
    (
        "required_code",
        "regions",
        "code,name_zh,kind\nx,甲,city\n,乙,city\n",
        3,
        "required",
        {"column": "code"},
    ),
    (
        "whitespace_is_empty",
        "enterprises",
        f"code,name,credit_code\nE9,  ,{GOOD_CREDIT}\n",
        2,
        "required",
        {"column": "name"},
    ),
    (
        "duplicate_code",
        "regions",
        "code,name_zh,kind\nx,甲,city\ny,乙,park\nx,丙,park\n",
        4,
        "duplicate",
        {"value": "x"},
    ),
    (
        "extra_cells",
        "regions",
        "code,name_zh,kind\nx,甲,city\ny,乙,park,surplus\n",
        3,
        "extra_cells",
        {},
    ),
    (
        "bad_kind",
        "regions",
        "code,name_zh,kind\nx,甲,City\n",
        2,
        "bad_code",
        {"column": "kind", "value": "City"},
    ),
    (
        "bad_role",
        "officials",
        "code,name,role,region\nx1,甲,service_agent,lsx\nx2,乙,mayor,\n",
        3,
        "bad_code",
        {"column": "role", "value": "mayor"},
    ),
    (
        "bad_category",
        "departments",
        "code,name_zh,categories\nd1,甲,land;roads\n",
        2,
        "bad_code",
        {"column": "categories", "value": "roads"},
    ),
    (
        "bad_stage",
        "projects",
        projects_file(project_row(stage="planning")),
        3,
        "bad_code",
        {"column": "stage", "value": "planning"},
    ),
    (
        "bad_date_day",
        "projects",
        projects_file(project_row(started_on="2026-02-30")),
        3,
        "bad_date",
        {"column": "started_on", "value": "2026-02-30"},
    ),
    (
        "bad_date_slashes",
        "projects",
        projects_file(project_row(signed_on="2026/01/05")),
        3,
        "bad_date",
        {"column": "signed_on", "value": "2026/01/05"},
    ),
    (
        "bad_int_negative",
        "projects",
        projects_file(project_row(investment_wan="-1")),
        3,
        "bad_int",
        {"column": "investment_wan", "value": "-1"},
    ),
    (
        "bad_int_yi",
        "projects",
        projects_file(project_row(investment_wan="1.5亿")),
        3,
        "bad_int",
        {"column": "investment_wan", "value": "1.5亿"},
    ),
    (
        "bad_int_decimal",
        "projects",
        projects_file(project_row(investment_wan="15000.5")),
        3,
        "bad_int",
        {"column": "investment_wan", "value": "15000.5"},
    ),
    (
        "bad_digits_full_width",
        "projects",
        projects_file(project_row(investment_wan="１０００")),
        3,
        "bad_digits",
        {"column": "investment_wan", "value": "１０００"},
    ),
    (
        "too_large",
        "projects",
        projects_file(project_row(investment_wan=str(MAX_INVESTMENT_WAN + 1))),
        3,
        "too_large",
        {"column": "investment_wan", "limit": str(MAX_INVESTMENT_WAN)},
    ),
    (
        "required_investment",
        "projects",
        projects_file(project_row(investment_wan="")),
        3,
        "required",
        {"column": "investment_wan"},
    ),
    (
        "unknown_region",
        "projects",
        projects_file(project_row(region="atlantis")),
        3,
        "unknown_ref",
        {"column": "region", "value": "atlantis"},
    ),
    (
        "unknown_leader",
        "projects",
        projects_file(project_row(leader="ghost")),
        3,
        "unknown_ref",
        {"column": "leader", "value": "ghost"},
    ),
    (
        "unknown_enterprise",
        "contacts",
        "code,enterprise,name\nC98,E01,甲\nC99,E99,乙\n",
        3,
        "unknown_ref",
        {"column": "enterprise", "value": "E99"},
    ),
    (
        "unknown_department",
        "officials",
        "code,name,role,region,department\nh1,甲,dept_head,city,nope\n",
        2,
        "unknown_ref",
        {"column": "department", "value": "nope"},
    ),
    (
        "credit_check",
        "enterprises",
        f"code,name,credit_code\nE9,甲,{GOOD_CREDIT}\nE10,乙,{GOOD_CREDIT[:-1]}"
        f"{'0' if GOOD_CREDIT[-1] != '0' else '1'}\n",
        3,
        "credit_check",
        {},
    ),
    (
        "credit_length",
        "enterprises",
        "code,name,credit_code\nE9,甲,91320800MA142QXJN\n",
        2,
        "credit_length",
        {"value": "91320800MA142QXJN"},
    ),
    (
        "credit_alphabet",
        "enterprises",
        "code,name,credit_code\nE9,甲,91320800MA142QXJNI\n",
        2,
        "credit_alphabet",
        {"value": "91320800MA142QXJNI"},
    ),
    (
        "region_head_without_region",
        "officials",
        "code,name,role,region\nh1,甲,region_head,\n",
        2,
        "required",
        {"column": "region"},
    ),
    (
        "agent_without_region",
        "officials",
        "code,name,title,role,region,department\na1,甲,代办员,service_agent,,\n",
        2,
        "required",
        {"column": "region"},
    ),
    (
        "dept_head_without_department",
        "officials",
        "code,name,role,region\nd1,甲,dept_head,city\n",
        2,
        "required",
        {"column": "department"},
    ),
]


@pytest.mark.parametrize(
    ("kind", "text", "line", "reason", "params"),
    [pytest.param(*case[1:], id=case[0]) for case in REASON_CASES],
)
async def test_each_reason(
    base: AsyncSession,
    rules: Rules,
    engine: AsyncEngine,
    kind: str,
    text: str,
    line: int,
    reason: str,
    params: dict[str, str],
) -> None:
    session = base
    await session.commit()
    before = await count(session, MODELS[kind])
    errors = await rejected(session, rules, kind, text)
    assert len(errors) == 1, errors
    assert (errors[0].line, errors[0].reason) == (line, reason)
    for key, value in params.items():
        assert errors[0].params.get(key) == value, errors[0].params
    async with AsyncSession(engine) as fresh:
        assert await count(fresh, MODELS[kind]) == before


def test_every_reason_has_a_case() -> None:
    covered = {case[4] for case in REASON_CASES}
    assert covered >= {
        "missing_column",
        "unknown_column",
        "duplicate_column",
        "empty",
        "required",
        "duplicate",
        "extra_cells",
        "bad_code",
        "bad_date",
        "bad_int",
        "bad_digits",
        "too_large",
        "unknown_ref",
        "credit_check",
        "credit_length",
        "credit_alphabet",
    }
    assert covered <= set(ROW_REASONS)  # each is explained to the admin in words
    assert set(SPECS) == set(KINDS)


async def test_zero_byte_file_is_rejected(session: AsyncSession, rules: Rules) -> None:
    errors = await rejected(session, rules, "regions", "")
    assert {e.line for e in errors} == {1}
    assert {e.reason for e in errors} <= {"empty", "missing_column"}


async def test_a_duplicated_header_column_is_named_once(
    session: AsyncSession, rules: Rules
) -> None:
    text = "code,name_zh,kind,name_zh,code,colour,colour\nx,甲,city,乙,y,red,blue\n"
    errors = await rejected(session, rules, "regions", text)
    assert sorted((e.line, e.reason, e.params["column"]) for e in errors) == [
        (1, "duplicate_column", "code"),
        (1, "duplicate_column", "name_zh"),
        (1, "unknown_column", "colour"),  # unknown already: not named a second time
        (1, "unknown_column", "colour"),
    ]


async def test_missing_and_unknown_columns_together(session: AsyncSession, rules: Rules) -> None:
    errors = await rejected(session, rules, "contacts", "code,name,company\nC1,甲,E01\n")
    assert sorted((e.reason, e.params["column"]) for e in errors) == [
        ("missing_column", "enterprise"),
        ("unknown_column", "company"),
    ]


async def test_credit_code_is_normalised(base: AsyncSession, rules: Rules) -> None:
    spaced = GOOD_CREDIT[:6].lower() + " " + GOOD_CREDIT[6:].lower()
    await load(base, rules, "enterprises", f"code,name,credit_code\nE9,甲,{spaced}\n")
    assert (await by_code(base, Enterprise, "E9")).credit_code == GOOD_CREDIT


async def test_officials_roles_and_optional_region(base: AsyncSession, rules: Rules) -> None:
    text = (
        "role,code,name,department,region\n"
        "city_deputy,dx,甲,,\n"
        "admin,ax,乙,,\n"
        "dept_head,hx,丙,rsj,\n"
        "region_head,rx,丁,,lsx\n"
    )
    assert (await load(base, rules, "officials", text)).created == 4
    assert (await by_code(base, Official, "dx")).region_id is None
    rx = await by_code(base, Official, "rx")
    assert (await session_get(base, Region, rx.region_id)).code == "lsx"


# --- limits the database enforces, reported as row errors on every backend ---


async def test_too_long_code_is_a_row_error(session: AsyncSession, rules: Rules) -> None:
    long_code = "r" * 33
    errors = await rejected(
        session, rules, "regions", f"code,name_zh,kind\nok,甲,city\n{long_code},乙,park\n"
    )
    assert reasons(errors) == [(3, "too_long")]
    assert errors[0].params == {"column": "code", "limit": "32"}


async def test_duplicate_credit_code_is_a_row_error(session: AsyncSession, rules: Rules) -> None:
    text = f"code,name,credit_code\nE8,甲,{GOOD_CREDIT_2}\nE9,乙,{GOOD_CREDIT_2}\n"
    errors = await rejected(session, rules, "enterprises", text)
    assert reasons(errors) == [(3, "duplicate_value")]
    assert errors[0].params["other"] == "E8"


async def test_credit_code_of_another_stored_enterprise_is_a_row_error(
    session: AsyncSession, rules: Rules
) -> None:
    await load(session, rules, "enterprises", f"code,name,credit_code\nE8,甲,{GOOD_CREDIT_2}\n")
    await session.commit()
    errors = await rejected(
        session, rules, "enterprises", f"code,name,credit_code\nE9,乙,{GOOD_CREDIT_2}\n"
    )
    assert reasons(errors) == [(2, "duplicate_value")]
    # the same enterprise re-imported with its own code is an update, not a conflict
    again = await load(
        session, rules, "enterprises", f"code,name,credit_code\nE8,甲二,{GOOD_CREDIT_2}\n"
    )
    assert (again.created, again.updated) == (0, 1)


# --- amounts: ASCII digits only, under a cap the database can hold ---


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("１０００", "bad_digits"),  # full-width, as a Chinese IME types them
        ("١٢٣", "bad_digits"),  # Arabic-Indic
        ("１,０００", "bad_digits"),
        ("1_000", "bad_int"),
        ("+5", "bad_int"),
        ("-0", "bad_int"),
        ("1 000", "bad_int"),
        ("1,00", "bad_int"),  # thousands groups must be whole
        ("1,0000", "bad_int"),
        ("0,100", "bad_int"),
        (",100", "bad_int"),
        ("1,000,", "bad_int"),
        ("1，000", "bad_int"),  # a full-width comma
        ("1e3", "bad_int"),
        ("0x10", "bad_int"),
    ],
)
async def test_lenient_amounts_are_row_errors(
    base: AsyncSession, rules: Rules, engine: AsyncEngine, value: str, reason: str
) -> None:
    text = projects_file(project_row(investment_wan=f'"{value}"'), project_row(code="P97"))
    errors = await rejected(base, rules, "projects", text)
    assert reasons(errors) == [(3, reason)]
    assert errors[0].params == {"column": "investment_wan", "value": value}
    async with AsyncSession(engine) as fresh:
        assert await count(fresh, Project) == 0  # the good rows around it are not kept


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (" 5 ", 5),
        ("12,000", 12_000),
        ("1,234,567", 1_234_567),
        (str(MAX_INVESTMENT_WAN), MAX_INVESTMENT_WAN),
        (f"{MAX_INVESTMENT_WAN:,}", MAX_INVESTMENT_WAN),
    ],
)
async def test_amounts_as_excel_writes_them_are_accepted(
    base: AsyncSession, rules: Rules, engine: AsyncEngine, value: str, expected: int
) -> None:
    await load(base, rules, "projects", projects_file(project_row(investment_wan=f'"{value}"')))
    await base.commit()  # the cap itself fits the column, on PostgreSQL too
    async with AsyncSession(engine) as fresh:
        assert (await by_code(fresh, Project, "P99")).investment_wan == expected


@pytest.mark.parametrize("value", [MAX_INVESTMENT_WAN + 1, 2**31, 2**63, 10**30])
async def test_an_amount_over_the_cap_is_a_row_error_not_a_database_error(
    base: AsyncSession, rules: Rules, engine: AsyncEngine, value: int
) -> None:
    text = projects_file(project_row(investment_wan=str(value)))
    errors = await rejected(base, rules, "projects", text)
    assert reasons(errors) == [(3, "too_large")]
    assert errors[0].params["limit"] == str(MAX_INVESTMENT_WAN) and MAX_INVESTMENT_WAN < 2**31 - 1
    async with AsyncSession(engine) as fresh:
        assert await count(fresh, Project) == 0


# --- re-tiering on re-import ---


async def test_investment_change_reroutes_open_issue(
    session: AsyncSession, rules: Rules, engine: AsyncEngine
) -> None:
    await load_examples(session, rules)
    p04 = await by_code(session, Project, "P04")
    contact = await by_code(session, Contact, "C11")  # E08's contact; P04 is E08's
    assert contact.enterprise_id == p04.enterprise_id
    issue = await report_issue(
        Ctx(session=session, rules=rules, actor=actor_of(contact), now=NOW),
        project=p04,
        category=Category.LAND,
        text="用地指标未落实",
    )
    assert issue.level == Level.SERVICE_DESK
    assert (await session_get(session, Official, issue.assignee_id)).code == "xyx-agent"
    await session.commit()

    same = await load(session, rules, "projects", example("projects"))
    assert same.retiered == []
    same_tier = example("projects").replace(",新型储能,9999,", ",新型储能,9000,")
    assert (await load(session, rules, "projects", same_tier)).retiered == []

    bigger = example("projects").replace(",新型储能,9999,", ",新型储能,100000,")
    assert bigger != example("projects")
    later = datetime(2026, 11, 20, 15, 0, tzinfo=TZ)
    result = await import_csv(
        session=session, rules=rules, kind="projects", text=bigger, now=later
    )
    assert result.retiered == [issue.number]
    assert (result.created, result.updated) == (0, 16)
    await session.commit()

    async with AsyncSession(engine) as fresh:
        moved = await session_get(fresh, Issue, issue.id)
        assert moved.level == Level.CITY_DEPUTY
        assert moved.status == Status.SUBMITTED
        # P04 has no leader: the first city_deputy by code.
        assert (await session_get(fresh, Official, moved.assignee_id)).code == "deputy-a"
        assert moved.accept_due == datetime(2026, 11, 23, 15, 0, tzinfo=TZ)
        events = (
            await fresh.exec(
                select(IssueEvent)
                .where(IssueEvent.issue_id == issue.id)
                .order_by(col(IssueEvent.id))
            )
        ).all()
        assert [e.kind for e in events] == [EventKind.CREATED, EventKind.RETIERED]
        retiered = events[-1]
        assert (retiered.from_level, retiered.to_level) == (Level.SERVICE_DESK, Level.CITY_DEPUTY)
        assert retiered.data.get("investment_wan") == 100000
        assert (await by_code(fresh, Project, "P04")).investment_wan == 100000
