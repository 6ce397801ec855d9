"""Splitting Telegram HTML texts longer than one message into balanced, self-contained parts."""

from __future__ import annotations

import re
from dataclasses import dataclass

TELEGRAM_LIMIT = 4096
_TOKEN = re.compile(r"<[^<>]*>|&(?:#\d+|#x[0-9A-Fa-f]+|[A-Za-z]+);|.", re.DOTALL)
_TAG_NAME = re.compile(r"</?\s*([A-Za-z][\w-]*)")
_EMPTY_PAIR = re.compile(r"<([A-Za-z][\w-]*)(?:\s[^<>]*)?></\1>")
_SENTENCE_END = frozenset("。！？；")


@dataclass(frozen=True)
class _Atom:
    """One indivisible piece: a tag (no width), an entity or a character."""

    text: str
    width: int
    opens: str | None = None  # tag name when this is an opening tag
    closes: str | None = None  # tag name when this is a closing tag


def _atom(token: str) -> _Atom:
    if token.startswith("<") and len(token) > 1:
        name = _TAG_NAME.match(token)
        tag = name.group(1).lower() if name else ""
        if token.startswith("</"):
            return _Atom(token, 0, closes=tag)
        return _Atom(token, 0, opens=None if token.endswith("/>") else tag)
    if token.startswith("&#"):
        digits = token[3:-1] if token[2] in "xX" else token[2:-1]
        code = int(digits, 16 if token[2] in "xX" else 10)
        return _Atom(token, 2 if code > 0xFFFF else 1)
    if token.startswith("&") and len(token) > 1:
        return _Atom(token, 1)
    # Characters outside the BMP are two UTF-16 units, and Telegram measures in UTF-16:
    # counting them as two can only make a part shorter than needed, never too long.
    return _Atom(token, 2 if ord(token) > 0xFFFF else 1)


def _atoms(text: str) -> list[_Atom]:
    return [_atom(token) for token in _TOKEN.findall(text)]


def visible_length(text: str) -> int:
    """The length Telegram counts for an HTML text: tags removed, each entity one character."""
    return sum(atom.width for atom in _atoms(text))


Open = tuple[tuple[str, str], ...]  # the tags open at a point: (name, the tag as written)


def _replay(stack: Open, atoms: list[_Atom]) -> Open:
    """The tags open after `atoms`, starting from `stack`."""
    opened = list(stack)
    for atom in atoms:
        if atom.opens:
            opened.append((atom.opens, atom.text))
        elif atom.closes:
            for i in range(len(opened) - 1, -1, -1):
                if opened[i][0] == atom.closes:
                    del opened[i]
                    break
    return tuple(opened)


def _closing(stack: Open) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(stack))


def _fits(atoms: list[_Atom], start: int, limit: int) -> int:
    """The end of the longest run from `start` within `limit` (zero-width tags included)."""
    width, end = 0, start
    while end < len(atoms) and width + atoms[end].width <= limit:
        width += atoms[end].width
        end += 1
    return end


def _break(atoms: list[_Atom], start: int, hard: int, limit: int) -> tuple[int, int]:
    """Where to end this part and where the next begins, the separator dropped between them."""
    found: dict[str, tuple[int, int]] = {}
    width = 0
    for i in range(start, min(hard + 1, len(atoms))):
        char, full = atoms[i].text, width >= limit // 2
        nxt = atoms[i + 1].text if i + 1 < len(atoms) else ""
        if char == "\n" and nxt == "\n" and i > start:
            found["para" if full else "any"] = (i, i + 2)
        elif char == "\n" and i > start:
            found["line" if full else "any"] = (i, i + 1)
        elif char == " " and i > start:
            found["space" if full else "any"] = (i, i + 1)
        elif char in _SENTENCE_END and i < hard:
            found["sentence" if full else "any"] = (i + 1, i + 1)
        width += atoms[i].width
    # A break is only "sensible" when the part is at least half full; else the latest one of any
    # kind beats cutting a word in two.
    for kind in ("para", "line", "space", "sentence", "any"):
        if kind in found:
            return found[kind]
    return hard, hard


def _cut(atoms: list[_Atom], start: int, limit: int) -> tuple[int, int]:
    hard = _fits(atoms, start, limit)
    if hard >= len(atoms):
        return len(atoms), len(atoms)
    end, resume = _break(atoms, start, hard, limit)
    # A tag opened right at the cut belongs to the next part, not as an empty pair in this one.
    while end > start and atoms[end - 1].opens:
        end -= 1
    if not any(atom.width for atom in atoms[start:end]):
        # Nothing visible fits (one character wider than the limit): take it anyway, so we move.
        end = next(i for i in range(start, len(atoms)) if atoms[i].width) + 1
        resume = end
    return end, max(resume, end)


def split_text(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Telegram HTML in parts of at most `limit` visible characters, each with balanced tags.

    Cuts at a blank line, else a line break, else a space, else a sentence end (。！？；), else
    anywhere between characters; never inside a tag or an entity. Tags open at a cut are closed
    at the end of the part and reopened at the start of the next. A text that fits is returned
    unchanged as the only part.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    atoms = _atoms(text)
    if sum(atom.width for atom in atoms) <= limit:
        return [text]
    parts: list[str] = []
    start = 0
    opened: Open = ()
    while start < len(atoms):
        end, resume = _cut(atoms, start, limit)
        body = "".join(atom.text for atom in atoms[start:end])
        after = _replay(opened, atoms[start:end])
        reopen = "".join(tag for _, tag in opened)
        parts.append(_drop_empty(reopen + body + _closing(after)))
        opened, start = _replay(after, atoms[end:resume]), resume
    return [part for part in parts if part.strip()]


def _drop_empty(part: str) -> str:
    """Remove tag pairs left with nothing inside (a tag reopened just before it closes)."""
    while (shorter := _EMPTY_PAIR.sub("", part)) != part:
        part = shorter
    return part
