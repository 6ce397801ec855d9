"""End to end, over HTTP: the corners of the progress report, the stage claims, the material and
the problem report — a claim decided by someone else while a reason is typed, stale and forged
buttons, a sixth file, a note too long, a draft left behind by an older version, two issues
waiting for material, two colleagues answering the same request."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from models.codes import EventKind, Stage, Status
from models.db import session_scope
from models.issues.commands import Accept, RequestInfo, Resume
from models.rules import Rules
from models.tables.infra import Outbox
from models.tables.issue import Attachment, Issue, IssueEvent
from models.tables.project import ProgressReport, Project
from tests.support.chat import CONTACT, HEAD, OTHER_CONTACT, Chat, labels
from tests.support.factories import World, act, make_issue, make_project

AGENT, COLLEAGUE = 3001, 1003
DEAD = "此按钮已失效。"
LOST_PROGRESS = "本次报送已中断，请重新开始：/progress"
LOST_REPORT = "这次报告已中断，请重新开始：/report"


async def _team(engine: AsyncEngine, world: World) -> None:
    """P1 (started 2026-06-01) gets its agent and manager."""
    async with session_scope(engine) as session:
        p1 = (await session.exec(select(Project).where(Project.code == "P1"))).one()
        p1.agent_id = world.officials["r1-agent-a"].id
        p1.manager_id = world.officials["r1-head"].id
        p1.signed_on, p1.started_on = date(2026, 3, 2), date(2026, 6, 1)
        session.add(p1)


async def _reports(engine: AsyncEngine) -> list[ProgressReport]:
    async with session_scope(engine) as session:
        return list((await session.exec(select(ProgressReport))).all())


async def test_a_stage_claim_and_its_corners(
    chat: Chat, world: World, engine: AsyncEngine
) -> None:
    api = chat.api
    await _team(engine, world)
    await chat.bind(world.contact, CONTACT)
    await chat.bind(world.other_contact, OTHER_CONTACT)
    await chat.bind(world.officials["r1-agent-a"], AGENT)
    await chat.bind(world.officials["r1-head"], HEAD)

    # Nothing awaits the manager yet.
    assert (await chat.say("r1-head", "/progress"))["text"] == "目前没有待您认定的阶段申报。"

    # The contact: a word where a button is wanted, a date that is no date, then five files (the
    # last a document) and a sixth refused, and the note.
    stages = await chat.say("C1", "/progress")
    assert "按钮" in (await chat.say("C1", "竣工了"))["text"]  # the step waits for a press
    await chat.press("C1", stages, "竣工")
    assert "哪一天达到“竣工”" in (await chat.next("C1"))["text"]
    wrong = await chat.say("C1", "上周的某一天")
    assert "哪一天" not in wrong["text"] and "日期" in wrong["text"]
    assert "累计完成投资" in (await chat.say("C1", "2026-11-18"))["text"]
    await chat.say("C1", "1.2亿")
    for n in range(4):
        api.user_says(CONTACT, photo=b"\xff\xd8 site %d" % n)
        assert f"（{n + 1}/5）" in (await chat.next("C1"))["text"]
    api.user_says(CONTACT, document=("验收.pdf", b"%PDF-1.4 acceptance", "application/pdf"))
    assert "（5/5）" in (await chat.next("C1"))["text"]
    api.user_says(CONTACT, photo=b"\xff\xd8 one too many")
    assert "5" in (await chat.next("C1"))["text"]
    summary = await chat.say("C1", "主体结构已完工")
    assert "照片和文件：5" in summary["text"]
    await chat.press("C1", summary, "确认提交")
    assert "已收到：P1 P1 2026-11 的进度报送" in (await chat.next("C1"))["text"]

    # Reported again while the claim waits: no stage question, the last amount is recalled.
    again = await chat.say("C1", "/progress")
    assert "该项目“竣工”（2026年11月18日）的阶段申报正待认定。" in again["text"]
    assert "上次报送：1.2亿元（2026-11）" in again["text"]
    assert labels(api, again) == []
    assert (await chat.say("C1", "/cancel"))["text"] == "已取消。"

    claim = await chat.until("r1-agent-a", "阶段认定：P1 P1")
    stale = await chat.until("r1-head", "阶段认定：P1 P1")
    report_id = (await _reports(engine))[0].id

    # Forged presses: a report that does not exist; another enterprise's contact asks for the
    # photos. Neither is answered with anything but a toast, and nothing is sent.
    forged = api.press(AGENT, claim["message_id"], "pc:999999")
    assert (await api.wait_answer(forged))["text"] == DEAD
    before = api.sent_count(OTHER_CONTACT)
    greeting = api.outbox(OTHER_CONTACT)[-1]
    peek = api.press(OTHER_CONTACT, greeting["message_id"], f"pf:{report_id}")
    await api.wait_answer(peek)
    await chat.settle()
    assert api.sent_count(OTHER_CONTACT) == before

    # The photos to the agent: four photos and the document, as sent.
    await chat.press("r1-agent-a", claim, "查看照片")
    sent = [await chat.next("r1-agent-a") for _ in range(5)]
    assert ["photo" in m for m in sent] == [True] * 4 + [False]
    assert sent[-1]["document"]["file_name"] == "验收.pdf"

    # The manager rejects: a reason over the limit is refused and the step stays; meanwhile the
    # agent confirms; the manager's reason then finds the claim decided.
    await chat.press("r1-head", stale, "驳回")
    assert "为何驳回 P1 P1 的“竣工”" in (await chat.next("r1-head"))["text"]
    too_long = await chat.say("r1-head", "长" * 2001)
    assert "2000" in too_long["text"]
    confirmed = await chat.press_and_wait("r1-agent-a", claim, "认定")
    assert "已由r1-agent-a于" in confirmed["text"]
    late = await chat.say("r1-head", "屋顶未完工")
    assert "已驳回" not in late["text"]
    (report,) = await _reports(engine)
    assert (report.claim_status, report.note) == ("confirmed", "主体结构已完工")
    async with session_scope(engine) as session:
        p1 = (await session.exec(select(Project).where(Project.code == "P1"))).one()
    assert (p1.stage, p1.completed_on) == (Stage.COMPLETED, date(2026, 11, 18))
    # The step is over: the next text is no reason, and the stale 驳回 shows the claim decided.
    assert "按钮" in (await chat.say("r1-head", "还是驳回"))["text"]
    seen = api.edit_count(HEAD, stale["message_id"])
    answer = await api.wait_answer(await chat.press("r1-head", stale, "驳回"))
    assert answer["text"] == "该申报已处理。"
    redrawn = await api.wait_edit(HEAD, stale["message_id"], seen)
    assert "已由r1-agent-a于" in redrawn["text"] and labels(api, redrawn) == ["查看照片"]
    assert (await _reports(engine))[0].claim_status == "confirmed"


async def test_progress_steps_refuse_and_cancel(
    chat: Chat, world: World, engine: AsyncEngine
) -> None:
    api = chat.api
    await _team(engine, world)
    async with session_scope(engine) as session:
        await make_project(session, world, 30_000, code="P2", agent="r1-agent-a")
        other = await make_project(session, world, 5_000, code="P9")
        assert world.other_contact is not None
        other.enterprise_id = world.other_contact.enterprise_id
        session.add(other)
        await session.flush()
        other_id = other.id
    await chat.bind(world.contact, CONTACT)

    # Another enterprise's project, by a forged reminder button and on the project picker.
    greeting = api.outbox(CONTACT)[-1]
    forged = api.press(CONTACT, greeting["message_id"], f"ps:{other_id}")
    assert (await api.wait_answer(forged))["text"] == DEAD
    pick = await chat.say("C1", "/progress")
    assert labels(api, pick) == ["P1 P1", "P2 P2"]
    forged = api.press(CONTACT, pick["message_id"], f"pp:{other_id}")
    assert (await api.wait_answer(forged))["text"] == DEAD
    await chat.press("C1", pick, "P1 P1")
    stages = await chat.next("C1")
    # A stage that is not next for the project is ignored; the step waits.
    await api.wait_answer(api.press(CONTACT, stages["message_id"], "pk:listed_bogus"))
    await chat.press("C1", stages, "竣工")
    await chat.next("C1")
    assert "晚于今天" in (await chat.say("C1", "2026-11-21"))["text"]
    await chat.say("C1", "2026-11-20")
    await chat.say("C1", "3000万")
    # A photo whose caption is the note goes straight to the summary.
    api.user_says(CONTACT, photo=b"\xff\xd8 roof", caption="屋面完工")
    summary = await chat.next("C1")
    assert "备注：屋面完工" in summary["text"] and "照片和文件：1" in summary["text"]
    assert "按钮" in (await chat.say("C1", "好的"))["text"]
    cancelled = await chat.press_and_wait("C1", summary, "取消")
    assert cancelled["text"] == "已取消，未报送任何内容。"
    assert await _reports(engine) == []

    # Again on P2, no stage change: a note over the limit is refused, a shorter one is taken.
    pick = await chat.say("C1", "/progress")
    await chat.press("C1", pick, "P2 P2")
    stages = await chat.next("C1")
    await chat.press("C1", stages, "无变化")
    await chat.next("C1")
    await chat.say("C1", "800")
    too_long = await chat.say("C1", "长" * 2001)
    assert too_long["text"] == "备注共 2001 字，超过上限 2000 字。"
    summary = await chat.say("C1", "进展顺利")
    await chat.press("C1", summary, "确认提交")
    assert "已收到：P2 P2 2026-11 的进度报送" in (await chat.next("C1"))["text"]
    (report,) = await _reports(engine)
    assert (report.claim, report.invested_wan, report.note) == (None, 800, "进展顺利")


async def test_a_contact_without_projects(chat: Chat, world: World) -> None:
    await chat.bind(world.other_contact, OTHER_CONTACT)
    for command in ("/progress", "/report"):
        said = await chat.say("C2", command)
        assert said["text"] == "贵企业暂无项目记录，请联系您的代办员。", command
    assert (await chat.say("C2", "/cancel"))["text"] == "当前没有可取消的操作。"


async def _old_draft(chat: Chat, user_id: int, key: str) -> None:
    """The draft as an older version kept it (no submission key): not one of ours. A minute
    passes, so that the steps stay under the per-minute limit of messages."""
    await chat.settle()
    chat.now += timedelta(minutes=1)
    assert chat.app is not None
    chat.app.user_data[user_id][key] = {"project": 1}


async def test_a_draft_of_an_older_shape_asks_to_start_again(
    chat: Chat, world: World, engine: AsyncEngine
) -> None:
    api = chat.api
    await _team(engine, world)
    await chat.bind(world.contact, CONTACT)

    # /report, at each step: the draft is replaced by one of an older shape.
    categories = await chat.say("C1", "/report")
    await _old_draft(chat, CONTACT, "report")
    await chat.press("C1", categories, "土地")
    assert (await chat.next("C1"))["text"] == LOST_REPORT

    categories = await chat.say("C1", "/report")
    await chat.press("C1", categories, "土地")
    await chat.next("C1")
    await _old_draft(chat, CONTACT, "report")
    assert (await chat.say("C1", "用地指标"))["text"] == LOST_REPORT

    categories = await chat.say("C1", "/report")
    await chat.press("C1", categories, "土地")
    await chat.next("C1")
    await _old_draft(chat, CONTACT, "report")
    api.user_says(CONTACT, photo=b"\xff\xd8 plan")
    assert (await chat.next("C1"))["text"] == LOST_REPORT

    categories = await chat.say("C1", "/report")
    await chat.press("C1", categories, "土地")
    await chat.next("C1")
    urgencies = await chat.say("C1", "用地指标")
    await _old_draft(chat, CONTACT, "report")
    await chat.press("C1", urgencies, "普通")
    assert (await chat.next("C1"))["text"] == LOST_REPORT

    # /progress likewise.
    stages = await chat.say("C1", "/progress")
    await _old_draft(chat, CONTACT, "progress")
    await chat.press("C1", stages, "竣工")
    assert (await chat.next("C1"))["text"] == LOST_PROGRESS

    stages = await chat.say("C1", "/progress")
    await chat.press("C1", stages, "无变化")
    await chat.next("C1")
    await _old_draft(chat, CONTACT, "progress")
    assert (await chat.say("C1", "800"))["text"] == LOST_PROGRESS

    stages = await chat.say("C1", "/progress")
    await chat.press("C1", stages, "竣工")
    await chat.next("C1")
    await _old_draft(chat, CONTACT, "progress")
    assert (await chat.say("C1", "2026-11-18"))["text"] == LOST_PROGRESS

    stages = await chat.say("C1", "/progress")
    await chat.press("C1", stages, "无变化")
    await chat.next("C1")
    note = await chat.say("C1", "800")
    await _old_draft(chat, CONTACT, "progress")
    api.user_says(CONTACT, photo=b"\xff\xd8 site")
    assert (await chat.next("C1"))["text"] == LOST_PROGRESS

    stages = await chat.say("C1", "/progress")
    await chat.press("C1", stages, "无变化")
    await chat.next("C1")
    note = await chat.say("C1", "800")
    await _old_draft(chat, CONTACT, "progress")
    assert (await chat.say("C1", "进展顺利"))["text"] == LOST_PROGRESS

    stages = await chat.say("C1", "/progress")
    await chat.press("C1", stages, "无变化")
    await chat.next("C1")
    note = await chat.say("C1", "800")
    await _old_draft(chat, CONTACT, "progress")
    await chat.press("C1", note, "下一步")
    assert (await chat.next("C1"))["text"] == LOST_PROGRESS

    stages = await chat.say("C1", "/progress")
    await chat.press("C1", stages, "无变化")
    await chat.next("C1")
    note = await chat.say("C1", "800")
    summary = await chat.say("C1", "进展顺利")
    await _old_draft(chat, CONTACT, "progress")
    cancelled = await chat.press_and_wait("C1", summary, "确认提交")
    assert cancelled["text"] == "已取消，未报送任何内容。"

    assert await _reports(engine) == []
    async with session_scope(engine) as session:
        assert (await session.exec(select(Issue))).all() == []


async def _awaiting(chat: Chat, world: World, engine: AsyncEngine, rules: Rules) -> list[int]:
    """Two issues of P1 awaiting material from 天合光能; the setup's notices count as sent."""
    handler = world.actor("r1-head")
    ids = []
    async with session_scope(engine) as session:
        p1 = (await session.exec(select(Project).where(Project.code == "P1"))).one()
        for _ in range(2):
            issue = await make_issue(session, rules, world, p1, chat.now)
            assert issue.id is not None
            await act(session, rules, handler, Accept(issue.id), chat.now)
            await act(
                session, rules, handler, RequestInfo(issue.id, note="请补充红线图"), chat.now
            )
            ids.append(issue.id)
        for notice in (await session.exec(select(Outbox))).all():
            notice.sent_at = chat.now
            session.add(notice)
    return ids


async def _statuses(engine: AsyncEngine) -> list[str]:
    async with session_scope(engine) as session:
        issues = (await session.exec(select(Issue).order_by(col(Issue.id)))).all()
    return [i.status for i in issues]


async def test_material_for_one_of_two_issues(
    chat: Chat, world: World, engine: AsyncEngine, rules: Rules
) -> None:
    api = chat.api
    first, second = await _awaiting(chat, world, engine, rules)
    await chat.bind(world.contact, CONTACT)

    # Writing while two issues wait: which one is it for? The text waits for the pick.
    api.user_says(CONTACT, "红线图见附件")
    picker = await chat.next("C1")
    assert picker["text"] == "您有多个问题在等待补充材料，这些材料属于哪一个？"
    assert labels(api, picker) == ["2026-00001", "2026-00002"]
    await chat.press("C1", picker, "2026-00001")
    assert "已收到问题 2026-00001 的补充材料" in (await chat.next("C1"))["text"]
    card = await chat.next("C1")
    assert "2026-00001" in card["text"]
    assert await _statuses(engine) == [Status.ACCEPTED, Status.AWAITING_INFO]

    # The picker again: the material was sent, the press does nothing more.
    sent = api.sent_count(CONTACT)
    await api.wait_answer(await chat.press("C1", picker, "2026-00002"))
    await chat.settle()
    assert api.sent_count(CONTACT) == sent
    assert await _statuses(engine) == [Status.ACCEPTED, Status.AWAITING_INFO]

    # A file first for the one issue left; no sixth file.
    for n in range(5):
        api.user_says(CONTACT, photo=b"\xff\xd8 redline %d" % n)
        assert f"（{n + 1}/5）" in (await chat.next("C1"))["text"]
    api.user_says(CONTACT, photo=b"\xff\xd8 one too many")
    refused = await chat.next("C1")
    assert "5" in refused["text"] and "已收到" not in refused["text"]
    assert "已收到问题 2026-00002" in (await chat.say("C1", "五张红线图"))["text"]
    async with session_scope(engine) as session:
        files = (await session.exec(select(Attachment))).all()
    assert [f.issue_id for f in files] == [second] * 5
    assert await _statuses(engine) == [Status.ACCEPTED, Status.ACCEPTED]
    assert first != second


async def test_material_from_the_button_when_the_clock_resumed_meanwhile(
    chat: Chat, world: World, engine: AsyncEngine, rules: Rules
) -> None:
    api = chat.api
    first, _second = await _awaiting(chat, world, engine, rules)
    await chat.bind(world.contact, CONTACT)

    my = await chat.say("C1", "/my")
    api.press(CONTACT, my["message_id"], f"c:{first}")
    card = await chat.next("C1")
    await chat.press("C1", card, "补充材料")
    prompt = await chat.next("C1")
    assert prompt["text"].startswith("请发送补充材料：可先发至多 5 个照片或文件")
    api.user_says(CONTACT, document=("红线图.pdf", b"%PDF-1.4 redline", "application/pdf"))
    assert "（1/5）" in (await chat.next("C1"))["text"]

    # Meanwhile the handler resumes the clock without the material.
    async with session_scope(engine) as session:
        await act(session, rules, world.actor("r1-head"), Resume(first), chat.now)
    said = await chat.say("C1", "红线图见附件")
    assert "已收到" not in said["text"]
    async with session_scope(engine) as session:
        files = (await session.exec(select(Attachment))).all()
        supplied = (
            await session.exec(select(IssueEvent).where(IssueEvent.kind == EventKind.SUPPLIED))
        ).all()
    assert files == [] and supplied == []
    # The draft is gone: the next message asks again which issue (one waits: it is supplied).
    assert "已收到问题 2026-00002" in (await chat.say("C1", "红线图见附件"))["text"]
    assert await _statuses(engine) == [Status.ACCEPTED, Status.ACCEPTED]
