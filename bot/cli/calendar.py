"""`ztc calendar load|show`: a year's holiday schedule, as the State Council announced it."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import NoReturn

import click
from babel.dates import format_date
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cli.common import Env, echo_json, load_env
from bot.cli.group import EXIT_ERROR
from bot.cli.issues import AT_HELP
from locales import N_, ngettext_for
from locales.formats import row_error_text
from models.holidays import ScheduleRejected, YearLoaded, load_year, parse_schedule
from models.importer import RowError
from models.workcal import DayKind, Source

SOURCES = {
    Source.DATABASE: N_("{year}: the schedule loaded into the database (ztc calendar load)."),
    Source.POLICY: N_("{year}: the schedule in the policy file's [calendar.{year}]."),
    Source.PACKAGE: N_("{year}: the schedule known to the chinesecalendar package."),
    Source.UNKNOWN: N_(
        "{year}: not announced yet. Weekdays are working days, except the days off fixed by "
        "law (1 January, 1 May, 1–3 October); deadlines counted through {year} are "
        "provisional until `ztc calendar load {year} FILE`."
    ),
}
KINDS = {DayKind.HOLIDAY: N_("day off"), DayKind.WORKDAY: N_("working weekend day")}


@click.group()
def calendar() -> None:
    """Holidays: load a year's schedule when it is announced, or show a year."""


@calendar.command("load")
@click.argument("year", type=click.IntRange(2000, 2100))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", "by", help="Who loads it, kept with the days; default: the system user.")
@click.option("--at", "at", help=AT_HELP)
@click.option("--json", "as_json", is_flag=True)
def calendar_load(year: int, file: Path, by: str | None, at: str | None, as_json: bool) -> None:
    """Store YEAR's holidays from FILE (CSV `date,kind`, kind holiday|workday), replacing any
    loaded before; count open issues' provisional deadlines again and tell the admins."""
    env = load_env()
    now = env.parse_at(at)
    try:
        days = parse_schedule(file.read_text(encoding="utf-8-sig"), year)
    except UnicodeDecodeError:
        _reject(env, file, [RowError(1, "not_utf8")])
    except ScheduleRejected as exc:
        _reject(env, file, exc.errors)

    async def work(session: AsyncSession) -> YearLoaded:
        return await load_year(
            session=session, rules=env.rules, year=year, days=days, now=now, by=by or _user()
        )

    loaded = env.run(work)
    holidays = sum(1 for kind in days.values() if kind == DayKind.HOLIDAY)
    if as_json:
        echo_json(
            {
                "year": loaded.year,
                "days": loaded.days,
                "holidays": holidays,
                "workdays": loaded.days - holidays,
                "recomputed": loaded.recomputed,
                "notices": loaded.notices,
            }
        )
        return
    ngettext = ngettext_for(env.locale)
    click.echo(
        env._(
            "Loaded the holidays of {year} "
            "(days off: {holidays}; weekend days worked: {workdays})."
        ).format(year=year, holidays=holidays, workdays=loaded.days - holidays)
    )
    count = len(loaded.recomputed)
    if not count:
        click.echo(env._("No open issue's deadline moved."))
        return
    click.echo(
        ngettext(
            "{count} open issue's deadlines were counted again: {numbers}.",
            "{count} open issues' deadlines were counted again: {numbers}.",
            count,
        ).format(count=count, numbers="、".join(loaded.recomputed))
    )


@calendar.command("show")
@click.argument("year", type=click.IntRange(2000, 2100))
@click.option("--json", "as_json", is_flag=True)
def calendar_show(year: int, as_json: bool) -> None:
    """YEAR's days that are not as a plain week has them, and where the year comes from."""
    env = load_env()

    async def work(session: AsyncSession) -> None:
        return None  # opening the session reads the years loaded into the database

    env.run(work)
    days = env.rules.calendar.differences(year)
    if as_json:
        echo_json([{"date": day.isoformat(), "kind": kind.value} for day, kind in days])
        return
    click.echo(env._(SOURCES[env.rules.calendar.source(year)]).format(year=year))
    for day, kind in days:
        when = format_date(day, "yyyy-MM-dd EEE", locale=env.locale)
        click.echo(f"{when}  {env._(KINDS[kind])}")


def _reject(env: Env, file: Path, errors: list[RowError]) -> NoReturn:
    """Every bad line, then the verdict: nothing was loaded (exit 1)."""
    for error in errors:  # the importer's words (locales/formats.py), a schedule's own too
        click.echo(row_error_text(str(file), error, env.locale), err=True)
    click.echo(env._("Nothing was loaded."), err=True)
    raise SystemExit(EXIT_ERROR)


def _user() -> str | None:
    """The system user running the command, to keep with the rows (None if it cannot tell)."""
    try:
        return getpass.getuser()[:100]
    except (OSError, KeyError):
        return None
