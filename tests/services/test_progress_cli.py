"""`ztc progress report|confirm` and `ztc projects show`: the contract's options and JSON, and
refusals as one translated line with exit 1. The tests are plain functions: the CLI runs its own
event loop."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cli import cli
from models.db import session_scope
from tests.support.factories import World, make_project


@pytest.fixture
async def cli_env(
    engine: AsyncEngine, world: World, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> World:
    """The world with a project P7 served by r1-agent-a (agent) and r1-head (manager), started
    on 2026-06-01; the CLI on the same database, in English unless a test says otherwise."""
    async with session_scope(engine) as session:
        p7 = await make_project(session, world, 20_000, code="P7", agent="r1-agent-a")
        p7.manager_id = world.officials["r1-head"].id
        p7.started_on = p7.signed_on = date(2026, 6, 1)
        session.add(p7)
    monkeypatch.setenv("ZTC_DATABASE_URL", database_url)
    monkeypatch.setenv("ZTC_DEFAULT_LOCALE", "en")
    for name in ("ZTC_POLICY", "ZTC_BOT_TOKEN", "ZTC_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    return world


def ztc(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(cli, list(args), prog_name="ztc")
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    return result


def ztc_json(*args: str) -> Any:
    return json.loads(ztc(*args, "--json").stdout)


REPORT = ("progress", "report", "--project", "P7")


def test_report_confirm_and_show(cli_env: World) -> None:
    made = ztc_json(
        *REPORT,
        "--by",
        "C1",
        "--stage",
        "completed",
        "--on",
        "2026-11-18",
        "--invested-wan",
        "12000",
        "--note",
        "主体完工",
        "--at",
        "2026-11-20T10:00",
    )
    assert {k: made[k] for k in ("project", "month", "by", "stage", "stage_on")} == {
        "project": "P7",
        "month": "2026-11",
        "by": "C1",
        "stage": "completed",
        "stage_on": "2026-11-18",
    }
    assert (made["invested_wan"], made["claim_status"]) == (12_000, "pending")
    shown = ztc_json("projects", "show", "P7")
    assert (shown["stage"], shown["completed_on"], shown["pending_claim"]) == (
        "started",
        None,
        "completed",
    )
    assert shown["invested_wan"] == 12_000 and shown["started_on"] == "2026-06-01"
    decided = ztc_json(
        "progress", "confirm", "--project", "P7", "--by", "r1-head", "--at", "2026-11-23T09:00"
    )
    assert (decided["claim_status"], decided["decided_by"]) == ("confirmed", "r1-head")
    shown = ztc_json("projects", "show", "P7")
    assert (shown["stage"], shown["completed_on"], shown["pending_claim"]) == (
        "completed",
        "2026-11-18",
        None,
    )
    text = ztc("projects", "show", "P7").stdout
    assert "Project P7 P7: completed" in text and "CN¥120M" in text


def test_a_claim_rejected_with_a_reason(cli_env: World) -> None:
    ztc(*REPORT, "--by", "C1", "--stage", "listed", "--on", "2026-11-02", "--at", "2026-11-20")
    refused = ztc(
        "progress", "confirm", "--project", "P7", "--by", "r1-agent-a", "--reject", code=1
    )
    assert refused.stderr.strip() == "The note is empty."
    rejected = ztc_json(
        "progress", "confirm", "--project", "P7", "--by", "r1-agent-a", "--reject", "--note",
        "尚未入库",
    )  # fmt: skip
    assert (rejected["claim_status"], rejected["decision_note"]) == ("rejected", "尚未入库")
    shown = ztc_json("projects", "show", "P7")
    assert (shown["listed_on"], shown["pending_claim"], shown["invested_wan"]) == (
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("args", "english", "chinese"),
    [
        (
            (*REPORT, "--by", "C2", "--invested-wan", "100"),  # another enterprise's contact
            "You may not report progress on P7.",
            "您无权对P7执行“报送进度”操作。",
        ),
        (
            (*REPORT, "--by", "C1", "--invested-wan", "1.2"),
            "1.2: 万元 or 亿元? Send 1.2亿 for 1.2亿元, or a whole number of 万元 such as 12000.",
            "“1.2”的单位是万元还是亿元？1.2亿元请发送“1.2亿”，或发送整数万元，如 12000。",
        ),
        (
            (*REPORT, "--by", "C1", "--stage", "completed", "--on", "2099-01-01"),
            "The date 2099-01-01 is in the future.",
            "日期 2099-01-01 晚于今天。",
        ),
        (
            ("progress", "confirm", "--project", "P7", "--by", "r1-agent-b"),  # not its agent
            "You may not confirm the stage of P7.",
            "您无权对P7执行“认定阶段”操作。",
        ),
        (
            ("progress", "confirm", "--project", "P7", "--by", "admin"),
            "Project P7 has no stage claim awaiting confirmation.",
            "项目 P7 没有待认定的阶段申报。",
        ),
    ],
)
def test_refusals_are_one_translated_line(
    cli_env: World,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    english: str,
    chinese: str,
) -> None:
    assert ztc(*args, code=1).stderr.strip() == english
    monkeypatch.setenv("ZTC_DEFAULT_LOCALE", "zh_CN")
    assert ztc(*args, code=1).stderr.strip() == chinese


def test_stage_and_date_go_together(cli_env: World) -> None:
    assert "--stage and --on" in ztc(*REPORT, "--by", "C1", "--stage", "completed", code=2).stderr
    shown = ztc_json("projects", "show", "P7")
    assert (shown["pending_claim"], shown["invested_wan"]) == (None, None)  # nothing was kept
