"""End to end: the scheduler in the running bot catches up on the monthly bulletin after a
downtime and delivers it — text, workbook and chart — once, whatever the restarts."""

from __future__ import annotations

import io
from datetime import datetime

import openpyxl
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.sandbox import FakeBotAPI
from models.rules import Rules
from models.tables.infra import Outbox, ScheduleRun
from tests.support.chat import DEPUTY, HEAD, Chat
from tests.support.factories import World, at


async def test_the_bulletin_missed_while_down_arrives_once_after_the_restart(
    api: FakeBotAPI, engine: AsyncEngine, rules: Rules, world: World
) -> None:
    chat = Chat(api=api, engine=engine, rules=rules, now=at("2026-11-20 10:00"))
    await chat.start()
    await chat.bind(world.officials["principal-a"], DEPUTY, "zh-hans")
    await chat.bind(world.officials["r1-head"], HEAD, "en")
    await chat.stop()

    chat.now, chat.scheduler = at("2026-12-02 10:00"), True  # down over 1 December 09:00
    await chat.start()
    assert chat.app is not None and chat.app.job_queue is not None
    jobs = {job.name: job for job in chat.app.job_queue.jobs()}
    assert set(jobs) >= {"clocks", "monthly_bulletin", "daily_chase", "coordination_agenda"}
    following: datetime = jobs["monthly_bulletin"].next_t  # type: ignore[assignment]
    # 1 January is New Year's Day (a day off by law, 2027 announced or not), then a weekend.
    assert (following.day, following.hour, str(following.tzinfo)) == (4, 9, "Asia/Shanghai")

    text = await chat.until("principal-a", "2026年11月")
    assert "淮安市" in text["text"] and "按时签收率" in text["text"]
    workbook = await chat.next("principal-a")
    chart = await chat.next("principal-a")
    assert workbook["document"]["file_name"].endswith(".xlsx")
    assert "photo" in chart
    stored = api.state.file(workbook["document"]["file_id"])
    sheets = openpyxl.load_workbook(io.BytesIO(stored.data)).sheetnames
    assert sheets == [
        "概况",
        "问题清单",
        "超期问题",
        "项目清单",
        "县区（园区）排名",
        "未能送达人员",
    ]

    english = await chat.until("r1-head", "November 2026")  # r1's own bulletin, in English
    assert "清江浦区" in english["text"] and "Regions ranked" in english["text"]

    await chat.stop()
    chat.now = at("2026-12-02 10:05")
    await chat.start()  # and once more: nothing is sent twice
    await chat.stop()
    async with AsyncSession(engine) as session:
        rows = (await session.exec(select(Outbox).where(Outbox.kind == "report"))).all()
        run = (
            await session.exec(select(ScheduleRun).where(ScheduleRun.job == "monthly_bulletin"))
        ).one()
    assert all(r.sent_at is not None for r in rows if r.official_id in _bound(world))
    assert (run.period, run.status) == ("2026-11", "late")
    assert sum("2026年11月" in m.get("text", "") for m in api.sent(DEPUTY)) == 1


def _bound(world: World) -> set[int | None]:
    return {world.officials["principal-a"].id, world.officials["r1-head"].id}
