"""The cycle's smaller reports as text: translated headings, and no promise of a workbook
where none travels along."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from zoneinfo import ZoneInfo

from jobs.reports.text import agenda_text, bulletin_text, digest_text
from locales.formats import moment
from models.report_data import Agenda, AgendaRegion, Bulletin, Digest, IssueCounts, IssueRow
from models.rules import Rules
from tests.support.factories import at
from tests.unit.test_reports_files import make_bulletin

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


# --- the bulletin: "in the workbook" only where one travels along; a month in its context ------


def long_bulletin() -> Bulletin:
    """The city's fixture with twelve overdue issues and twelve people the bot cannot reach."""
    bulletin = make_bulletin()
    people = [replace(bulletin.unreachable[0], code=f"o{i}", name=f"人{i}") for i in range(12)]
    return replace(bulletin, overdue=ROWS[:12], unreachable=people)


def test_the_workbook_is_promised_only_when_attached() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    attached = bulletin_text(long_bulletin(), "en", tz, attached=True)
    assert attached.count("… and 2 more in the workbook") == 2  # the overdue and the people
    alone = bulletin_text(long_bulletin(), "en", tz)
    assert "workbook" not in alone and alone.count("… and 2 more") == 2
    assert "附表" not in bulletin_text(long_bulletin(), "zh_CN", tz)


def test_a_screen_gets_every_line() -> None:
    text = bulletin_text(long_bulletin(), "en", ZoneInfo("Asia/Shanghai"), shown=None)
    assert all(row.number in text for row in ROWS[:12]) and "人11" in text
    assert "… and" not in text


def test_a_month_shows_each_rate_beside_the_month_before_and_the_year() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    before = IssueCounts(accepted_on_time=15, due_accept=20, rated=12, satisfied=12)
    year = IssueCounts(accepted_on_time=56, due_accept=80)  # nothing rated all year
    month = replace(make_bulletin(), previous=before, year_to_date=year)
    text = bulletin_text(month, "en", tz)
    assert "On-time acceptance rate 76.0% (month on month +1.0 points, year to date 70.0%)" in text
    assert "Satisfaction rate 91.7% (month on month -8.3 points, year to date —)" in text
    assert "On-time resolution rate 66.7% (month on month —, year to date —)" in text
    zh = bulletin_text(month, "zh_CN", tz)
    assert "76.0%" in zh and "+1.0" in zh and "70.0%" in zh
    plain = bulletin_text(make_bulletin(), "en", tz)  # not a month's: no context
    assert "month on month" not in plain and "On-time acceptance rate 76.0% · " in plain


def test_the_bulletin_is_as_at_a_moment_written_as_everywhere_else() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    text = bulletin_text(make_bulletin(), "zh_CN", tz)
    assert "2026年11月1日 00:00" in text and "2026/11/1" not in text
    assert moment(make_bulletin().cut, tz, "en") in bulletin_text(make_bulletin(), "en", tz)
