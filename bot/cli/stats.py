"""`ztc stats`: one scope's figures over a period, in the keys of every JSON output."""

from __future__ import annotations

from typing import Any

import click
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cli.common import echo_json, load_env, plain_text
from jobs.reports.stats import stats_text
from models.bulletin import bulletin_for, load_book
from models.queries import get_by_code
from models.stats import Scope, ScopeFigures, bulletin_json, scope_figures, scope_json
from models.tables.org import Region


@click.command()
@click.option("--period", required=True, help="2026-11 (a month), 2026-Q3, 2026-H1 or 2026.")
@click.option("--region", help="A region's code; default the whole city.")
@click.option("--department", help="A department's code: the issues it co-handles or holds.")
@click.option(
    "--at", "at", help="Figures as at this ISO time; default the period's end (now if later)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def stats(
    period: str, region: str | None, department: str | None, at: str | None, as_json: bool
) -> None:
    """The rates of the city, a region or a department over a period, each with its numerator
    and denominator — the same figures as the bulletin of that period."""
    env = load_env()
    if region and department:
        raise click.UsageError(env._("Give --region or --department, not both."))
    chosen = env.parse_period(period)
    cut = env.cut_of(chosen, at)

    async def draw(session: AsyncSession) -> tuple[dict[str, Any], ScopeFigures]:
        if department is not None:
            scope = Scope("department", department)
            found = await scope_figures(
                session=session, rules=env.rules, scope=scope, period=chosen, cut=cut
            )
            return scope_json(found, env.rules), found
        book = await load_book(session=session, rules=env.rules, period=chosen, cut=cut)
        named = None
        if region is not None:
            named = await get_by_code(session=session, model=Region, code=region, entity="region")
        drawn = bulletin_for(book, named)
        scope = Scope("region", region) if region else Scope("city")
        found = ScopeFigures(
            scope, drawn.scope_name_zh, drawn.scope_name_en, chosen, cut, drawn.issues
        )
        return bulletin_json(drawn, env.rules), found

    data, figures = env.run(draw)
    if as_json:
        echo_json(data)
    else:
        click.echo(plain_text(stats_text(figures, env.locale, env.settings.tz)))
