"""The `ztc` command line end to end: schema, import, the ladder's routing and clocks, errors.

Most tests drive `bot.cli.cli` with click's CliRunner; a few run the real `python -m bot` and the
`ztc` console script. Each test gets its own database: a fresh SQLite file, or — when
ZTC_TEST_DATABASE_URL is set — the shared PostgreSQL database, which this module resets per test
and leaves migrated to head with empty tables when it is done (the session's `database_url`
fixture uses the same database).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click
import openpyxl
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram.error import InvalidToken

from bot.cli import cli
from bot.cli.common import load_env
from bot.cli.group import ZtcGroup
from bot.sandbox import FakeBotAPI
from jobs.reports import RATE_LABELS
from jobs.reports.text import percent
from locales import gettext_for
from models.db import make_engine
from models.figures import RATE_KEYS
from models.invites import hash_token
from models.periods import Period
from models.report_data import Bulletin, load
from models.stats import Scope, scope_figures
from models.tables.infra import Invite, Report
from models.tables.issue import Issue, IssueEvent
from models.tables.org import Enterprise, Official, Region
from models.tables.project import Project
from tests.support.database import PG_URL, reset_database
from tests.support.paths import EXAMPLES, ROOT

T = TypeVar("T")
FRIDAY = "2026-11-20T10:00"  # a Friday: one working day later is Monday
MONDAY_DUE = "2026-11-23T10:00:00+08:00"
CJK = re.compile(r"[\u4e00-\u9fff]")


# --- databases ---


def run_db(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in a session of its own on `url` (for checks behind the CLI's back)."""

    async def go() -> T:
        engine = make_engine(url)
        try:
            async with AsyncSession(engine) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def count(url: str, model: Any) -> int:
    """Rows in a table."""

    async def work(session: AsyncSession) -> int:
        return (await session.exec(select(func.count()).select_from(model))).one()

    return run_db(url, work)


async def _drop_everything(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


@pytest.fixture(scope="module", autouse=True)
def _leave_postgres_migrated() -> Iterator[None]:
    """On PostgreSQL, leave the shared database migrated to head with empty tables."""
    yield
    if PG_URL:
        asyncio.run(reset_database(PG_URL))


@pytest.fixture
def blank(tmp_path: Path) -> str:
    """The URL of an empty database: no tables, no alembic_version."""
    if PG_URL:
        asyncio.run(_drop_everything(PG_URL))
        return PG_URL
    return f"sqlite:///{tmp_path / 'ztc.db'}"


@pytest.fixture
def env(blank: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A clean ZTC_* environment on `blank`, English, run from an empty directory."""
    for name in list(os.environ):
        if name.startswith("ZTC_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ZTC_DATABASE_URL", blank)
    monkeypatch.setenv("ZTC_DEFAULT_LOCALE", "en")
    monkeypatch.setenv("ZTC_DATA_DIR", str(tmp_path / "data"))  # not the developer's own
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    return blank


@pytest.fixture
def migrated(env: str) -> str:
    """`env`, migrated to head, empty."""
    asyncio.run(reset_database(env))
    return env


@pytest.fixture
def samples(migrated: str) -> str:
    """`migrated`, with the sample CSVs imported."""
    ztc("import", "all", str(EXAMPLES))
    return migrated


# --- running the CLI ---


def ztc(*args: str, code: int = 0) -> Result:
    """Invoke `ztc ARGS` in-process; check the exit code and that nothing leaked a traceback."""
    result = CliRunner().invoke(cli, list(args), prog_name="ztc")
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"ztc {' '.join(args)} raised {result.exception!r}")
    assert result.exit_code == code, (
        f"ztc {' '.join(args)}: exit {result.exit_code}\nstdout: {result.stdout}\n"
        f"stderr: {result.stderr}"
    )
    return result


def ztc_json(*args: str) -> Any:
    """`ztc ARGS --json`, parsed."""
    return json.loads(ztc(*args, "--json").stdout)


def new_issue(project: str, *extra: str, at: str = FRIDAY, category: str = "land") -> dict:
    """`ztc issues new` for a project, as JSON."""
    return ztc_json(
        "issues",
        "new",
        "--project",
        project,
        "--category",
        category,
        "--text",
        f"{project}: 用地指标迟迟未落实",
        "--at",
        at,
        *extra,
    )


def nothing_done(report: dict) -> bool:
    """A clocks report in which every list is empty (and the contract's four are there)."""
    assert {"reminded", "escalated", "flagged", "resumed"} <= set(report), report
    return all(value == [] for value in report.values() if isinstance(value, list))


def show(number: str) -> dict:
    """`ztc issues show NUMBER --json`."""
    return ztc_json("issues", "show", number)


def subprocess_env(url: str, **extra: str) -> dict[str, str]:
    """This process's environment without ZTC_*, plus the database and English."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZTC_")}
    env.update({"ZTC_DATABASE_URL": url, "ZTC_DEFAULT_LOCALE": "en", **extra})
    return env


def run(argv: list[str], url: str, cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run a real process; stderr must never carry a traceback."""
    done = subprocess.run(
        argv,
        env=subprocess_env(url, **extra),
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout, done.stderr
    return done


# --- help ---


def test_the_command_list_is_each_command_s_own_help_and_loads_none_of_them() -> None:
    from bot.cli import COMMANDS

    ctx = click.Context(cli)
    for name, (_path, line) in COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None and command.name in (name, "import_"), name
        shown = click.Command(name, help=line).get_short_help_str(10**6)
        assert command.get_short_help_str(10**6) == shown, name  # what --help lists, either way
    listing = "import sys; from bot.cli import cli; cli(['--help'], prog_name='ztc')"
    heavy = ("sqlalchemy", "telegram", "matplotlib", "alembic", "openpyxl", "models", "jobs")
    check = (
        "import atexit, sys\n"
        f"atexit.register(lambda: print(sorted(m for m in {heavy!r} if m in sys.modules)))\n"
        f"{listing}"
    )
    done = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.stdout.rstrip().endswith("[]"), done.stdout[-300:] + done.stderr


def test_dash_h_is_help_on_every_level(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZTC_DEFAULT_LOCALE", "en")
    for argv in (["-h"], ["issues", "-h"], ["issues", "new", "-h"], ["outbox", "send", "-h"]):
        out = ztc(*argv).stdout
        assert out.startswith(f"Usage: ztc {' '.join(argv[:-1])}".rstrip() + " "), argv
        assert "-h, --help" in out
    assert ztc("--version").stdout.startswith("ztc, version ")  # in any language: scripts read it


def test_help_in_chinese_by_default() -> None:
    # a process of its own: click keeps a command's help option once made
    environ = {k: v for k, v in os.environ.items() if k != "ZTC_DEFAULT_LOCALE"}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "issues", "-h"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=environ,
    )
    assert done.stdout.startswith("用法： ztc issues ")
    assert "选项:" in done.stdout and "-h, --help  显示本帮助并退出。" in done.stdout


def test_clicks_own_errors_speak_chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZTC_DEFAULT_LOCALE", "zh_CN")
    unknown = ztc("--bogus", code=2).stderr
    assert "错误：没有选项 '--bogus'。" in unknown and "运行“ztc --help”查看帮助。" in unknown
    missing = ztc("issues", "show", code=2).stderr
    assert "错误：缺少参数 'ID'" in missing, missing
    choice = ztc("issues", "new", "--project", "P1", "--category", "nope", "--text", "x", code=2)
    assert "--category" in choice.stderr and "不在可选值" in choice.stderr, choice.stderr


def test_every_click_module_that_translates_is_spoken_for() -> None:
    import click

    from bot.cli.clicktext import CLICK_MODULES

    translating = {
        f"click.{path.stem}"
        for path in Path(click.__file__).parent.glob("*.py")
        if "from gettext import" in path.read_text(encoding="utf-8")
        and not path.stem.startswith("_")  # the Windows console and the pager's internals
    }
    assert translating == set(CLICK_MODULES)


# --- schema and doctor ---


def test_audit_verify_names_the_first_broken_link_and_doctor_fails_on_it(samples: str) -> None:
    """The contract: `ztc audit verify [--json]` exits 0 when the record verifies, 1 naming the
    issue number and the event id of the first broken link; `ztc doctor` runs it."""
    ztc("sample", "--from", "2026-11-02T00:00", "--to", "2026-11-13T18:00")
    before = ztc_json("audit", "verify")
    assert before["ok"] and before["events"] > 0 and before["first_broken"] is None
    assert before["pending"] == before["events"]  # nothing anchored until a seal
    assert ztc_json("audit", "seal") == {"anchored": before["events"]}
    after = ztc_json("audit", "verify")
    assert (after["anchored"], after["pending"]) == (before["events"], 0)
    head = f"{after['head']['seq']}:{after['head']['hash']}"
    assert "The record verifies." in ztc("audit", "verify", "--head", head).stdout
    assert "The record verifies" in ztc("doctor").stdout
    assert f"events, head {head}." in ztc("bulletin", "--period", "2026-11").stdout

    async def tamper(session: AsyncSession) -> tuple[str, int]:
        query = select(IssueEvent, Issue).join(Issue).where(IssueEvent.kind == "resolved")
        event, issue = (await session.exec(query.order_by(col(IssueEvent.id)))).first()
        named = (str(issue.number), int(event.id or 0))
        connection = await session.connection()
        await connection.execute(
            text("UPDATE issueevent SET note = 'x' WHERE id = :id"), {"id": event.id}
        )
        await session.commit()
        return named

    number, event_id = run_db(samples, tamper)
    result = ztc("audit", "verify", "--json", code=1)
    broken = json.loads(result.stdout)
    assert broken["ok"] is False
    assert broken["first_broken"] == {
        "issue": number,
        "event_id": event_id,
        "reason": "content",
        "detail": broken["first_broken"]["detail"],
    }
    said = ztc("audit", "verify", code=1).stdout
    assert f"issue {number}, event {event_id}" in said.splitlines()[0]
    assert f"issue {number}, event {event_id}" in ztc("doctor", code=1).stdout
    bulletin = ztc("bulletin", "--period", "2026-11").stdout  # still drawn, and says so
    assert (
        "The record did not verify at" in bulletin
        and f"issue {number}, event {event_id}" in bulletin
    )
    assert "Usage" in ztc("audit", "verify", "--head", "12:abc", code=2).stderr


def test_doctor_before_upgrade_fails_then_upgrade_makes_it_current(env: str) -> None:
    before = ztc("doctor", code=1)
    assert "ztc db upgrade" in before.stdout
    assert "✗" in before.stdout
    upgraded = ztc("db", "upgrade")
    assert re.search(r"schema revision \w+", upgraded.stdout)
    after = ztc("doctor")
    assert "schema is current" in after.stdout
    assert "✗" not in after.stdout
    ztc("db", "upgrade")  # again: nothing to do, still fine
    ztc("doctor")
    report = json.loads(ztc("doctor", "--json").stdout)
    assert report["ok"] is True and {c["status"] for c in report["checks"]} <= {"ok", "warning"}
    assert any("schema is current" in c["text"] for c in report["checks"])


def test_db_current_history_and_downgrade(migrated: str) -> None:
    from models.migrate import head_revision, history

    head = head_revision()
    assert f"at schema revision {head}; this ztc ships {head}" in ztc("db", "current").stdout
    assert json.loads(ztc("db", "current", "--json").stdout) == {"revision": head, "head": head}
    steps = json.loads(ztc("db", "history", "--json").stdout)
    assert [s["current"] for s in steps][-2:] == [False, True] and steps[0][
        "down_revision"
    ] is None
    listed = ztc("db", "history").stdout.splitlines()
    assert [line[2:].split()[0] for line in listed] == [r for r, _, _ in history()]
    assert listed[-1].startswith(f"* {head}") and listed[0].startswith("  0001")
    before = history()[-2][0]
    refused = ztc("db", "downgrade", before, code=2)
    assert "--yes" in refused.stderr
    ztc("db", "downgrade", "nine", "--yes", code=2)
    assert f"at schema revision {before}." in ztc("db", "downgrade", before, "--yes").stdout
    assert "not up to date" in ztc("db", "current", code=1).stderr
    ztc("db", "upgrade")
    ztc("db", "current")


def test_doctor_names_an_unreachable_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/no/such/dir/ztc.db"
    result = subprocess.run(
        [str(Path(sys.executable).with_name("ztc")), "doctor"],
        env=subprocess_env(url),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "Database unreachable" in result.stdout and "does not exist" in result.stdout
    assert "Traceback" not in result.stderr


def test_a_database_that_is_not_there_is_not_created_and_the_fix_is_named(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/ztc.db"
    ztc_bin = str(Path(sys.executable).with_name("ztc"))
    for argv in (["issues", "list"], ["doctor"], ["jobs", "run", "clocks"]):
        done = run([ztc_bin, *argv], url, tmp_path)
        assert done.returncode == 1, argv
        assert "does not exist yet: create it with `ztc db upgrade`" in done.stdout + done.stderr
    assert not (tmp_path / "ztc.db").exists()  # nothing was created on the way
    sqlite3.connect(tmp_path / "ztc.db").close()  # a file with no schema in it
    done = run([ztc_bin, "issues", "list"], url, tmp_path)
    assert done.returncode == 1
    assert "no ztc schema (or an old one): run `ztc db upgrade` first" in done.stderr
    assert run([ztc_bin, "db", "upgrade"], url, tmp_path).returncode == 0
    assert run([ztc_bin, "issues", "list"], url, tmp_path).returncode == 0


def test_debug_shows_the_traceback_behind_the_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ztc.db"
    ztc_bin = str(Path(sys.executable).with_name("ztc"))
    for argv, extra in ((["--debug"], {}), ([], {"ZTC_DEBUG": "1"})):
        done = subprocess.run(
            [ztc_bin, *argv, "issues", "list"],
            env=subprocess_env(url, **extra),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 1
        assert "Traceback" in done.stderr and "DatabaseMissing" in done.stderr
        assert done.stderr.rstrip().endswith("create it with `ztc db upgrade`.")
    assert "Traceback" not in run([ztc_bin, "issues", "list"], url, tmp_path).stderr


# --- import ---


def test_import_all_examples(migrated: str) -> None:
    first = ztc("import", "all", str(EXAMPLES))
    assert first.stdout.splitlines() == [
        f"{EXAMPLES / 'regions.csv'}: 10 created, 0 updated.",
        f"{EXAMPLES / 'departments.csv'}: 10 created, 0 updated.",
        f"{EXAMPLES / 'officials.csv'}: 36 created, 0 updated.",
        f"{EXAMPLES / 'enterprises.csv'}: 8 created, 0 updated.",
        f"{EXAMPLES / 'contacts.csv'}: 11 created, 0 updated.",
        f"{EXAMPLES / 'projects.csv'}: 16 created, 0 updated.",
    ]
    assert count(migrated, Project) == 16 and count(migrated, Official) == 36
    again = ztc("import", "all", str(EXAMPLES))
    assert f"{EXAMPLES / 'projects.csv'}: 0 created, 16 updated." in again.stdout
    assert count(migrated, Project) == 16


def test_import_one_file(migrated: str) -> None:
    result = ztc("import", "regions", str(EXAMPLES / "regions.csv"))
    assert result.stdout.strip() == f"{EXAMPLES / 'regions.csv'}: 10 created, 0 updated."
    assert count(migrated, Region) == 10


def test_bad_csv_via_cli_imports_nothing(migrated: str, tmp_path: Path) -> None:
    ztc("import", "regions", str(EXAMPLES / "regions.csv"))
    bad = tmp_path / "regions.csv"
    bad.write_text(
        "code,name_zh,name_en,kind\n"
        "new1,新区一,,district\n"
        "qjp,清江浦区（改）,,district\n"
        "new2,新区二,,township\n"
        "new3,,,park\n",
        encoding="utf-8",
    )
    result = ztc("import", "regions", str(bad), code=1)
    assert result.stderr.splitlines() == [
        f"{bad}:4: township is not a valid kind",
        f"{bad}:5: name_zh is required",
        "Nothing was imported.",
    ]
    assert result.stdout == ""
    assert count(migrated, Region) == 10

    async def qjp_name(session: AsyncSession) -> str:
        return (await session.exec(select(Region.name_zh).where(Region.code == "qjp"))).one()

    assert run_db(migrated, qjp_name) == "清江浦区"


def test_import_all_with_a_bad_projects_file(migrated: str, tmp_path: Path) -> None:
    for file in EXAMPLES.glob("*.csv"):
        (tmp_path / file.name).write_bytes(file.read_bytes())
    projects = tmp_path / "projects.csv"
    projects.write_text(
        projects.read_text("utf-8").replace(",9999,completed,", ",9999,done,"), encoding="utf-8"
    )
    result = ztc("import", "all", str(tmp_path), code=1)
    assert f"{projects}:5: done is not a valid stage" in result.stderr.splitlines()
    assert result.stderr.splitlines()[-1] == "Nothing was imported."
    assert count(migrated, Project) == 0


def test_import_all_with_a_missing_file(migrated: str, tmp_path: Path) -> None:
    (tmp_path / "regions.csv").write_bytes((EXAMPLES / "regions.csv").read_bytes())
    result = ztc("import", "all", str(tmp_path), code=1)
    assert "Missing file(s)" in result.stderr and "projects.csv" in result.stderr
    assert count(migrated, Region) == 0


def test_import_refuses_non_utf8(migrated: str, tmp_path: Path) -> None:
    gbk = tmp_path / "regions.csv"
    gbk.write_bytes("code,name_zh,kind\nqjp,清江浦区,district\n".encode("gbk"))
    result = ztc("import", "regions", str(gbk), code=1)
    assert "not UTF-8" in result.stderr
    assert count(migrated, Region) == 0


def test_import_accepts_bom(migrated: str, tmp_path: Path) -> None:
    bom = tmp_path / "regions.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + "kind,code,name_zh\npark,p1,园区\n".encode())
    assert "1 created" in ztc("import", "regions", str(bom)).stdout


def test_duplicate_credit_code_via_cli_names_the_line(migrated: str, tmp_path: Path) -> None:
    file = tmp_path / "enterprises.csv"
    file.write_text(
        "code,name,credit_code\nE01,甲,91320800MA142QXJN5\nE02,乙,91320800MA142QXJN5\n",
        encoding="utf-8",
    )
    result = ztc("import", "enterprises", str(file), code=1)
    assert result.stderr.startswith(f"{file}:3: ")


# --- the done-when scenario: routing, clocks, idempotence ---


ROUTES = {
    # project: (level, assignee) on reporting, then (level, assignee) after one escalation
    "P01": (("city_principal", "principal-b"), None),  # 60亿, its leader; at the top
    "P02": (("city_deputy", "deputy-b"), ("city_principal", "principal-a")),  # 10亿 exactly
    "P03": (("county", "lsx-head"), ("city_deputy", "deputy-a")),  # 1亿 exactly
    "P04": (("service_desk", "xyx-agent"), ("county", "xyx-head")),  # 9999万
    "P08": (("service_desk", "qjp-agent"), ("county", "qjp-head")),  # no agent: first by code
}


def own_clock(issue: dict[str, Any]) -> list[str]:
    """The issue's own clock's events: the co-handlers' deadlines (issue 13) run beside it."""
    return [e["kind"] for e in issue["events"] if not e["kind"].startswith("cohandler_")]


def test_routing_and_clocks_done_when(samples: str) -> None:
    created = {code: new_issue(code) for code in ROUTES}
    for code, ((level, assignee), _up) in ROUTES.items():
        issue = created[code]
        assert (issue["project"], issue["level"], issue["assignee"]) == (code, level, assignee)
        assert issue["status"] == "submitted"
        assert issue["urgency"] == "normal"
        assert issue["accept_due"] == MONDAY_DUE  # Friday 10:00 + 1 working day
        assert issue["resolve_due"] is None
        assert (issue["escalations"], issue["direct_line"], issue["provisional"]) == (
            0,
            False,
            False,
        )
        assert issue["co_handlers"] == ["zgj"]  # land → 资规局
        assert re.fullmatch(r"2026-\d{5}", issue["number"])
        assert set(issue) >= {
            "id",
            "number",
            "project",
            "category",
            "urgency",
            "status",
            "level",
            "assignee",
            "co_handlers",
            "accept_due",
            "resolve_due",
            "escalations",
            "direct_line",
            "provisional",
        }
    numbers = {code: created[code]["number"] for code in ROUTES}

    # Just before the deadline: reminders only (once), nothing escalates.
    early = ztc_json("jobs", "run", "clocks", "--at", "2026-11-23T09:59")
    assert early["escalated"] == [] and early["flagged"] == []
    assert sorted(early["reminded"]) == sorted(numbers.values())
    assert nothing_done(ztc_json("jobs", "run", "clocks", "--at", "2026-11-23T09:59"))

    # Past it: every issue goes up exactly one level; the top one is flagged instead.
    report = ztc_json("jobs", "run", "clocks", "--at", "2026-11-23T10:30")
    assert sorted(report["escalated"]) == sorted(n for c, n in numbers.items() if c != "P01")
    assert report["flagged"] == [numbers["P01"]]
    before = {code: show(number) for code, number in numbers.items()}
    for code, (_first, up) in ROUTES.items():
        issue = before[code]
        if up is None:
            assert (issue["level"], issue["assignee"]) == ("city_principal", "principal-b")
            assert issue["escalations"] == 0 and issue["status"] == "submitted"
            assert issue["accept_due"] == MONDAY_DUE
            assert own_clock(issue) == ["created", "reminder", "overdue"]
            continue
        assert (issue["level"], issue["assignee"]) == up, code
        assert issue["status"] == "submitted"
        assert issue["escalations"] == 1
        assert issue["accept_due"] == "2026-11-24T10:30:00+08:00"  # one working day after the run
        assert own_clock(issue) == ["created", "reminder", "escalated"]
        escalated = issue["events"][-1]
        assert (escalated["from_level"], escalated["to_level"]) == (ROUTES[code][0][0], up[0])
        assert escalated["actor"] == "system"
        assert escalated["at"] == "2026-11-23T10:30:00+08:00"

    # The same run again changes nothing.
    assert nothing_done(ztc_json("jobs", "run", "clocks", "--at", "2026-11-23T10:30"))
    assert {code: show(number) for code, number in numbers.items()} == before
    text_again = ztc("jobs", "run", "clocks", "--at", "2026-11-23T10:30").stdout
    assert "escalated: 0" in text_again


def test_at_with_an_explicit_offset(samples: str) -> None:
    issue = new_issue("P04", at="2026-11-20T02:00:00+00:00")  # = Friday 10:00 in the city
    assert issue["accept_due"] == MONDAY_DUE


def test_sample_fills_a_demo_database_only(samples: str) -> None:
    reversed_span = ztc("sample", "--from", "2026-11-30T00:00", "--to", "2026-11-01T00:00", code=2)
    assert "The span is reversed" in reversed_span.stderr
    span = ("--from", "2026-10-12T00:00", "--to", "2026-11-20T09:00")
    assert "Simulated:" in ztc("sample", *span).stdout
    assert "Simulated:" in ztc("sample", *span, "--seed", "8").stdout  # its own issues: fine
    real = new_issue("P04")
    count = len(ztc_json("issues", "list"))
    refused = ztc("sample", *span, code=1)
    assert "holds real data (1 issues not made by `ztc sample`, 0 people" in refused.stderr
    assert len(ztc_json("issues", "list")) == count  # nothing was changed
    assert real["number"] in {i["number"] for i in ztc_json("issues", "list")}


def test_urgent_accept_due_is_four_hours(samples: str) -> None:
    issue = new_issue("P04", "--urgent")
    assert issue["urgency"] == "urgent"
    assert issue["accept_due"] == "2026-11-20T14:00:00+08:00"


def test_new_issue_errors(samples: str) -> None:
    missing = ztc("issues", "new", "--project", "P99", "--category", "land", "--text", "x", code=1)
    assert "No project" in missing.stderr and "P99" in missing.stderr
    ztc("issues", "new", "--project", "P04", "--category", "roads", "--text", "x", code=2)
    empty = ztc("issues", "new", "--project", "P04", "--category", "land", "--text", "  ", code=1)
    assert "empty" in empty.stderr
    nobody = ztc(
        "issues",
        "new",
        "--project",
        "P04",
        "--category",
        "land",
        "--text",
        "x",
        "--by",
        "ghost",
        code=1,
    )
    assert "ghost" in nobody.stderr


def test_wrong_official_cannot_accept(samples: str) -> None:
    number = new_issue("P04")["number"]
    result = ztc(
        "issues", "accept", number, "--by", "qjp-head", "--at", "2026-11-20T11:00", code=1
    )
    assert result.stderr.strip() == f"You may not accept {number}."
    assert result.stdout == ""
    assert show(number)["status"] == "submitted"


def test_accept_comment_resolve_timeline(samples: str) -> None:
    number = new_issue("P04")["number"]
    accepted = ztc_json(
        "issues",
        "accept",
        number,
        "--by",
        "xyx-agent",
        "--note",
        "收到",
        "--at",
        "2026-11-20T11:00",
    )
    assert accepted["status"] == "accepted"
    assert accepted["resolve_due"] == "2026-11-27T11:00:00+08:00"  # 5 working days
    ztc(
        "issues",
        "comment",
        number,
        "--by",
        "xyx-agent",
        "--note",
        "已协调资规局",
        "--at",
        "2026-11-23T09:00",
    )
    ztc("issues", "resolve", number, "--by", "xyx-agent", code=2)  # --note is required
    again = ztc(
        "issues", "accept", number, "--by", "xyx-agent", "--at", "2026-11-23T09:30", code=1
    )
    assert "cannot accept" in again.stderr
    resolved = ztc_json(
        "issues",
        "resolve",
        number,
        "--by",
        "xyx-agent",
        "--note",
        "已落实",
        "--at",
        "2026-11-24T16:00",
    )
    assert resolved["status"] == "resolved"
    shown = show(number)
    assert [e["kind"] for e in shown["events"]] == ["created", "accepted", "comment", "resolved"]
    assert [e["actor"] for e in shown["events"]] == [
        "system",
        "xyx-agent",
        "xyx-agent",
        "xyx-agent",
    ]
    assert [e["note"] for e in shown["events"][1:]] == ["收到", "已协调资规局", "已落实"]
    assert shown["events"][-1]["at"] == "2026-11-24T16:00:00+08:00"
    assert set(shown["events"][0]) == {"at", "kind", "actor", "from_level", "to_level", "note"}
    text_view = ztc("issues", "show", number).stdout
    assert number in text_view and "已落实" in text_view


def test_escalate_and_direct_line(samples: str) -> None:
    number = new_issue("P04")["number"]
    up = ztc_json(
        "issues",
        "escalate",
        number,
        "--by",
        "xyx-agent",
        "--note",
        "需县里协调",
        "--at",
        "2026-11-20T11:00",
    )
    assert (up["level"], up["assignee"], up["escalations"]) == ("county", "xyx-head", 1)
    top = ztc_json("issues", "direct-line", number, "--by", "xyx-head", "--at", "2026-11-20T12:00")
    assert (top["level"], top["assignee"]) == ("city_principal", "principal-a")
    assert top["direct_line"] is True and top["escalations"] == 2
    nowhere = ztc("issues", "escalate", number, "--by", "admin-a", code=1)
    assert "nowhere higher" in nowhere.stderr
    kinds = [e["kind"] for e in show(number)["events"]]
    assert kinds == ["created", "escalated", "direct_line"]


def test_list_filters(samples: str) -> None:
    p04 = new_issue("P04")["number"]
    p08 = new_issue("P08")["number"]
    p02 = new_issue("P02")["number"]
    ztc("issues", "accept", p02, "--by", "deputy-b", "--at", "2026-11-20T11:00")

    def numbers(*args: str) -> list[str]:
        return [i["number"] for i in ztc_json("issues", "list", *args)]

    assert numbers() == [p02, p08, p04]  # newest first
    assert numbers("--status", "accepted") == [p02]
    assert numbers("--status", "submitted") == [p08, p04]
    assert numbers("--status", "closed") == []
    assert numbers("--region", "qjp") == [p02, p08]
    assert numbers("--region", "xyx") == [p04]
    assert numbers("--region", "lsx") == []
    assert numbers("--region", "qjp", "--status", "submitted") == [p08]
    assert numbers("--overdue", "--at", "2026-11-20T12:00") == []
    # Monday 10:30: both accept clocks ran out; the accepted issue's resolve clock has not.
    assert numbers("--overdue", "--at", "2026-11-23T10:30") == [p08, p04]
    assert numbers("--overdue", "--at", "2026-11-27T11:00") == [p02, p08, p04]
    assert ztc("issues", "list", "--status", "closed").stdout.strip() == "No issues."
    unknown = ztc("issues", "list", "--region", "atlantis", code=1)
    assert "atlantis" in unknown.stderr
    ztc("issues", "list", "--status", "bogus", code=2)


def test_show_unknown_issue(samples: str) -> None:
    result = ztc("issues", "show", "2026-99999", code=1)
    assert "No issue" in result.stderr
    assert "No issue" in ztc("issues", "show", "12345", code=1).stderr


# --- invites ---


def test_invite_official_prints_token_and_link_and_stores_only_the_hash(
    samples: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZTC_BOT_USERNAME", "ztc_bot")
    out = ztc("invite", "official", "deputy-a").stdout
    token = re.search(r"^Token: (\S+)$", out, re.M)
    assert token, out
    secret = token[1]
    assert f"Link: https://t.me/ztc_bot?start={secret}" in out.splitlines()
    assert 16 <= len(secret) <= 64 and re.fullmatch(r"[A-Za-z0-9_-]+", secret)

    async def rows(session: AsyncSession) -> list[Invite]:
        return list((await session.exec(select(Invite))).all())

    stored = run_db(samples, rows)
    assert len(stored) == 1
    assert stored[0].token_hash == hash_token(secret)
    assert secret not in json.dumps(stored[0].model_dump(), default=str)
    assert stored[0].official_id is not None and stored[0].contact_id is None


def test_invite_contact_without_bot_username(samples: str) -> None:
    out = ztc("invite", "contact", "C01").stdout
    assert re.search(r"^Token: \S+$", out, re.M)
    assert "t.me" not in out and "ZTC_BOT_USERNAME" in out
    missing = ztc("invite", "contact", "C99", code=1)
    assert "C99" in missing.stderr
    ztc("invite", "enterprise", "E01", code=2)


@contextmanager
def sandbox_in_thread() -> Iterator[FakeBotAPI]:
    """A fake Bot API serving from a thread of its own (the CLI runs its own event loop)."""
    api, loop, ready = FakeBotAPI(), asyncio.new_event_loop(), threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(api.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield api
    finally:
        asyncio.run_coroutine_threadsafe(api.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def test_invite_link_takes_the_bot_username_from_get_me(
    samples: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with sandbox_in_thread() as api:
        monkeypatch.setenv("ZTC_BOT_TOKEN", api.token)
        monkeypatch.setenv("ZTC_BOT_API_URL", api.url)
        out = ztc("invite", "contact", "C01").stdout
    assert re.search(r"^Link: https://t\.me/ztc_test_bot\?start=\S+$", out, re.M), out


# --- configuration errors ---


def test_bad_policy_thresholds_name_tiers(
    migrated: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = (ROOT / "models" / "policy.toml").read_text("utf-8")
    policy = tmp_path / "policy.toml"
    policy.write_text(shipped.replace("city_deputy = 100000", "city_deputy = 5000"), "utf-8")
    monkeypatch.setenv("ZTC_POLICY", str(policy))
    result = ztc("issues", "list", code=3)
    assert "tiers" in result.stderr and str(policy) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert ztc("doctor", code=1).stdout.count("tiers") == 1


def test_bad_policy_category_names_the_key(
    migrated: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = (ROOT / "models" / "policy.toml").read_text("utf-8")
    policy = tmp_path / "policy.toml"
    policy.write_text(shipped.replace('labour = "rsj"', 'labor = "rsj"'), "utf-8")
    monkeypatch.setenv("ZTC_POLICY", str(policy))
    result = ztc("jobs", "list", code=3)
    assert "categories.labor" in result.stderr
    missing = tmp_path / "absent.toml"
    monkeypatch.setenv("ZTC_POLICY", str(missing))
    assert str(missing) in ztc("jobs", "list", code=3).stderr


def test_bad_database_url_scheme(env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZTC_DATABASE_URL", "mysql://root@127.0.0.1/ztc")
    result = ztc("issues", "list", code=3)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "ZTC_DATABASE_URL" in lines[0]
    assert "ZTC_DATABASE_URL" in ztc("doctor", code=1).stdout


def test_bad_locale_setting(env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZTC_DEFAULT_LOCALE", "fr")
    assert "ZTC_DEFAULT_LOCALE" in ztc("jobs", "list", code=3).stderr


def test_at_not_iso_is_a_usage_error(migrated: str) -> None:
    result = ztc("issues", "list", "--at", "tomorrow", code=2)
    assert "--at" in result.stderr and "tomorrow" in result.stderr
    assert "ISO" in result.stderr
    ztc("jobs", "run", "clocks", "--at", "20/11/2026", code=2)
    ztc(
        "issues",
        "new",
        "--project",
        "P04",
        "--category",
        "land",
        "--text",
        "x",
        "--at",
        "Friday",
        code=2,
    )


def test_jobs_list_lists_every_job_with_its_next_run(env: str) -> None:
    lines = ztc("jobs", "list").stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == [
        "clocks",
        "monthly_bulletin",
        "coordination_agenda",
        "quarterly_review",
        "half_year_visit",
        "annual_assessment",
        "progress_reminder",
        "progress_followup",
        "weekly_digest",
        "daily_chase",
    ]
    assert lines[0].split()[1:6] == ["*", "*", "*", "*", "*"]
    # The agenda's line comes from the meeting day (28th) less the days before (3).
    assert lines[2].split()[1:6] == ["0", "9", "25", "*", "*"]
    assert all(re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} China Standard Time$", x) for x in lines)


def test_unknown_command_and_help(env: str) -> None:
    assert "issues" in ztc("--help").stdout
    ztc("frobnicate", code=2)


# --- language ---


def test_default_locale_formats_dates_the_chinese_way(
    samples: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ZTC_DEFAULT_LOCALE")
    number = new_issue("P04")["number"]
    assert "2026年11月23日" in ztc("issues", "show", number).stdout


def test_default_locale_is_chinese(
    migrated: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ZTC_DEFAULT_LOCALE")
    summary = ztc("import", "regions", str(EXAMPLES / "regions.csv")).stdout
    assert CJK.search(summary.replace(str(EXAMPLES), "")), summary
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name_zh,kind\nx,甲,town\n", "utf-8")
    error = ztc("import", "regions", str(bad), code=1).stderr
    assert CJK.search(error.replace(str(bad), "")), error
    missing = ztc("issues", "show", "99", code=1).stderr
    assert CJK.search(missing), missing


# --- real processes ---


def test_python_m_bot_upgrade_and_doctor(env: str, tmp_path: Path) -> None:
    python = [sys.executable, "-m", "bot"]
    doctor = run([*python, "doctor"], env, tmp_path)
    assert doctor.returncode == 1
    upgrade = run([*python, "db", "upgrade"], env, tmp_path)
    assert upgrade.returncode == 0, upgrade.stderr
    doctor = run([*python, "doctor"], env, tmp_path)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "schema is current" in doctor.stdout
    bad = run([*python, "issues", "list"], env, tmp_path, ZTC_DATABASE_URL="mysql://x@y/z")
    assert bad.returncode != 0 and "ZTC_DATABASE_URL" in bad.stderr


def test_console_script(migrated: str, tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("ztc")
    assert script.exists(), script
    version = run([str(script), "--version"], migrated, tmp_path)
    assert version.returncode == 0 and "0.1.0" in version.stdout
    imported = run([str(script), "import", "all", str(EXAMPLES)], migrated, tmp_path)
    assert imported.returncode == 0, imported.stderr
    new = run(
        [
            str(script),
            "issues",
            "new",
            "--project",
            "P04",
            "--category",
            "land",
            "--text",
            "急",
            "--at",
            FRIDAY,
            "--json",
        ],
        migrated,
        tmp_path,
    )
    assert new.returncode == 0, new.stderr
    assert json.loads(new.stdout)["accept_due"] == MONDAY_DUE
    unknown = run([str(script), "issues", "show", "2026-99999"], migrated, tmp_path)
    assert unknown.returncode == 1 and "No issue" in unknown.stderr
    bad_csv = tmp_path / "officials.csv"
    bad_csv.write_text("code,name,role,region\nx,甲,region_head,\n", "utf-8")
    rejected = run([str(script), "import", "officials", str(bad_csv)], migrated, tmp_path)
    assert rejected.returncode == 1
    assert rejected.stderr.splitlines() == [
        f"{bad_csv}:2: region is required",
        "Nothing was imported.",
    ]
    bad_at = run([str(script), "jobs", "run", "clocks", "--at", "soon"], migrated, tmp_path)
    assert bad_at.returncode == 2 and "--at" in bad_at.stderr
    assert count(migrated, Enterprise) == 8


def test_unreachable_sqlite_prints_no_thread_traceback(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/no/such/dir/ztc.db"
    script = str(Path(sys.executable).with_name("ztc"))
    for args in (["issues", "list"], ["db", "upgrade"]) * 3:  # it shows in most runs, not all
        done = subprocess.run(
            [script, *args],
            env=subprocess_env(url),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 1
        assert "Cannot use the database" in done.stderr
        assert "Traceback" not in done.stderr, done.stderr


def test_demo_without_its_example_data_says_what_to_pass(tmp_path: Path) -> None:
    result = ztc("demo", "--examples", str(tmp_path), code=3)
    assert "--examples" in result.output and str(tmp_path) in result.output


# --- the bot token never shows (issue 11, item 6) ---

TOKEN = "987654321:AAH" + "x" * 32  # shaped like BotFather's: bot id, colon, 35 characters


def failing_group(error: Exception) -> click.Group:
    """A `ztc`-like group whose one command, `boom`, raises `error`."""
    group = ZtcGroup()

    @group.command()
    def boom() -> None:
        raise error

    return group


def test_a_rejected_token_is_a_configuration_error_without_the_token(env: str) -> None:
    error = InvalidToken(f"The token `{TOKEN}` was rejected by the server.")
    result = CliRunner().invoke(failing_group(error), ["boom"])
    assert result.exit_code == 3
    assert result.stderr.splitlines() == [
        "Configuration error: Telegram rejected ZTC_BOT_TOKEN (invalid or revoked); "
        "get a new token from @BotFather."
    ]


def test_an_unexpected_error_never_prints_a_token(
    env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    configured = "123456:NOT-SHAPED-LIKE-A-TOKEN"  # only known as the configured one
    monkeypatch.setenv("ZTC_BOT_TOKEN", configured)
    error = RuntimeError(f"POST /bot{configured}/getMe and /bot{TOKEN}/getMe failed")
    result = CliRunner().invoke(failing_group(error), ["boom"])
    assert result.exit_code == 4
    assert result.stderr.splitlines() == [
        "Unexpected error (RuntimeError): POST /bot123456:***/getMe and "
        "/bot987654321:***/getMe failed"
    ]


# --- one definition of every figure: the same numbers in every output ---


def _rates_of(scope: dict[str, Any]) -> dict[str, tuple[Any, int, int]]:
    """A JSON scope's rates: key -> (value, numerator, denominator)."""
    return {
        key: (scope[key], scope[f"{key}_numerator"], scope[f"{key}_denominator"])
        for key in (
            "on_time_accept_rate",
            "on_time_resolve_rate",
            "satisfaction_rate",
            "reopen_rate",
        )
    }


def test_every_output_of_a_period_shows_the_same_figures(samples: str, tmp_path: Path) -> None:
    """November 2026 through `ztc stats`, the bulletin's JSON, text and workbook, the bulletin
    the schedule delivers, /stats' path, and each region's own: one set of numbers, as at one
    cut (the month's end), whichever command draws it and whenever."""
    ztc("sample", "--from", "2026-10-12T00:00", "--to", "2026-11-30T18:00")
    stats = ztc_json("stats", "--period", "2026-11")
    as_json = json.loads(ztc("bulletin", "--period", "2026-11", "--format", "json").stdout)
    record = as_json.pop("record")  # a bulletin says whether its record verified; stats do not
    assert record["verified"] and record["events"] > 0 and record["first_broken"] is None
    assert stats == as_json  # the city's figures and the ranking
    assert stats["as_at"] == "2026-12-01T00:00:00+08:00"  # the month's end, not "now"
    figures = _rates_of(stats)
    assert {v for v, *_ in figures.values()} - {None}, "the sample leaves rates to compare"
    for value, part, whole in figures.values():
        assert value == (part / whole if whole else None)

    # the text: every rate, labelled, with the same percentage
    text = ztc("bulletin", "--period", "2026-11").stdout
    _ = gettext_for("en")
    for key in RATE_KEYS:
        value = figures[f"{key}_rate"][0]
        assert f"{_(RATE_LABELS[key])} {percent(value, 'en')}" in text

    # the workbook: each rate's row holds the same value, numerator and denominator
    out = tmp_path / "nov.xlsx"
    ztc("bulletin", "--period", "2026-11", "--format", "xlsx", "--out", str(out))
    rows = {r[0]: r for r in openpyxl.load_workbook(out).worksheets[0].iter_rows(values_only=True)}
    for key in RATE_KEYS:
        expected, part, whole = figures[f"{key}_rate"]
        assert rows[_(RATE_LABELS[key])][1:4] == (pytest.approx(expected), part, whole)

    # each region: its own `ztc stats --region` is its line of the ranking
    for line in stats["regions"]:
        own = ztc_json("stats", "--period", "2026-11", "--region", line["code"])
        assert _rates_of(own) == _rates_of(line) and own["counts"] == line["counts"]

    # the bulletin the schedule delivers on 1 December (run at 09:00, drawn as at midnight)
    ztc("jobs", "run", "monthly_bulletin", "--at", "2026-12-01T09:00")
    rules = load_env().rules

    async def stored(session: AsyncSession) -> tuple[Bulletin, Any]:
        query = select(Report).where(Report.job == "monthly_bulletin", Report.scope == "city")
        report = (await session.exec(query)).one()
        mine = await scope_figures(
            session=session,
            rules=rules,
            scope=Scope("city"),
            period=Period.parse("2026-11"),
            cut=datetime.fromisoformat(stats["as_at"]),
        )
        return load(Bulletin, report.data), mine

    delivered, chat = run_db(samples, stored)
    for key in RATE_KEYS:
        assert delivered.issues.parts(key) == figures[f"{key}_rate"][1:]
        assert chat.issues.parts(key) == figures[f"{key}_rate"][1:]  # what /stats draws
    # …and asked again later, the same month reads the same (as at its cut, from the history)
    later = ztc_json("stats", "--period", "2026-11")
    ztc("jobs", "run", "clocks", "--at", "2026-12-20T10:00")  # today's rows move on; history not
    assert ztc_json("stats", "--period", "2026-11") == later == stats


def test_without_a_url_the_database_lives_in_the_data_folder(
    env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ZTC_DATABASE_URL")
    data = tmp_path / "data"  # not there yet: `db upgrade` makes it
    assert "does not exist yet" in ztc("db", "current", code=1).stderr
    assert not data.exists()  # a read creates nothing
    ztc("db", "upgrade")
    assert (data / "ztc.db").is_file() and not (tmp_path / "ztc.db").exists()
    (data / ".env").write_text("ZTC_DEFAULT_LOCALE=zh_CN\n", encoding="utf-8")
    monkeypatch.delenv("ZTC_DEFAULT_LOCALE")
    assert "数据库" in ztc("db", "current").stdout  # the data folder's .env is read
    (tmp_path / ".env").write_text("ZTC_DEFAULT_LOCALE=en\n", encoding="utf-8")
    assert "Database is at schema revision" in ztc("db", "current").stdout  # the folder's wins


def test_a_repeat_report_is_added_to_the_open_issue_unless_separate(samples: str) -> None:
    first = new_issue("P04", "--by", "xyx-agent")
    assert first["repeats"] == 0  # in every issue's JSON
    again = new_issue("P04", "--by", "xyx-agent", at="2026-11-20T15:00")
    assert (again["number"], again["repeats"]) == (first["number"], 1)
    timeline = show(first["number"])["events"]
    assert [e["kind"] for e in timeline].count("repeated") == 1
    assert "重复反映" not in ztc("issues", "show", first["number"]).stdout  # English here
    assert "Repeat reports: 1" in ztc("issues", "show", first["number"]).stdout
    # a different problem, said so: a ticket of its own
    separate = new_issue("P04", "--by", "xyx-agent", "--separate")
    assert separate["number"] != first["number"] and separate["repeats"] == 0
    # another category, or another reporter: new ones too
    assert new_issue("P04", "--by", "xyx-agent", category="permits")["repeats"] == 0
    unattributed = new_issue("P04")  # no --by: the staff's intake, a reporter of its own
    assert unattributed["number"] not in (first["number"], separate["number"])
    # … which repeats itself like anyone: the same project and category again, merged
    assert new_issue("P04", at="2026-11-20T16:00")["number"] == unattributed["number"]
    assert show(unattributed["number"])["repeats"] == 1
