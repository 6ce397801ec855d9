"""The issue card as text: always one Telegram message, however long the issue's life."""

from __future__ import annotations

from handlers.cards import card_text
from jobs.textsplit import visible_length
from models.codes import Category, EventKind, Level, Stage, Status, Urgency
from models.queries import IssueView
from models.tables.issue import Issue, IssueEvent
from models.tables.project import Project
from tests.support.factories import TZ, at


def view(events: int, note: str, text: str) -> IssueView:
    when = at("2026-11-20 10:00")
    issue = Issue(id=1, number="2026-00001", project_id=1, category=Category.LAND,
                  urgency=Urgency.NORMAL, text=text, status=Status.ACCEPTED,
                  level=Level.COUNTY, created_at=when, updated_at=when)  # fmt: skip
    project = Project(id=1, code="P1", name="项目" * 30, enterprise_id=1, region_id=1,
                      investment_wan=20_000, stage=Stage.STARTED)  # fmt: skip
    steps = [
        (IssueEvent(issue_id=1, at=when, kind=EventKind.COMMENT, note=note), "某某" * 10)
        for _ in range(events)
    ]
    return IssueView(issue=issue, project=project, assignee=None, departments=[], events=steps)


def test_a_long_timeline_keeps_its_latest_steps_within_one_message() -> None:
    card = card_text(view(40, "&<" * 100, '"' * 4000), tz=TZ, locale="zh_CN", now=at("2026-11-21"))
    assert visible_length(card) <= 4096 and len(card) <= 4096
    assert "条从略" in card and card.endswith("&amp;&lt;" * 100)


def test_a_short_timeline_is_shown_whole() -> None:
    card = card_text(view(3, "好", "缺电"), tz=TZ, locale="en", now=at("2026-11-21"))
    assert "earlier" not in card and card.count(" — 好") == 3
