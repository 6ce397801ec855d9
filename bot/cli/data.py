"""Commands for the database, reference data, invites and jobs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import click
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cli.common import Env, _fail, echo_json, load_env
from bot.cli.group import EXIT_ERROR, EXIT_USAGE
from models.db import DatabaseMissing
from models.importer import KINDS


@click.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create the database or upgrade it in place to the newest schema."""
    from models.migrate import current_revision, upgrade

    env = load_env()

    async def work(engine: AsyncEngine) -> str | None:
        await upgrade(engine)
        return await current_revision(engine)

    revision = env.run_engine(work, creates=True)
    click.echo(env._("Database is at schema revision {revision}.").format(revision=revision))


@db.command("current")
@click.option("--json", "as_json", is_flag=True, help='Print {"revision", "head"} as JSON.')
def db_current(as_json: bool) -> None:
    """Print the schema revision the database is at, and the newest this ztc ships."""
    from models.migrate import current_revision, head_revision

    env = load_env()
    revision = env.run_engine(current_revision)
    if as_json:
        echo_json({"revision": revision, "head": head_revision()})
    else:
        text = env._("Database is at schema revision {revision}; this ztc ships {head}.")
        click.echo(text.format(revision=revision or "—", head=head_revision()))
    if revision != head_revision():
        _fail(env._("The database is not up to date: run `ztc db upgrade`."), EXIT_ERROR)


@db.command("history")
@click.option("--json", "as_json", is_flag=True, help="Print the revisions as JSON.")
def db_history(as_json: bool) -> None:
    """List the schema revisions this ztc ships, oldest first; the database's is marked."""
    from models.migrate import current_revision, history

    env = load_env()
    try:
        at = env.run_engine(current_revision)
    except DatabaseMissing:
        at = None  # the list is the package's; a database not created yet is at none of them
    if as_json:
        keys = ("revision", "down_revision", "title")
        echo_json(
            [
                {**dict(zip(keys, step, strict=True)), "current": step[0] == at}
                for step in history()
            ]
        )
        return
    for revision, _before, title in history():
        mark = "*" if revision == at else " "
        click.echo(f"{mark} {revision}  {title}")


@db.command("downgrade")
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Confirm: what later migrations hold is dropped.")
def db_downgrade(revision: str, yes: bool) -> None:
    """Take the schema back to REVISION (`ztc db history` lists them; "base": empty). The
    tables and columns of later migrations are dropped with their data: back up first."""
    from models.migrate import current_revision, downgrade, history

    env = load_env()
    known = [r for r, _before, _title in history()]
    if revision != "base" and revision not in known:
        raise click.BadParameter(
            env._("{value} is not a revision of this ztc: {known}").format(
                value=revision, known=", ".join(known)
            ),
            param_hint="REVISION",
        )
    if not yes:
        _fail(
            env._(
                "Downgrading drops what later migrations hold, data included: back up, then "
                "run it again with --yes."
            ),
            EXIT_USAGE,
        )

    async def work(engine: AsyncEngine) -> str | None:
        await downgrade(engine, revision)
        return await current_revision(engine)

    now_at = env.run_engine(work)
    click.echo(env._("Database is at schema revision {revision}.").format(revision=now_at or "—"))


@click.command("import")
@click.argument("kind", type=click.Choice([*KINDS, "all"]))
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.pass_context
def import_(ctx: click.Context, kind: str, path: Path) -> None:
    """Load a CSV of KIND (upsert by code); `import all DIR` loads DIR's six files in order."""
    from models.importer import import_csv

    env = load_env()
    now = datetime.now(UTC)
    files = [(k, path / f"{k}.csv") for k in KINDS] if kind == "all" else [(kind, path)]
    if kind == "all":
        missing = [str(f) for _k, f in files if not f.exists()]
        if missing:
            _fail(env._("Missing file(s): {files}").format(files=", ".join(missing)), EXIT_ERROR)

    async def work(session: AsyncSession) -> list[str]:
        lines = []
        for file_kind, file in files:
            ctx.meta["ztc.source"] = str(file)
            text = file.read_bytes().decode("utf-8-sig", errors="strict")
            result = await import_csv(
                session=session, rules=env.rules, kind=file_kind, text=text, now=now
            )
            lines.append(
                env._("{file}: {created} created, {updated} updated.").format(
                    file=file, created=result.created, updated=result.updated
                )
            )
            if result.retiered:
                lines.append(
                    env._("Re-routed to the new tier: {issues}").format(
                        issues=", ".join(result.retiered)
                    )
                )
        return lines

    try:
        for line in env.run(work):
            click.echo(line)
    except UnicodeDecodeError:
        _fail(
            env._("{file}: not UTF-8 text; save the sheet as CSV UTF-8.").format(
                file=ctx.meta.get("ztc.source")
            ),
            EXIT_ERROR,
        )


@click.command()
@click.argument("who", type=click.Choice(["contact", "official"]))
@click.argument("code")
def invite(who: str, code: str) -> None:
    """Issue a one-time invite for a contact or an official: prints the token and deep link."""
    from models.invites import create_invite
    from models.queries import get_by_code
    from models.tables.org import Contact, Official

    env = load_env()
    model = Contact if who == "contact" else Official

    async def work(session: AsyncSession) -> tuple[str, datetime]:
        person = await get_by_code(session=session, model=model, code=code, entity=who)
        token, row = await create_invite(
            session=session, rules=env.rules, person=person, now=datetime.now(UTC)
        )
        return token, row.expires_at

    token, expires = env.run(work)
    click.echo(env._("Token: {token}").format(token=token))
    username = env.settings.bot_username or _username_from_api(env)
    if username:
        click.echo(
            env._("Link: {link}").format(link=f"https://t.me/{username.lstrip('@')}?start={token}")
        )
    else:
        click.echo(env._("Set ZTC_BOT_USERNAME to print the deep link."))
    click.echo(
        env._("Valid until {when}; it works once.").format(
            when=expires.astimezone(env.settings.tz).isoformat(timespec="minutes")
        )
    )


def _username_from_api(env: Env) -> str | None:
    """The bot's username from getMe, when a token is set and the Bot API answers."""
    from telegram import Bot
    from telegram.error import TelegramError

    settings = env.settings
    if settings.bot_token is None:
        return None
    root = settings.bot_api_url.rstrip("/")
    bot = Bot(settings.bot_token.get_secret_value(), base_url=f"{root}/bot")

    async def ask() -> str | None:
        try:
            async with bot:
                return bot.username
        except TelegramError:  # unreachable or refused: the admin can set ZTC_BOT_USERNAME
            return None

    return asyncio.run(ask())
