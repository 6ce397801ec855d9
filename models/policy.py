"""The policy file: tiers, categories, clocks, the ladder's permissions and the cycle's schedule.

Loaded and validated once at start-up; a bad file stops start-up with one message naming the key.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from models.codes import Category, Level, Role, Urgency

CronCheck = Callable[[str], str | None]  # a cron line's problem, or None

LADDER: tuple[Level, ...] = tuple(Level)
_SPAN = re.compile(r"^\s*(\d+)\s*(wd|h)\s*$")
_DURATION = re.compile(r"^\s*(\d+)\s*(d|h|m)\s*$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}
RateKey = Literal["on_time_accept", "on_time_resolve", "satisfaction", "reopen"]
RATE_KEYS: tuple[RateKey, ...] = ("on_time_accept", "on_time_resolve", "satisfaction", "reopen")
# The names of earlier policy files, still read: 响应率 and 解决率 became the on-time rates.
_OLD_RATE_KEYS = {"response": "on_time_accept", "resolution": "on_time_resolve"}


class PolicyError(Exception):
    """The policy file cannot be used; the message names the key."""


@dataclass(frozen=True)
class Span:
    """A clock's length: working days or clock hours."""

    amount: int
    unit: Literal["wd", "h"]

    @classmethod
    def parse(cls, text: str) -> Span:
        """Read "5wd" or "4h"."""
        match = _SPAN.match(text)
        if not match:
            raise ValueError(f"expected a span like '5wd' or '4h', got {text!r}")
        return cls(int(match[1]), "wd" if match[2] == "wd" else "h")  # the pattern's only two


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _to_span(value: Any) -> Any:
    return Span.parse(value) if isinstance(value, str) else value


# A span written in the policy file as text ("5wd", "4h").
SpanText = Annotated[Span, BeforeValidator(_to_span)]


def _to_duration(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"expected a duration like '3d', '4h' or '30m', got {value!r}")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


# A plain duration written as text ("3d", "4h", "30m").
DurationText = Annotated[timedelta, BeforeValidator(_to_duration)]


class Clock(_Strict):
    """The accept and resolve spans for one urgency."""

    accept: SpanText
    resolve: SpanText


class Clocks(_Strict):
    """Spans per urgency, with optional overrides per level."""

    normal: Clock
    urgent: Clock
    levels: dict[Level, dict[Urgency, Clock]] = Field(default_factory=dict)

    def for_issue(self, level: Level, urgency: Urgency) -> Clock:
        """The clock that applies at a level for an urgency."""
        override = self.levels.get(level, {}).get(urgency)
        return override or (self.urgent if urgency == Urgency.URGENT else self.normal)


class Reminders(_Strict):
    """Fractions of a span at which the handler is reminded."""

    fractions: tuple[float, ...] = (0.5, 0.8)
    # A normal issue's reminder due on a day off goes out at this time of the next working day.
    morning: time = time(9, 0)

    @field_validator("fractions")
    @classmethod
    def _increasing(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0 < f < 1 for f in value) or list(value) != sorted(set(value)):
            raise ValueError("fractions must be increasing and between 0 and 1")
        return value


class DirectLine(_Strict):
    """Who may take the direct line to the top."""

    handler_levels: tuple[Level, ...] = (Level.COUNTY,)
    roles: tuple[Role, ...] = (Role.ADMIN,)
    enterprise_when: tuple[Literal["overdue", "reopened"], ...] = ("overdue", "reopened")


class Pause(_Strict):
    """The cap on waiting for the enterprise's material."""

    cap: SpanText = Span(10, "wd")


class CoHandling(_Strict):
    """协办时限: how long a co-handling department has for its opinion (reminded at the
    [reminders] fractions; past it, it is named on the card and in the bulletin)."""

    normal: SpanText = Span(3, "wd")
    urgent: SpanText = Span(1, "wd")


class CloseOut(_Strict):
    """A resolved issue nobody rates: one reminder to the enterprise, then closed as 未评价."""

    remind_after: SpanText = Span(3, "wd")
    close_after: SpanText = Span(7, "wd")

    @model_validator(mode="after")
    def _remind_first(self) -> CloseOut:
        if (self.remind_after.unit, self.close_after.unit) == ("wd", "wd") and (
            self.remind_after.amount >= self.close_after.amount
        ):
            raise ValueError("remind_after must come before close_after")
        return self


class Invites(_Strict):
    """Invite lifetime."""

    ttl_days: int = Field(default=14, ge=1, le=365)


class Limits(_Strict):
    """Abuse limits (0: no limit). Reports: a contact's new issues per local calendar day
    (repeats merged into an open issue do not count; officials and the system are not
    limited). Messages: one Telegram account's messages and presses in a rolling minute, per
    bot process (handlers/gate.py)."""

    reports_per_contact_per_day: int = Field(default=10, ge=0, le=10000)
    messages_per_account_per_minute: int = Field(default=30, ge=0, le=10000)


class Progress(_Strict):
    """Enterprises' monthly progress: when the project's agent hears of a report still missing."""

    # Unreported this many working days after the month's reminder: the project's agent is
    # told, on that working day's morning ([reminders] morning).
    escalate_after: SpanText = Span(3, "wd")
    # The agent is told at most this long after that moment (the bot was down); later, never.
    grace: DurationText = timedelta(days=5)

    @field_validator("escalate_after")
    @classmethod
    def _working_days(cls, value: Span) -> Span:
        if value.unit != "wd" or value.amount < 1:
            raise ValueError("expected working days, like '3wd'")
        return value


class RegionTargets(_Strict):
    """A region's share of the year's targets: the four of "4633", and the seeds' project
    building targets, each optional (absent: no line in the bulletin)."""

    agreed_investment_wan: int = Field(ge=0)
    new_projects_1yi: int = Field(ge=0)
    projects_50yi: int = Field(ge=0)
    signed_and_started: int = Field(ge=0)
    industrial_investment_wan: int | None = Field(default=None, ge=0)  # 工业投资完成额
    new_starts: int | None = Field(default=None, ge=0)  # 新开工项目数
    listed_from_completed: int | None = Field(default=None, ge=0)  # 竣工转列统数
    # 上半年完成全年开工任务的75%: the share of `new_starts` due by 30 June.
    started_share_by_midyear: float | None = None

    @field_validator("started_share_by_midyear")
    @classmethod
    def _a_share(cls, value: float | None) -> float | None:
        if value is not None and not 0 <= value <= 1:
            raise ValueError("a share between 0 and 1 (0.75 = 75 %)")
        return value

    @model_validator(mode="after")
    def _share_of_starts(self) -> RegionTargets:
        if self.started_share_by_midyear is not None and self.new_starts is None:
            raise ValueError("started_share_by_midyear is a share of new_starts: set new_starts")
        return self


class Targets(RegionTargets):
    """A year's targets (the seeds' "4633"), and optionally each region's, by region code."""

    regions: dict[str, RegionTargets] = Field(default_factory=dict)


class YearCalendar(_Strict):
    """A year's holidays and adjusted working days (调休)."""

    holidays: tuple[date, ...] = ()
    workdays: tuple[date, ...] = ()


class Schedule(_Strict):
    """Cron lines (minute hour day month weekday) for every periodic job but the agenda's, which
    follows the meeting day (`Meeting`)."""

    clocks: str
    monthly_bulletin: str
    quarterly_review: str
    half_year_visit: str
    annual_assessment: str
    progress_reminder: str
    progress_followup: str
    weekly_digest: str
    daily_chase: str

    @field_validator("*")
    @classmethod
    def _cron(cls, value: str, info: ValidationInfo) -> str:
        check: CronCheck | None = (info.context or {}).get("cron")
        problem = check(value) if check is not None else None
        if problem is not None:
            raise ValueError(f"bad cron line {value!r}: {problem}")
        return value


class Meeting(_Strict):
    """一月一会办: the meeting's day of the month and when its agenda goes out."""

    day: int = Field(default=28, ge=2, le=28)
    agenda_days_before: int = Field(default=3, ge=1, le=27)
    agenda_time: time = time(9, 0)

    @model_validator(mode="after")
    def _before_the_day(self) -> Meeting:
        if self.agenda_days_before >= self.day:
            raise ValueError("agenda_days_before must leave the agenda in the meeting's month")
        return self

    @property
    def cron(self) -> str:
        """The agenda's cron line: `agenda_days_before` days before the meeting day."""
        at = self.agenda_time
        return f"{at.minute} {at.hour} {self.day - self.agenda_days_before} * *"


class Cycle(_Strict):
    """How the cycle's runs behave when they fall on a day off or while the bot was down."""

    # A run missed while the bot was down still goes out this long after its time (marked
    # late); later, it is recorded as skipped. Jobs not listed: no catch-up.
    grace: dict[str, DurationText] = Field(default_factory=dict)
    # Jobs that wait for the next working day (same clock time) when their time falls on a
    # weekend or holiday; 调休 Saturdays are working days.
    workdays_only: tuple[str, ...] = ()
    # A run this much after its time is marked late.
    late_after: DurationText = timedelta(minutes=15)
    # 半年一观摩: projects of at least this total investment (万元) are proposed for the visit.
    visit_min_wan: int = Field(default=100000, ge=0)


_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
_GROUP_NAME = re.compile(r"^[^\s]{1,64}$")


class Group(_Strict):
    """A group destination outside Telegram: a WeCom, DingTalk or Feishu group robot, or a
    signed JSON webhook. It names the environment variables holding its key (or its whole URL)
    and its signing secret, never their values: secrets stay out of the policy file.

    Its `address` (the outbox's, and what `ztc channels test NAME` takes) is `name`, by default
    the key's or URL's variable.
    """

    channel: Literal["wecom", "dingtalk", "feishu", "webhook"]
    name: str | None = None
    key_env: str | None = None  # the robot's key (WeCom) or access token (DingTalk, Feishu)
    url_env: str | None = None  # or its whole webhook URL (a webhook: always)
    secret_env: str | None = None  # the signing secret (DingTalk 加签, Feishu, webhook)

    @field_validator("key_env", "url_env", "secret_env")
    @classmethod
    def _variable(cls, value: str | None) -> str | None:
        if value is not None and not _VARIABLE.match(value):
            raise ValueError(
                "must name an environment variable, such as ZTC_WECOM_LEADERS "
                "(the key itself belongs in the environment, never in the policy)"
            )
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not _GROUP_NAME.match(value):
            raise ValueError("a group's name is 1 to 64 characters without spaces")
        return value

    @model_validator(mode="after")
    def _reachable(self) -> Group:
        if (self.key_env is None) == (self.url_env is None):
            raise ValueError("give key_env or url_env, one of them")
        if self.channel == "webhook" and (self.url_env is None or self.secret_env is None):
            raise ValueError("a webhook needs url_env and secret_env: it is always signed")
        if self.channel == "wecom" and self.secret_env is not None:
            raise ValueError("a WeCom robot is not signed: leave out secret_env")
        return self

    @property
    def address(self) -> str:
        """How the outbox and the CLI name this destination."""
        return self.name or self.key_env or self.url_env or ""


class GroupAudience(_Strict):
    """Group destinations for the city (`groups`) and for each region by its code (`regions`)."""

    groups: tuple[Group, ...] = ()
    regions: dict[str, tuple[Group, ...]] = Field(default_factory=dict)

    def named(self) -> Iterator[tuple[str, Group]]:
        """Each group with where it is named (`groups`, `regions.CODE`)."""
        yield from (("groups", g) for g in self.groups)
        for code, groups in self.regions.items():
            yield from ((f"regions.{code}", g) for g in groups)

    def of(self, region: str | None) -> tuple[Group, ...]:
        """The city's groups (`region` None) or the region's (its code)."""
        return self.groups if region is None else self.regions.get(region, ())


class Recipients(GroupAudience):
    """Who receives a job's reports: the city's report by role, in Telegram group chats and
    in the `groups` (robots and webhooks); each region's report by role within the region and
    in the region's groups (`regions.CODE`). A digest job (weekly_digest, daily_chase) goes to
    each handler, and besides to its groups: the city's open items, or the region's."""

    city: tuple[Role, ...] = ()
    region: tuple[Role, ...] = ()
    chats: tuple[int, ...] = ()


class Floors(_Strict):
    """A region on the wrong side of any red limit is on the red list; else of a yellow one, the
    yellow. A limit is a floor for the rates where higher is better and a ceiling for the
    reopen rate (models/figures.py)."""

    red: dict[RateKey, float] = Field(default_factory=dict)
    yellow: dict[RateKey, float] = Field(default_factory=dict)

    @field_validator("red", "yellow", mode="before")
    @classmethod
    def _renamed(cls, value: object) -> object:
        if isinstance(value, dict):
            return {_OLD_RATE_KEYS.get(k, k): v for k, v in value.items()}
        return value

    @field_validator("red", "yellow")
    @classmethod
    def _shares(cls, value: dict[RateKey, float]) -> dict[RateKey, float]:
        if any(not 0 <= v <= 1 for v in value.values()):
            raise ValueError("floors are shares between 0 and 1 (0.85 = 85 %)")
        return value


class Policy(_Strict):
    """The whole policy file, validated."""

    tiers: dict[Level, int]
    categories: dict[Category, str]
    clocks: Clocks
    reminders: Reminders = Reminders()
    direct_line: DirectLine = DirectLine()
    pause: Pause = Pause()
    cohandling: CoHandling = CoHandling()
    closeout: CloseOut = CloseOut()
    invites: Invites = Invites()
    limits: Limits = Limits()
    progress: Progress = Progress()
    schedule: Schedule
    meeting: Meeting = Meeting()
    cycle: Cycle = Cycle()
    audiences: dict[str, Recipients] = Field(default_factory=dict)
    escalations: GroupAudience = GroupAudience()  # groups told of escalations and direct lines
    floors: Floors = Floors()
    targets: dict[int, Targets] = Field(default_factory=dict)
    calendar: dict[int, YearCalendar] = Field(default_factory=dict)

    @field_validator("tiers")
    @classmethod
    def _tiers(cls, value: dict[Level, int]) -> dict[Level, int]:
        _every(LADDER, value, "level(s)")
        bounds = [value[level] for level in LADDER]
        if bounds[0] != 0:
            raise ValueError("service_desk must start at 0")
        if any(b <= a for a, b in itertools.pairwise(bounds)):
            raise ValueError("thresholds must increase up the ladder")
        return value

    @field_validator("categories")
    @classmethod
    def _all_categories(cls, value: dict[Category, str]) -> dict[Category, str]:
        _every(list(Category), value, "category(ies)")
        return value

    @model_validator(mode="after")
    def _calendar_years(self) -> Policy:
        for year, cal in self.calendar.items():
            stray = [d for d in (*cal.holidays, *cal.workdays) if d.year != year]
            if stray:
                raise ValueError(f"calendar.{year}: {stray[0].isoformat()} is not in {year}")
        return self

    @model_validator(mode="after")
    def _known_jobs(self) -> Policy:
        jobs = set(self.cron_lines())
        named = {
            "cycle.grace": set(self.cycle.grace),
            "cycle.workdays_only": set(self.cycle.workdays_only),
            "audiences": set(self.audiences),
        }
        for key, names in named.items():
            unknown = sorted(names - jobs)
            if unknown:
                raise ValueError(f"{key}: unknown job {unknown[0]!r}")
        return self

    @model_validator(mode="after")
    def _one_name_one_group(self) -> Policy:
        seen: dict[str, Group] = {}
        for where, group in self._named_groups():
            if seen.setdefault(group.address, group) != group:
                raise ValueError(
                    f"{where}: the name {group.address!r} is given to two different destinations"
                )
        return self

    def _named_groups(self) -> Iterator[tuple[str, Group]]:
        for job, recipients in self.audiences.items():
            yield from ((f"audiences.{job}.{w}", g) for w, g in recipients.named())
        yield from ((f"escalations.{w}", g) for w, g in self.escalations.named())

    def groups(self) -> dict[str, Group]:
        """Every group destination the policy names (audiences, escalations), by its address."""
        return {g.address: g for _, g in self._named_groups()}

    def cron_lines(self) -> dict[str, str]:
        """Every periodic job's cron line, the agenda's derived from the meeting day."""
        lines = self.schedule.model_dump()
        ordered = [*list(lines)[:2], "coordination_agenda", *list(lines)[2:]]
        lines["coordination_agenda"] = self.meeting.cron
        return {job: lines[job] for job in ordered}

    def level_for(self, investment_wan: int) -> Level:
        """The tier of a project by its total investment (lower bounds inclusive)."""
        level = LADDER[0]
        for candidate in LADDER:
            if investment_wan >= self.tiers[candidate]:
                level = candidate
        return level


def _key(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc if part != "[key]") or "(top level)"


def _every(codes: Sequence[StrEnum], given: Mapping[Any, Any], what: str) -> None:
    """Refuse a table that leaves out one of `codes`, naming the missing ones."""
    missing = [code.value for code in codes if code not in given]
    if missing:
        raise ValueError(f"missing {what}: {', '.join(missing)}")


def parse_policy(text: str, source: str = "policy", *, cron: CronCheck | None = None) -> Policy:
    """Validate a policy file's text; raise PolicyError naming the first bad key.

    Cron lines are read by the scheduler's library, which the domain does not import: `cron`
    (jobs.schedule.cron_problem) checks them; without it they are taken as written.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from None
    try:
        return Policy.model_validate(data, context={"cron": cron})
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        raise PolicyError(f"{source}: {_key(first['loc'])}: {message}") from None


def load_policy(path: Path | str | None = None, *, cron: CronCheck | None = None) -> Policy:
    """Load the policy from a path, or the shipped default when none is given."""
    if path is None:
        text = resources.files("models").joinpath("policy.toml").read_text(encoding="utf-8")
        return parse_policy(text, "policy.toml (shipped)", cron=cron)
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{file}: cannot read the policy file: {exc.strerror}") from None
    return parse_policy(text, str(file), cron=cron)
