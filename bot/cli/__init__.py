"""The `ztc` command line: one group, every subcommand registered here."""

from __future__ import annotations

import click

from bot.cli.api import api
from bot.cli.calendar import calendar
from bot.cli.channels import channels, outbox
from bot.cli.common import DEBUG, ZtcGroup
from bot.cli.cycle import bulletin, jobs, sample
from bot.cli.data import db, import_, invite
from bot.cli.demo import demo
from bot.cli.doctor import doctor
from bot.cli.issues import issues
from bot.cli.progress import progress, projects
from bot.cli.run import run
from bot.cli.stats import stats


@click.group(cls=ZtcGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ztc")
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


for command in (bulletin, db, demo, doctor, import_, invite, issues, jobs, run, sample):
    cli.add_command(command)
cli.add_command(progress)  # ztc progress report|confirm
cli.add_command(projects)  # ztc projects show
cli.add_command(calendar)  # ztc calendar load|show
cli.add_command(stats)  # ztc stats
cli.add_command(channels)  # ztc channels test
cli.add_command(outbox)  # ztc outbox send
cli.add_command(api)  # ztc api serve|key new|list|revoke


def main() -> None:
    """Entry point of the `ztc` console script and `python -m bot`."""
    cli(prog_name="ztc")
