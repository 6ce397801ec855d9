"""`ztc progress …` (an enterprise's monthly report, a stage claim's verdict) and `ztc projects
show`: the chat's /progress by script, under the same rules (models/progress.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

import click
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cli.common import Env, echo_json, load_env
from jobs.reports import stage_label
from locales import N_
from locales.formats import money
from models.progress import (
    CLAIMS,
    DATE_OF,
    Claim,
    decide_claim,
    progress_json,
    project_json,
    report_progress,
)
from models.queries import get_by_code
from models.tables.org import Contact, Official
from models.tables.project import Project
from models.typed import parse_wan

AT_HELP = "When it happened, ISO (naive = the city's zone); default now."
STATUSES = {
    "pending": N_("awaiting confirmation"),
    "confirmed": N_("confirmed"),
    "rejected": N_("rejected"),
}


def _day(env: Env, value: str | None, hint: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        message = env._("{value} is not a date such as 2026-11-18").format(value=value)
        raise click.BadParameter(message, param_hint=hint) from None


def _stage_name(env: Env, code: str | None) -> str:
    return "—" if code is None else stage_label(code, env.locale)


def _print_report(env: Env, data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        echo_json(data)
        return
    lines = [
        env._("Progress report {id}: project {project}, {month}, by {by}").format(**data),
        env._("Investment completed so far: {amount}").format(
            amount="—" if data["invested_wan"] is None else money(data["invested_wan"], env.locale)
        ),
    ]
    if data["stage"] is not None:
        lines.append(
            env._("Stage claimed: {stage} on {on} ({status})").format(
                stage=_stage_name(env, data["stage"]),
                on=data["stage_on"],
                status=data["claim_status"],
            )
        )
    click.echo("\n".join(lines))


@click.group()
def progress() -> None:
    """Enterprises' monthly progress: reports and the stage claims officials confirm."""


@progress.command("report")
@click.option("--project", required=True, help="Project code.")
@click.option("--by", "by", required=True, help="Enterprise contact code of who reports.")
@click.option("--stage", type=click.Choice(CLAIMS), help="A stage reached (listed: 列统).")
@click.option("--on", "on", help="The day the stage was reached, YYYY-MM-DD.")
@click.option(
    "--invested-wan", "invested", help="Investment completed so far, in 万元 (1.2亿 too)."
)
@click.option("--note", help="A note for the project's agent.")
@click.option("--at", "at", help=AT_HELP)
@click.option("--json", "as_json", is_flag=True)
def progress_report(
    project: str,
    by: str,
    stage: str | None,
    on: str | None,
    invested: str | None,
    note: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Report a project's progress as its enterprise's contact; a stage is a claim until the
    project's agent or manager confirms it."""
    env = load_env()
    if (stage is None) != (on is None):
        raise click.UsageError(env._("Give --stage and --on together."))
    now, day = env.parse_at(at), _day(env, on, "--on")

    async def work(session: AsyncSession) -> dict[str, Any]:
        target = await get_by_code(session=session, model=Project, code=project, entity="project")
        contact = await get_by_code(session=session, model=Contact, code=by, entity="contact")
        report = await report_progress(
            session=session,
            tz=env.settings.tz,
            contact=contact,
            project=target,
            now=now,
            claim=Claim(stage, day) if stage else None,
            invested_wan=parse_wan(invested) if invested is not None else None,
            note=note,
        )
        return await progress_json(session=session, report=report, tz=env.settings.tz)

    _print_report(env, env.run(work), as_json)


@progress.command("confirm")
@click.option("--project", required=True, help="Project code.")
@click.option("--by", "by", required=True, help="Official code: the project's agent or manager.")
@click.option("--reject", is_flag=True, help="Reject the claim (驳回) instead; needs --note.")
@click.option("--note", help="Why it is rejected (the enterprise reads it).")
@click.option("--at", "at", help=AT_HELP)
@click.option("--json", "as_json", is_flag=True)
def progress_confirm(
    project: str, by: str, reject: bool, note: str | None, at: str | None, as_json: bool
) -> None:
    """认定 the project's pending stage claim (or reject it with a reason)."""
    env = load_env()
    now = env.parse_at(at)

    async def work(session: AsyncSession) -> dict[str, Any]:
        target = await get_by_code(session=session, model=Project, code=project, entity="project")
        official = await get_by_code(session=session, model=Official, code=by, entity="official")
        report = await decide_claim(
            session=session,
            official=official,
            project=target,
            now=now,
            confirm=not reject,
            note=note,
        )
        return await progress_json(session=session, report=report, tz=env.settings.tz)

    _print_report(env, env.run(work), as_json)


@click.group()
def projects() -> None:
    """Projects: their confirmed stage, dates and the investment completed as last reported."""


@projects.command("show")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True)
def projects_show(code: str, as_json: bool) -> None:
    """One project: stage and stage dates, investment completed, the claim awaiting."""
    env = load_env()

    async def work(session: AsyncSession) -> dict[str, Any]:
        target = await get_by_code(session=session, model=Project, code=code, entity="project")
        return await project_json(session=session, project=target, tz=env.settings.tz)

    data = env.run(work)
    if as_json:
        echo_json(data)
        return
    lines = [
        env._("Project {code} {name}: {stage}, total investment {total}").format(
            code=data["code"],
            name=data["name"],
            stage=_stage_name(env, data["stage"]),
            total=money(data["investment_wan"], env.locale),
        ),
        "  "
        + " · ".join(f"{column} {data[column]}" for column in DATE_OF.values() if data[column]),
        env._("Investment completed so far: {amount}").format(
            amount="—" if data["invested_wan"] is None else money(data["invested_wan"], env.locale)
        ),
    ]
    if data["pending_claim"]:
        lines.append(
            env._("Awaiting confirmation: {stage}, reached on {date}").format(
                stage=_stage_name(env, data["pending_claim"]), date=data["pending_claim_on"]
            )
        )
    click.echo("\n".join(line for line in lines if line.strip()))
