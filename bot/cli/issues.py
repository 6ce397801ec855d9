"""`ztc issues …`: staff intake, lists, the timeline, and acting on an issue as an official."""

from __future__ import annotations

from typing import Any

import click
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cli.common import Env, echo_json, load_env
from locales.formats import issue_text
from models.codes import Category, Rating, Status, Urgency
from models.issues.commands import COMMANDS, Command, command_for
from models.issues.context import Ctx
from models.issues.intake import report_issue
from models.issues.runner import run
from models.permissions import SYSTEM, Actor, actor_of
from models.queries import get_by_code, get_issue, issue_json, list_issues
from models.tables.org import Contact, Department, Official
from models.tables.project import Project

AT_HELP = "When it happened, ISO (naive = the city's zone); default now."


async def _actor(session: AsyncSession, code: str | None, contact: str | None = None) -> Actor:
    """The official (or enterprise contact) acting, by code; the system when neither is named."""
    if contact is not None:
        found = await get_by_code(session=session, model=Contact, code=contact, entity="contact")
        return actor_of(found)
    if code is None:
        return SYSTEM
    official = await get_by_code(session=session, model=Official, code=code, entity="official")
    return actor_of(official)


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
@click.option("--json", "as_json", is_flag=True)
def issues_new(
    project: str,
    category: str,
    text: str,
    urgent: bool,
    at: str | None,
    by: str | None,
    as_json: bool,
) -> None:
    """Log a problem received by phone or visit; it is routed like any other."""
    env = load_env()
    now = env.parse_at(at)

    async def work(session: AsyncSession) -> dict[str, Any]:
        target = await get_by_code(session=session, model=Project, code=project, entity="project")
        ctx = Ctx(session=session, rules=env.rules, actor=await _actor(session, by), now=now)
        issue = await report_issue(
            ctx,
            project=target,
            category=Category(category),
            text=text,
            urgency=Urgency.URGENT if urgent else Urgency.NORMAL,
        )
        return await issue_json(session=session, issue=issue, tz=env.settings.tz)

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
        return [await issue_json(session=session, issue=i, tz=env.settings.tz) for i in found]

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
        return await issue_json(session=session, issue=issue, tz=env.settings.tz, events=True)

    _print(env, env.run(work), as_json)


def _verb(kind: type[Command]) -> None:
    """`ztc issues VERB ID --by OFFICIAL|--contact CONTACT […]` for one command of the chat."""
    name = kind.action.value.replace("_", "-")
    summary = (kind.__doc__ or "").strip().splitlines()[0]

    @issues.command(name, help=summary)
    @click.argument("key", metavar="ID")
    @click.option("--by", "by", help="Official code of who acts.")
    @click.option("--contact", "contact", help="Enterprise contact code of who acts.")
    @click.option("--note", "note", required=kind.asks == "note", help="A note for the timeline.")
    @click.option(
        "--department",
        "department",
        required=kind.asks == "department",
        hidden=kind.asks != "department",
        help="Department code of the co-handler to add.",
    )
    @click.option(
        "--rating",
        "rating",
        type=click.Choice([r.value for r in Rating]),
        required=kind.asks == "rating",
        hidden=kind.asks != "rating",
        help="满意 satisfied, 基本满意 basically_satisfied, 不满意 unsatisfied.",
    )
    @click.option("--at", "at", help=AT_HELP)
    @click.option("--json", "as_json", is_flag=True)
    def command(
        key: str,
        by: str | None,
        contact: str | None,
        note: str | None,
        department: str | None,
        rating: str | None,
        at: str | None,
        as_json: bool,
    ) -> None:
        env = load_env()
        if (by is None) == (contact is None):
            raise click.UsageError(env._("Say who acts: --by OFFICIAL or --contact CONTACT."))
        now = env.parse_at(at)

        async def work(session: AsyncSession) -> dict[str, Any]:
            issue = await get_issue(session=session, key=key)
            actor = await _actor(session, by, contact)
            given: dict[str, Any] = {"note": note}
            if department is not None:
                found = await get_by_code(
                    session=session, model=Department, code=department, entity="department"
                )
                given["department_id"] = found.id
            if rating is not None:
                given["rating"] = Rating(rating)
            assert issue.id is not None
            ctx = Ctx(session=session, rules=env.rules, actor=actor, now=now)
            await run(ctx, command_for(kind.action, issue.id, **given), issue=issue)
            return await issue_json(session=session, issue=issue, tz=env.settings.tz)

        _print(env, env.run(work), as_json)


for _kind in COMMANDS.values():  # every action a person may take has its verb
    if not _kind.system:
        _verb(_kind)
