"""Every rate the city is held to, defined once: formula (numerator and denominator among the
counts of `models.report_data.IssueCounts`) and which way is better. `/stats`, the bulletin's
text, workbook, chart and JSON, the quarterly review and the annual assessment all read the rates
through `IssueCounts.rate`, so one scope and period shows the same numbers wherever it appears.
Their names and definitions in both languages: jobs/reports/__init__.py.

The four follow the 12345 hotline's practice (按时签收率, 按时办结率, 满意率, 发回重办率). Flows
count events inside the period (up to the cut); states (still unaccepted, still open) are read
as at the cut from the issues' history (models/bulletin.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from models.policy import RATE_KEYS, RateKey

__all__ = ["RATES", "RATE_KEYS", "RateDef", "RateKey", "json_key", "rate_def", "worse_than"]


@dataclass(frozen=True)
class RateDef:
    """One rate: `numerator` over `denominator` (fields of IssueCounts); None when the
    denominator is 0. Its name and what it counts and leaves out, in words, in both languages:
    jobs/reports (RATE_LABELS, RATE_DEFINITIONS)."""

    key: RateKey
    numerator: str
    denominator: str
    higher_is_better: bool = True


RATES: tuple[RateDef, ...] = (
    RateDef("on_time_accept", "accepted_on_time", "due_accept"),  # 按时签收率
    RateDef("on_time_resolve", "resolved_on_time", "due_resolve"),  # 按时办结率
    RateDef("satisfaction", "satisfied", "rated"),  # 满意率: 未评价 in neither
    RateDef("reopen", "reopened", "resolved", higher_is_better=False),  # 发回重办率
)
_BY_KEY = {r.key: r for r in RATES}
assert tuple(_BY_KEY) == RATE_KEYS


def rate_def(key: RateKey) -> RateDef:
    """The definition of a rate by its key."""
    return _BY_KEY[key]


def json_key(key: RateKey) -> str:
    """The rate's key in every JSON output (`on_time_accept_rate` …)."""
    return f"{key}_rate"


def worse_than(key: RateKey, value: float, limit: float) -> bool:
    """Whether `value` is on the wrong side of a policy limit (a floor for the rates where
    higher is better, a ceiling for the reopen rate)."""
    return value < limit if _BY_KEY[key].higher_is_better else value > limit
