"""`ztc channels test` (one test notice to a group robot or webhook, the platform's answer
printed) and `ztc outbox send` (deliver what is due on every channel, then exit)."""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels import KINDS, api_urls, group_channels, group_secrets
from bot.cli.common import Env, configure_logging, load_env
from bot.cli.group import EXIT_ERROR
from bot.logmask import mask_log_handlers, mask_secrets
from jobs.channels import DeliveryError, Rendered
from jobs.channels.groups import GroupChannel, Target
from jobs.dispatch import Dispatcher, DispatchReport
from jobs.notices import notice_renderer
from locales.formats import moment
from models.db import session_scope
from models.holidays import refresh_calendar
from models.tables.infra import TELEGRAM

MAX_PASSES = 100  # `ztc outbox send` without --once: passes while they deliver something


@click.group()
def channels() -> None:
    """Group robots and signed webhooks: WeCom, DingTalk, Feishu, JSON."""


@channels.command("test")
@click.argument("name", required=False)
@click.option("--kind", type=click.Choice(list(KINDS)), help="The platform, with --url.")
@click.option("--url", help="The robot's or webhook's whole URL (the key is in it).")
@click.option("--secret", help="The signing secret (DingTalk 加签, Feishu, the webhook).")
def channels_test(name: str | None, kind: str | None, url: str | None, secret: str | None) -> None:
    """Send one test notice to the group NAME of the policy, or to --kind at --url."""
    env = load_env()
    channel, target, shown = _destination(env, name, kind, url, secret)
    hidden = [v for v in (url, secret) if v] + group_secrets(env.settings, env.rules)
    ok, lines = asyncio.run(_try(channel, target, trial_notice(env, channel.kind)))
    for line in lines:
        click.echo(mask_secrets(line, hidden))
    if not ok:
        raise SystemExit(EXIT_ERROR)
    click.echo(env._("Sent: {name} took the test notice.").format(name=shown))


def _destination(
    env: Env, name: str | None, kind: str | None, url: str | None, secret: str | None
) -> tuple[GroupChannel[Any], Target, str]:
    """The channel, where it sends, and how the destination is named in the output."""
    if name:
        groups = env.rules.policy.groups()
        if name not in groups:
            message = env._("No group named {name} in the policy; its groups: {names}.")
            known = ", ".join(sorted(groups)) or "—"
            raise click.BadParameter(message.format(name=name, names=known), param_hint="NAME")
        channel = group_channels(env.settings, env.rules)[groups[name].channel]
        try:
            return channel, channel.target(name), name
        except DeliveryError as exc:
            raise click.ClickException(str(exc)) from None
    if kind is None or url is None:
        raise click.UsageError(env._("Give a group's NAME from the policy, or --kind and --url."))
    if kind == "webhook" and not secret:
        raise click.UsageError(env._("A webhook is always signed: give its --secret."))
    channel = KINDS[kind](api_url=api_urls(env.settings).get(kind))
    return channel, Target(url, secret), kind


def trial_notice(env: Env, kind: str) -> Rendered:
    """The test notice, in the CLI's language."""
    now = datetime.now(UTC)
    lines = [
        "<b>" + html.escape(env._("ztc test notice"), quote=False) + "</b>",
        html.escape(
            env._(
                "This {kind} destination is set up: the notices and bulletins ztc sends "
                "to this group will arrive here."
            ).format(kind=kind),
            quote=False,
        ),
        env._("Sent {when}.").format(when=moment(now, env.settings.tz, env.locale)),
    ]
    key = f"channels-test:{kind}:{now.timestamp():.0f}"
    return Rendered("\n".join(lines), locale=env.locale, key=key)


async def _try(
    channel: GroupChannel[Any], target: Target, message: Rendered
) -> tuple[bool, list[str]]:
    """Send each part; the answers as printed, and whether every part was taken."""
    lines = []
    for part in channel.parts(message):
        try:
            answer = await channel.post(target, part)
            lines.append(str(answer))
            channel.judge(answer)
        except DeliveryError as exc:
            lines.append(str(exc))
            return False, lines
    return True, lines


# --- ztc outbox send ----------------------------------------------------------------------------


@click.group()
def outbox() -> None:
    """The outbox: notices queued for delivery."""


@outbox.command("send")
@click.option("--once", is_flag=True, help="One pass over what is due, then exit.")
def outbox_send(once: bool) -> None:
    """Deliver what is due on every channel (Telegram, groups, webhooks), then exit."""
    env = load_env()
    settings = env.settings
    configure_logging(logging.WARNING, settings)
    token = settings.bot_token.get_secret_value() if settings.bot_token else None
    mask_log_handlers(token, group_secrets(settings, env.rules))
    if token is None:
        click.echo(env._("ZTC_BOT_TOKEN is not set: Telegram notices stay queued for `ztc run`."))

    async def work(engine: AsyncEngine) -> DispatchReport:
        return await send_due(env, engine, passes=1 if once else MAX_PASSES)

    report = env.run_engine(work)
    click.echo(
        env._(
            "Outbox: {sent} sent, {skipped} with nothing to say, {retried} to retry later, "
            "{failed} failed, {held} held, {waiting} waiting."
        ).format(**{name: getattr(report, name) for name in SHOWN})
    )


SHOWN = ("sent", "skipped", "retried", "failed", "held", "waiting")


async def send_due(env: Env, engine: AsyncEngine, *, passes: int) -> DispatchReport:
    """Passes of the dispatcher over every configured channel while they deliver something:
    what was sent, skipped or failed in all of them, and what is left after the last."""
    from handlers.cards import draw_card  # the chat's card: imported when a command needs it

    async with session_scope(engine) as session:  # the years loaded with `ztc calendar load`
        await refresh_calendar(session=session, calendar=env.rules.calendar)
    render = notice_renderer(
        rules=env.rules,
        default_locale=env.locale,
        clock=lambda: datetime.now(UTC),
        card=draw_card,
    )
    every: dict[str, Any] = group_channels(env.settings, env.rules)
    async with _telegram(env) as telegram:
        if telegram is not None:
            every[TELEGRAM] = telegram
        only = None if telegram is not None else set(every)
        dispatcher = Dispatcher(engine=engine, channels=every, render=render, only=only)
        return await _passes(dispatcher, passes)


async def _passes(dispatcher: Dispatcher, passes: int) -> DispatchReport:
    done = dict.fromkeys(("sent", "skipped", "failed"), 0)
    for _ in range(passes):
        report = await dispatcher.run_once()
        for name in done:
            done[name] += getattr(report, name)
        if report.picked == 0 or not report.sent + report.skipped + report.failed:
            break
    return replace(report, **done)


@asynccontextmanager
async def _telegram(env: Env) -> AsyncIterator[Any]:
    """The Telegram channel of `ztc outbox send`, its bot open for the duration (None without
    a token: Telegram's rows are left to `ztc run`)."""
    from telegram import Bot
    from telegram.request import HTTPXRequest

    from jobs.channels.telegram import TelegramChannel
    from jobs.channels.telegram_limits import TelegramRateLimiter

    settings = env.settings
    if settings.bot_token is None:
        yield None
        return
    root = settings.bot_api_url.rstrip("/")
    bot = Bot(
        settings.bot_token.get_secret_value(),
        base_url=f"{root}/bot",
        base_file_url=f"{root}/file/bot",
        request=HTTPXRequest(connection_pool_size=8),
    )
    async with bot:
        yield TelegramChannel(bot, limiter=TelegramRateLimiter())
