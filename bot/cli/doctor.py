"""`ztc doctor`: is this deployment ready? Settings, policy, database, migrations, calendar, and
the record's hash chains."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import click
from sqlalchemy.engine import make_url
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.channels import unset_variables
from bot.cli.audit import link
from bot.cli.common import Env, echo_json, load_env
from bot.cli.group import EXIT_ERROR
from bot.settings import SettingsError, load_settings
from jobs.reports import period_title
from locales import gettext_for
from locales.formats import moment
from locales.labels import job_label
from models.audit import verify
from models.cycle import skipped_runs
from models.db import DatabaseFolderMissing, make_engine, sqlite_file
from models.migrate import current_revision, head_revision
from models.policy import PolicyError
from models.queries import region_codes

OK, BAD, WARN = "✓", "✗", "!"


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
def doctor(as_json: bool) -> None:
    """Check settings, database, migrations, policy and the holiday calendar."""
    try:
        locale = load_settings().default_locale
    except SettingsError:
        locale = "zh_CN"
    _ = gettext_for(locale)
    try:
        env = load_env()
    except (SettingsError, PolicyError) as exc:
        _print([(BAD, str(exc))], as_json)
        raise SystemExit(EXIT_ERROR) from None
    settings = env.settings
    url = make_url(settings.database_url).render_as_string(hide_password=True)
    lines = [
        (
            OK,
            _("Settings: database {url}, time zone {tz}, language {locale}.").format(
                url=url, tz=settings.timezone, locale=settings.default_locale
            ),
        ),
        (
            OK,
            _("Policy: {source} is valid.").format(
                source=settings.policy or _("the shipped policy.toml")
            ),
        ),
    ]
    lines += asyncio.run(_database(settings.database_url, _))
    if not any(mark == BAD for mark, _text in lines):
        env.run(_nothing)  # a session reads the years loaded with `ztc calendar load`
    year = datetime.now(UTC).astimezone(settings.tz).year
    for y in (year, year + 1):
        if env.rules.calendar.knows(y):
            lines.append((OK, _("Holidays of {year} are known.").format(year=y)))
        else:
            lines.append(
                (
                    WARN,
                    _(
                        "Holidays of {year} are not known: deadlines in {year} count weekdays "
                        "and the days off fixed by law only, and are marked provisional. When "
                        "the State Council announces them, load them with `ztc calendar load "
                        "{year} FILE`."
                    ).format(year=y),
                )
            )
    lines.append(_targets(env, _))
    if not any(mark == BAD for mark, _text in lines):  # the database is there and current
        lines += _skipped(env)
        lines += _groups(env)
        lines.append(_record(env))
    if settings.bot_token is None:
        lines.append((WARN, _("ZTC_BOT_TOKEN is not set: the bot cannot run yet.")))
    _print(lines, as_json)
    if any(mark == BAD for mark, _text in lines):
        raise SystemExit(EXIT_ERROR)


STATUS = {OK: "ok", WARN: "warning", BAD: "error"}


def _print(lines: list[tuple[str, str]], as_json: bool) -> None:
    """The checks, a line each (✓ ! ✗), or as JSON: `{"ok": …, "checks": [{status, text}]}`."""
    if as_json:
        checks = [{"status": STATUS[mark], "text": text} for mark, text in lines]
        echo_json({"ok": all(mark != BAD for mark, _text in lines), "checks": checks})
        return
    for mark, text in lines:
        click.echo(f"{mark} {text}")


async def _nothing(session: AsyncSession) -> None:
    """No work: opening the session is what is wanted."""


async def _database(url: str, gettext: Callable[[str], str]) -> list[tuple[str, str]]:
    path = sqlite_file(url)
    if (
        path is not None and path.parent.is_dir() and not path.exists()
    ):  # `ztc db upgrade` creates it
        text = gettext("The database {path} does not exist yet: create it with `ztc db upgrade`.")
        return [(BAD, text.format(path=path))]
    try:
        engine = make_engine(url)
    except DatabaseFolderMissing as exc:
        return [(BAD, gettext("Database unreachable: {detail}").format(detail=exc))]
    try:
        current = await current_revision(engine)
    except Exception as exc:  # any driver failure means the same to the admin: unreachable
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        return [(BAD, gettext("Database unreachable: {detail}").format(detail=detail))]
    finally:
        await engine.dispose()
    head = head_revision()
    if current == head:
        text = gettext("Database reachable; schema is current ({revision}).")
        return [(OK, text.format(revision=head))]
    text = gettext("Database schema is at {current}, the code needs {head}: run `ztc db upgrade`.")
    return [(BAD, text.format(current=current or "—", head=head))]


def _record(env: Env) -> tuple[str, str]:
    """The record's hash chains (models/audit.py): intact, or the first broken link."""
    verdict = env.run(lambda session: verify(session=session))
    first = verdict.first
    if first is None:
        text = env._("The record verifies: {events} events, head {seq}:{hash}.")
        return OK, text.format(events=verdict.events, seq=verdict.head_seq, hash=verdict.head_hash)
    text = env._(
        "The record does not verify: first broken link at {link}. See `ztc audit verify`."
    )
    return BAD, text.format(link=link(first, env._))


def _targets(env: Env, gettext: Callable[[str], str]) -> tuple[str, str]:
    """The current year's targets ([targets.YEAR]): without them its bulletins have none."""
    year = datetime.now(UTC).astimezone(env.settings.tz).year
    if year in env.rules.policy.targets:
        return OK, gettext("Targets of {year} are set.").format(year=year)
    text = gettext(
        "No targets for {year}: its bulletins will say there are none. Add [targets.{year}] "
        "to the policy, with agreed_investment_wan, new_projects_1yi, projects_50yi and "
        "signed_and_started."
    )
    return WARN, text.format(year=year)


def _groups(env: Env) -> list[tuple[str, str]]:
    """The policy's group destinations: the variables they name that the environment lacks,
    and region codes (`regions.CODE`) that no region has."""
    policy = env.rules.policy
    if not policy.groups():
        return []
    lines: list[tuple[str, str]] = []
    missing = unset_variables(env.settings, env.rules)
    if missing:
        text = env._(
            "The policy's groups name variables the environment lacks: {names}. Their notices "
            "fail until they are set."
        )
        lines.append((WARN, text.format(names=", ".join(missing))))
    else:
        text = env._("Group destinations: {count}, each with its variables set.")
        lines.append((OK, text.format(count=len(policy.groups()))))
    named = {code for a in (*policy.audiences.values(), policy.escalations) for code in a.regions}
    known = set(env.run(lambda session: region_codes(session=session)))
    if unknown := sorted(named - known):
        text = env._("The policy names groups for region codes no region has: {codes}.")
        lines.append((WARN, text.format(codes=", ".join(unknown))))
    return lines


def _skipped(env: Env) -> list[tuple[str, str]]:
    """Each cycle period missed beyond its grace window and not run since, with the command
    that runs it once."""
    runs = env.run(lambda session: skipped_runs(session=session))
    locale, tz = env.locale, env.settings.tz
    text = env._(
        "The {job} of {period} was skipped (due {due}) and has not been run: run it once with "
        "`ztc jobs run {code} --period {key} --by ADMIN_CODE`."
    )
    return [
        (
            WARN,
            text.format(
                job=job_label(run.job, locale),
                period=period_title(run.period, locale),
                due=moment(run.scheduled_for, tz, locale),
                code=run.job,
                key=run.period,
            ),
        )
        for run in runs
    ]
