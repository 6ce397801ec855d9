"""Integrity checks for the sample CSVs under examples/."""

from __future__ import annotations

import csv
import re
from datetime import date

import pytest

from models.credit_code import credit_code_problem
from tests.support.paths import EXAMPLES

HEADERS: dict[str, list[str]] = {
    "regions": ["code", "name_zh", "name_en", "kind"],
    "departments": ["code", "name_zh", "name_en", "categories"],
    "officials": ["code", "name", "title", "role", "region", "department", "portfolio"],
    "enterprises": ["code", "name", "credit_code"],
    "contacts": ["code", "enterprise", "name", "phone"],
    "projects": [
        "code",
        "name",
        "enterprise",
        "region",
        "industry",
        "investment_wan",
        "stage",
        "signed_on",
        "started_on",
        "completed_on",
        "production_on",
        "capacity_on",
        "listed_on",
        "leader",
        "manager",
        "agent",
    ],
}

STAGE_DATES = ["signed_on", "started_on", "completed_on", "production_on", "capacity_on"]
STAGES = ["signed", "started", "completed", "in_production", "at_capacity"]
CATEGORIES = {
    "land",
    "planning",
    "permits",
    "funding",
    "labour",
    "energy",
    "environment",
    "utilities",
    "logistics",
    "policy",
    "other",
}
ROLES = {"service_agent", "region_head", "dept_head", "city_deputy", "city_principal", "admin"}

# code -> (investment_wan, region, leader, manager, agent)
FIXED_PROJECTS: dict[str, tuple[int, str, str, str, str]] = {
    "P01": (600000, "hetdz", "principal-b", "hetdz-head", "hetdz-agent"),
    "P02": (100000, "qjp", "deputy-b", "qjp-head", "qjp-agent"),
    "P03": (10000, "lsx", "", "lsx-head", "lsx-agent"),
    "P04": (9999, "xyx", "", "", "xyx-agent"),
    "P05": (500000, "hagy", "", "hagy-head", "hagy-agent"),
    "P06": (499999, "hyq", "deputy-a", "hyq-head", "hyq-agent"),
    "P07": (99999, "jhx", "", "jhx-head", "jhx-agent"),
    "P08": (3000, "qjp", "", "", ""),
}


def _read(name: str) -> tuple[list[str], list[dict[str, str]]]:
    with (EXAMPLES / f"{name}.csv").open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [dict(zip(header, row, strict=True)) for row in reader]
    return header, rows


def _codes(name: str) -> set[str]:
    return {row["code"] for row in _read(name)[1]}


@pytest.mark.parametrize("name", list(HEADERS))
def test_header_and_unique_codes(name: str) -> None:
    header, rows = _read(name)
    assert header == HEADERS[name]
    assert rows, f"{name}.csv is empty"
    codes = [row["code"] for row in rows]
    assert len(codes) == len(set(codes)), f"duplicate codes in {name}.csv"
    assert all(code for code in codes)


def test_regions() -> None:
    _, rows = _read("regions")
    assert [r["code"] for r in rows] == [
        "city", "hetdz", "qjp", "haq", "hyq", "hzq", "lsx", "xyx", "jhx", "hagy",
    ]  # fmt: skip
    assert {r["kind"] for r in rows} <= {"city", "county", "district", "park"}
    assert [r["code"] for r in rows if r["kind"] == "city"] == ["city"]


def test_departments() -> None:
    _, rows = _read("departments")
    assert len(rows) == 10
    for row in rows:
        cats = row["categories"].split(";")
        assert cats and set(cats) <= CATEGORIES, row
    zgj = next(r for r in rows if r["code"] == "zgj")
    assert zgj["categories"] == "land;planning"


def test_officials_reference_existing_codes() -> None:
    regions, departments = _codes("regions"), _codes("departments")
    _, rows = _read("officials")
    codes = {r["code"] for r in rows}
    for row in rows:
        assert row["role"] in ROLES, row
        assert row["region"] == "" or row["region"] in regions, row
        assert row["department"] == "" or row["department"] in departments, row
        assert row["name"] and row["title"], row
    for region in regions - {"city"}:
        assert f"{region}-head" in codes and f"{region}-agent" in codes
    for dept in departments:
        assert f"{dept}-head" in codes
    for extra in (
        "qjp-agent2",
        "qjp-head2",
        "deputy-a",
        "deputy-b",
        "principal-a",
        "principal-b",
        "admin-a",
        "admin-b",
    ):
        assert extra in codes
    assert "qjp-agent" < "qjp-agent2" and "qjp-head" < "qjp-head2"


def test_enterprise_credit_codes_are_valid_and_distinct() -> None:
    _, rows = _read("enterprises")
    assert len(rows) == 8
    for row in rows:
        assert credit_code_problem(row["credit_code"]) is None, row
    assert len({r["credit_code"] for r in rows}) == len(rows)


def test_contacts_reference_enterprises() -> None:
    enterprises = _codes("enterprises")
    _, rows = _read("contacts")
    per_enterprise: dict[str, int] = {}
    for row in rows:
        assert row["enterprise"] in enterprises, row
        assert re.fullmatch(r"1\d{10}", row["phone"]), row
        per_enterprise[row["enterprise"]] = per_enterprise.get(row["enterprise"], 0) + 1
    assert set(per_enterprise) == enterprises
    assert all(1 <= n <= 2 for n in per_enterprise.values())


def test_projects_reference_existing_codes_and_dates_match_stage() -> None:
    regions, enterprises, officials = _codes("regions"), _codes("enterprises"), _codes("officials")
    _, rows = _read("projects")
    for row in rows:
        assert row["enterprise"] in enterprises, row
        assert row["region"] in regions, row
        for col in ("leader", "manager", "agent"):
            assert row[col] == "" or row[col] in officials, (col, row)
        assert re.fullmatch(r"\d+", row["investment_wan"]), row
        assert int(row["investment_wan"]) > 0
        assert row["stage"] in STAGES, row
        reached = STAGES.index(row["stage"]) + 1
        dates = [row[col] for col in STAGE_DATES]
        assert all(dates[:reached]) and not any(dates[reached:]), row
        parsed = [date.fromisoformat(d) for d in dates[:reached]]
        assert parsed == sorted(parsed), row
        assert all(2022 <= d.year <= 2026 for d in parsed), row
        if row["listed_on"]:
            assert row["stage"] in ("in_production", "at_capacity"), row
            assert date.fromisoformat(row["listed_on"]) >= date.fromisoformat(row["production_on"])
    assert {r["enterprise"] for r in rows} == enterprises, "every enterprise has a project"


def test_fixed_projects() -> None:
    _, rows = _read("projects")
    by_code = {r["code"]: r for r in rows}
    for code, (inv, region, leader, manager, agent) in FIXED_PROJECTS.items():
        row = by_code[code]
        assert int(row["investment_wan"]) == inv, code
        assert (row["region"], row["leader"], row["manager"], row["agent"]) == (
            region,
            leader,
            manager,
            agent,
        ), code
    assert 6 <= len(rows) - len(FIXED_PROJECTS) <= 10
