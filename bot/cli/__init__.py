"""The `ztc` command line: one group, every subcommand registered here."""

from __future__ import annotations

import click

from bot.cli.clicktext import speak
from bot.cli.group import DEBUG, LazyGroup

# Each command, where it lives and its one-line help: `ztc --help` imports none of them.
COMMANDS = {
    "api": (
        "bot.cli.api:api",
        "The intake API for other systems (a 12345 platform …): its server and its keys.",
    ),
    "audit": (
        "bot.cli.audit:audit",
        "The record nobody can quietly change: verify its hash chains, or anchor new events.",
    ),
    "bulletin": (
        "bot.cli.cycle:bulletin",
        "Draw a bulletin from the data, in ZTC_DEFAULT_LOCALE: text or JSON to the screen (or "
        "--out), a workbook or a chart to a file (default bulletin-PERIOD[-REGION].xlsx/.png).",
    ),
    "calendar": (
        "bot.cli.calendar:calendar",
        "Holidays: load a year's schedule when it is announced, or show a year.",
    ),
    "channels": (
        "bot.cli.channels:channels",
        "Group robots and signed webhooks: WeCom, DingTalk, Feishu, JSON.",
    ),
    "db": ("bot.cli.data:db", "The database schema."),
    "demo": (
        "bot.cli.demo:demo",
        "Try the bot in a browser: a demo database, the bot on a fake Telegram, and a chat page.",
    ),
    "doctor": (
        "bot.cli.doctor:doctor",
        "Check settings, database, migrations, policy and the holiday calendar.",
    ),
    "import": (
        "bot.cli.data:import_",
        "Load a CSV of KIND (upsert by code); `import all DIR` loads DIR's six files in order.",
    ),
    "invite": (
        "bot.cli.data:invite",
        "Issue a one-time invite for a contact or an official: prints the token and deep link.",
    ),
    "issues": (
        "bot.cli.issues:issues",
        "Problems reported by enterprises, and what officials do with them.",
    ),
    "jobs": ("bot.cli.cycle:jobs", "Scheduled work: list it, or run a job by hand."),
    "outbox": ("bot.cli.channels:outbox", "The outbox: notices queued for delivery."),
    "progress": (
        "bot.cli.progress:progress",
        "Enterprises' monthly progress: reports and the stage claims officials confirm.",
    ),
    "projects": (
        "bot.cli.progress:projects",
        "Projects: their confirmed stage, dates and the investment completed as last reported.",
    ),
    "run": ("bot.cli.run:run", "Run the bot; SIGINT or SIGTERM stops it cleanly."),
    "sample": (
        "bot.cli.cycle:sample",
        "Fill a demo database with simulated issues over a span (real services, real clocks): "
        "for trying the chat and the bulletins.",
    ),
    "stats": (
        "bot.cli.stats:stats",
        "The rates of the city, a region or a department over a period, each with its "
        "numerator and denominator — the same figures as the bulletin of that period.",
    ),
}


# click's own texts ("Usage:", "Error: …") in the CLI's language, from before the options below
# are made (--version's help is translated as it is declared).
speak()


@click.group(
    cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(
    package_name="ztc", message="%(prog)s, version %(version)s"
)  # as scripts read it
@click.option(
    "--debug",
    is_flag=True,
    envvar="ZTC_DEBUG",
    help="After an error's one line, print the traceback behind it (also ZTC_DEBUG=1).",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """ztc — the 直通车 project-assist bot's command line."""
    ctx.meta[DEBUG] = debug


def main() -> None:
    """Entry point of the `ztc` console script and `python -m bot`."""
    cli(prog_name="ztc")
