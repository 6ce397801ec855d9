"""split_text: long Telegram HTML texts in parts that fit, cut sensibly, tags balanced."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest

from jobs.textsplit import split_text, visible_length


def telegram_length(part: str) -> int:
    """Counted independently of the module: tags removed, entities decoded, UTF-16 units."""
    text = html.unescape(re.sub(r"<[^<>]*>", "", part))
    return len(text.encode("utf-16-le")) // 2


class Balance(HTMLParser):
    """Fails on a closing tag that does not match the innermost open one."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack}"
        self.stack.pop()


def assert_balanced(part: str) -> None:
    parser = Balance()
    parser.feed(part)
    parser.close()
    assert parser.stack == [], f"left open: {parser.stack} in {part[:60]!r}…"


def paragraphs(total: int) -> str:
    words = [f"word{i % 97}" for i in range(total // 6)]
    lines = [" ".join(words[i : i + 12]) for i in range(0, len(words), 12)]
    text = "\n\n".join("\n".join(lines[i : i + 5]) for i in range(0, len(lines), 5))
    return text[:total]


def test_a_text_that_fits_is_returned_unchanged() -> None:
    text = "<b>Issue 12</b> &amp; more\n\n" + "x" * 4000
    assert split_text(text) == [text]


def test_visible_length_counts_as_telegram_does() -> None:
    assert visible_length('<a href="https://x.y/?a=1&amp;b=2">ab</a> &lt;&gt;&amp;&quot;') == 7
    assert visible_length("😀a") == 3  # an astral character is two UTF-16 units
    assert visible_length("&#128512;&#65;") == 3


def test_ten_thousand_characters_make_three_parts_within_the_limit() -> None:
    text = paragraphs(10_000)
    assert len(text) == 10_000
    parts = split_text(text)
    assert len(parts) == 3
    assert all(telegram_length(part) <= 4096 for part in parts)
    # Nothing lost but the separators at the cuts.
    assert sum(len(part) for part in parts) >= len(text) - 3 * 2


def test_prefers_a_paragraph_break() -> None:
    first, second = "a " * 1500, "b " * 1500
    text = first.strip() + "\n\nline one\n" + second.strip()
    parts = split_text(text)
    assert parts == [first.strip(), "line one\n" + second.strip()]


def test_then_a_line_break_then_a_space() -> None:
    lines = "\n".join(["abc " * 10] * 3)  # 3 lines of 40 characters, spaces inside
    assert split_text(lines, limit=100) == ["abc " * 10 + "\n" + "abc " * 10, "abc " * 10]
    assert split_text("aaaa bbbb cccc dddd", limit=10) == ["aaaa bbbb", "cccc dddd"]


def test_no_break_too_early_in_the_part() -> None:
    # The blank line sits in the first tenth: cutting there would waste most of the message.
    text = "intro\n\n" + "word " * 30
    parts = split_text(text, limit=50)
    assert len(parts[0]) > 25
    assert all(telegram_length(part) <= 50 for part in parts)


def test_a_hard_cut_when_there_is_no_break() -> None:
    parts = split_text("x" * 10_000)
    assert [len(part) for part in parts] == [4096, 4096, 1808]


def test_chinese_text_is_cut_after_a_sentence() -> None:
    parts = split_text("用地指标迟迟未落实。" * 3, limit=25)
    assert parts == ["用地指标迟迟未落实。用地指标迟迟未落实。", "用地指标迟迟未落实。"]


def test_entities_are_never_cut_and_count_as_one() -> None:
    parts = split_text("&amp;" * 5000)
    assert [telegram_length(part) for part in parts] == [4096, 904]
    assert all(re.fullmatch(r"(&amp;)+", part) for part in parts)


def test_tags_are_never_cut() -> None:
    text = "".join(f'<a href="https://example.org/{i}">{i:03d}</a>' for i in range(300))
    for part in split_text(text, limit=100):
        assert_balanced(part)
        assert re.fullmatch(r'(<a href="https://example.org/\d+">\d+</a>)+', part), part


def test_open_tags_are_closed_and_reopened_at_a_cut() -> None:
    text = (
        "<b>bold <i>both</i> "
        + "word " * 40
        + '</b> then <a href="https://x.y">a link '
        + "l " * 40
        + "</a>"
    )
    parts = split_text(text, limit=60)
    assert len(parts) > 3
    for part in parts:
        assert_balanced(part)
        assert telegram_length(part) <= 60
    assert parts[1].startswith("<b>") and parts[1].endswith("</b>")
    assert all(p.startswith('<a href="https://x.y">') for p in parts[-2:])
    assert "<b></b>" not in "".join(parts) and "<a" not in parts[0]


def test_nested_pre_and_code_stay_nested() -> None:
    code = "\n".join(f"print({i})" for i in range(60))
    text = f'<pre><code class="language-python">{code}</code></pre>'
    parts = split_text(text, limit=200)
    assert len(parts) == 3  # 589 visible characters, cut at line breaks
    inner = [p.removeprefix('<pre><code class="language-python">') for p in parts]
    assert all(p.endswith("</code></pre>") for p in inner)
    for part in parts:
        assert_balanced(part)
    # Only the line breaks at the cuts are gone: the code reads the same.
    assert "\n".join(p.removesuffix("</code></pre>") for p in inner) == code


def test_astral_characters_count_double_and_are_not_split() -> None:
    parts = split_text("😀" * 10, limit=5)
    assert parts == ["😀😀", "😀😀", "😀😀", "😀😀", "😀😀"]


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        split_text("abc", limit=0)
