"""click's own texts in the CLI's language: "Usage:", "Options:", "Error: No such option …".

click translates them with the standard library's `gettext` (each of its modules does `from
gettext import gettext as _`), which reads compiled .mo files of a global domain. Its strings are
in our catalogs instead (scripts/i18n.sh extracts them from the installed click), and here each
click module's `_` and `ngettext` are pointed at our translations — looked up when click calls
them, so `ztc --help` compiles the catalog only when it prints.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable

# click's modules that translate (checked against the installed click by a test).
CLICK_MODULES = (
    "click.core",
    "click.decorators",
    "click.exceptions",
    "click.formatting",
    "click.parser",
    "click.shell_completion",
    "click.termui",
    "click.types",
    "click.utils",
)


def cli_locale() -> str:
    """The CLI's language: ZTC_DEFAULT_LOCALE from the environment (zh_CN if unset; click
    speaks before a command has read the settings, so a .env file does not set it)."""
    return os.environ.get("ZTC_DEFAULT_LOCALE") or "zh_CN"


def gettext(message: str) -> str:
    """One of click's texts in the CLI's language (compiled on first use)."""
    from locales import gettext_for

    return gettext_for(cli_locale())(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """One of click's counted texts in the CLI's language."""
    from locales import ngettext_for

    return ngettext_for(cli_locale())(singular, plural, n)


def speak() -> None:
    """Make click say its texts in the CLI's language (as it is when each is said)."""
    functions: dict[str, Callable[..., str]] = {"_": gettext, "ngettext": ngettext}
    for name in CLICK_MODULES:
        module = importlib.import_module(name)
        for attribute, function in functions.items():
            if attribute in vars(module):
                setattr(module, attribute, function)
