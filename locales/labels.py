"""Human names of the contract's codes, marked for translation and translated at render time."""

from __future__ import annotations

from enum import StrEnum

from locales import N_, gettext_for
from models.codes import Category, EventKind, Level, Rating, Role, Stage, Status, Urgency

LABELS: dict[type[StrEnum], dict[StrEnum, str]] = {
    Level: {
        Level.SERVICE_DESK: N_("service desk"),
        Level.COUNTY: N_("county/park heads"),
        Level.CITY_DEPUTY: N_("city deputy leader"),
        Level.CITY_PRINCIPAL: N_("city principal leaders"),
    },
    Role: {
        Role.SERVICE_AGENT: N_("service agent"),
        Role.REGION_HEAD: N_("region head"),
        Role.DEPT_HEAD: N_("department head"),
        Role.CITY_DEPUTY: N_("city deputy leader"),
        Role.CITY_PRINCIPAL: N_("city principal leader"),
        Role.ADMIN: N_("admin"),
    },
    Category: {
        Category.LAND: N_("land"),
        Category.PLANNING: N_("planning"),
        Category.PERMITS: N_("permits"),
        Category.FUNDING: N_("funding"),
        Category.LABOUR: N_("labour"),
        Category.ENERGY: N_("energy quota"),
        Category.ENVIRONMENT: N_("environment"),
        Category.UTILITIES: N_("water, power and gas"),
        Category.LOGISTICS: N_("logistics"),
        Category.POLICY: N_("policy"),
        Category.OTHER: N_("other"),
    },
    Stage: {
        Stage.SIGNED: N_("signed"),
        Stage.STARTED: N_("started"),
        Stage.COMPLETED: N_("completed"),
        Stage.IN_PRODUCTION: N_("in production"),
        Stage.AT_CAPACITY: N_("at capacity"),
    },
    Status: {
        Status.SUBMITTED: N_("submitted"),
        Status.ACCEPTED: N_("accepted"),
        Status.AWAITING_INFO: N_("awaiting material"),
        Status.RESOLVED: N_("resolved"),
        Status.CLOSED: N_("closed"),
        Status.REOPENED: N_("reopened"),
    },
    Urgency: {
        Urgency.NORMAL: N_("normal"),
        Urgency.URGENT: N_("urgent"),
    },
    Rating: {
        Rating.SATISFIED: N_("satisfied"),
        Rating.BASICALLY_SATISFIED: N_("basically satisfied"),
        Rating.UNSATISFIED: N_("unsatisfied"),
    },
    EventKind: {
        EventKind.CREATED: N_("reported"),
        EventKind.ACCEPTED: N_("accepted"),
        EventKind.COMMENT: N_("comment"),
        EventKind.INFO_REQUESTED: N_("material requested"),
        EventKind.RESUMED: N_("clock resumed"),
        EventKind.COHANDLER_ADDED: N_("co-handler added"),
        EventKind.ESCALATED: N_("escalated"),
        EventKind.DIRECT_LINE: N_("direct line"),
        EventKind.RESOLVED: N_("resolved"),
        EventKind.CONFIRMED: N_("rated"),
        EventKind.REOPENED: N_("reopened"),
        EventKind.REMINDER: N_("reminder"),
        EventKind.OVERDUE: N_("overdue at the top"),
        EventKind.RETIERED: N_("re-routed by new tier"),
        EventKind.UNASSIGNED: N_("nobody to assign"),
        EventKind.SUPPLIED: N_("material sent"),
        EventKind.REPEATED: N_("reported again"),
        EventKind.OPINION: N_("co-handling opinion"),
        EventKind.TRANSFERRED: N_("transferred"),
        EventKind.COHANDLER_REMINDER: N_("co-handler reminded"),
        EventKind.COHANDLER_OVERDUE: N_("co-handler late"),
        EventKind.RATING_REMINDER: N_("asked to rate"),
        EventKind.CLOSED_UNRATED: N_("closed unrated"),
        EventKind.DEADLINE_RECOMPUTED: N_("deadline recomputed"),
    },
}


def label(code: StrEnum, locale: str) -> str:
    """The translated name of a code."""
    return gettext_for(locale)(LABELS[type(code)][code])


# The scheduled jobs by name (jobs/__init__.py), as the admins read of them.
JOB_NAMES = {
    "clocks": N_("clock watcher"),
    "monthly_bulletin": N_("monthly bulletin"),
    "coordination_agenda": N_("coordination meeting agenda"),
    "quarterly_review": N_("quarterly review"),
    "half_year_visit": N_("half-year site visit list"),
    "annual_assessment": N_("annual assessment"),
    "progress_reminder": N_("monthly progress reminder"),
    "progress_followup": N_("monthly progress follow-up"),
    "weekly_digest": N_("weekly digest"),
    "daily_chase": N_("daily chase"),
}


def job_label(job: str, locale: str) -> str:
    """A scheduled job's name in a language (its code when it has none)."""
    if job not in JOB_NAMES:
        return job
    return gettext_for(locale)(JOB_NAMES[job])
