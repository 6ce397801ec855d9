"""The shape rules of DESIGN §3 and STYLE.md, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.paths import ROOT

MODELS = sorted((ROOT / "models").rglob("*.py"))


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


# Which of our packages each may import: a one-way stack, the domain at the bottom. bot/ wires
# the others (the app factory registers handlers/, hands jobs/ their render functions).
LAYERS = {
    "models": {"models"},
    "locales": {"locales", "models"},
    "jobs": {"jobs", "locales", "models"},
    "handlers": {"handlers", "jobs", "locales", "models"},
    "bot": {"bot", "handlers", "jobs", "locales", "models"},
}
# Libraries the domain must not need: it is tested without Telegram, a scheduler, a web server
# or a file format (STYLE: "the domain never imports telegram").
NOT_IN_MODELS = {"telegram", "apscheduler", "matplotlib", "openpyxl", "aiohttp", "httpx"}
SOURCES = sorted(
    path
    for package in LAYERS
    for path in (ROOT / package).rglob("*.py")
    if "migrations" not in path.parts
)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_each_package_imports_only_the_layers_below_it(path: Path) -> None:
    package = path.relative_to(ROOT).parts[0]
    ours = {m.split(".")[0] for m in imports(path)} & set(LAYERS)
    assert ours <= LAYERS[package], (
        f"{path.relative_to(ROOT)} imports {sorted(ours - LAYERS[package])}"
    )


@pytest.mark.parametrize("path", MODELS, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_domain_never_imports_telegram_a_scheduler_or_file_formats(path: Path) -> None:
    bad = {m for m in imports(path) if m.split(".")[0] in NOT_IN_MODELS}
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", MODELS, ids=lambda p: str(p.relative_to(ROOT)))
def test_rules_never_read_the_wall_clock(path: Path) -> None:
    tree = ast.parse(path.read_text("utf-8"))
    calls = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("now", "utcnow", "today")
    ]
    assert not calls, f"{path.relative_to(ROOT)} reads the clock at lines {calls}"


def test_nothing_runs_at_import_time() -> None:
    # No module-level engine, settings or bot objects: importing everything opens nothing.
    for package in ("bot", "handlers", "jobs", "models"):
        for path in (ROOT / package).rglob("*.py"):
            if path.name == "__main__.py" or "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text("utf-8"))
            for node in tree.body:
                if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(
                    getattr(node, "value", None), ast.Call
                ):
                    func = node.value.func  # type: ignore[union-attr]
                    name = getattr(func, "id", getattr(func, "attr", ""))
                    assert name not in (
                        "make_engine",
                        "create_async_engine",
                        "load_settings",
                        "Settings",
                        "Bot",
                        "load_policy",
                    ), f"{path.relative_to(ROOT)}:{node.lineno} builds {name} at import time"
