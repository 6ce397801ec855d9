"""The language layer: babel catalogs `<lang>/LC_MESSAGES/messages.po` (zh_CN default, en),
compiled in memory from the shipped .po files, and how the domain's codes and values read in
each language (`locales.labels`, `locales.formats`).

Compiling at load time means no build step and no stale .mo file: what is in the catalog is what
users read. Mark module-level strings with `N_` and translate them at render time.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import cache
from importlib import resources

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES = ("zh_CN", "en")
# Each language in its own words, as a language menu shows them.
LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}
DEFAULT_LOCALE = "zh_CN"


def N_(message: str) -> str:
    """Mark a string for extraction without translating it yet."""
    return message


@cache
def translations(locale: str) -> Translations:
    """The compiled catalog of a locale (unknown locales fall back to the default)."""
    name = locale if locale in LOCALES else DEFAULT_LOCALE
    po = resources.files("locales").joinpath(name, "LC_MESSAGES", "messages.po")
    with po.open("rb") as file:
        catalog = read_po(file, locale=name)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain="messages")


def gettext_for(locale: str) -> Callable[[str], str]:
    """The `_` function of a locale."""
    return translations(locale).gettext


def ngettext_for(locale: str) -> Callable[[str, str, int], str]:
    """The `ngettext` function of a locale."""
    return translations(locale).ngettext
