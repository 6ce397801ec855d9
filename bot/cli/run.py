"""`ztc run`: the bot itself — long polling, or a webhook when ZTC_WEBHOOK_URL is set."""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import click
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.error import InvalidToken

from bot.channels import group_secrets
from bot.cli.common import _fail, configure_logging, load_env
from bot.cli.group import EXIT_CONFIG, EXIT_ERROR
from bot.logmask import mask_log_handlers

if TYPE_CHECKING:  # for the annotation only: `run` imports the bot when it runs
    from handlers.context import ZtcApp


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
    configure_logging(logging.DEBUG if verbose else logging.INFO, settings)
    token = settings.bot_token.get_secret_value() if settings.bot_token else None
    mask_log_handlers(token, group_secrets(settings, env.rules))  # the robots' keys too
    if not verbose:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per job added or run
    app = build_application(settings)
    if not verbose:
        _quiet_rejected_token(app)
    if settings.webhook_url:
        secret = (
            settings.webhook_secret.get_secret_value()
            if settings.webhook_secret
            else _derived_secret(token or "")
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


def _derived_secret(token: str) -> str:
    """The webhook's secret when none is set: the same in every process of a fleet (each
    registers the webhook at its start, so a random one would lock the others out), and as
    secret as the token it comes from."""
    return hmac.new(token.encode(), b"ztc webhook secret", hashlib.sha256).hexdigest()


def _quiet_rejected_token(app: ZtcApp) -> None:
    """Drop PTB's traceback for a token rejected at start-up: the CLI says it in one line.

    Before the application runs, an InvalidToken can only come from its start-up getMe, which
    run_polling/run_webhook then raise to ZtcGroup; once running, PTB's report still shows.
    """

    def keep(record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return app.running or not isinstance(exc, InvalidToken)

    for handler in logging.getLogger().handlers:
        handler.addFilter(keep)
