"""The `ztc` group itself, kept light: `ztc --help` lists the commands from a table without
importing them (the database, Telegram, matplotlib and alembic load only with the command that
needs them), and every failure of a command ends as one translated line (bot/cli/common.py)."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping
from typing import Any

import click

from bot.cli.clicktext import gettext

DEBUG = "ztc.debug"  # ctx.meta: print the traceback behind an error (--debug, ZTC_DEBUG=1)
EXIT_ERROR, EXIT_USAGE, EXIT_CONFIG, EXIT_INTERNAL = 1, 2, 3, 4  # 2: as click's usage errors


class ZtcGroup(click.Group):
    """A group that turns every known failure into one translated line on stderr."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; report known errors without a traceback."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except BrokenPipeError:
            # the reader went away (`ztc issues list | head`): stop quietly, per Python's docs
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(EXIT_ERROR)
        except Exception as exc:  # every failure ends here as one line, never a traceback
            from bot.cli.common import fail_with

            fail_with(exc, ctx)


class LazyGroup(ZtcGroup):
    """A group whose commands are imported when used: `lazy` maps each name to
    ("module:attribute", its one-line help), the line `ztc --help` shows without the import
    (tests/services/test_cli.py checks each line against the command's own help)."""

    def __init__(self, *args: Any, lazy: Mapping[str, tuple[str, str]], **kwargs: Any) -> None:
        """The group, with its commands by name and where each lives."""
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command's name, sorted."""
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command, imported now if it was not yet."""
        if cmd_name in self.lazy and cmd_name not in self.commands:
            path, attribute = self.lazy[cmd_name][0].split(":")
            command = getattr(importlib.import_module(path), attribute)
            assert isinstance(command, click.Command), path
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The list of commands, each with its line from the table (nothing imported)."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name in self.commands:
                text = self.commands[name].get_short_help_str(limit)
            else:
                text = click.Command(name, help=self.lazy[name][1]).get_short_help_str(limit)
            rows.append((name, text))
        with formatter.section(gettext("Commands")):  # click's own heading, in its words
            formatter.write_dl(rows)
