"""The shapes of the cycle's reports: plain dataclasses of codes and numbers, no language.

A report is computed once, when its run is claimed, and stored as JSON (`Report.data`); the text,
the workbook and the chart are drawn from it in each reader's language. `load_*` reads it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, TypeVar

from pydantic import TypeAdapter

from models.figures import rate_def
from models.policy import RateKey

Flag = Literal["red", "yellow"]
STAGE_KEYS = ("signed", "started", "completed", "in_production", "listed")
RATE4_KEYS = ("signing", "starting", "production", "capacity")
TARGET_KEYS = (
    "agreed_investment_wan",
    "new_projects_1yi",
    "projects_50yi",
    "signed_and_started",
    "industrial_investment_wan",
    "new_starts",
    "listed_from_completed",
    "started_share_by_midyear",
)


def ratio(part: int, whole: int) -> float | None:
    """part / whole, or None when there is nothing to divide by (nothing due, nothing rated)."""
    return part / whole if whole else None


@dataclass(frozen=True)
class IssueCounts:
    """Issue figures of a scope over a period: the counts, and the four rates of
    models/figures.py built from them (each defined there once: numerator, denominator, what is
    left out). Flows count events inside the period up to the cut; `overdue`, `late_unaccepted`
    and `overdue_resolve` are states as at the cut. A rate is None when its denominator is 0.
    """

    new: int = 0
    accepted: int = 0
    resolved: int = 0
    overdue: int = 0  # open and past a deadline at the cut
    escalated: int = 0  # issues moved up (提级, 直通车 or a missed deadline) in the period
    accepted_on_time: int = 0
    due_accept: int = 0  # accepted in the period + unaccepted at the cut past the deadline
    resolved_on_time: int = 0
    due_resolve: int = 0  # resolved in the period + accepted, unresolved at the cut, past it
    rated: int = 0
    satisfied: int = 0
    unrated: int = 0  # closed as 未评价 in the period: in neither side of 满意率
    reopened: int = 0  # sent back for rework (不满意 or reopened) in the period

    def rate(self, key: RateKey) -> float | None:
        """One of the rates of models/figures.py by key."""
        definition = rate_def(key)
        return ratio(getattr(self, definition.numerator), getattr(self, definition.denominator))

    def parts(self, key: RateKey) -> tuple[int, int]:
        """A rate's numerator and denominator."""
        definition = rate_def(key)
        return getattr(self, definition.numerator), getattr(self, definition.denominator)

    @property
    def satisfaction_rate(self) -> float | None:
        """满意率."""
        return self.rate("satisfaction")


@dataclass(frozen=True)
class StageCounts:
    """Projects that reached each stage in the period (新签约/新开工/新竣工/新投产/新列统)."""

    signed: int = 0
    started: int = 0
    completed: int = 0
    in_production: int = 0
    listed: int = 0


@dataclass(frozen=True)
class Fraction:
    """A rate kept with its parts, so a reader can check it."""

    part: int
    whole: int

    @property
    def value(self) -> float | None:
        """part / whole, None when whole is 0."""
        return ratio(self.part, self.whole)


@dataclass(frozen=True)
class FourRates:
    """签约率 (signed this year / the year's target of new projects), 开工率 (started / signed),
    投产率 (in production / started), 达效率 (at capacity / in production), over the scope's
    projects as at the cut."""

    signing: Fraction
    starting: Fraction
    production: Fraction
    capacity: Fraction


@dataclass(frozen=True)
class TargetLine:
    """One of the year's targets: reached so far against the target and the year elapsed (or,
    when `against` is set, against that share: 上半年完成全年开工任务的75% is 0.75 of the year's
    starts due by 30 June, whatever the calendar says)."""

    key: str  # one of TARGET_KEYS
    target: int
    actual: int
    against: float | None = None  # the share due instead of 序时进度

    @property
    def share(self) -> float | None:
        """actual / target."""
        return ratio(self.actual, self.target)


@dataclass(frozen=True)
class IssueRow:
    """An issue as a report lists it."""

    number: str
    project_code: str
    project_name: str
    region: str  # region code
    category: str
    urgency: str
    status: str
    level: str
    handler: str | None  # the assignee's name
    created_at: datetime
    due_at: datetime | None  # the running clock's deadline
    overdue: bool
    rating: str | None = None
    region_zh: str = ""  # the region's names, so a list outside a bulletin can name it too
    region_en: str | None = None


@dataclass(frozen=True)
class ProjectRow:
    """A project as a report lists it."""

    code: str
    name: str
    enterprise: str
    region: str
    investment_wan: int
    stage: str
    invested_wan: int | None  # the latest monthly progress report's cumulative figure
    new_stages: tuple[str, ...] = ()  # STAGE_KEYS reached in the period
    open_issues: int = 0
    overdue_issues: int = 0


@dataclass(frozen=True)
class RegionRow:
    """A region's line in the ranking."""

    code: str
    name_zh: str
    name_en: str | None
    issues: IssueCounts
    stages: StageCounts
    score: float | None  # the mean of the rates that exist; None when none does
    rank: int
    flag: Flag | None = None
    below: tuple[RateKey, ...] = ()  # the rates on the wrong side of the flag's limits


@dataclass(frozen=True)
class Unreachable:
    """Someone the bot could not reach: never bound, or blocked the bot."""

    kind: Literal["official", "contact"]
    code: str
    name: str
    bound: bool  # False: never opened the bot; True: bound but blocked it


@dataclass(frozen=True)
class DepartmentRow:
    """A co-handling department's record in a scope: 按时协办率 = opinions given in the period by
    their deadline, over those opinions plus co-handlings still unanswered past their deadline
    at the cut; `late` names the issues it still owes an opinion past its deadline."""

    code: str
    name_zh: str
    name_en: str | None
    on_time: int
    answered: int
    late: list[str]

    @property
    def due(self) -> int:
        """The denominator: opinions given in the period and those owed past their deadline."""
        return self.answered + len(self.late)

    @property
    def rate(self) -> float | None:
        """按时协办率."""
        return ratio(self.on_time, self.due)


@dataclass(frozen=True)
class RecordCheck:
    """The record's hash chains as verified before a bulletin's figures were drawn
    (models/audit.py): when, how many events, the global chain's head, and the first broken
    link if it did not verify (the issue's number and the event's id)."""

    at: datetime
    events: int
    head_seq: int
    head_hash: str
    broken_issue: str | None = None
    broken_event: int | None = None

    @property
    def verified(self) -> bool:
        """Whether the record verified."""
        return self.broken_issue is None


@dataclass(frozen=True)
class Bulletin:
    """月初一通报 (month), 一季一点评 (quarter), 全年一考核 (year) of the city or a region."""

    period: str
    start: date
    end: date
    cut: datetime  # the figures are as at this instant (the period's end, or earlier)
    scope: str  # "city" or a region code
    scope_name_zh: str
    scope_name_en: str | None
    issues: IssueCounts
    overdue: list[IssueRow]  # oldest deadline first
    stages: StageCounts
    rates: FourRates
    year: int
    elapsed: float  # 序时进度 at the cut
    targets: list[TargetLine]
    regions: list[RegionRow]  # every region, ranked
    unreachable: list[Unreachable]
    issue_rows: list[IssueRow] = field(default_factory=list)  # issues active in the period
    projects: list[ProjectRow] = field(default_factory=list)
    departments: list[DepartmentRow] = field(default_factory=list)  # co-handling, by code
    # The policy's limits the flags were judged by: "red"/"yellow" -> rate key -> limit (a floor,
    # or a ceiling for the reopen rate), so the chart can draw them as the bulletin was judged.
    limits: dict[str, dict[str, float]] = field(default_factory=dict)
    # A month's bulletin only: the month before, as at its own end, and 1 January to the cut.
    previous: IssueCounts | None = None
    year_to_date: IssueCounts | None = None
    record: RecordCheck | None = None  # None: drawn before the record was hash-chained

    @property
    def red(self) -> list[RegionRow]:
        """Regions under a red floor."""
        return [r for r in self.regions if r.flag == "red"]

    @property
    def yellow(self) -> list[RegionRow]:
        """Regions under a yellow floor only."""
        return [r for r in self.regions if r.flag == "yellow"]


@dataclass(frozen=True)
class AgendaRegion:
    """One region's part of the meeting agenda."""

    code: str
    name_zh: str
    name_en: str | None
    items: list[IssueRow]  # open issues, overdue first


@dataclass(frozen=True)
class Agenda:
    """一月一会办: the coordination meeting's agenda, open and overdue issues by region."""

    period: str
    meeting_on: date
    cut: datetime
    regions: list[AgendaRegion]


@dataclass(frozen=True)
class Visit:
    """半年一观摩: the major projects proposed for the half-year site visit, with their state."""

    period: str
    cut: datetime
    min_investment_wan: int
    projects: list[ProjectRow]  # largest first


@dataclass(frozen=True)
class Digest:
    """周动态 / 日跟踪 for one handler: their open issues (the chase: the urgent ones); or, for a
    group (`shared`), the city's or a region's."""

    period: str
    cut: datetime
    items: list[IssueRow]
    shared: bool = False


@dataclass(frozen=True)
class ProgressAsk:
    """The monthly progress reminder to one enterprise: the projects not yet reported; or, when
    `escalated`, the same told to the official who serves them."""

    period: str
    month: date
    projects: list[ProjectRow]
    again: bool  # the second asking, to those who have not reported
    ids: list[int] = field(default_factory=list)  # the projects' ids, for the report buttons
    escalated: bool = False  # to the projects' agent: still unreported after the reminders


Shape = Bulletin | Agenda | Visit | Digest | ProgressAsk
T = TypeVar("T", Bulletin, Agenda, Visit, Digest, ProgressAsk)


def dump(report: Shape) -> dict[str, Any]:
    """The report as JSON-ready data (dates as ISO text)."""
    data: dict[str, Any] = TypeAdapter(type(report)).dump_python(report, mode="json")
    return data


def load(shape: type[T], data: dict[str, Any]) -> T:
    """A report read back from `dump`'s data."""
    return TypeAdapter(shape).validate_python(data)
