"""Progress reports' pure rules: amounts and dates as people type them, which stage a report may
claim, its date, who confirms it, and the texts and buttons drawn for it."""

from __future__ import annotations

from datetime import date

import pytest

from handlers.callbacks import CB
from jobs import progress as drawn
from jobs.reports.text import progress_text
from locales.formats import error_text
from models.codes import Role, Stage
from models.errors import InvalidInput
from models.progress import (
    LISTED,
    apply_claim,
    check_claim,
    may_confirm,
    next_claims,
)
from models.report_data import ProgressAsk, ProjectRow
from models.tables.org import Official
from models.tables.project import Project
from models.typed import parse_day, parse_wan
from tests.support.factories import TZ

TODAY = date(2026, 11, 20)


def _project(stage: Stage = Stage.STARTED, **dates: date) -> Project:
    return Project(
        id=7,
        code="P1",
        name="光伏组件",
        enterprise_id=1,
        region_id=1,
        investment_wan=20_000,
        stage=stage,
        agent_id=11,
        manager_id=12,
        leader_id=13,
        **dates,
    )


@pytest.mark.parametrize(
    ("typed", "wan"),
    [
        ("1.2亿", 12_000),
        ("1.2亿元", 12_000),
        ("3000万", 3_000),
        ("3000万元", 3_000),
        ("12,000", 12_000),
        ("12000", 12_000),
        (" 1.2 亿 ", 12_000),
        ("３０００万", 3_000),  # full-width, as a phone's keyboard may type it
        ("１２，０００", 12_000),
        ("0", 0),
        ("100000000", 100_000_000),  # the importer's cap, 1万亿元
        ("1万亿", None),
    ],
)
def test_amounts_as_typed(typed: str, wan: int | None) -> None:
    if wan is None:
        with pytest.raises(InvalidInput):
            parse_wan(typed)
    else:
        assert parse_wan(typed) == wan


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("1.2", "needs_unit"),  # 1.2亿? asked, never guessed
        ("12000元", "needs_unit"),
        ("一亿二千万", "not_amount"),
        ("about 3000", "not_amount"),
        ("12,00", "not_amount"),
        ("1.23456亿", "fraction"),
        ("2.5万", "fraction"),
        ("-5", "negative"),
        ("−3000万", "negative"),
        ("100000001", "over_limit"),
        ("2000000亿", "over_limit"),
    ],
)
def test_amounts_refused_say_why(typed: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_wan(typed)
    assert refused.value.params["reason"] == reason


def test_the_refusals_read_well() -> None:
    with pytest.raises(InvalidInput) as unit:
        parse_wan("1.2")
    assert error_text(unit.value, "zh_CN") == (
        "“1.2”的单位是万元还是亿元？1.2亿元请发送“1.2亿”，或发送整数万元，如 12000。"
    )
    assert "1.2: 万元 or 亿元?" in error_text(unit.value, "en")
    with pytest.raises(InvalidInput) as big:
        parse_wan("2000000亿")
    assert "100,000,000万元" in error_text(big.value, "zh_CN")


@pytest.mark.parametrize(
    "typed",
    ["2026-11-18", "2026/11/18", "2026.11.18", "2026年11月18日", "20261118", "11-18", "11月18日"],
)
def test_dates_as_typed(typed: str) -> None:
    assert parse_day(typed, TODAY) == date(2026, 11, 18)


@pytest.mark.parametrize("typed", ["yesterday", "2026-02-30", "18", "11/18/2026"])
def test_bad_dates(typed: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_day(typed, TODAY)
    assert refused.value.params["reason"] == "bad_date"


def test_a_report_may_claim_the_next_stage_and_listing() -> None:
    assert next_claims(_project()) == ["completed", LISTED]
    assert next_claims(_project(Stage.SIGNED)) == ["started", LISTED]
    listed = _project(Stage.AT_CAPACITY, listed_on=date(2026, 1, 5))
    assert next_claims(listed) == []


def test_a_claim_date_is_not_in_the_future_nor_before_an_earlier_stage() -> None:
    project = _project(signed_on=date(2026, 3, 2), started_on=date(2026, 6, 1))
    assert check_claim(project, "completed", date(2026, 11, 20), TODAY) == date(2026, 11, 20)
    assert check_claim(project, "completed", date(2026, 6, 1), TODAY) == date(2026, 6, 1)
    for day, reason in (
        (date(2026, 11, 21), "future"),
        (date(2026, 5, 31), "before_earlier"),
        (None, "empty"),
    ):
        with pytest.raises(InvalidInput) as refused:
            check_claim(project, "completed", day, TODAY)
        assert refused.value.params["reason"] == reason
    with pytest.raises(InvalidInput) as skipped:
        check_claim(project, "in_production", date(2026, 11, 1), TODAY)
    assert skipped.value.params["reason"] == "not_next"
    with pytest.raises(InvalidInput) as early:
        check_claim(project, LISTED, date(2026, 3, 1), TODAY)  # listed before it was signed
    assert early.value.params["reason"] == "before_earlier"


def test_a_confirmed_claim_moves_the_project() -> None:
    project = _project()
    apply_claim(project, "completed", date(2026, 11, 18))
    assert (project.stage, project.completed_on) == (Stage.COMPLETED, date(2026, 11, 18))
    apply_claim(project, LISTED, date(2026, 11, 19))
    assert (project.stage, project.listed_on) == (Stage.COMPLETED, date(2026, 11, 19))


def test_the_agent_the_manager_and_an_admin_confirm() -> None:
    project = _project()

    def official(ident: int, role: Role = Role.SERVICE_AGENT) -> Official:
        return Official(id=ident, code=f"o{ident}", name="x", role=role, region_id=1)

    assert may_confirm(official(11), project) and may_confirm(
        official(12, Role.REGION_HEAD), project
    )
    assert may_confirm(official(99, Role.ADMIN), project)
    assert not may_confirm(official(13, Role.CITY_DEPUTY), project)  # the leader: informed only
    assert not may_confirm(official(14), project)  # another agent of the region


def test_the_buttons_speak_the_chats_prefixes() -> None:
    assert (CB.PROGRESS_START, CB.PROGRESS_CONFIRM, CB.PROGRESS_REJECT, CB.PROGRESS_PHOTOS) == (
        drawn.START,
        drawn.CONFIRM,
        drawn.REJECT,
        drawn.PHOTOS,
    )


def _ask(*, escalated: bool = False) -> ProgressAsk:
    rows = [
        ProjectRow("P1", "光伏组件", "天合光能", "r1", 20_000, "started", None),
        ProjectRow("P2", "储能部件", "天合光能", "r1", 9_000, "signed", 300),
    ]
    return ProgressAsk("2026-11", date(2026, 11, 1), rows, False, [7, 8], escalated)


def test_the_reminder_has_a_button_per_project() -> None:
    ask = _ask()
    buttons = drawn.reminder_buttons(ask, "zh_CN")
    assert [(b.label, b.code) for row in buttons for b in row] == [
        ("报送 P1 进度", "ps:7"),
        ("报送 P2 进度", "ps:8"),
    ]
    text = progress_text(ask, "zh_CN", TZ)
    assert "2026年11月" in text
    assert "/progress" in text


def test_the_escalation_names_the_enterprises_and_has_no_buttons() -> None:
    ask = _ask(escalated=True)
    assert drawn.reminder_buttons(ask, "en") == ()
    text = progress_text(ask, "en", TZ)
    assert text.startswith("<b>Not reported yet: November 2026 progress of 2 projects you serve")
    assert "P1 光伏组件 · 天合光能 · started" in text
    assert "尚未报送：您服务的 2 个项目的2026年11月进度" in progress_text(ask, "zh_CN", TZ)
