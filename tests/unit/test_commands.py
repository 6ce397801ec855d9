"""Every issue action is a command, and every registry knows every command.

An action lives in several registries — what it does (actions.REGISTRY), who may do it
(permissions.RULES), its words (formats.ACTIONS, the chat's buttons and prompts), who hears of
its events (notify.AUDIENCES, labels, headlines), its CLI verb. A new action that misses one of
them fails here, by name, instead of failing in front of a user.
"""

from __future__ import annotations

from dataclasses import replace

import click
import pytest

from bot.cli import cli
from bot.cli.issues import VERBS as VERB_NAMES
from handlers.cards import BUTTONS
from handlers.presses import PROMPTS
from jobs.notices import HEADLINES
from locales.formats import ACTIONS as VERBS
from locales.labels import LABELS
from models.codes import Action, EventKind, Level, Role, Status
from models.issues import actions
from models.issues.commands import COMMANDS, Command, command_for
from models.notify import AUDIENCES
from models.permissions import RULES, SYSTEM, Actor, IssueFacts, check
from models.policy import load_policy
from tests.support.factories import at

T0 = at("2026-11-20 10:00")

PEOPLE = [c for c in COMMANDS.values() if not c.system]
SYSTEMS = [c for c in COMMANDS.values() if c.system]
name = lambda c: c.__name__  # noqa: E731


def test_every_action_has_a_command_and_every_command_does_something() -> None:
    assert set(COMMANDS) == set(Action) - {Action.VIEW}
    assert set(actions.REGISTRY) == set(COMMANDS.values())


@pytest.mark.parametrize("action", list(Action))
def test_every_action_has_a_permission_rule_and_words(action: Action) -> None:
    assert action in RULES
    assert action in VERBS  # "您无权{action}…"


@pytest.mark.parametrize("kind", PEOPLE, ids=name)
def test_a_persons_command_has_a_button_and_what_it_asks_for(kind: type[Command]) -> None:
    if kind.asks == "rating":  # the card draws one button per rating instead
        assert kind.action == Action.CONFIRM
    else:
        assert any(kind.action in buttons for buttons in BUTTONS.values())
    if kind.asks == "note":
        assert kind.action in PROMPTS


@pytest.mark.parametrize("kind", list(COMMANDS.values()), ids=name)
def test_every_event_a_command_records_is_told_and_named(kind: type[Command]) -> None:
    for event in kind.events:
        assert event in AUDIENCES, event
        assert event in LABELS[EventKind], event
        assert event in HEADLINES, event


@pytest.mark.parametrize("kind", PEOPLE, ids=name)
def test_every_persons_command_has_its_cli_verb(kind: type[Command]) -> None:
    group = cli.get_command(click.Context(cli), "issues")  # imported when asked for
    verb = VERB_NAMES.get(kind.action, kind.action.value.replace("_", "-"))
    assert verb in group.commands  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", SYSTEMS, ids=name)
@pytest.mark.parametrize("role", list(Role))
def test_nobody_does_the_systems_own_commands(kind: type[Command], role: Role) -> None:
    facts = IssueFacts(
        number="2026-00001",
        status=Status.SUBMITTED,
        level=Level.COUNTY,
        assignee_id=7,  # the person below is the issue's handler: still not theirs to do
        enterprise_id=1,
        region_id=1,
        team_ids=frozenset({7}),
        cohandler_department_ids=frozenset(),
        missed_deadlines=0,
        reopen_count=0,
        running_due=None,
    )
    person = Actor("official", 7, role=role, region_id=1)
    assert check(person, kind.action, facts, load_policy(), T0) is not None
    contact = Actor("contact", 8, enterprise_id=1)
    assert check(contact, kind.action, facts, load_policy(), T0) is not None
    statuses = [replace(facts, status=status) for status in Status]
    assert any(check(SYSTEM, kind.action, f, load_policy(), T0) is None for f in statuses)


def test_a_button_builds_its_command_from_what_the_person_gave() -> None:
    comment = command_for(Action.COMMENT, 3, note="已上传", rating=None, department_id=None)
    assert comment == COMMANDS[Action.COMMENT](3, note="已上传")  # type: ignore[call-arg]
    accept = command_for(Action.ACCEPT, 3, note=None, department_id=9)
    assert accept == COMMANDS[Action.ACCEPT](3)
