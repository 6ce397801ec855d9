"""`ztc issues …`: staff intake, lists, the timeline, and acting on an issue as an official."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

import click
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cli.common import Env, echo_json, load_env
from locales.formats import department_name, issue_text
from models.attachments import MAX_FILES, check_file
from models.codes import Action, Category, Rating, Status, Urgency
from models.errors import InvalidInput
from models.issues.commands import COMMANDS, Command, FileIn, command_for
from models.issues.context import Ctx
from models.issues.intake import add_repeat, open_repeat, report_issue
from models.issues.runner import run
from models.permissions import SYSTEM, Actor, actor_of
from models.queries import get_by_code, get_issue, issue_json, list_issues
from models.tables.org import Contact, Department, Official, Region
from models.tables.project import Project
from models.text import clean_line

AT_HELP = "When it happened, ISO (naive = the city's zone); default now."


async def _actor(session: AsyncSession, code: str | None) -> Actor:
    """Who acts, by code: an official, else an enterprise contact; the system when none."""
    if code is None:
        return SYSTEM
    official = (await session.exec(select(Official).where(Official.code == code))).first()
    if official is not None:
        return actor_of(official)
    contact = await get_by_code(session=session, model=Contact, code=code, entity="person")
    return actor_of(contact)


async def _readable(session: AsyncSession, env: Env, data: dict[str, Any]) -> dict[str, Any]:
    """An issue's JSON as its text shows it: the project, the people and the departments by name
    (code in brackets), and the project's region by name (the JSON itself keeps the codes)."""
    events = data.get("events")
    people = await _people(session, env, {data["assignee"], *(e["actor"] for e in events or [])})
    departments = await session.exec(
        select(Department).where(col(Department.code).in_(data["co_handlers"]))
    )
    named = {
        d.code: _named(env, name=department_name(d, env.locale), code=d.code)
        for d in departments.all()
    }
    project = await get_by_code(
        session=session, model=Project, code=data["project"], entity="project"
    )
    region = await session.get(Region, project.region_id)
    readable = {
        **data,
        "project": _named(env, name=project.name, code=project.code),
        "region": _region_name(region, env.locale) if region else None,
        "assignee": people.get(data["assignee"], data["assignee"]),
        "co_handlers": [named.get(code, code) for code in data["co_handlers"]],
    }
    if events is not None:
        readable["events"] = [{**e, "actor": people.get(e["actor"], e["actor"])} for e in events]
    return readable


def _named(env: Env, name: str, code: str) -> str:
    """A person, project or department by name, its code in brackets."""
    return env._("{name} ({code})").format(name=name, code=code)


def _region_name(region: Region, locale: str) -> str:
    return region.name_zh if locale.startswith("zh") else region.name_en or region.name_zh


async def _people(session: AsyncSession, env: Env, codes: set[str | None]) -> dict[str, str]:
    """Officials' and contacts' codes -> "name (code)"; "system" in words."""
    known = {code for code in codes if code}
    names: dict[str, str] = {}
    contacts = await session.exec(select(Contact).where(col(Contact.code).in_(known)))
    officials = await session.exec(select(Official).where(col(Official.code).in_(known)))
    # An official's name wins over a contact's of the same code.
    names.update((person.code, person.name) for person in contacts.all())
    names.update((person.code, person.name) for person in officials.all())
    people = {code: _named(env, name=name, code=code) for code, name in names.items()}
    return {**people, "system": env._("system")}


def _print(env: Env, data: dict[str, Any] | list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        echo_json(data)
        return
    for item in data if isinstance(data, list) else [data]:
        click.echo(issue_text(item, env.settings.tz, env.locale))
        click.echo()


@click.group()
def issues() -> None:
    """Problems reported by enterprises, and what officials do with them."""


@issues.command("new")
@click.option("--project", required=True, help="Project code.")
@click.option("--category", required=True, type=click.Choice([c.value for c in Category]))
@click.option("--text", required=True, help="What the enterprise reported.")
@click.option("--urgent", is_flag=True, help="急事急办: the urgent clocks apply.")
@click.option("--at", "at", help=AT_HELP)
@click.option("--by", "by", help="Official code of who took the report (phone, visit).")
@click.option(
    "--separate",
    is_flag=True,
    help="A different problem: a new issue even if the same reporter has one open on this "
    "project and category (otherwise the report is added to that one, counted in `repeats`).",
)
@click.option("--json", "as_json", is_flag=True)
def issues_new(
    project: str,
    category: str,
    text: str,
    urgent: bool,
    at: str | None,
    by: str | None,
    separate: bool,
    as_json: bool,
) -> None:
    """Log a problem received by phone or visit; it is routed like any other."""
    env = load_env()
    now = env.parse_at(at)

    async def work(session: AsyncSession) -> dict[str, Any]:
        target = await get_by_code(session=session, model=Project, code=project, entity="project")
        actor = await _actor(session, by)
        ctx = Ctx(session=session, rules=env.rules, actor=actor, now=now)
        assert target.id is not None
        repeated = None
        if not separate:
            repeated = await open_repeat(
                session=session, reporter=actor, project_id=target.id, category=Category(category)
            )
        if repeated is not None:
            issue = await add_repeat(ctx, repeated, text)
        else:
            issue = await report_issue(
                ctx,
                project=target,
                category=Category(category),
                text=text,
                urgency=Urgency.URGENT if urgent else Urgency.NORMAL,
            )
        data = await issue_json(session=session, issue=issue, tz=env.settings.tz, rules=env.rules)
        return data if as_json else await _readable(session, env, data)

    _print(env, env.run(work), as_json)


@issues.command("list")
@click.option("--status", type=click.Choice([s.value for s in Status]))
@click.option("--region", help="Region code.")
@click.option("--overdue", is_flag=True, help="Only open issues past their running deadline.")
@click.option("--at", "at", help="Judge 'overdue' as at this ISO time; default now.")
@click.option("--json", "as_json", is_flag=True)
def issues_list(
    status: str | None, region: str | None, overdue: bool, at: str | None, as_json: bool
) -> None:
    """Issues, newest first."""
    env = load_env()
    now = env.parse_at(at)

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        found = await list_issues(
            session=session,
            now=now,
            region=region,
            overdue=overdue,
            status=Status(status) if status else None,
        )
        rows = [
            await issue_json(session=session, issue=i, tz=env.settings.tz, rules=env.rules)
            for i in found
        ]
        return rows if as_json else [await _readable(session, env, row) for row in rows]

    rows = env.run(work)
    if not rows and not as_json:
        click.echo(env._("No issues."))
    _print(env, rows, as_json)


@issues.command("show")
@click.argument("key", metavar="ID")
@click.option("--json", "as_json", is_flag=True)
def issues_show(key: str, as_json: bool) -> None:
    """One issue with its timeline (ID: the number, e.g. 2026-00012, or the id)."""
    env = load_env()

    async def work(session: AsyncSession) -> dict[str, Any]:
        issue = await get_issue(session=session, key=key)
        data = await issue_json(
            session=session, issue=issue, tz=env.settings.tz, events=True, rules=env.rules
        )
        return data if as_json else await _readable(session, env, data)

    _print(env, env.run(work), as_json)


# A verb is its action's code with dashes, except where the CLI's contract names it otherwise.
VERBS = {Action.CONFIRM: "rate"}
NOTE_REQUIRED = {"note", "material", "official"}


def _verb(kind: type[Command]) -> None:
    """`ztc issues VERB ID --by CODE […]` for one command of the chat."""
    name = VERBS.get(kind.action, kind.action.value.replace("_", "-"))
    summary = (kind.__doc__ or "").strip().splitlines()[0]

    @issues.command(name, help=summary)
    @click.argument("key", metavar="ID")
    @click.option("--by", "by", required=True, help="Code of who acts: an official or a contact.")
    @click.option("--note", "note", required=kind.asks in NOTE_REQUIRED, help="What they say.")
    @click.option(
        "--department",
        help="Department code of the co-handler.",
        required=kind.asks == "department",
        hidden=kind.asks != "department",
    )
    @click.option(
        "--to",
        "to",
        help="Official code to transfer to.",
        required=kind.asks == "official",
        hidden=kind.asks != "official",
    )
    @click.option(
        "--rating",
        type=click.Choice([r.value for r in Rating]),
        help="满意 satisfied, 基本满意 basically_satisfied, 不满意 unsatisfied.",
        required=kind.asks == "rating",
        hidden=kind.asks != "rating",
    )
    @click.option(
        "--file",
        "files",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="A document or photo (up to 5).",
        hidden=kind.asks != "material",
    )
    @click.option("--at", "at", help=AT_HELP)
    @click.option("--json", "as_json", is_flag=True)
    def command(key: str, by: str, at: str | None, as_json: bool, **given: Any) -> None:
        env = load_env()
        now = env.parse_at(at)

        async def work(session: AsyncSession) -> dict[str, Any]:
            issue = await get_issue(session=session, key=key)
            assert issue.id is not None
            ctx = Ctx(session=session, rules=env.rules, actor=await _actor(session, by), now=now)
            inputs = await _inputs(session, given)
            await run(ctx, command_for(kind.action, issue.id, **inputs), issue=issue)
            data = await issue_json(
                session=session, issue=issue, tz=env.settings.tz, rules=env.rules
            )
            return data if as_json else await _readable(session, env, data)

        _print(env, env.run(work), as_json)


async def _inputs(session: AsyncSession, given: dict[str, Any]) -> dict[str, Any]:
    """The CLI's options as a command's fields: codes looked up, files read."""
    found: dict[str, Any] = {"note": given.get("note")}
    if given.get("department"):
        department = await get_by_code(
            session=session, model=Department, code=given["department"], entity="department"
        )
        found["department_id"] = department.id
    if given.get("to"):
        official = await get_by_code(
            session=session, model=Official, code=given["to"], entity="official"
        )
        found["to_official_id"] = official.id
    if given.get("rating"):
        found["rating"] = Rating(given["rating"])
    paths: tuple[Path, ...] = given.get("files") or ()
    if len(paths) > MAX_FILES:
        raise InvalidInput(field="files", reason="too_many", limit=MAX_FILES)
    found["files"] = tuple(_file_in(path) for path in paths)
    return found


def _file_in(path: Path) -> FileIn:
    """A file from the admin's disk, as a command carries it (checked like a chat upload)."""
    data = path.read_bytes()
    check_file([], len(data))
    mime = mimetypes.guess_type(path.name)[0]
    photo = mime in ("image/jpeg", "image/png")
    return FileIn(
        kind="photo" if photo else "document",
        data=data,
        name=clean_line(path.name),
        mime=mime,
        size=len(data),
    )


for _kind in COMMANDS.values():  # every action a person may take has its verb
    if not _kind.system:
        _verb(_kind)
