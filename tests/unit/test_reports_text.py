"""The cycle's smaller reports as text: translated headings, and no promise of a workbook
where none travels along."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from jobs.reports.text import agenda_text, digest_text
from models.report_data import Agenda, AgendaRegion, Digest, IssueRow
from models.rules import Rules
from tests.support.factories import at

ROW = IssueRow(
    number="2026-00001",
    project_code="P1",
    project_name="天合光能",
    region="r1",
    category="land",
    urgency="urgent",
    status="submitted",
    level="county",
    handler="周建平",
    created_at=at("2026-11-20 10:00"),
    due_at=at("2026-11-20 14:00"),
    overdue=True,
    region_zh="清江浦区",
    region_en="Qingjiangpu District",
)
ROWS = [replace(ROW, number=f"2026-{i:05d}") for i in range(1, 26)]


def test_the_chase_and_the_digest_speak_chinese(rules: Rules) -> None:
    chase = digest_text(
        Digest("2026-11-23", at("2026-11-23 08:30"), ROWS), "zh_CN", rules.tz, chase=True
    )
    assert "日跟踪：25 件紧急诉求未办结" in chase
    assert "……另有 5 项" in chase and "附表" not in chase  # a digest has no workbook
    week = digest_text(
        Digest("2026-W48", at("2026-11-23 08:00"), ROWS[:1]), "en", rules.tz, chase=False
    )
    assert "This week: 1 issue is open with you" in week and "more" not in week
    # the handler reads the region's name, not its code
    assert "· 清江浦区 ·" in chase and "· Qingjiangpu District ·" in week and "· r1 ·" not in chase


def test_the_agenda_cuts_its_lists_without_a_workbook(rules: Rules) -> None:
    part = AgendaRegion("r1", "清江浦区", "Qingjiangpu District", ROWS[:12])
    text = agenda_text(
        Agenda("2026-11", date(2026, 11, 28), at("2026-11-25 09:00"), [part]), "en", rules.tz
    )
    assert "Qingjiangpu District" in text and "12 open issues, 12 overdue" in text
    assert "… and 2 more" in text and "workbook" not in text
