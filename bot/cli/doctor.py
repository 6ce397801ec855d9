"""`ztc doctor`: is this deployment ready? Settings, policy, database, migrations, calendar."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import click
from sqlalchemy.engine import make_url

from bot.cli.common import EXIT_ERROR, load_env
from bot.settings import SettingsError, load_settings
from locales import gettext_for
from models.db import DatabaseFolderMissing, make_engine
from models.migrate import current_revision, head_revision
from models.policy import PolicyError

OK, BAD, WARN = "✓", "✗", "!"


@click.command()
def doctor() -> None:
    """Check settings, database, migrations, policy and the holiday calendar."""
    try:
        locale = load_settings().default_locale
    except SettingsError:
        locale = "zh_CN"
    _ = gettext_for(locale)
    try:
        env = load_env()
    except (SettingsError, PolicyError) as exc:
        click.echo(f"{BAD} {exc}")
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
    year = datetime.now(UTC).astimezone(settings.tz).year
    for y in (year, year + 1):
        if env.rules.calendar.knows(y):
            lines.append((OK, _("Holidays of {year} are known.").format(year=y)))
        else:
            lines.append(
                (
                    WARN,
                    _(
                        "Holidays of {year} are not known: deadlines in {year} count "
                        "weekdays only and are marked provisional until the policy's "
                        "[calendar.{year}] lists them."
                    ).format(year=y),
                )
            )
    if settings.bot_token is None:
        lines.append((WARN, _("ZTC_BOT_TOKEN is not set: the bot cannot run yet.")))
    for mark, text in lines:
        click.echo(f"{mark} {text}")
    if any(mark == BAD for mark, _text in lines):
        raise SystemExit(EXIT_ERROR)


async def _database(url: str, gettext: Callable[[str], str]) -> list[tuple[str, str]]:
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
