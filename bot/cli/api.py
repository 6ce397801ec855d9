"""`ztc api …`: the intake API's server and the keys of the systems that call it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cli.common import Env, _fail, configure_logging, echo_json, load_env
from bot.cli.group import EXIT_ERROR
from locales import N_
from locales.formats import when
from models.api_keys import create_key, key_json, list_keys, revoke_key
from models.db import make_engine
from models.errors import InvalidInput, NotFound
from models.migrate import current_revision, head_revision

# The keys' own refusals (models/api_keys.py), in the admin's words.
REFUSALS = {
    "bad_name": N_(
        "{value} is not a key name: use letters, digits, '.', '_' and '-' (at most 64), "
        "starting with a letter or digit."
    ),
    "taken": N_(
        "There is already an API key named {value} (revoked keys keep their name); choose "
        "another name."
    ),
    "none": N_("Give the key's regions (--regions CODE[,CODE…]) or --all-regions."),
    "both": N_("Give --regions or --all-regions, not both."),
}


@click.group()
def api() -> None:
    """The intake API for other systems (a 12345 platform …): its server and its keys."""


@api.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8090, show_default=True, type=click.IntRange(0, 65535), help="0: any."
)
def api_serve(host: str, port: int) -> None:
    """Serve the intake API until SIGINT or SIGTERM (the bot's `ztc run` delivers what it
    queues)."""
    env = load_env()

    async def revision(engine: AsyncEngine) -> str | None:
        return await current_revision(engine)

    if env.run_engine(revision) != head_revision():
        _fail(env._("The database is not up to date: run `ztc db upgrade` first."), EXIT_ERROR)
    configure_logging(logging.INFO, env.settings)
    asyncio.run(_serve(env, host, port))


async def _serve(env: Env, host: str, port: int) -> None:
    from bot.api import api_app, start_api, stop_api  # the web server, when it is asked for
    from bot.runtime import utc_now

    engine = make_engine(env.settings.database_url)
    try:
        app = api_app(engine=engine, rules=env.rules, clock=utc_now)
        running = await start_api(app, host=host, port=port)
        message = env._("The intake API listens on {url} (its contract: {url}/openapi.json).")
        click.echo(message.format(url=f"{running.url}/api/v1"))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, stop.set)
        with contextlib.suppress(asyncio.CancelledError):
            await stop.wait()
        await stop_api(running)
    finally:
        await engine.dispose()


@api.group("key")
def key() -> None:
    """The keys of the systems that call the API (only a key's hash is stored)."""


def _refused(env: Env, exc: InvalidInput | NotFound) -> None:
    if isinstance(exc, NotFound):
        message = env._("There is no API key named {name}.")
        _fail(message.format(name=exc.params["key"]), EXIT_ERROR)
    reason = exc.params.get("reason", "")
    if reason not in REFUSALS:
        raise exc
    _fail(env._(REFUSALS[reason]).format(value=exc.params.get("value", "")), EXIT_ERROR)


@key.command("new")
@click.argument("name")
@click.option(
    "--regions",
    "regions",
    multiple=True,
    help="Region codes the key acts in: CODE[,CODE…], or the option repeated.",
)
@click.option("--all-regions", is_flag=True, help="City-wide: every region.")
def key_new(name: str, regions: tuple[str, ...], all_regions: bool) -> None:
    """Make a key for the system NAME and print it once (only its hash is kept)."""
    env = load_env()
    codes = [code for value in regions for code in value.split(",") if code.strip()]
    now = env.parse_at(None)

    async def work(session: AsyncSession) -> tuple[str, list[str]]:
        secret, row = await create_key(
            session=session, name=name, regions=codes, all_regions=all_regions, now=now
        )
        return secret, list(row.regions)

    try:
        secret, scope = env.run(work)
    except InvalidInput as exc:
        _refused(env, exc)
        return
    where = env._("every region") if all_regions else ", ".join(scope)
    click.echo(env._("API key for {name} ({regions}):").format(name=name, regions=where), err=True)
    click.echo(secret)
    click.echo(
        env._(
            "Keep it secret and give it to that system now: it is not shown again (only its "
            "hash is stored). Send it as `Authorization: Bearer KEY`."
        ),
        err=True,
    )


@key.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the keys as JSON.")
def key_list(as_json: bool) -> None:
    """The keys: name, regions, when made, last used and revoked (never the key)."""
    env = load_env()

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        return [key_json(row, env.settings.tz) for row in await list_keys(session=session)]

    found = env.run(work)
    if as_json:
        echo_json(found)
        return
    if not found:
        click.echo(env._("No API keys yet: `ztc api key new NAME --regions CODE` makes one."))
    tz, never = env.settings.tz, env._("never")
    for row in found:
        regions = env._("every region") if row["regions"] == "all" else ", ".join(row["regions"])
        line = env._("{name}: {regions} · made {created} · last used {used}").format(
            name=row["name"],
            regions=regions,
            created=when(row["created_at"], tz, env.locale),
            used=when(row["last_used_at"], tz, env.locale) if row["last_used_at"] else never,
        )
        if row["revoked_at"]:
            revoked = when(row["revoked_at"], tz, env.locale)
            line += env._(" · revoked {when}").format(when=revoked)
        click.echo(line)


@key.command("revoke")
@click.argument("name")
def key_revoke(name: str) -> None:
    """Revoke the key of the system NAME: it is refused from now on."""
    env = load_env()
    now = env.parse_at(None)

    async def work(session: AsyncSession) -> None:
        await revoke_key(session=session, name=name, now=now)

    try:
        env.run(work)
    except NotFound as exc:
        _refused(env, exc)
        return
    click.echo(env._("The API key {name} is revoked.").format(name=name))
