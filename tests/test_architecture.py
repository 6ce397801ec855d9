"""The shape rules of DESIGN §3 and STYLE.md, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
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


@pytest.mark.parametrize("path", MODELS, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_domain_never_imports_telegram_or_the_app(path: Path) -> None:
    bad = {m for m in imports(path) if m.split(".")[0] in ("telegram", "bot", "handlers", "jobs")}
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
