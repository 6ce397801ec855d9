"""Commands for the scheduled jobs and the bulletins: `ztc jobs list|run`, `ztc bulletin`."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import click
from babel.dates import format_datetime
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cli.common import Env, _fail, echo_json, load_env, plain_text
from bot.cli.group import EXIT_ERROR, EXIT_USAGE
from bot.demo.sample import SampleReport, real_data, simulate
from jobs import JOBS, run_job
from jobs.cycle import CycleRun, run_cycle_job
from jobs.reports.chart import bulletin_chart
from jobs.reports.text import bulletin_text
from jobs.reports.workbook import bulletin_workbook
from jobs.schedule import next_run
from locales import N_
from models.bulletin import bulletin_for, load_book, with_context
from models.codes import Role
from models.issues.sweep import ClockReport
from models.periods import Period
from models.queries import get_by_code
from models.report_data import Bulletin
from models.stats import bulletin_json
from models.tables.org import Official, Region

OUTCOMES = {
    "done": N_("{job} {period}: done; {notices} notices queued for delivery."),
    "late": N_(
        "{job} {period}: done late (was due {due}); {notices} notices queued for delivery."
    ),
    "skipped": N_(
        "{job} {period}: skipped, missed beyond its grace window (due {due}); {notices} "
        "notices to the admins queued. An admin can run it once with --period {period}."
    ),
    "taken": N_("{job} {period}: already run ({note}); nothing done."),
    "idle": N_("{job}: nothing scheduled yet."),
    "recovered": N_(
        "{job} {period}: skipped earlier (was due {due}), now run by hand by {by} and recorded "
        "late; {notices} notices queued for delivery."
    ),
}
# How a period already claimed went, by its status ("": claimed meanwhile by another run).
RUN_STATUSES = {
    "done": N_("run on time"),
    "late": N_("run late"),
    "skipped": N_("skipped"),
    "": N_("just claimed by another run"),
}


@click.group()
def jobs() -> None:
    """Scheduled work: list it, or run a job by hand."""


@jobs.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the jobs as JSON.")
def jobs_list(as_json: bool) -> None:
    """Each job, its cron line from the policy and its next run in the city's zone."""
    env = load_env()
    now = datetime.now(UTC)
    listed = [
        (job, line, next_run(env.rules, job, now))
        for job, line in env.rules.policy.cron_lines().items()
    ]
    if as_json:
        echo_json([_as_json(env, {"job": j, "cron": c, "next_run": n}) for j, c, n in listed])
        return
    for job, line, following in listed:
        click.echo(f"{job:20} {line:18} {env._('next run')}: {_local(env, following)}")


def _as_json(env: Env, data: object) -> object:
    """JSON-ready data: moments as ISO 8601 text in the city's zone, the rest as it is."""
    if isinstance(data, datetime):
        return data.astimezone(env.settings.tz).isoformat()
    if isinstance(data, dict):
        return {key: _as_json(env, value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_as_json(env, value) for value in data]
    return data


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
@click.option(
    "--by",
    "by",
    metavar="OFFICIAL_CODE",
    help="With --period: the admin who runs it, recorded with the run (default: cli).",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
def jobs_run(job: str, at: str | None, period: str | None, by: str | None, as_json: bool) -> None:
    """Run a job once. `clocks` sends due reminders and escalates what is past its deadline; a
    cycle job runs its latest due period, or --period once: a period never run, or one skipped
    (missed beyond its grace window), which is then recorded late with who ran it. A period
    already run is refused (exit 1)."""
    env = load_env()
    now, chosen = env.parse_at(at), _period(env, period)
    if chosen is not None and job == "clocks":
        raise click.UsageError(env._("--period is for the cycle's jobs, not clocks"))
    if by is not None and chosen is None:
        raise click.UsageError(env._("--by names who runs a period by hand: give --period too"))
    if by is not None:
        _check_admin(env, by)
    report = env.run_engine(lambda engine: _run(env, engine, job, now, chosen, by))
    if isinstance(report, CycleRun) and report.outcome == "taken" and chosen is not None:
        _refuse(env, report)
    if as_json:
        data = dataclasses.asdict(report) | ({"job": job} if job == "clocks" else {})
        echo_json(_as_json(env, data))
    elif isinstance(report, ClockReport):
        _echo_clocks(env, report)
    else:
        _echo_cycle(env, report)


async def _run(
    env: Env, engine: AsyncEngine, job: str, now: datetime, period: Period | None, by: str | None
) -> ClockReport | CycleRun:
    if job == "clocks":
        report: ClockReport = await run_job(job, engine=engine, rules=env.rules, now=now)
        return report
    return await run_cycle_job(
        engine=engine, rules=env.rules, job=job, now=now, period=period, by=by
    )


def _check_admin(env: Env, code: str) -> None:
    """`--by` must name an admin: who runs a period by hand is recorded with it."""

    async def role(session: AsyncSession) -> Role:
        official = await get_by_code(session=session, model=Official, code=code, entity="official")
        return Role(official.role)

    if env.run(role) != Role.ADMIN:
        message = env._("{code} is not an admin: only an admin runs a period by hand.")
        click.echo(message.format(code=code), err=True)
        raise SystemExit(EXIT_ERROR)


def _refuse(env: Env, run: CycleRun) -> None:
    """A period already run (or being run) is never run again: say so, exit 1."""
    how = _how(env, run)
    message = env._("{job} {period} was already {how}: a period runs only once; nothing done.")
    click.echo(message.format(job=run.job, period=run.period, how=how), err=True)
    raise SystemExit(EXIT_ERROR)


def _how(env: Env, run: CycleRun) -> str:
    """How a period already claimed went, in words (a taken run's note is its status)."""
    status = run.note or ""
    return env._(RUN_STATUSES[status]) if status in RUN_STATUSES else status


def _echo_cycle(env: Env, run: CycleRun) -> None:
    text = env._(OUTCOMES[run.outcome]).format(
        job=run.job,
        period=run.period or "",
        notices=run.notices,
        due=_local(env, run.scheduled),
        note=_how(env, run),
        by=run.by or "",
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
    type=click.Choice(["text", "xlsx", "png", "json"]),
    default="text",
    show_default=True,
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file.")
@click.option(
    "--at", "at", help="Figures as at this ISO time; default the period's end (now if later)."
)
def bulletin(period: str, region: str | None, fmt: str, out: Path | None, at: str | None) -> None:
    """Draw a bulletin from the data, in ZTC_DEFAULT_LOCALE: text or JSON to the screen (or
    --out), a workbook or a chart to a file (default bulletin-PERIOD[-REGION].xlsx/.png). Every
    format is drawn as at the same cut, the one the scheduled bulletin used."""
    env = load_env()
    chosen = env.parse_period(period)
    now = env.cut_of(chosen, at)

    async def draw(session: AsyncSession) -> Bulletin:
        scope = None
        if region is not None:
            scope = await get_by_code(session=session, model=Region, code=region, entity="region")
        book = await load_book(
            session=session,
            rules=env.rules,
            period=chosen,
            cut=now,
            verified_at=env.parse_at(None),
        )
        drawn = [(scope, bulletin_for(book, scope))]  # with 环比 and 年内, as the scheduled one
        return (await with_context(session=session, book=book, drawn=drawn))[0][1]

    drawn = env.run(draw)
    if fmt == "json":
        if out is None:
            echo_json(bulletin_json(drawn, env.rules))
            return
        out.write_text(json.dumps(bulletin_json(drawn, env.rules), ensure_ascii=False, indent=2))
    elif fmt == "text":  # no workbook travels with it: every list whole
        text = plain_text(bulletin_text(drawn, env.locale, env.settings.tz, shown=None))
        if out is None:
            click.echo(text)
            return
        out.write_text(text + "\n", encoding="utf-8")
    else:
        data = (
            bulletin_workbook(drawn, env.locale, env.settings.tz)
            if fmt == "xlsx"
            else bulletin_chart(drawn, env.locale, env.settings.tz)
        )
        out = out or Path(f"bulletin-{chosen.key}{'-' + region if region else ''}.{fmt}")
        out.write_bytes(data)
    click.echo(env._("Written: {path}").format(path=out), err=True)


@click.command()
@click.option("--from", "start", required=True, help="First day, ISO (2026-10-01).")
@click.option("--to", "end", required=True, help="Last moment, ISO (2026-11-30T18:00).")
@click.option("--seed", default=7, show_default=True, help="The same seed gives the same story.")
def sample(start: str, end: str, seed: int) -> None:
    """Fill a demo database with simulated issues over a span (real services, real clocks):
    for trying the chat and the bulletins. Never on a production database."""
    env = load_env()
    first, last = env.parse_at(start), env.parse_at(end)
    if last <= first:
        _fail(env._("The span is reversed: --from must come before --to."), EXIT_USAGE)

    async def work(session: AsyncSession) -> SampleReport | tuple[int, int]:
        issues, bound = await real_data(session=session)
        if issues or bound:
            return issues, bound  # nothing simulated: the session ends without a change
        return await simulate(session=session, rules=env.rules, start=first, end=last, seed=seed)

    done = env.run(work)
    if isinstance(done, tuple):
        text = env._(
            "This database holds real data ({issues} issues not made by `ztc sample`, {people} "
            "people bound to Telegram): sample only fills a demo database. Nothing was changed."
        )
        _fail(text.format(issues=done[0], people=done[1]), EXIT_ERROR)
    click.echo(
        env._(
            "Simulated: {reported} reported, {accepted} accepted, {resolved} resolved, "
            "{rated} rated, {escalated} escalated by hand."
        ).format(**{k: v for k, v in dataclasses.asdict(done).items() if k != "numbers"})
    )
