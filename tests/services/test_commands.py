"""Adding an action is a class, a function and a registry line: the example runs through the real
runner on a real session (every registry's completeness: tests/unit/test_commands.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from models.codes import Action, EventKind
from models.errors import NotAllowed
from models.issues import actions
from models.issues.commands import Command
from models.issues.context import Change, Ctx
from models.issues.runner import run
from models.permissions import Actor
from models.rules import Rules
from tests.support.factories import World, at, make_issue, make_project

T0 = at("2026-11-20 10:00")


# --- the example: what adding an action takes ---------------------------------------------
#
# A trivial action, 催办 ("please hurry"), by the enterprise on an open issue: it records a
# comment-like event for the handler. In the real code it is these four pieces — a command
# class (commands.py), its function and registry line (actions.py), its permission rule
# (permissions.py) and its words (a button label, a verb, catalog entries) — and nothing in
# the runner, the chat's press handling, the CLI or the sweep changes. Here the pieces are
# patched in for one test, so the example runs.


@dataclass(frozen=True)
class Urge(Command):
    """催办: the enterprise asks the handler to hurry."""

    action = Action.COMMENT  # stands in for a new Action member in this example
    events = (EventKind.COMMENT,)


async def urge(ctx: Ctx, issue: object, command: Urge) -> Change:
    """The whole action: what it records."""
    return Change(EventKind.COMMENT, note="请尽快办理")


async def test_adding_an_action_is_a_class_a_function_and_a_registry_line(
    session: AsyncSession, rules: Rules, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(actions.REGISTRY, Urge, urge)  # the registry line
    project = await make_project(session, world, 20_000, code="P2")
    issue = await make_issue(session, rules, world, project, T0)
    assert issue.id is not None
    ctx = Ctx(session=session, rules=rules, actor=world.contact_actor, now=T0)
    outcome = await run(ctx, Urge(issue.id))
    assert outcome.event is not None and outcome.event.note == "请尽快办理"
    other = Actor("contact", 99, enterprise_id=99)
    stranger = Ctx(session=session, rules=rules, actor=other, now=T0)
    with pytest.raises(NotAllowed):  # the runner authorized it like every other command
        await run(stranger, Urge(issue.id))
