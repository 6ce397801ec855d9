"""The demo page's Chinese font (bot/demo/fonts.py): what it covers and how the cut is kept.
Over HTTP, with its size: tests/e2e/test_demo.py."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

from bot.demo import fonts
from bot.demo.fonts import page_characters, subset_font
from jobs.reports.chart import chart_font_path
from locales import LANGUAGE_NAMES


def test_the_characters_cover_the_catalog_the_city_and_the_dates() -> None:
    text = set(page_characters())
    assert set("您好，已收到：问题") <= text  # the bot's texts
    assert set("周建平淮安经济技术开发区比亚迪") <= text  # the example city
    assert set("星期五上午") <= text  # babel's dates
    assert set(LANGUAGE_NAMES["zh_CN"]) <= text  # what app.js lays out before the first draw
    assert {"A", "~", "\u3002", "\uff01"} <= text and "龘" not in text


def test_the_cut_is_made_once_per_font_and_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = subset_font(chart_font_path(), "中文", tmp_path)
    assert set(TTFont(io.BytesIO(made)).getBestCmap()) == {ord("中"), ord("文")}
    assert [p.suffix for p in tmp_path.iterdir()] == [".woff"]

    def cut_again(source: Path, text: str) -> bytes:
        raise AssertionError("cut again")

    monkeypatch.setattr(fonts, "_subset", cut_again)
    assert subset_font(chart_font_path(), "中文", tmp_path) == made  # from the cache

    monkeypatch.undo()
    subset_font(chart_font_path(), "中", tmp_path)  # another text: the old cut goes
    assert len(list(tmp_path.iterdir())) == 1
