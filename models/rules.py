"""The inputs every rule needs besides the database: the policy, the working calendar, the zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from models.codes import Level, Urgency
from models.policy import LADDER, Policy, Span
from models.workcal import Due, WorkCalendar


@dataclass(frozen=True)
class Rules:
    """Policy, calendar and time zone, built once at start-up and passed to every service."""

    policy: Policy
    calendar: WorkCalendar
    tz: ZoneInfo

    @classmethod
    def build(cls, policy: Policy, tz: ZoneInfo | str = "Asia/Shanghai") -> Rules:
        """Rules from a loaded policy and a zone name."""
        zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        return cls(policy, WorkCalendar(policy.calendar), zone)

    def level_for(self, investment_wan: int) -> Level:
        """The tier of a project (see Policy.level_for)."""
        return self.policy.level_for(investment_wan)

    def due(self, start: datetime, span: Span) -> Due:
        """When a span started at `start` runs out."""
        return self.calendar.due_after(start, span, self.tz)

    def accept_due(self, start: datetime, level: Level, urgency: Urgency) -> Due:
        """The accept deadline for a clock started at `start`."""
        return self.due(start, self.policy.clocks.for_issue(level, urgency).accept)

    def working_morning(self, moment: datetime) -> datetime:
        """`moment` on a working day; else the next working day's morning ([reminders] morning)."""
        day = moment.astimezone(self.tz).date()
        if self.calendar.is_workday(day)[0]:
            return moment
        while not self.calendar.is_workday(day)[0]:
            day += timedelta(days=1)
        return datetime.combine(day, self.policy.reminders.morning, self.tz)

    def resolve_due(self, start: datetime, level: Level, urgency: Urgency) -> Due:
        """The resolve deadline for a clock started at `start` (acceptance)."""
        return self.due(start, self.policy.clocks.for_issue(level, urgency).resolve)


def level_above(level: Level) -> Level | None:
    """The next rung up, or None at the top."""
    index = LADDER.index(level)
    return LADDER[index + 1] if index + 1 < len(LADDER) else None


def top_level() -> Level:
    """The top of the ladder."""
    return LADDER[-1]
