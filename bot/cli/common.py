"""What every `ztc` command shares: settings and rules, one session per command, error output.

Every command reads the settings and the policy, opens one database session for its work and
commits it; any error is one line on stderr in the admin's language, with a non-zero exit.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
import sys
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

import click
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram.error import InvalidToken

from bot.cli.group import DEBUG, EXIT_CONFIG, EXIT_ERROR, EXIT_INTERNAL
from bot.instance import AlreadyRunning
from bot.logctx import UpdateTag
from bot.logmask import mask_log_handlers, mask_token
from bot.settings import Settings, SettingsError, data_dir, load_settings
from jobs.schedule import load_rules
from locales import gettext_for
from locales.formats import error_text, row_error_text
from models.db import (
    DatabaseFolderMissing,
    DatabaseMissing,
    make_engine,
    session_scope,
    sqlite_file,
)
from models.errors import DomainError
from models.holidays import refresh_calendar
from models.importer import CsvRejected
from models.periods import Period
from models.policy import PolicyError
from models.rules import Rules
from models.stats import period_cut

T = TypeVar("T")


@dataclass
class Env:
    """What a command needs: settings, rules and the admin's language."""

    settings: Settings
    rules: Rules

    @property
    def locale(self) -> str:
        """The CLI's language: ZTC_DEFAULT_LOCALE."""
        return self.settings.default_locale

    def _(self, message: str) -> str:
        """Translate a message into the CLI's language."""
        return gettext_for(self.locale)(message)

    def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `work` in one committed session on a fresh engine."""

        async def in_session(engine: AsyncEngine) -> T:
            async with session_scope(engine) as session:
                # the years loaded with `ztc calendar load` (models/holidays.py)
                await refresh_calendar(session=session, calendar=self.rules.calendar)
                return await work(session)

        return self.run_engine(in_session)

    def run_engine(self, work: Callable[[AsyncEngine], Awaitable[T]], creates: bool = False) -> T:
        """Run `work` with an engine of its own (migrations, checks). A SQLite file that does
        not exist is not created (DatabaseMissing) unless the command `creates` it."""
        path = sqlite_file(self.settings.database_url)
        if path is not None:
            default = path.parent == data_dir()  # the folder is made on first use, not typed
            if not creates and (default or path.parent.is_dir()) and not path.exists():
                raise DatabaseMissing(path)
            if creates and default:
                path.parent.mkdir(parents=True, exist_ok=True)

        async def go() -> T:
            engine = make_engine(self.settings.database_url)
            try:
                return await work(engine)
            finally:
                await engine.dispose()

        return asyncio.run(go())

    def parse_at(self, value: str | None) -> datetime:
        """`--at` as an aware datetime (naive means the city's zone); now when absent."""
        if value is None:
            return datetime.now(UTC)
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise click.BadParameter(
                self._("{value} is not an ISO date-time such as 2026-10-09T10:00").format(
                    value=value
                ),
                param_hint="--at",
            ) from None
        return moment if moment.tzinfo else moment.replace(tzinfo=self.settings.tz)

    def parse_period(self, value: str) -> Period:
        """`--period` as a Period, or a usage error naming the forms it takes."""
        try:
            return Period.parse(value)
        except ValueError:
            message = self._("{value} is not a period such as 2026-11, 2026-Q3, 2026-H1 or 2026")
            raise click.BadParameter(message.format(value=value), param_hint="--period") from None

    def cut_of(self, period: Period, at: str | None) -> datetime:
        """`--at`, or the period's cut: its end, or now while it runs (every output of a
        period is drawn as at the same moment)."""
        return self.parse_at(at) if at else period_cut(period, self.rules, self.parse_at(None))


def load_env() -> Env:
    """Settings and policy, or a one-line error naming the bad one."""
    settings = load_settings()
    return Env(settings, load_rules(settings.policy, settings.timezone))


def fail_with(exc: Exception, ctx: click.Context) -> NoReturn:
    """A command's failure as one translated line on stderr (the traceback first with
    --debug), and its exit code."""
    settings = _settings()
    locale = settings.default_locale if settings else "zh_CN"
    message, code = _explain(exc, ctx.meta.get("ztc.source", "?"), locale)
    if ctx.meta.get(DEBUG):  # --debug / ZTC_DEBUG=1: the traceback first, masked
        trace = "".join(traceback.format_exception(exc))
        click.echo(mask_token(trace, _token(settings)).rstrip(), err=True)
    _fail(mask_token(message, _token(settings)), code)


def _explain(exc: Exception, source: str, locale: str) -> tuple[str, int]:
    """The translated line (or lines, for a rejected CSV) and exit code for a failure."""
    _ = gettext_for(locale)
    if isinstance(exc, SettingsError | PolicyError):
        return _("Configuration error: ") + str(exc), EXIT_CONFIG
    if isinstance(exc, DomainError):
        return error_text(exc, locale), EXIT_ERROR
    if isinstance(exc, CsvRejected):
        lines = [row_error_text(source, e, locale) for e in exc.errors]
        return "\n".join([*lines, _("Nothing was imported.")]), EXIT_ERROR
    if isinstance(exc, DatabaseMissing):
        text = _("The database {path} does not exist yet: create it with `ztc db upgrade`.")
        return text.format(path=exc.path), EXIT_ERROR
    if _no_schema(exc):
        text = _("The database has no ztc schema (or an old one): run `ztc db upgrade` first.")
        return text, EXIT_ERROR
    if isinstance(exc, DatabaseFolderMissing):
        text = _("Cannot use the database: the folder {folder} does not exist.")
        return text.format(folder=exc.folder), EXIT_ERROR
    if isinstance(exc, AlreadyRunning):
        text = _(
            "Another ztc bot is already running on this database ({where}); only one may run "
            "at a time. Stop it first."
        )
        return text.format(where=exc.where), EXIT_ERROR
    if isinstance(exc, InvalidToken):  # PTB also reads a 404 from the Bot API as a bad token
        text = _(
            "Configuration error: Telegram rejected ZTC_BOT_TOKEN (invalid or revoked); "
            "get a new token from @BotFather."
        )
        return text, EXIT_CONFIG
    if isinstance(exc, OperationalError | DBAPIError):
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        return _("Cannot use the database: {detail}").format(detail=detail), EXIT_ERROR
    logging.getLogger("ztc").debug("unexpected error", exc_info=exc)
    text = _("Unexpected error ({kind}): {detail}")
    return text.format(kind=type(exc).__name__, detail=mask_token(str(exc))), EXIT_INTERNAL


def _no_schema(exc: Exception) -> bool:
    """A table ztc needs is missing: SQLite's "no such table", PostgreSQL's undefined table."""
    if not isinstance(exc, OperationalError | DBAPIError):
        return False
    detail = str(getattr(exc, "orig", None) or exc)
    return (
        "no such table" in detail
        or "UndefinedTable" in repr(getattr(exc, "orig", None))
        or ("relation" in detail and "does not exist" in detail)
    )


def _settings() -> Settings | None:
    try:
        return load_settings()
    except SettingsError:
        return None


def _token(settings: Settings | None) -> str | None:
    if settings is None or settings.bot_token is None:
        return None
    return settings.bot_token.get_secret_value()


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s%(update)s: %(message)s"  # bot/logctx.py


class _MaskedJson(JsonFormatter):
    """python-json-logger formats a traceback again from `exc_info`: give it the text the mask
    left in `exc_text` instead (bot/logmask.py), never the raw exception."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as JSON, its traceback as masked."""
        if not record.exc_text:
            return super().format(record)
        kept, record.exc_info = record.exc_info, None
        try:
            return super().format(record)
        finally:
            record.exc_info = kept


def json_formatter() -> logging.Formatter:
    """One JSON object per line: time, level, logger, message (and exc_info, a traceback)."""
    return _MaskedJson(
        "%(asctime)s %(levelname)s %(name)s %(update_id)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        json_ensure_ascii=False,
    )


def configure_logging(level: int, settings: Settings) -> None:
    """Log to stderr at `level`, the bot token masked in every line (bot/logmask.py); with
    ZTC_LOG_FORMAT=json, one JSON object per line (time, level, logger, message, traceback)."""
    logging.basicConfig(level=level, format=LOG_FORMAT)
    for handler in logging.getLogger().handlers:
        handler.addFilter(UpdateTag())  # the update each line belongs to
        if settings.log_format == "json":
            handler.setFormatter(json_formatter())
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per poll is noise
    mask_log_handlers(_token(settings))


def _fail(message: str, code: int) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


def plain_text(text: str) -> str:
    """Telegram's HTML as terminal text."""
    return html.unescape(re.sub(r"</?[a-z]+[^>]*>", "", text))


def echo_json(data: Any) -> None:
    """Print JSON as UTF-8, readable by people and tools."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))
