"""`ztc demo`'s parts that need no database and no server: its clock, and what the page is given
(its world: tests/services/test_demo.py; its JSON API: tests/e2e/test_demo.py; the page in a
browser: tests/e2e/test_demo_browser.py)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from bot.demo.clock import LONGEST_JUMP, DemoClock, JumpRefused, default_start, step_target
from bot.demo.page import STRINGS, chat_json, page_html, safe_html, static_file
from bot.sandbox.state import ChatLog
from locales import LOCALES, gettext_for
from models.rules import Rules
from tests.support.factories import at

START = at("2026-11-20 10:00")  # a Friday


# --- the clock ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "step", "expected"),
    [
        ("2026-11-20 10:00", "hour", "2026-11-20 11:00"),
        ("2026-11-20 10:00", "day", "2026-11-21 10:00"),
        ("2026-11-20 10:00", "workday", "2026-11-23 09:00"),  # Friday → Monday morning
        ("2026-09-30 18:00", "workday", "2026-10-08 09:00"),  # over National Day
        ("2026-10-09 12:00", "workday", "2026-10-10 09:00"),  # the 调休 Saturday works
        ("2026-11-20 10:00", "bulletin", "2026-12-01 09:00"),
        ("2026-04-01 09:00", "bulletin", "2026-05-06 09:00"),  # from one: the next, after May Day
        ("2026-09-15 10:00", "bulletin", "2026-10-08 09:00"),  # 1 Oct is National Day
    ],
)
def test_steps_land_where_the_button_says(
    rules: Rules, now: str, step: str, expected: str
) -> None:
    assert step_target(rules, at(now), step) == at(expected)


def test_the_clock_only_moves_forward_and_not_too_far() -> None:
    clock = DemoClock(START)
    assert abs((clock() - START).total_seconds()) < 5
    clock.jump_to(at("2026-12-01 09:00"))
    assert abs((clock() - at("2026-12-01 09:00")).total_seconds()) < 5
    with pytest.raises(JumpRefused) as backwards:
        clock.jump_to(START)
    assert backwards.value.reason == "backwards"
    with pytest.raises(JumpRefused) as too_far:
        clock.jump_to(clock() + LONGEST_JUMP + timedelta(minutes=1))
    assert too_far.value.reason == "too_far"
    clock.jump_to(clock() + LONGEST_JUMP - timedelta(minutes=1))  # a long jump is still fine


# --- what the page is given -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "start"),
    [
        # 1 December: not the whole empty month ahead, but five working days before 1 January
        ("2026-12-01 10:00", "2026-12-25 09:00"),
        ("2026-12-06 03:00", "2026-12-25 09:00"),  # a Sunday: the same
        ("2026-12-25 08:59", "2026-12-25 09:00"),
        ("2026-12-28 10:00", "2026-12-28 10:00"),  # nearer than five working days: now
        ("2026-09-20 12:00", "2026-09-23 09:00"),  # 中秋 (25 Sep) is off: back to the 23rd
    ],
)
def test_the_demo_starts_a_few_working_days_before_the_next_bulletin(
    rules: Rules, now: str, start: str
) -> None:
    assert default_start(rules, at(now)) == at(start)


def test_only_telegram_html_reaches_the_page() -> None:
    bot_html = safe_html(
        '<b>通报</b>\n<script>alert(1)</script><a href="javascript:alert(1)">x</a>'
        '<a href="https://example.org">ok</a> <img src=x onerror=alert(1)>',
        "HTML",
    )
    assert bot_html.startswith("<b>通报</b>\n")
    assert "<script" not in bot_html and "javascript:" not in bot_html and "<img" not in bot_html
    assert 'href="https://example.org"' in bot_html and 'target="_blank"' in bot_html
    # what a person types is text, never markup
    assert safe_html("<b>1 < 2</b>", None) == "&lt;b&gt;1 &lt; 2&lt;/b&gt;"


def test_a_chat_shows_messages_files_and_buttons_in_order() -> None:
    chat = ChatLog({"id": 7, "type": "private"})
    bot, user = {"id": 1}, {"id": 7}
    chat.messages = {
        2: {
            "message_id": 2,
            "from": bot,
            "date": 0,
            "document": {"file_id": "BQ1", "file_name": "通报.xlsx", "file_size": 20480},
            "caption": "2026年11月",
        },
        1: {"message_id": 1, "from": user, "date": 0, "text": "/start"},
        3: {
            "message_id": 3,
            "from": bot,
            "date": 0,
            "text": "<i>新问题</i>",
            "parse_mode": "HTML",
            "edit_date": 5,
            "reply_markup": {"inline_keyboard": [[{"text": "受理", "callback_data": "a:1"}]]},
        },
    }
    shown = chat_json(chat, 1, lambda _epoch: "10:00")
    assert shown["started"] is True
    first, document, notice = shown["messages"]
    assert (first["from"], first["html"]) == ("user", "/start")
    assert document["document"] == {"name": "通报.xlsx", "url": "/files/BQ1", "size": "20 KB"}
    assert document["html"] == "2026年11月"
    assert notice["html"] == "<i>新问题</i>" and notice["edited"] is True
    assert notice["buttons"] == [[{"text": "受理", "data": "a:1"}]]
    assert chat_json(None, 1, str)["started"] is False


@pytest.mark.parametrize("locale", LOCALES)
def test_the_page_comes_in_the_demos_language(locale: str) -> None:
    page = page_html(locale)
    boot = json.loads(page.split('id="ztc-boot">', 1)[1].split("</script>", 1)[0])
    assert boot["lang"] == locale
    assert boot["strings"]["send"] == gettext_for(locale)("Send")
    assert (boot["strings"]["send"] == "发送") is (locale == "zh_CN")
    assert "<!--ZTC-BOOT-->" not in page


def test_every_string_the_page_uses_is_translated() -> None:
    # index.html names strings in data-i18n* attributes and app.js through t("key"): each must be
    # one of the translated STRINGS (test_i18n then checks the catalogs have them all).
    html = static_file("index.html").decode()
    script = static_file("app.js").decode()
    used = set(re.findall(r'data-i18n(?:-[a-z]+)?="([a-z_]+)"', html))
    used |= set(re.findall(r'\bt\("([a-z_]+)"', script))
    assert len(used) > 20
    assert used <= set(STRINGS), sorted(used - set(STRINGS))
