"""Layer 1: the permission matrix — who may do what to an issue, in which state."""

from __future__ import annotations

from dataclasses import replace

import pytest

from models.codes import Action, Level, Role, Status
from models.errors import AtTop, InvalidTransition, NotAllowed
from models.permissions import SYSTEM, Actor, IssueFacts, allowed_actions, check, require
from models.policy import load_policy
from tests.support.factories import at

POLICY = load_policy()
NOW = at("2026-11-20 10:00")

HANDLER = Actor("official", 1, role=Role.REGION_HEAD, region_id=10)
OTHER_HEAD = Actor("official", 2, role=Role.REGION_HEAD, region_id=20)
SAME_REGION_AGENT = Actor("official", 3, role=Role.SERVICE_AGENT, region_id=10)
ADMIN = Actor("official", 4, role=Role.ADMIN)
PRINCIPAL = Actor("official", 5, role=Role.CITY_PRINCIPAL)
DEPUTY = Actor("official", 6, role=Role.CITY_DEPUTY)
COHANDLING_DEPT = Actor("official", 7, role=Role.DEPT_HEAD, department_id=300)
OTHER_DEPT = Actor("official", 8, role=Role.DEPT_HEAD, department_id=301)
TEAM_MANAGER = Actor("official", 9, role=Role.SERVICE_AGENT, region_id=99)
CONTACT = Actor("contact", 50, enterprise_id=100)
STRANGER = Actor("contact", 51, enterprise_id=101)

FACTS = IssueFacts(
    number="2026-00001",
    status=Status.SUBMITTED,
    level=Level.COUNTY,
    assignee_id=1,
    enterprise_id=100,
    region_id=10,
    team_ids=frozenset({9}),
    cohandler_department_ids=frozenset({300}),
    missed_deadlines=0,
    reopen_count=0,
    running_due=at("2026-11-23 10:00"),
)


def facts(**changes: object) -> IssueFacts:
    return replace(FACTS, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("actor", "sees"),
    [
        (HANDLER, True),
        (SAME_REGION_AGENT, True),
        (OTHER_HEAD, False),
        (ADMIN, True),
        (PRINCIPAL, True),
        (DEPUTY, False),  # a county-level issue is not the deputy's until it reaches the city
        (COHANDLING_DEPT, True),
        (OTHER_DEPT, False),
        (TEAM_MANAGER, True),
        (CONTACT, True),
        (STRANGER, False),
    ],
)
def test_who_sees_a_county_issue(actor: Actor, sees: bool) -> None:
    assert (check(actor, Action.VIEW, FACTS, POLICY, NOW) is None) == sees


def test_a_deputy_sees_issues_at_city_level() -> None:
    assert check(DEPUTY, Action.VIEW, facts(level=Level.CITY_DEPUTY), POLICY, NOW) is None


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        (
            Status.SUBMITTED,
            {
                Action.ACCEPT,
                Action.COMMENT,
                Action.ADD_COHANDLER,
                Action.ESCALATE,
                Action.DIRECT_LINE,
                Action.TRANSFER,  # 转办 (issue 13)
            },
        ),
        (
            Status.REOPENED,
            {
                Action.ACCEPT,
                Action.COMMENT,
                Action.ADD_COHANDLER,
                Action.ESCALATE,
                Action.DIRECT_LINE,
                Action.TRANSFER,  # 转办 (issue 13)
            },
        ),
        (
            Status.ACCEPTED,
            {
                Action.COMMENT,
                Action.REQUEST_INFO,
                Action.RESOLVE,
                Action.ADD_COHANDLER,
                Action.ESCALATE,
                Action.DIRECT_LINE,
                Action.TRANSFER,  # 转办 (issue 13)
            },
        ),
        (
            Status.AWAITING_INFO,
            {
                Action.COMMENT,
                Action.RESUME,
                Action.ADD_COHANDLER,
                Action.ESCALATE,
                Action.DIRECT_LINE,
                Action.TRANSFER,  # 转办 (issue 13)
            },
        ),
        (Status.RESOLVED, {Action.COMMENT}),
        (Status.CLOSED, set()),
    ],
)
def test_county_handler_actions_by_status(status: Status, allowed: set[Action]) -> None:
    assert set(allowed_actions(HANDLER, facts(status=status), POLICY, NOW)) == allowed


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        (Status.SUBMITTED, {Action.COMMENT}),
        (Status.AWAITING_INFO, {Action.COMMENT, Action.RESUME, Action.SUPPLY}),  # + 补充材料
        (Status.RESOLVED, {Action.COMMENT, Action.CONFIRM, Action.REOPEN}),
        (Status.CLOSED, set()),
    ],
)
def test_enterprise_actions_by_status(status: Status, allowed: set[Action]) -> None:
    assert set(allowed_actions(CONTACT, facts(status=status), POLICY, NOW)) == allowed


def test_only_the_assignee_accepts_and_resolves() -> None:
    for actor in (SAME_REGION_AGENT, ADMIN, PRINCIPAL, TEAM_MANAGER, CONTACT):
        with pytest.raises(NotAllowed):
            require(actor, Action.ACCEPT, FACTS, POLICY, NOW)
        with pytest.raises(NotAllowed):
            require(actor, Action.RESOLVE, facts(status=Status.ACCEPTED), POLICY, NOW)


def test_wrong_state_is_a_transition_error_not_a_permission_error() -> None:
    with pytest.raises(InvalidTransition):
        require(HANDLER, Action.RESOLVE, FACTS, POLICY, NOW)  # not accepted yet
    with pytest.raises(InvalidTransition):
        require(HANDLER, Action.ACCEPT, facts(status=Status.ACCEPTED), POLICY, NOW)


def test_a_stranger_gets_forbidden_before_any_state_detail() -> None:
    with pytest.raises(NotAllowed):
        require(STRANGER, Action.CONFIRM, facts(status=Status.CLOSED), POLICY, NOW)


def test_escalation_stops_at_the_top() -> None:
    top = facts(level=Level.CITY_PRINCIPAL, assignee_id=5)
    with pytest.raises(AtTop):
        require(PRINCIPAL, Action.ESCALATE, top, POLICY, NOW)
    with pytest.raises(AtTop):
        require(ADMIN, Action.DIRECT_LINE, top, POLICY, NOW)
    assert check(SYSTEM, Action.ESCALATE, facts(level=Level.CITY_DEPUTY), POLICY, NOW) is None


# --- the direct line (直通车) ---


def test_a_county_handler_may_take_the_direct_line_any_time() -> None:
    assert check(HANDLER, Action.DIRECT_LINE, FACTS, POLICY, NOW) is None


def test_a_service_desk_handler_may_not_but_may_escalate() -> None:
    desk = facts(level=Level.SERVICE_DESK, assignee_id=3)
    assert check(SAME_REGION_AGENT, Action.DIRECT_LINE, desk, POLICY, NOW) is not None
    assert check(SAME_REGION_AGENT, Action.ESCALATE, desk, POLICY, NOW) is None


def test_a_deputy_handler_may_not_under_the_shipped_policy() -> None:
    deputy_level = facts(level=Level.CITY_DEPUTY, assignee_id=6)
    assert check(DEPUTY, Action.DIRECT_LINE, deputy_level, POLICY, NOW) is not None


def test_a_county_head_who_is_not_the_handler_may_not() -> None:
    assert (
        check(OTHER_HEAD, Action.DIRECT_LINE, facts(region_id=20, assignee_id=99), POLICY, NOW)
        is not None
    )


def test_an_admin_may_by_role() -> None:
    assert check(ADMIN, Action.DIRECT_LINE, facts(level=Level.SERVICE_DESK), POLICY, NOW) is None


def test_the_enterprise_may_not_while_on_time() -> None:
    assert check(CONTACT, Action.DIRECT_LINE, FACTS, POLICY, NOW) is not None


def test_the_enterprise_may_once_overdue_now() -> None:
    late = at("2026-11-23 10:00")  # exactly the deadline: overdue
    assert check(CONTACT, Action.DIRECT_LINE, FACTS, POLICY, late) is None


def test_the_enterprise_may_after_a_missed_deadline_or_a_reopen() -> None:
    assert check(CONTACT, Action.DIRECT_LINE, facts(missed_deadlines=1), POLICY, NOW) is None
    assert check(CONTACT, Action.DIRECT_LINE, facts(reopen_count=1), POLICY, NOW) is None


def test_the_policy_decides_when_the_enterprise_may() -> None:
    strict = POLICY.model_copy(
        update={
            "direct_line": POLICY.direct_line.model_copy(update={"enterprise_when": ("reopened",)})
        }
    )
    assert check(CONTACT, Action.DIRECT_LINE, facts(missed_deadlines=1), strict, NOW) is not None
    assert check(CONTACT, Action.DIRECT_LINE, facts(reopen_count=1), strict, NOW) is None


def test_another_enterprise_may_never() -> None:
    assert check(STRANGER, Action.DIRECT_LINE, facts(reopen_count=1), POLICY, NOW) is not None


def test_the_system_may_escalate_and_resume_but_not_speak() -> None:
    assert check(SYSTEM, Action.RESUME, facts(status=Status.AWAITING_INFO), POLICY, NOW) is None
    assert check(SYSTEM, Action.COMMENT, FACTS, POLICY, NOW) is not None
    assert check(SYSTEM, Action.DIRECT_LINE, FACTS, POLICY, NOW) is not None
    assert check(SYSTEM, Action.ACCEPT, FACTS, POLICY, NOW) is not None
