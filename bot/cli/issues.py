"""`ztc issues …`: staff intake, lists, the timeline, and acting on an issue as an official."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import click
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cli.common import Env, echo_json, load_env
from locales.formats import issue_text
from models import issues as services
from models.codes import Category, Status, Urgency
from models.permissions import SYSTEM, Actor, actor_of
from models.queries import get_by_code, get_issue, issue_json, list_issues
from models.tables.issue import Issue
from models.tables.org import Official
from models.tables.project import Project

AT_HELP = "When it happened, ISO (naive = the city's zone); default now."


async def _actor(session: AsyncSession, code: str | None) -> Actor:
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
        issue = await services.report_issue(
            session=session,
            rules=env.rules,
            actor=await _actor(session, by),
            project=target,
            category=Category(category),
            text=text,
            urgency=Urgency.URGENT if urgent else Urgency.NORMAL,
            now=now,
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


Act = Callable[[AsyncSession, Env, Actor, Issue, str | None, datetime], Awaitable[Any]]


def _action(name: str, act: Act, help_text: str, *, note_required: bool = False) -> None:
    """Register `ztc issues NAME ID --by OFFICIAL [--note] [--at]` over one service."""

    @issues.command(name, help=help_text)
    @click.argument("key", metavar="ID")
    @click.option("--by", "by", required=True, help="Official code of who acts.")
    @click.option("--note", "note", required=note_required, help="A note for the timeline.")
    @click.option("--at", "at", help=AT_HELP)
    @click.option("--json", "as_json", is_flag=True)
    def command(key: str, by: str, note: str | None, at: str | None, as_json: bool) -> None:
        env = load_env()
        now = env.parse_at(at)

        async def work(session: AsyncSession) -> dict[str, Any]:
            issue = await get_issue(session=session, key=key)
            await act(session, env, await _actor(session, by), issue, note, now)
            return await issue_json(session=session, issue=issue, tz=env.settings.tz)

        _print(env, env.run(work), as_json)


def _kw(session: AsyncSession, env: Env, actor: Actor, issue: Issue, now: datetime) -> Any:
    return {"session": session, "rules": env.rules, "actor": actor, "issue": issue, "now": now}


_action(
    "accept",
    lambda s, e, a, i, n, t: services.accept_issue(**_kw(s, e, a, i, t), note=n),
    "受理: accept the issue; its resolve clock starts.",
)
_action(
    "escalate",
    lambda s, e, a, i, n, t: services.escalate_issue(**_kw(s, e, a, i, t), note=n),
    "提级: send the issue one level up the ladder.",
)
_action(
    "direct-line",
    lambda s, e, a, i, n, t: services.direct_line(**_kw(s, e, a, i, t), note=n),
    "直通车: send the issue straight to the city's principal leaders.",
)
_action(
    "resolve",
    lambda s, e, a, i, n, t: services.resolve_issue(**_kw(s, e, a, i, t), note=n or ""),
    "办结: resolve the issue with a note to the enterprise.",
    note_required=True,
)
_action(
    "comment",
    lambda s, e, a, i, n, t: services.comment_issue(**_kw(s, e, a, i, t), text=n or ""),
    "Add a comment or reply to the issue's timeline.",
    note_required=True,
)
