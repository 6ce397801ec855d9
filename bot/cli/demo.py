"""`ztc demo`: the whole product on this machine — no token, no Telegram, no set-up."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import click

from bot.cli.common import _fail, configure_logging, load_env
from bot.cli.group import EXIT_CONFIG, EXIT_ERROR
from locales import LOCALES


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve on.")
@click.option("--port", default=8080, show_default=True, help="Port (0: any free one).")
@click.option(
    "--lang",
    type=click.Choice(LOCALES),
    default=None,
    help="The demo's language (default: ZTC_DEFAULT_LOCALE, zh_CN).",
)
@click.option(
    "--at",
    "start",
    default=None,
    help="The demo's starting time (default: five working days before the next monthly "
    "bulletin, or now when it is nearer).",
)
@click.option("--seed", default=7, show_default=True, help="Seed of the simulated history.")
@click.option(
    "--examples",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Folder of example CSVs (default: the example city shipped with ztc).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log what the bot does (INFO).")
def demo(
    host: str,
    port: int,
    lang: str | None,
    start: str | None,
    seed: int,
    examples: Path | None,
    verbose: bool,
) -> None:
    """Try the bot in a browser: a demo database, the bot on a fake Telegram, and a chat page.

    Everything lives in a temporary folder and in memory; the configured database is never
    touched. Ctrl+C stops it.
    """
    from bot.demo.clock import default_start
    from bot.demo.world import examples_folder

    env = load_env()
    locale = lang or env.settings.default_locale
    folder = examples or examples_folder()
    if not (folder / "projects.csv").exists():
        _fail(
            env._(
                "The demo needs the example data; pass --examples DIR (not found: {folder})."
            ).format(folder=folder),
            EXIT_CONFIG,
        )
    moment = env.parse_at(start) if start else default_start(env.rules, datetime.now(UTC))
    configure_logging(logging.INFO if verbose else logging.WARNING, env.settings)
    _ = env._
    click.echo(_("Preparing the demo: example data and six weeks of simulated issues…"))
    try:
        asyncio.run(_run(host, port, folder, moment, seed, locale, _))
    except OSError as exc:
        _fail(
            _("Cannot serve the demo on {host}:{port}: {error}").format(
                host=host, port=port, error=exc.strerror or exc
            ),
            EXIT_ERROR,
        )


async def _run(
    host: str,
    port: int,
    folder: Path,
    moment: datetime,
    seed: int,
    locale: str,
    _: Callable[[str], str],
) -> None:
    from bot.demo.server import close_demo, open_demo, serve

    with tempfile.TemporaryDirectory(prefix="ztc-demo-") as tmp:
        demo = await open_demo(
            database=Path(tmp) / "demo.db", examples=folder, start=moment, seed=seed, locale=locale
        )
        try:
            runner, url = await serve(demo, host, port)
            try:
                click.echo(_("The demo is ready: open {url} in a browser.").format(url=url))
                click.echo(_("Press Ctrl+C to stop it."))
                await _until_stopped()
            finally:
                await runner.cleanup()
        finally:
            await close_demo(demo)
    click.echo(_("The demo has stopped; its data is gone."))


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
