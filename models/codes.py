"""The contract's codes: levels, roles, categories, stages, statuses and the rest.

Every code here is part of the public contract (DESIGN §4 and issue 2): CSV files, the policy file,
the CLI's JSON and the database all spell them exactly so. Translations of their names live in the
babel catalogs, keyed by the code.
"""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    """A rung of the service ladder, lowest first."""

    SERVICE_DESK = "service_desk"
    COUNTY = "county"
    CITY_DEPUTY = "city_deputy"
    CITY_PRINCIPAL = "city_principal"


class Role(StrEnum):
    """What an official is."""

    SERVICE_AGENT = "service_agent"
    REGION_HEAD = "region_head"
    DEPT_HEAD = "dept_head"
    CITY_DEPUTY = "city_deputy"
    CITY_PRINCIPAL = "city_principal"
    ADMIN = "admin"


class Category(StrEnum):
    """What kind of problem an issue is."""

    LAND = "land"
    PLANNING = "planning"
    PERMITS = "permits"
    FUNDING = "funding"
    LABOUR = "labour"
    ENERGY = "energy"
    ENVIRONMENT = "environment"
    UTILITIES = "utilities"
    LOGISTICS = "logistics"
    POLICY = "policy"
    OTHER = "other"


class Stage(StrEnum):
    """A project's life-cycle stage, in order."""

    SIGNED = "signed"
    STARTED = "started"
    COMPLETED = "completed"
    IN_PRODUCTION = "in_production"
    AT_CAPACITY = "at_capacity"


class Status(StrEnum):
    """Where an issue stands."""

    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    AWAITING_INFO = "awaiting_info"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"


# An issue in one of these waits for its handler to accept it (the accept clock runs).
AWAITING_ACCEPT = frozenset({Status.SUBMITTED, Status.REOPENED})
# An issue in one of these is still the city's to act on.
OPEN_STATUSES = frozenset(
    {Status.SUBMITTED, Status.ACCEPTED, Status.AWAITING_INFO, Status.REOPENED}
)


class Urgency(StrEnum):
    """Normal, or 急事急办."""

    NORMAL = "normal"
    URGENT = "urgent"


class Rating(StrEnum):
    """The enterprise's verdict on a resolution: 满意 / 基本满意 / 不满意."""

    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    UNSATISFIED = "unsatisfied"


class RegionKind(StrEnum):
    """What sort of area a region is."""

    CITY = "city"
    COUNTY = "county"
    DISTRICT = "district"
    PARK = "park"


class Action(StrEnum):
    """Everything somebody may try to do to an issue; the permission matrix is keyed by it."""

    VIEW = "view"
    ACCEPT = "accept"
    COMMENT = "comment"
    REQUEST_INFO = "request_info"
    RESUME = "resume"
    ADD_COHANDLER = "add_cohandler"
    ESCALATE = "escalate"
    DIRECT_LINE = "direct_line"
    RESOLVE = "resolve"
    CONFIRM = "confirm"
    REOPEN = "reopen"
    SUPPLY = "supply"  # the enterprise sends the material asked for
    OPINION = "opinion"  # a co-handling department's 协办意见
    TRANSFER = "transfer"  # 转办: to another official of the same level
    # The system's own, never a person's: the clock sweep's and an import's.
    REMIND = "remind"
    FLAG_OVERDUE = "flag_overdue"
    RETIER = "retier"
    CHASE_COHANDLERS = "chase_cohandlers"
    REMIND_RATING = "remind_rating"
    CLOSE_UNRATED = "close_unrated"


class EventKind(StrEnum):
    """What an issue event records."""

    CREATED = "created"
    ACCEPTED = "accepted"
    COMMENT = "comment"
    INFO_REQUESTED = "info_requested"
    RESUMED = "resumed"
    COHANDLER_ADDED = "cohandler_added"
    ESCALATED = "escalated"
    DIRECT_LINE = "direct_line"
    RESOLVED = "resolved"
    CONFIRMED = "confirmed"
    REOPENED = "reopened"
    REMINDER = "reminder"
    OVERDUE = "overdue"
    RETIERED = "retiered"
    UNASSIGNED = "unassigned"
    SUPPLIED = "supplied"
    OPINION = "opinion"
    TRANSFERRED = "transferred"
    COHANDLER_REMINDER = "cohandler_reminder"
    COHANDLER_OVERDUE = "cohandler_overdue"
    RATING_REMINDER = "rating_reminder"
    CLOSED_UNRATED = "closed_unrated"
    DEADLINE_RECOMPUTED = "deadline_recomputed"  # a year's holidays were loaded
    REPEATED = "repeated"  # its reporter reported it again (merged, not a second ticket)


class Audience(StrEnum):
    """Who a notification goes to, before it is resolved to people."""

    ASSIGNEE = "assignee"
    PREVIOUS_ASSIGNEE = "previous_assignee"
    COHANDLERS = "cohandlers"
    TEAM = "team"
    ENTERPRISE = "enterprise"
    ADMINS = "admins"
    REPORTER = "reporter"  # the official who logged it (a phone call), told of its close
    LATE_COHANDLERS = "late_cohandlers"  # the co-handling departments past their deadline
