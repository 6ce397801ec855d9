"""`python -m bot` is the `ztc` command."""

from bot.cli import main

main()
