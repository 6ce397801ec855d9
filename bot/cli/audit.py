"""`ztc audit verify|seal`: the record's hash chains (models/audit.py) — walk them, anchor them."""

from __future__ import annotations

from collections.abc import Callable

import click
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cli.common import echo_json, load_env
from bot.cli.group import EXIT_ERROR
from bot.cli.issues import AT_HELP
from locales import N_
from models.audit import Break, Verdict, seal_all, verify

REASONS = {
    "genesis": N_("its first event does not follow from the issue (the issue was changed)"),
    "order": N_("it does not follow the event before it (an event was removed or moved)"),
    "content": N_("its content no longer matches its hash (the event was edited)"),
    "head": N_("the issue's last event is missing or was replaced"),
    "missing": N_("the event was deleted"),
    "row": N_("the issue's {fields} differ from what its events say"),
    "anchor": N_("the chain over all issues is broken here"),
    "published": N_("a head published before ({detail}) is no longer in the chain"),
}

FIELDS = {
    "status": N_("status"),
    "level": N_("level"),
    "rating": N_("rating"),
    "reopen_count": N_("reopen count"),
    "repeats": N_("repeat count"),
    "text": N_("text"),
}


def head_option(value: str) -> tuple[int, str]:
    """SEQ:HASH, as `ztc audit verify` and the bulletins print the head."""
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise click.BadParameter("SEQ:HASH")
    return int(seq), digest.lower()


@click.group()
def audit() -> None:
    """The record nobody can quietly change: verify its hash chains, or anchor new events."""


@audit.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
@click.option(
    "--head",
    "heads",
    multiple=True,
    help="A head printed before (a bulletin's SEQ:HASH) that must still be in the chain.",
)
def audit_verify(as_json: bool, heads: tuple[str, ...]) -> None:
    """Walk every issue's events and the chain over all issues; exit 1 naming the issue and
    the event of the first broken link."""
    env = load_env()
    try:
        published = [head_option(h) for h in heads]
    except click.BadParameter:
        raise click.BadParameter(env._("a head is SEQ:HASH, as verify prints it")) from None

    async def work(session: AsyncSession) -> Verdict:
        return await verify(session=session, published=published)

    verdict = env.run(work)
    if as_json:
        echo_json(verdict.as_json())
    else:
        for line in verdict_lines(verdict, env._):
            click.echo(line)
    if not verdict.ok:
        raise SystemExit(EXIT_ERROR)


@audit.command("seal")
@click.option("--at", "at", help=AT_HELP)
@click.option("--json", "as_json", is_flag=True)
def audit_seal(at: str | None, as_json: bool) -> None:
    """Anchor the events written since the last seal (the bot does it every minute)."""
    env = load_env()
    now = env.parse_at(at)

    async def work(session: AsyncSession) -> int:
        return await seal_all(session=session, now=now)

    count = env.run(work)
    if as_json:
        echo_json({"anchored": count})
    else:
        click.echo(env._("Anchored {count} events.").format(count=count))


def verdict_lines(verdict: Verdict, _: Callable[[str], str]) -> list[str]:
    """The verdict in words: the summary, then each broken link (the first first)."""
    summary = _(
        "{issues} issues, {events} events; {anchored} anchored, {pending} waiting for the next "
        "seal. Head: {seq}:{hash}"
    ).format(
        issues=verdict.issues,
        events=verdict.events,
        anchored=verdict.anchored,
        pending=verdict.pending,
        seq=verdict.head_seq,
        hash=verdict.head_hash,
    )
    first = verdict.first
    if first is None:
        return [_("The record verifies."), summary]
    lines = [
        _("The record does not verify: first broken link at {link}.").format(link=link(first, _))
    ]
    lines += [f"  {link(b, _)}" for b in verdict.ordered]
    return [*lines, summary]


def link(b: Break, _: Callable[[str], str]) -> str:
    """One broken link: the issue's number, the event's id, why."""
    fields = _(", ").join(_(FIELDS[f]) if f in FIELDS else f for f in b.detail.split(", "))
    why = _(REASONS[b.reason]).format(fields=fields, detail=b.detail)
    if b.event_id is None:
        return _("issue {issue}: {why}").format(issue=b.issue, why=why)
    return _("issue {issue}, event {event}: {why}").format(
        issue=b.issue, event=b.event_id, why=why
    )
