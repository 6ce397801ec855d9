"""The babel catalogs: complete for every string the code marks, well-formed, and used correctly.

Strings are extracted from the source at test time, so a string added without a translation fails
here (fix: run `bash scripts/i18n.sh`, then translate the new entries).
"""

from __future__ import annotations

import ast
import io
import re
import string
from collections.abc import Iterator
from enum import StrEnum
from functools import cache
from pathlib import Path

import click
import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

import models.codes
from locales import gettext_for
from locales.labels import LABELS
from tests.support.paths import ROOT

SOURCE_DIRS = ("bot", "models", "handlers", "jobs", "locales")
CLICK = Path(click.__file__).parent
LOCALES = {
    "zh_CN": ("zh_CN", "nplurals=1; plural=0;"),
    "en": ("en", "nplurals=2; plural=(n != 1);"),
}
KEYWORDS = {**DEFAULT_KEYWORDS, "_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
FIX = (
    "run `bash scripts/i18n.sh` and translate the new entries in locales/*/LC_MESSAGES/messages.po"
)

# Calls that translate their first argument(s) (a name, or an attribute such as `env._`).
TRANSLATORS = {"_": 1, "gettext": 1, "ngettext": 2}
# Factories whose result translates: `gettext_for(locale)("...")`.
FACTORIES = {"gettext_for": 1, "ngettext_for": 2}
CJK = re.compile(r"[\u4e00-\u9fff]")


def po_path(locale: str) -> Path:
    return ROOT / "locales" / locale / "LC_MESSAGES" / "messages.po"


@cache
def catalog(locale: str) -> Catalog:
    with po_path(locale).open("rb") as file:
        return read_po(file, locale=locale, abort_invalid=True)


def entries(locale: str) -> list[Message]:
    return [message for message in catalog(locale) if message.id]


def sources() -> Iterator[Path]:
    for directory in SOURCE_DIRS:
        if (ROOT / directory).is_dir():
            yield from sorted((ROOT / directory).rglob("*.py"))


def where(path: Path, line: int) -> str:
    return f"{path.relative_to(ROOT).as_posix()}:{line}"


def callee_name(func: ast.expr) -> str | None:
    """`name` of `name(...)` or `obj.name(...)`."""
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def is_text(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def in_place_messages() -> Iterator[tuple[str, str | tuple[str, ...]]]:
    """Literals translated through `gettext_for(locale)("...")`: pybabel's keywords miss them."""
    for path in sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Call):
                count = FACTORIES.get(callee_name(node.func.func) or "")
                args = node.args[:count] if count else []
                if args and all(is_text(arg) for arg in args):
                    values = tuple(arg.value for arg in args)  # type: ignore[attr-defined]
                    yield where(path, node.lineno), values[0] if count == 1 else values


@cache
def extracted() -> dict[tuple[str | tuple[str, ...], str | None], str]:
    """Every message the source marks, as (msgid, context) -> where it is."""
    found: dict[tuple[str | tuple[str, ...], str | None], str] = {}
    for directory in SOURCE_DIRS:
        if not (ROOT / directory).is_dir():
            continue
        for filename, lineno, message, _comments, context in extract_from_dir(
            str(ROOT / directory), [("**.py", "python")], keywords=KEYWORDS
        ):
            if isinstance(message, tuple):
                message = tuple(part for part in message if part is not None)
                if len(message) == 1:
                    message = message[0]
            if message:
                found.setdefault((message, context), f"{directory}/{filename}:{lineno}")
    for place, message in in_place_messages():
        found.setdefault((message, None), place)
    # click's own texts: the CLI serves them from our catalogs (bot/cli/clicktext.py)
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(CLICK), [("**.py", "python")], keywords={"_": None, "ngettext": (1, 2)}
    ):
        message = message if isinstance(message, str) else tuple(p for p in message if p)
        found.setdefault((message, context), f"click/{filename}:{lineno}")
    return found


def placeholders(text: str) -> set[str]:
    """The named `{fields}` of a brace-format string (`{{` is a literal brace)."""
    try:
        names = {field for _, field, _, _ in string.Formatter().parse(text) if field}
    except ValueError:  # not a valid format string: fall back to a plain scan
        names = set(re.findall(r"(?<!\{)\{([^{}!:]+)", text))
    return {re.split(r"[.\[]", name, maxsplit=1)[0] for name in names if not name.isdigit()}


def strings_of(message: Message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def ids_of(message: Message) -> tuple[str, ...]:
    return message.id if isinstance(message.id, tuple) else (message.id,)


# --- the catalogs are well-formed ------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_catalog_parses_and_compiles(locale: str) -> None:
    parsed = catalog(locale)
    assert entries(locale), f"{po_path(locale)} has no entries"
    buffer = io.BytesIO()
    write_mo(buffer, parsed)
    assert buffer.getvalue(), f"{locale}: write_mo produced nothing"


@pytest.mark.parametrize("locale", LOCALES)
def test_catalog_header(locale: str) -> None:
    language, plural_forms = LOCALES[locale]
    header = dict(catalog(locale).mime_headers)
    assert header.get("Language") == language
    assert header.get("Plural-Forms") == plural_forms
    assert "charset=utf-8" in header.get("Content-Type", "").lower()


@pytest.mark.parametrize("locale", LOCALES)
def test_no_obsolete_or_fuzzy_entries(locale: str) -> None:
    parsed = catalog(locale)
    assert not parsed.obsolete, (
        f"{locale}: obsolete entries {sorted(map(str, parsed.obsolete))}; {FIX}"
    )
    assert not parsed.fuzzy, f"{locale}: the catalog header is marked fuzzy"
    fuzzy = [message.id for message in entries(locale) if message.fuzzy]
    assert not fuzzy, f"{locale}: fuzzy entries {fuzzy}: check and un-fuzzy them"


@pytest.mark.parametrize("locale", LOCALES)
def test_every_entry_translated(locale: str) -> None:
    empty = [message.id for message in entries(locale) if not all(strings_of(message))]
    assert not empty, f"{locale}: entries without a translation {empty}; {FIX}"


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_match(locale: str) -> None:
    wrong = []
    for message in entries(locale):
        expected = [placeholders(text) for text in ids_of(message)]
        for text in strings_of(message):
            if placeholders(text) not in expected:
                wrong.append(f"{message.id!r} -> {text!r}")
    assert not wrong, f"{locale}: placeholders differ from the msgid:\n" + "\n".join(wrong)


def test_english_is_the_source() -> None:
    differ = [
        f"{message.id!r} -> {message.string!r}"
        for message in entries("en")
        if strings_of(message) != ids_of(message)[: len(strings_of(message))]
    ]
    assert not differ, "en: msgstr must equal msgid:\n" + "\n".join(differ)


def test_chinese_is_chinese() -> None:
    """A zh_CN msgstr for a message with words in it is written in Chinese, not copied English."""
    english = []
    for message in entries("zh_CN"):
        words = re.sub(r"\{[^{}]*\}", "", ids_of(message)[0])
        if re.search(r"[A-Za-z]{2,}", words) and not all(
            CJK.search(text) for text in strings_of(message)
        ):
            english.append(message.id)
    assert not english, f"zh_CN: msgstr without Chinese {english}"


def test_catalogs_hold_the_same_messages() -> None:
    ids = {locale: {(m.id, m.context) for m in entries(locale)} for locale in LOCALES}
    assert ids["zh_CN"] == ids["en"], (
        f"only in zh_CN: {ids['zh_CN'] - ids['en']}; only in en: {ids['en'] - ids['zh_CN']}; {FIX}"
    )


# --- the catalogs cover the source -----------------------------------------------------------


def test_extraction_finds_the_source_strings() -> None:
    """A sanity check of the extraction itself, so that a broken scan cannot pass vacuously."""
    ids = {message for message, _context in extracted()}
    assert "county/park heads" in ids
    assert len(ids) >= 100


@pytest.mark.parametrize("locale", LOCALES)
def test_every_source_string_is_translated(locale: str) -> None:
    parsed = catalog(locale)
    missing = []
    for (message, context), place in sorted(extracted().items(), key=lambda item: item[1]):
        key = message[0] if isinstance(message, tuple) else message
        entry = parsed.get(key, context=context)
        if entry is None or entry.fuzzy or not all(strings_of(entry)):
            missing.append(f"  {place}: {message!r}")
    assert not missing, (
        f"{len(missing)} message(s) without a {locale} translation; {FIX}:\n" + "\n".join(missing)
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_no_stale_entries(locale: str) -> None:
    ids = {message[0] if isinstance(message, tuple) else message for message, _ in extracted()}
    stale = [message.id for message in entries(locale) if ids_of(message)[0] not in ids]
    assert not stale, f"{locale}: entries no longer in the source {stale}; {FIX}"


# --- the runtime ------------------------------------------------------------------------------


def test_gettext_for_translates() -> None:
    chinese = gettext_for("zh_CN")("county/park heads")
    assert chinese != "county/park heads"
    assert CJK.search(chinese)
    assert gettext_for("en")("county/park heads") == "county/park heads"


def test_unknown_locale_falls_back_to_chinese() -> None:
    for unknown in ("fr", "zh_TW", ""):
        assert gettext_for(unknown)("county/park heads") == gettext_for("zh_CN")(
            "county/park heads"
        )


def test_untranslated_string_passes_through() -> None:
    assert gettext_for("zh_CN")("no such message, surely") == "no such message, surely"


# --- the code labels -------------------------------------------------------------------------


LABELLED = sorted(LABELS.items(), key=lambda item: item[0].__name__)


@pytest.mark.parametrize(("enum", "labels"), LABELLED, ids=[e.__name__ for e, _ in LABELLED])
def test_every_code_has_a_label(enum: type[StrEnum], labels: dict[StrEnum, str]) -> None:
    assert getattr(models.codes, enum.__name__, None) is enum, f"{enum} is not from models.codes"
    unlabelled = [member.value for member in enum if member not in labels]
    assert not unlabelled, f"{enum.__name__} members without a label: {unlabelled}"
    foreign = [code for code in labels if not isinstance(code, enum)]
    assert not foreign, f"LABELS[{enum.__name__}] holds codes of another type: {foreign}"


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(("enum", "labels"), LABELLED, ids=[e.__name__ for e, _ in LABELLED])
def test_every_label_is_translated(
    locale: str, enum: type[StrEnum], labels: dict[StrEnum, str]
) -> None:
    parsed = catalog(locale)
    missing = []
    for code, text in labels.items():
        entry = parsed.get(text)
        if entry is None or entry.fuzzy or not entry.string:
            missing.append(f"{code.value}: {text!r}")
    assert not missing, f"{locale}: {enum.__name__} labels without a translation {missing}; {FIX}"


def test_chinese_labels_are_distinct_within_a_type() -> None:
    """Two codes of one type must not read the same in Chinese: users could not tell them apart."""
    _ = gettext_for("zh_CN")
    clashes = []
    for enum, labels in LABELS.items():
        seen: dict[str, StrEnum] = {}
        for code, text in labels.items():
            chinese = _(text)
            if chinese in seen:
                clashes.append(f"{enum.__name__}: {seen[chinese].value}, {code.value}: {chinese}")
            seen[chinese] = code
    assert not clashes, "\n".join(clashes)


# --- only literals go into _() ---------------------------------------------------------------


def is_marked_table(node: ast.expr) -> bool:
    """A dict literal whose values are all `N_("...")` (or such dicts, nested)."""
    if not isinstance(node, ast.Dict) or not node.values:
        return False
    return all(
        is_marked_table(value)
        or (
            isinstance(value, ast.Call)
            and callee_name(value.func) == "N_"
            and len(value.args) == 1
            and is_text(value.args[0])
        )
        for value in node.values
    )


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def tables_in(tree: ast.Module) -> frozenset[str]:
    """The names of a module's module-level tables of `N_`-marked strings."""
    names = set()
    for statement in tree.body:
        if isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            targets, value = [statement.target], statement.value
        else:
            continue
        if is_marked_table(value):
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return frozenset(names)


@cache
def marked_tables() -> dict[str, frozenset[str]]:
    """Module -> its marked tables."""
    return {
        module_name(path): tables_in(ast.parse(path.read_text(encoding="utf-8")))
        for path in sources()
    }


def visible_tables(tree: ast.Module, module: str) -> set[str]:
    """The marked tables a module defines or imports by name."""
    visible = set(tables_in(tree))
    for statement in tree.body:
        if isinstance(statement, ast.ImportFrom) and statement.module and statement.level == 0:
            exported = marked_tables().get(statement.module, frozenset())
            visible.update(
                alias.asname or alias.name for alias in statement.names if alias.name in exported
            )
    return visible


def is_table_lookup(node: ast.expr, tables: set[str]) -> bool:
    """`TABLE[key]`, `TABLE[key][key]`, `TABLE.get(key[, N_("default")])` on a marked table."""
    if isinstance(node, ast.Subscript):
        inner = node.value
        return (isinstance(inner, ast.Name) and inner.id in tables) or is_table_lookup(
            inner, tables
        )
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and len(node.args) in (1, 2)
    ):
        owner = node.func.value
        return (isinstance(owner, ast.Name) and owner.id in tables) or is_table_lookup(
            owner, tables
        )
    return False


class TranslationCalls(ast.NodeVisitor):
    """Finds `_`/`N_`/`gettext`/`ngettext`/`x._`/`gettext_for(...)` calls with a bad argument."""

    def __init__(self, path: Path, tables: set[str]) -> None:
        self.path, self.tables = path, tables
        self.functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        self.problems: list[str] = []

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.functions.append(node)
        self.generic_visit(node)
        self.functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node: ast.Call) -> None:
        name = callee_name(node.func)
        if name == "N_":
            self.check(node, 1, marker=True)
        elif name in TRANSLATORS:
            self.check(node, TRANSLATORS[name], marker=False)
        elif isinstance(node.func, ast.Call) and callee_name(node.func.func) in FACTORIES:
            self.check(node, FACTORIES[callee_name(node.func.func) or ""], marker=False)
        self.generic_visit(node)

    def forwards_parameter(self, arg: ast.expr) -> bool:
        """`def _(self, message): return gettext_for(...)(message)`: a translator's own body."""
        if not (isinstance(arg, ast.Name) and self.functions):
            return False
        function = self.functions[-1]
        params = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
        return function.name in TRANSLATORS and arg.id in params

    def check(self, node: ast.Call, count: int, *, marker: bool) -> None:
        args = node.args[:count]
        if len(args) < count:
            self.problems.append(f"{where(self.path, node.lineno)}: no message argument")
            return
        for arg in args:
            if is_text(arg):
                continue
            if isinstance(arg, ast.JoinedStr):
                why = "an f-string (translate the literal, then .format() it)"
            elif isinstance(arg, ast.BinOp):
                why = "a computed string (concatenate or %-format after translating)"
            elif isinstance(arg, ast.Call) and callee_name(arg.func) == "format":
                why = "a .format() result (translate the literal, then .format() it)"
            elif not marker and (
                is_table_lookup(arg, self.tables) or self.forwards_parameter(arg)
            ):
                continue
            else:
                why = f"not a string literal ({ast.unparse(arg)})"
            self.problems.append(f"{where(self.path, arg.lineno)}: argument is {why}")


def test_only_literals_are_translated() -> None:
    """The extractor can only collect literals: `_(f"...")` or `_(x + y)` is never translated.

    Allowed besides a literal: a lookup in a module-level table of `N_("...")`-marked strings
    (`_(LABELS[code])`, `_(ERRORS.get(code, N_("...")))`) — the deferred-translation pattern.
    `N_` itself takes a literal only.
    """
    problems = []
    for path in sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        visitor = TranslationCalls(path, visible_tables(tree, module_name(path)))
        visitor.visit(tree)
        problems.extend(visitor.problems)
    assert not problems, "translation calls with a non-literal message:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("code", "bad"),
    [
        ('_(f"Issue {n}")', True),
        ('env._("a" + b)', True),
        ('_("{x}".format(x=1))', True),
        ("gettext_for(loc)(text)", True),
        ('N_(MESSAGES["a"])', True),
        ('_("Issue {n}").format(n=1)', False),
        ('gettext_for(loc)("Nothing.")', False),
        ("_(TABLE[code])", False),
        ('_(TABLE.get(code, N_("x")))', False),
        ("_(OTHER[code])", True),
    ],
)
def test_literal_scan_itself(code: str, bad: bool) -> None:
    source = f'TABLE = {{"a": N_("a")}}\nOTHER = {{"a": "a"}}\n{code}\n'
    tree = ast.parse(source)
    visitor = TranslationCalls(ROOT / "example.py", visible_tables(tree, "example"))
    visitor.visit(tree)
    assert bool(visitor.problems) is bad, visitor.problems
