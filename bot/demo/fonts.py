"""The page's Chinese font, small: the charts' Noto Sans CJK SC (16 MB) cut down to the characters
the demo can show, about 0.3 MB as WOFF. The whole font stays at its own URL as the last face of
the page's font stack (style.css), which a browser fetches only for a character the cut lacks —
something rare a visitor types.

Cutting takes a few seconds, so the demo starts it in a worker thread and keeps the result in
ztc's data folder, named by the source font and the characters, for the next start."""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path

from babel import Locale
from babel.messages.pofile import read_po

from bot.settings import data_dir
from jobs.reports.chart import chart_font_path

log = logging.getLogger(__name__)
SUBSET_NAME = "cjk.woff"  # the cut, what the page loads
FULL_NAME = "cjk-full.otf"  # the whole font, for what the cut lacks
SUBSET_TYPE = "font/woff"  # WOFF2 would be ~20% smaller but needs brotli, not installed here
# Always in the cut: ASCII, CJK symbols and punctuation, full-width forms.
RANGES = ((0x20, 0x7E), (0x3000, 0x303F), (0xFF00, 0xFFEF))
# The code whose strings can reach the page: the bot's texts, labels, the demo's samples.
PACKAGES = ("bot", "handlers", "jobs", "models", "locales")


def page_characters(examples: Iterable[Path] = ()) -> str:
    """Every character the page can show but what a visitor types: the Chinese catalog, the
    characters of ztc's code, the example city's CSVs (and those in `examples`), the
    shipped policy, babel's Chinese date words, and RANGES; sorted, each once."""
    chars = {chr(c) for first, last in RANGES for c in range(first, last + 1)}
    chars.update(*_catalog_strings("zh_CN"), *_date_words("zh_CN"))
    for package in PACKAGES:
        chars.update(*_source_text(Path(str(resources.files(package)))))
    shipped = Path(str(resources.files("bot.demo"))) / "examples"
    for folder in {shipped, *examples}:
        chars.update(*(p.read_text("utf-8") for p in sorted(folder.glob("**/*.csv"))))
    chars.update(resources.files("models").joinpath("policy.toml").read_text("utf-8"))
    return "".join(sorted(c for c in chars if c >= " " and c != "\x7f"))


def subset_font(source: Path, text: str, cache: Path | None) -> bytes:
    """`source` as WOFF with only the glyphs of `text`, read from `cache` (a folder) when it was
    made before for the same font and text, else made and saved there (when it can be)."""
    stat = source.stat()
    key = hashlib.sha256(f"{stat.st_size}:{stat.st_mtime_ns}:{text}".encode()).hexdigest()
    cached = cache / f"cjk-{key[:20]}.woff" if cache else None
    if cached and cached.exists():
        return cached.read_bytes()
    started = time.perf_counter()
    data = _subset(source, text)
    log.info(
        "cut the page's font to %d characters: %d bytes in %.1f s",
        len(text),
        len(data),
        time.perf_counter() - started,
    )
    if cached:
        try:
            _save(cached, data)
        except OSError:  # a read-only data folder costs the next start a few seconds, no more
            log.warning("could not keep the page's font in %s", cache, exc_info=True)
    return data


class PageFont:
    """The cut for one demo, made in a worker thread from when `start` is called."""

    def __init__(self, examples: Path, cache: Path | None = None) -> None:
        self.examples = examples
        self.cache = data_dir() / "cache" if cache is None else cache
        self._task: asyncio.Future[bytes] | None = None

    def start(self) -> None:
        """Begin the cut (in the running loop's default executor); a second call does nothing."""
        if self._task is None:
            self._task = asyncio.ensure_future(asyncio.to_thread(self._make))

    async def data(self) -> bytes:
        """The WOFF, once made (several requests may wait for the one cut)."""
        self.start()
        assert self._task is not None
        return await asyncio.shield(self._task)

    async def close(self) -> None:
        """Let a cut under way finish, so that no thread outlives the demo."""
        if self._task is not None:
            await asyncio.wait([self._task])

    def _make(self) -> bytes:
        return subset_font(chart_font_path(), page_characters([self.examples]), self.cache)


def _subset(source: Path, text: str) -> bytes:
    from fontTools import subset  # type: ignore[import-untyped]  # matplotlib's; no types

    options = subset.Options()
    options.flavor = "woff"
    font = subset.load_font(str(source), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    out = io.BytesIO()
    subset.save_font(font, out, options)
    return out.getvalue()


def _save(path: Path, data: bytes) -> None:
    """Write atomically (two demos may start at once), then drop the cuts of other keys."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=".cjk-", suffix=".tmp")
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    os.replace(name, path)
    for old in path.parent.glob("cjk-*.woff"):
        if old != path:
            old.unlink(missing_ok=True)


def _catalog_strings(locale: str) -> Iterator[str]:
    po = resources.files("locales").joinpath(locale, "LC_MESSAGES", "messages.po")
    with po.open("rb") as file:
        catalog = read_po(file, locale=locale)
    for message in catalog:
        strings = [message.string] if isinstance(message.string, str) else message.string
        yield from (s for s in strings or () if s)


def _date_words(locale: str) -> Iterator[str]:
    """The words babel writes dates and times with (month and day names, 上午/下午, 年月日)."""
    data = Locale.parse(locale)
    for names in (data.days, data.months, data.quarters, data.eras):
        yield from _leaves(names)
    yield from _leaves(data.periods)
    yield from (str(f) for f in (*data.date_formats.values(), *data.datetime_formats.values()))


def _leaves(tree: object) -> Iterator[str]:
    if isinstance(tree, str):
        yield tree
    elif hasattr(tree, "values"):
        for value in tree.values():
            yield from _leaves(value)


def _source_text(folder: Path) -> Iterator[str]:
    """The non-ASCII characters of each Python file (comments too: a few more, read fast)."""
    for path in sorted(folder.glob("**/*.py")):
        text = path.read_text("utf-8")
        if not text.isascii():
            yield "".join(set(text))
