"""Commands for the scheduled jobs and the bulletins: `ztc jobs list|run`, `ztc bulletin`."""

from __future__ import annotations

import dataclasses
import html
import re
from datetime import UTC, datetime
from pathlib import Path

import click
from babel.dates import format_datetime
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cli.common import Env, echo_json, load_env
from bot.demo.sample import SampleReport, simulate
from jobs import JOBS, run_job
from jobs.cycle import CycleRun
from jobs.reports.chart import bulletin_chart
from jobs.reports.text import bulletin_text
from jobs.reports.workbook import bulletin_workbook
from jobs.schedule import next_run
from locales import N_
from models.bulletin import bulletin_for, load_book
from models.issues.sweep import ClockReport
from models.periods import Period
from models.queries import get_by_code
from models.report_data import Bulletin
from models.tables.org import Region

OUTCOMES = {
    "done": N_("{job} {period}: done; {notices} notices queued for delivery."),
    "late": N_(
        "{job} {period}: done late (was due {due}); {notices} notices queued for delivery."
    ),
    "skipped": N_("{job} {period}: skipped, missed beyond its grace window (due {due})."),
    "taken": N_("{job} {period}: already run ({note}); nothing done."),
    "idle": N_("{job}: nothing scheduled yet."),
}


@click.group()
def jobs() -> None:
    """Scheduled work: list it, or run a job by hand."""


@jobs.command("list")
def jobs_list() -> None:
    """Each job, its cron line from the policy and its next run in the city's zone."""
    env = load_env()
    now = datetime.now(UTC)
    for job, line in env.rules.policy.cron_lines().items():
        following = next_run(env.rules, job, now)
        when = _local(env, following) if following else "-"
        click.echo(f"{job:20} {line:18} {env._('next run')}: {when}")


def _local(env: Env, moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return format_datetime(moment, "yyyy-MM-dd HH:mm zzzz", tzinfo=env.settings.tz, locale="en")


def _period(env: Env, value: str | None) -> Period | None:
    if value is None:
        return None
    try:
        return Period.parse(value)
    except ValueError:
        message = env._("{value} is not a period such as 2026-11, 2026-Q3, 2026-H1 or 2026")
        raise click.BadParameter(message.format(value=value), param_hint="--period") from None


@jobs.command("run")
@click.argument("job", type=click.Choice(list(JOBS)))
@click.option("--at", "at", help="As at this ISO time (naive = the city's zone); default now.")
@click.option("--period", help="Run a cycle job for this period (2026-11, 2026-Q3 …) by hand.")
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
def jobs_run(job: str, at: str | None, period: str | None, as_json: bool) -> None:
    """Run a job once. `clocks` sends due reminders and escalates what is past its deadline; a
    cycle job runs its latest due period, or --period, once: a period already run is left."""
    env = load_env()
    now, chosen = env.parse_at(at), _period(env, period)
    if chosen is not None and job == "clocks":
        raise click.UsageError(env._("--period is for the cycle's jobs, not clocks"))
    report = env.run_engine(
        lambda engine: run_job(job, engine=engine, rules=env.rules, now=now, period=chosen)
    )
    if as_json:
        echo_json(dataclasses.asdict(report) | ({"job": job} if job == "clocks" else {}))
    elif isinstance(report, ClockReport):
        _echo_clocks(env, report)
    else:
        _echo_cycle(env, report)


def _echo_cycle(env: Env, run: CycleRun) -> None:
    text = env._(OUTCOMES[run.outcome]).format(
        job=run.job,
        period=run.period or "",
        notices=run.notices,
        due=_local(env, run.scheduled),
        note=run.note or "",
    )
    click.echo(text)


def _echo_clocks(env: Env, report: ClockReport) -> None:
    click.echo(
        env._(
            "Reminded: {reminded}; escalated: {escalated}; overdue at the top: "
            "{flagged}; resumed after the pause cap: {resumed}."
        ).format(
            reminded=len(report.reminded),
            escalated=len(report.escalated),
            flagged=len(report.flagged),
            resumed=len(report.resumed),
        )
    )
    for number in report.escalated:
        click.echo(env._("Escalated: {issue}").format(issue=number))


@click.command()
@click.option("--period", required=True, help="2026-11 (a month), 2026-Q3, 2026-H1 or 2026.")
@click.option("--region", help="A region's code (regions.csv); default the whole city.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "xlsx", "png"]),
    default="text",
    show_default=True,
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file.")
@click.option("--at", "at", help="Figures as at this ISO time; default now.")
def bulletin(period: str, region: str | None, fmt: str, out: Path | None, at: str | None) -> None:
    """Draw a bulletin from the data, in ZTC_DEFAULT_LOCALE: text to the screen (or --out), a
    workbook or a chart to a file (default bulletin-PERIOD[-REGION].xlsx/.png)."""
    env = load_env()
    chosen, now = _period(env, period), env.parse_at(at)
    assert chosen is not None

    async def draw(session: AsyncSession) -> Bulletin:
        scope = None
        if region is not None:
            scope = await get_by_code(session=session, model=Region, code=region, entity="region")
        book = await load_book(session=session, rules=env.rules, period=chosen, cut=now)
        return bulletin_for(book, scope)

    drawn = env.run(draw)
    if fmt == "text":
        text = _plain(bulletin_text(drawn, env.locale, env.settings.tz))
        if out is None:
            click.echo(text)
            return
        out.write_text(text + "\n", encoding="utf-8")
    else:
        data = (
            bulletin_workbook(drawn, env.locale, env.settings.tz)
            if fmt == "xlsx"
            else bulletin_chart(drawn, env.locale)
        )
        out = out or Path(f"bulletin-{chosen.key}{'-' + region if region else ''}.{fmt}")
        out.write_bytes(data)
    click.echo(env._("Written: {path}").format(path=out), err=True)


def _plain(text: str) -> str:
    """Telegram's HTML as terminal text."""
    return html.unescape(re.sub(r"</?[a-z]+[^>]*>", "", text))


@click.command()
@click.option("--from", "start", required=True, help="First day, ISO (2026-10-01).")
@click.option("--to", "end", required=True, help="Last moment, ISO (2026-11-30T18:00).")
@click.option("--seed", default=7, show_default=True, help="The same seed gives the same story.")
def sample(start: str, end: str, seed: int) -> None:
    """Fill a demo database with simulated issues over a span (real services, real clocks):
    for trying the chat and the bulletins. Never on a production database."""
    env = load_env()
    first, last = env.parse_at(start), env.parse_at(end)

    async def work(session: AsyncSession) -> SampleReport:
        return await simulate(session=session, rules=env.rules, start=first, end=last, seed=seed)

    done = env.run(work)
    click.echo(
        env._(
            "Simulated: {reported} reported, {accepted} accepted, {resolved} resolved, "
            "{rated} rated, {escalated} escalated by hand."
        ).format(**{k: v for k, v in dataclasses.asdict(done).items() if k != "numbers"})
    )
