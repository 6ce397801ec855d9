"""`ztc run`: the bot itself — long polling, or a webhook when ZTC_WEBHOOK_URL is set."""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlsplit

import click
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update

from bot.cli.common import EXIT_CONFIG, EXIT_ERROR, _fail, load_env


@click.command()
@click.option("-v", "--verbose", is_flag=True, help="Log every update (DEBUG).")
def run(verbose: bool) -> None:
    """Run the bot; SIGINT or SIGTERM stops it cleanly."""
    from bot.app import build_application
    from models.migrate import current_revision, head_revision

    env = load_env()
    settings = env.settings
    if settings.bot_token is None:
        _fail(
            env._("Configuration error: ZTC_BOT_TOKEN is not set (get a token from @BotFather)."),
            EXIT_CONFIG,
        )

    async def revision(engine: AsyncEngine) -> str | None:
        return await current_revision(engine)

    if env.run_engine(revision) != head_revision():
        _fail(env._("The database is not up to date: run `ztc db upgrade` first."), EXIT_ERROR)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per poll is noise
    app = build_application(settings)
    if settings.webhook_url:
        secret = (
            settings.webhook_secret.get_secret_value()
            if settings.webhook_secret
            else secrets.token_urlsafe(32)  # re-registered at every start, so a fresh one is fine
        )
        app.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=urlsplit(settings.webhook_url).path.lstrip("/"),
            webhook_url=settings.webhook_url,
            secret_token=secret,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
