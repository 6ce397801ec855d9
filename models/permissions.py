"""The one place that answers "may actor A do action X on issue I" — role and state together.

Pure: it takes the facts about the issue (built by `facts_for` in models.issues) and returns a
denial or None. Every service asks `require`; the chat asks `allowed_actions` to draw buttons, but
the server-side check is the one that counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from models.codes import AWAITING_ACCEPT, OPEN_STATUSES, Action, Level, Role, Status
from models.errors import AtTop, DomainError, InvalidTransition, NotAllowed
from models.policy import Policy
from models.rules import top_level
from models.tables.org import Contact, Official


@dataclass(frozen=True)
class Actor:
    """Who acts: an official, an enterprise contact, or the system (clocks, imports)."""

    kind: Literal["official", "contact", "system"]
    id: int | None = None
    role: Role | None = None
    region_id: int | None = None
    department_id: int | None = None
    enterprise_id: int | None = None

    @property
    def is_admin(self) -> bool:
        """An admin of the city's bureau."""
        return self.kind == "official" and self.role == Role.ADMIN


SYSTEM = Actor("system")


def actor_of(person: Official | Contact) -> Actor:
    """The actor for an official or an enterprise contact."""
    if isinstance(person, Contact):
        return Actor("contact", person.id, enterprise_id=person.enterprise_id)
    return Actor(
        "official",
        person.id,
        role=person.role,
        region_id=person.region_id,
        department_id=person.department_id,
    )


@dataclass(frozen=True)
class IssueFacts:
    """What the permission matrix needs to know about one issue."""

    number: str
    status: Status
    level: Level
    assignee_id: int | None
    enterprise_id: int
    region_id: int
    team_ids: frozenset[int]
    cohandler_department_ids: frozenset[int]
    missed_deadlines: int
    reopen_count: int
    running_due: datetime | None


@dataclass(frozen=True)
class Denial:
    """Why not: `reason` is "forbidden", "status" or "at_top"."""

    reason: Literal["forbidden", "status", "at_top"]

    def error(self, action: Action, facts: IssueFacts) -> DomainError:
        """The typed error for this denial."""
        if self.reason == "at_top":
            return AtTop(issue=facts.number)
        if self.reason == "status":
            return InvalidTransition(action=action.value, issue=facts.number, status=facts.status)
        return NotAllowed(action=action.value, issue=facts.number)


FORBIDDEN, WRONG_STATUS, AT_TOP = Denial("forbidden"), Denial("status"), Denial("at_top")


def in_scope(actor: Actor, facts: IssueFacts) -> bool:
    """Whether the actor may see the issue at all."""
    if actor.kind == "system":
        return True
    if actor.kind == "contact":
        return actor.enterprise_id == facts.enterprise_id
    if actor.role in (Role.ADMIN, Role.CITY_PRINCIPAL):
        return True
    if actor.id == facts.assignee_id or actor.id in facts.team_ids:
        return True
    if actor.role == Role.CITY_DEPUTY:
        return facts.level in (Level.CITY_DEPUTY, Level.CITY_PRINCIPAL)
    if actor.role == Role.DEPT_HEAD:
        return actor.department_id in facts.cohandler_department_ids
    return actor.region_id == facts.region_id


def _direct_line(actor: Actor, facts: IssueFacts, policy: Policy, now: datetime) -> Denial | None:
    rule = policy.direct_line
    if actor.kind == "contact":
        overdue = facts.missed_deadlines > 0 or (
            facts.running_due is not None and facts.running_due <= now
        )
        allowed = ("overdue" in rule.enterprise_when and overdue) or (
            "reopened" in rule.enterprise_when and facts.reopen_count > 0
        )
        return None if allowed else FORBIDDEN
    if actor.role in rule.roles:
        return None
    handler = actor.id == facts.assignee_id
    return None if handler and facts.level in rule.handler_levels else FORBIDDEN


Rule = Callable[[Actor, IssueFacts, Policy, datetime], Denial | None]


def _view(actor: Actor, facts: IssueFacts, policy: Policy, now: datetime) -> Denial | None:
    return None


def _comment(actor: Actor, facts: IssueFacts, policy: Policy, now: datetime) -> Denial | None:
    if actor.kind == "system":
        return FORBIDDEN
    return None if facts.status != Status.CLOSED else WRONG_STATUS


def _rate(actor: Actor, facts: IssueFacts, policy: Policy, now: datetime) -> Denial | None:
    """Confirm (rate) and reopen: the enterprise, once the issue is resolved."""
    if actor.kind != "contact":
        return FORBIDDEN
    return None if facts.status == Status.RESOLVED else WRONG_STATUS


def _resume(actor: Actor, facts: IssueFacts, policy: Policy, now: datetime) -> Denial | None:
    if not (_handler(actor, facts) or actor.kind in ("contact", "system")):
        return FORBIDDEN
    return None if facts.status == Status.AWAITING_INFO else WRONG_STATUS


def _handler_when(*statuses: Status) -> Rule:
    """The issue's handler alone, in one of `statuses` (accept, ask for material, resolve)."""

    def rule(actor: Actor, facts: IssueFacts, policy: Policy, now: datetime) -> Denial | None:
        if not _handler(actor, facts):
            return FORBIDDEN
        return None if facts.status in statuses else WRONG_STATUS

    return rule


def _cohandler(actor: Actor, facts: IssueFacts, policy: Policy, now: datetime) -> Denial | None:
    if facts.status not in OPEN_STATUSES:
        return WRONG_STATUS
    return None if _handler(actor, facts) or actor.is_admin else FORBIDDEN


def _escalate(actor: Actor, facts: IssueFacts, policy: Policy, now: datetime) -> Denial | None:
    if facts.status not in OPEN_STATUSES:
        return WRONG_STATUS
    if not (_handler(actor, facts) or actor.is_admin or actor.kind == "system"):
        return FORBIDDEN
    return AT_TOP if facts.level == top_level() else None


def _direct(actor: Actor, facts: IssueFacts, policy: Policy, now: datetime) -> Denial | None:
    if facts.status not in OPEN_STATUSES:
        return WRONG_STATUS
    if actor.kind == "system":
        return FORBIDDEN
    denial = _direct_line(actor, facts, policy, now)
    return denial or (AT_TOP if facts.level == top_level() else None)


def _supply(actor: Actor, facts: IssueFacts, policy: Policy, now: datetime) -> Denial | None:
    """The enterprise answers a request for material."""
    if actor.kind != "contact":
        return FORBIDDEN
    return None if facts.status == Status.AWAITING_INFO else WRONG_STATUS


def _opinion(actor: Actor, facts: IssueFacts, policy: Policy, now: datetime) -> Denial | None:
    """A head of a co-handling department, on an open issue."""
    cohandling = actor.role == Role.DEPT_HEAD and (
        actor.department_id in facts.cohandler_department_ids
    )
    if not cohandling:
        return FORBIDDEN
    return None if facts.status in OPEN_STATUSES else WRONG_STATUS


def _transfer(actor: Actor, facts: IssueFacts, policy: Policy, now: datetime) -> Denial | None:
    """The handler or an admin, on an open issue (the target is checked by the action)."""
    if facts.status not in OPEN_STATUSES:
        return WRONG_STATUS
    return None if _handler(actor, facts) or actor.is_admin else FORBIDDEN


def _system_when(*statuses: Status) -> Rule:
    """The system's own actions (the clock sweep's, an import's), in one of `statuses`."""

    def rule(actor: Actor, facts: IssueFacts, policy: Policy, now: datetime) -> Denial | None:
        if actor.kind != "system":
            return FORBIDDEN
        return None if facts.status in statuses else WRONG_STATUS

    return rule


_system = _system_when(*OPEN_STATUSES)


def _handler(actor: Actor, facts: IssueFacts) -> bool:
    return actor.kind == "official" and actor.id == facts.assignee_id


# Who may do what, and in which state: the single source for the services, the buttons and
# the CLI. Every action has its rule (tests/unit/test_commands.py checks the table is complete).
RULES: dict[Action, Rule] = {
    Action.VIEW: _view,
    Action.ACCEPT: _handler_when(*AWAITING_ACCEPT),
    Action.COMMENT: _comment,
    Action.REQUEST_INFO: _handler_when(Status.ACCEPTED),
    Action.RESUME: _resume,
    Action.ADD_COHANDLER: _cohandler,
    Action.ESCALATE: _escalate,
    Action.DIRECT_LINE: _direct,
    Action.RESOLVE: _handler_when(Status.ACCEPTED),
    Action.CONFIRM: _rate,
    Action.REOPEN: _rate,
    Action.SUPPLY: _supply,
    Action.OPINION: _opinion,
    Action.TRANSFER: _transfer,
    Action.REMIND: _system,
    Action.FLAG_OVERDUE: _system,
    Action.RETIER: _system,
    Action.CHASE_COHANDLERS: _system,
    Action.REMIND_RATING: _system_when(Status.RESOLVED),
    Action.CLOSE_UNRATED: _system_when(Status.RESOLVED),
}


def check(
    actor: Actor, action: Action, facts: IssueFacts, policy: Policy, now: datetime
) -> Denial | None:
    """None when the actor may do the action now; else why not."""
    if not in_scope(actor, facts):
        return FORBIDDEN
    return RULES[action](actor, facts, policy, now)


def require(
    actor: Actor, action: Action, facts: IssueFacts, policy: Policy, now: datetime
) -> None:
    """Raise the typed error unless the actor may do the action now."""
    denial = check(actor, action, facts, policy, now)
    if denial is not None:
        raise denial.error(action, facts)


def allowed_actions(
    actor: Actor, facts: IssueFacts, policy: Policy, now: datetime
) -> list[Action]:
    """Every action the actor may take now, in the order buttons would show them."""
    return [a for a in Action if a != Action.VIEW and check(actor, a, facts, policy, now) is None]


def may_report(
    actor: Actor, *, enterprise_id: int, region_id: int, team_ids: frozenset[int]
) -> bool:
    """Whether the actor may report (or log by phone, 代为登记) a problem on a project: its
    enterprise's contacts; admins and the city's leaders on any project; the region's staff
    (agents, heads) on their region's projects; anyone on the projects whose service team they
    are in (docs/DOMAIN.md §8, "Who may report")."""
    if actor.kind == "system":
        return True
    if actor.kind == "contact":
        return actor.enterprise_id == enterprise_id
    if actor.role in (Role.ADMIN, Role.CITY_PRINCIPAL, Role.CITY_DEPUTY):
        return True
    regional = actor.role in (Role.SERVICE_AGENT, Role.REGION_HEAD)
    return actor.id in team_ids or (regional and actor.region_id == region_id)
