"""A notice's text for the group robots: Telegram's HTML read once into lines of styled runs,
then written as each platform's markdown, as plain text, or as Feishu's rich-text elements; and
cut to a platform's size limit at a line, with a polite note saying so.

Only what notices use is kept: bold, italic, code, links, quotes. Underline, strikethrough and
spoilers keep their text. Markdown's own characters in the text are escaped, so a project called
"A*B" stays "A*B" and never turns the rest of the line bold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from typing import Any

_SPECIAL = re.compile(r"([\\`*_\[\]])")


@dataclass(frozen=True)
class Run:
    """A piece of a line in one style."""

    text: str
    bold: bool = False
    italic: bool = False
    code: bool = False
    href: str | None = None


@dataclass
class Line:
    """One line of the notice: its runs, and whether it is quoted."""

    runs: list[Run] = field(default_factory=list)
    quote: bool = False

    @property
    def plain(self) -> str:
        """The line's text without any style."""
        return "".join(run.text for run in self.runs)


class _Reader(HTMLParser):
    """Telegram's HTML subset as lines of runs."""

    _BOLD, _ITALIC, _CODE = {"b", "strong"}, {"i", "em"}, {"code", "pre"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines = [Line()]
        self.style = Run("")
        self.depth = {"bold": 0, "italic": 0, "code": 0, "quote": 0}

    def _count(self, tag: str, step: int) -> None:
        for name, tags in (("bold", self._BOLD), ("italic", self._ITALIC), ("code", self._CODE)):
            if tag in tags:
                self.depth[name] = max(0, self.depth[name] + step)
        if tag == "blockquote":
            self.depth["quote"] = max(0, self.depth["quote"] + step)
            if not self.lines[-1].runs:
                self.lines[-1].quote = self.depth["quote"] > 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.style = replace(self.style, href=dict(attrs).get("href") or None)
        elif tag == "br":
            self.handle_data("\n")
        self._count(tag, 1)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self.style = replace(self.style, href=None)
        self._count(tag, -1)

    def handle_data(self, data: str) -> None:
        style = replace(
            self.style,
            bold=self.depth["bold"] > 0,
            italic=self.depth["italic"] > 0,
            code=self.depth["code"] > 0,
        )
        for index, piece in enumerate(data.split("\n")):
            if index:
                self.lines.append(Line(quote=self.depth["quote"] > 0))
            if piece:
                self.lines[-1].runs.append(replace(style, text=piece))


def read_html(text: str) -> list[Line]:
    """Telegram HTML as lines of styled runs (entities decoded)."""
    reader = _Reader()
    reader.feed(text)
    reader.close()
    lines = reader.lines
    while lines and not lines[-1].runs:
        lines.pop()
    return lines


def escape(text: str) -> str:
    """Text with markdown's special characters escaped."""
    return _SPECIAL.sub(r"\\\1", text)


def _markdown_run(run: Run, italic: bool) -> str:
    if run.code:
        body = "`" + run.text.replace("`", "'") + "`"
    else:
        body = escape(run.text)
        stripped = body.strip()
        if run.bold and stripped:
            body = body.replace(stripped, f"**{stripped}**", 1)
        elif run.italic and italic and stripped:
            body = body.replace(stripped, f"*{stripped}*", 1)
    if run.href:
        href = run.href.replace(")", "%29").replace(" ", "%20")
        return f"[{body}]({href})"
    return body


def markdown(lines: list[Line], *, italic: bool = True, hard_break: bool = False) -> str:
    """The lines as markdown. `italic`: the platform shows *italic* (WeCom does not);
    `hard_break`: end each line with two spaces, for renderers that join single newlines."""
    out = []
    for line in lines:
        text = "".join(_markdown_run(run, italic) for run in line.runs)
        if line.quote and text:
            text = "> " + text
        out.append(text + "  " if hard_break and text else text)
    return "\n".join(out)


def plain(lines: list[Line]) -> str:
    """The lines as plain text, a link's address after its words."""
    out = []
    for line in lines:
        parts = []
        for run in line.runs:
            same = run.href is None or run.href == run.text
            parts.append(run.text if same else f"{run.text} ({run.href})")
        out.append("".join(parts))
    return "\n".join(out)


def feishu_elements(lines: list[Line]) -> list[list[dict[str, Any]]]:
    """The lines as a Feishu `post`'s content: one list of elements per paragraph line."""
    content: list[list[dict[str, Any]]] = []
    for line in lines:
        elements: list[dict[str, Any]] = []
        for run in line.runs:
            if run.href:
                elements.append({"tag": "a", "text": run.text, "href": run.href})
                continue
            element: dict[str, Any] = {"tag": "text", "text": run.text}
            style = [name for name, on in (("bold", run.bold), ("italic", run.italic)) if on]
            if style:
                element["style"] = style
            elements.append(element)
        content.append(elements or [{"tag": "text", "text": ""}])
    return content


def title_of(lines: list[Line], limit: int = 64) -> str:
    """The first line with words in it, as plain text of at most `limit` characters."""
    first = next((line.plain.strip() for line in lines if line.plain.strip()), "")
    return first if len(first) <= limit else first[: limit - 1] + "…"


def size(text: str) -> int:
    """Bytes in UTF-8: how the platforms count their limits."""
    return len(text.encode("utf-8"))


def fit(text: str, limit: int, note: str) -> str:
    """`text` if it fits in `limit` bytes; else the whole lines that fit, then `note` (both
    within the limit). Whole lines keep each line's markup closed."""
    if size(text) <= limit:
        return text
    tail = "\n\n" + note
    room = limit - size(tail)
    kept: list[str] = []
    used = 0
    for line in text.split("\n"):
        need = size(line) + (1 if kept else 0)
        if used + need > room:
            break
        kept.append(line)
        used += need
    if not any(line.strip() for line in kept):  # one enormous first line: cut inside it
        cut = text.encode("utf-8")[: max(room - size("…"), 0)].decode("utf-8", "ignore")
        kept = [cut + "…"]
    return "\n".join(kept).rstrip() + tail
