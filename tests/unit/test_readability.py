"""Moments to the minute in one style per language, and list buttons that keep their deadline."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from handlers.lists import BUTTON_TEXT, button_label
from jobs.reports.text import when as report_when
from locales.formats import issue_text, moment
from locales.formats import when as json_when
from tests.support.paths import ROOT

TZ = ZoneInfo("Asia/Shanghai")
NINE = datetime(2026, 12, 1, 1, 0, 30, tzinfo=UTC)  # 09:00:30 in Huai'an


@pytest.mark.parametrize(
    ("locale", "shown"),
    [
        ("zh_CN", "2026年12月1日 09:00"),
        ("en", "Dec 1, 2026, 9:00\u202fAM"),
        ("fr", "2026年12月1日 09:00"),  # a language without catalogs reads as the default
    ],
)
def test_a_moment_is_written_to_the_minute(locale: str, shown: str) -> None:
    assert moment(NINE, TZ, locale) == shown
    assert moment(None, TZ, locale) == "—"


def test_the_local_date_is_the_city_s() -> None:
    late = datetime(2026, 12, 31, 16, 5, tzinfo=UTC)  # already 1 January in Huai'an
    assert moment(late, TZ, "zh_CN") == "2027年1月1日 00:05"


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_output_writes_moments_the_same_way(locale: str) -> None:
    shown = moment(NINE, TZ, locale)
    assert report_when(NINE, TZ, locale) == shown  # the bulletin and the digests
    assert json_when(NINE.isoformat(), TZ, locale) == shown  # the CLI's issue text
    data = {
        "number": "2026-00001",
        "project": "P01",
        "category": "land",
        "urgency": "normal",
        "status": "submitted",
        "level": "county",
        "assignee": None,
        "accept_due": NINE.isoformat(),
        "resolve_due": None,
        "co_handlers": [],
        "provisional": False,
    }
    assert shown in issue_text(data, TZ, locale)


def test_no_other_date_format_where_people_read() -> None:
    """Handlers, jobs and the language layer write moments through locales.formats.moment."""
    offenders = []
    for folder in ("handlers", "jobs", "locales"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == ROOT / "locales" / "formats.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                name = getattr(node, "name", None) or getattr(node, "attr", None)
                if isinstance(node, ast.alias | ast.Attribute) and name in (
                    "format_datetime",
                    "format_time",
                ):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, f"moments formatted outside locales.formats.moment: {offenders}"


DEADLINE = "2026年12月1日 09:00（暂定）"


def test_a_short_label_is_left_whole() -> None:
    assert button_label("2026-00012 · 用地 · 已受理", DEADLINE) == (
        f"2026-00012 · 用地 · 已受理 · {DEADLINE}"
    )
    assert button_label("2026-00012 · 用地 · 已受理", None) == "2026-00012 · 用地 · 已受理"


@pytest.mark.parametrize("extra", [3, 10, 40, 200])
def test_a_long_label_is_cut_in_its_head_never_in_its_deadline(extra: int) -> None:
    head = "⚠ 2026-00012 · 能耗指标 · " + "等待企业补充材料" * extra
    label = button_label(head, DEADLINE)
    assert BUTTON_TEXT - 3 <= len(label) <= BUTTON_TEXT  # " · " before the cut is dropped
    assert label.endswith(f"… · {DEADLINE}")
    assert label.startswith("⚠ 2026-00012")


def test_an_english_deadline_survives_too() -> None:
    deadline = "Dec 1, 2026, 9:00\u202fAM (provisional)"
    head = "2026-00012 · Energy-use quota · Waiting for the enterprise's material"
    label = button_label(head, deadline)
    assert len(label) <= BUTTON_TEXT and label.endswith("… · " + deadline)
    assert label.startswith("2026-00012 · Energy-use")
