"""End to end, over HTTP: a contact reports monthly progress with a stage change, the agent
confirms it (or rejects it, with a reason), and the next bulletin and its workbook show the stage
and the amount — in Chinese and in English."""

from __future__ import annotations

import io
from datetime import date

import openpyxl
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from bot.sandbox import FakeBotAPI
from jobs.cycle import run_cycle_job
from models.codes import Stage
from models.db import session_scope
from models.rules import Rules
from models.tables.project import ProgressReport, Project
from tests.support.chat import CONTACT, HEAD, Chat, Json, labels
from tests.support.factories import World, at, make_project

AGENT = 3001


async def _team(engine: AsyncEngine, world: World, *, second: bool = False) -> None:
    """P1 (started 2026-06-01) gets its agent and manager; `second`: a P2 as well."""
    async with session_scope(engine) as session:
        p1 = (await session.exec(select(Project).where(Project.code == "P1"))).one()
        p1.agent_id = world.officials["r1-agent-a"].id
        p1.manager_id = world.officials["r1-head"].id
        p1.signed_on, p1.started_on = date(2026, 3, 2), date(2026, 6, 1)
        session.add(p1)
        if second:
            await make_project(session, world, 30_000, code="P2", agent="r1-agent-a")


def _sheet_row(api: FakeBotAPI, workbook: Json, code: str, stage: str) -> dict[object, object]:
    """The project's row of the bulletin's workbook, by column header (`stage`: the header of
    the projects' sheet that names their stage)."""
    data = api.state.file(workbook["document"]["file_id"]).data
    for sheet in openpyxl.load_workbook(io.BytesIO(data)).worksheets:
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        header = next((row for row in rows if stage in row), None)
        found = next((row for row in rows if row and row[0] == code), None)
        if header is not None and found is not None:
            return dict(zip(header, found, strict=False))
    raise AssertionError(f"no row of {code} in the workbook")


async def _bulletin(chat: Chat, engine: AsyncEngine, rules: Rules, who: str, title: str) -> Json:
    """Run 1 December's bulletin; returns the workbook that follows its text for `who`."""
    chat.now = at("2026-12-01 09:00")
    run = await run_cycle_job(engine=engine, rules=rules, job="monthly_bulletin", now=chat.now)
    assert run.outcome == "done"
    text = await chat.until(who, title, limit=10)
    workbook = await chat.next(who)
    assert workbook["document"]["file_name"].endswith(".xlsx")
    return {"text": text["text"], **workbook}


async def test_progress_in_chinese(
    chat: Chat, world: World, engine: AsyncEngine, rules: Rules
) -> None:
    api = chat.api
    await _team(engine, world)
    await chat.bind(world.contact, CONTACT)
    await chat.bind(world.officials["r1-agent-a"], AGENT)
    await chat.bind(world.officials["r1-head"], HEAD)

    stages = await chat.say("C1", "/progress")
    assert "P1 P1：开工，总投资 2亿元" in stages["text"] and "尚未填报月度进度" in stages["text"]
    assert labels(api, stages) == ["无变化", "竣工", "列统"]
    await chat.press("C1", stages, "竣工")
    when = await chat.next("C1")
    assert "哪一天达到“竣工”" in when["text"] and labels(api, when) == ["今天"]
    assert "晚于今天" in (await chat.say("C1", "2026-11-21"))["text"]
    assert "早于该项目上一阶段" in (await chat.say("C1", "5月3日"))["text"]
    amount = await chat.say("C1", "2026年11月18日")
    assert "累计完成投资多少（单位：万元）" in amount["text"]
    assert "单位是万元还是亿元" in (await chat.say("C1", "1.2"))["text"]
    assert "不是金额" in (await chat.say("C1", "一亿二千万"))["text"]
    assert "超过上限" in (await chat.say("C1", "2000000亿"))["text"]
    note = await chat.say("C1", "1.2亿")
    assert "还有需要说明的吗" in note["text"]
    api.user_says(CONTACT, photo=b"\xff\xd8 site photo")
    assert "已收到（1/5）" in (await chat.next("C1"))["text"]
    summary = await chat.say("C1", "主体结构已完工")
    assert "阶段：竣工，日期 2026年11月18日（待认定）" in summary["text"]
    assert "累计完成投资：1.2亿元" in summary["text"] and "照片和文件：1" in summary["text"]
    await chat.press("C1", summary, "确认提交")
    done = await chat.next("C1")
    assert "已收到：P1 P1 2026-11 的进度报送" in done["text"]
    assert "已提交r1-agent-a、r1-head认定" in done["text"]

    claim = await chat.until("r1-agent-a", "阶段认定：P1 P1")
    assert "天合光能（王）报告：已竣工，日期 2026年11月18日" in claim["text"]
    assert "累计完成投资：1.2亿元" in claim["text"] and "待认定" in claim["text"]
    assert labels(api, claim) == ["认定", "驳回", "查看照片"]
    stale = await chat.until("r1-head", "阶段认定：P1 P1")
    await chat.press("r1-agent-a", claim, "查看照片")
    assert "photo" in await chat.next("r1-agent-a")
    confirmed = await chat.press_and_wait("r1-agent-a", claim, "认定")
    assert "已由r1-agent-a于" in confirmed["text"] and labels(api, confirmed) == ["查看照片"]
    told = await chat.until("C1", "已认定")
    assert "P1 P1：阶段“竣工”（2026年11月18日）已认定" in told["text"]
    answer = await chat.api.wait_answer(await chat.press("r1-head", stale, "认定"))
    assert answer["text"] == "该申报已处理。"

    again = await chat.say("C1", "/progress")  # the project moved on: 竣工 is its stage now
    assert "P1 P1：竣工" in again["text"] and labels(api, again) == ["无变化", "投产", "列统"]
    await chat.say("C1", "/cancel")

    bulletin = await _bulletin(chat, engine, rules, "r1-head", "2026年11月")
    assert "竣工 1" in bulletin["text"]
    row = _sheet_row(api, bulletin, "P1", "所处阶段")
    assert row["所处阶段"] == "竣工" and row["累计完成投资（万元）"] == 12_000
    assert row["本期新达阶段"] == "竣工"


async def test_progress_in_english(
    chat: Chat, world: World, engine: AsyncEngine, rules: Rules
) -> None:
    api = chat.api
    await _team(engine, world, second=True)
    await chat.bind(world.contact, CONTACT, language="en")
    await chat.bind(world.officials["r1-agent-a"], AGENT, language="en")
    await chat.bind(world.officials["r1-head"], HEAD, language="en")

    # A claim the agent rejects, with a reason: the stage stays, the contact reads why.
    pick = await chat.say("C1", "/progress")
    assert "Which project are you reporting on?" in pick["text"]
    stages = await _pressed_then_next(chat, pick, "P1 P1")
    assert labels(api, stages) == ["No change", "completed", "listed in statistics"]
    await _walk(chat, stages, "completed", "11-18", "12,000")
    claim = await chat.until("r1-agent-a", "Stage claim: P1 P1")
    await chat.press("r1-agent-a", claim, "Reject")
    assert "Send the reason" in (await chat.next("r1-agent-a"))["text"]
    said = await chat.say("r1-agent-a", "The roof is not finished")
    assert said["text"] == "Rejected. 天合光能 is told the reason."
    told = await chat.until("C1", "was not confirmed")
    assert "Reason: The roof is not finished" in told["text"]
    assert "The project's stage stays started." in told["text"]

    # The reminder of the 25th asks only for P2 (P1 reported this month), with its button.
    chat.now = at("2026-11-25 09:00")
    await run_cycle_job(engine=engine, rules=rules, job="progress_reminder", now=chat.now)
    reminder = await chat.until("C1", "Please report November 2026 progress")
    assert "P2 P2" in reminder["text"] and "P1 P1" not in reminder["text"]
    assert labels(api, reminder) == ["Report P2"]
    stages = await _pressed_then_next(chat, reminder, "Report P2")
    assert "P2 P2 is at “started”" in stages["text"]
    await _walk(chat, stages, "No change", None, "800")

    # P1 again, the same month: a second report (append-only), now confirmed from /progress.
    pick = await chat.say("C1", "/progress")
    assert "2026-11: started, CN¥120M invested so far" in pick["text"]
    stages = await _pressed_then_next(chat, pick, "P1 P1")
    await _walk(chat, stages, "completed", "2026-11-24", "1.3亿")
    await chat.until("r1-agent-a", "Stage claim: P1 P1")
    await chat.say("r1-agent-a", "/progress")
    listed = await chat.next("r1-agent-a")
    assert "Stage claim: P1 P1" in listed["text"] and "November 24, 2026" in listed["text"]
    confirmed = await chat.press_and_wait("r1-agent-a", listed, "Confirm stage")
    assert "Confirmed by r1-agent-a" in confirmed["text"]
    assert "was confirmed" in (await chat.until("C1", "was confirmed"))["text"]
    async with session_scope(engine) as session:
        reports = (await session.exec(select(ProgressReport))).all()
        p1 = (await session.exec(select(Project).where(Project.code == "P1"))).one()
    assert sorted((r.claim, r.claim_status, r.invested_wan) for r in reports if r.claim) == [
        ("completed", "confirmed", 13_000),
        ("completed", "rejected", 12_000),
    ]
    assert (p1.stage, p1.completed_on) == (Stage.COMPLETED, date(2026, 11, 24))

    bulletin = await _bulletin(chat, engine, rules, "r1-head", "November 2026")
    assert "completed 1" in bulletin["text"]
    row = _sheet_row(api, bulletin, "P1", "Stage")
    assert row["Stage"] == "completed" and row["Invested so far (10k yuan)"] == 13_000
    assert _sheet_row(api, bulletin, "P2", "Stage")["Invested so far (10k yuan)"] == 800


async def _pressed_then_next(chat: Chat, message: Json, label: str) -> Json:
    await chat.press("C1", message, label)
    return await chat.next("C1")


async def _walk(chat: Chat, stages: Json, stage: str, day: str | None, amount: str) -> Json:
    """From the stage question to the confirmation, in English, with no note."""
    after = await _pressed_then_next(chat, stages, stage)
    if day is not None:
        assert "On what date did it reach" in after["text"]
        after = await chat.say("C1", day)
    assert "How much has been invested in total so far" in after["text"]
    note = await chat.say("C1", amount)
    assert labels(chat.api, note) == ["Next"]
    summary = await _pressed_then_next(chat, note, "Next")
    assert "Please check:" in summary["text"]
    done = await _pressed_then_next(chat, summary, "Submit")
    assert "Received: the progress of" in done["text"]
    return done
