"""When the cycle's jobs run: the policy's cron lines as APScheduler triggers, moved off days off.

The domain (models/cycle.py) names periods and judges lateness from moments; this module finds
the moments — the next run, the latest one due — with APScheduler's cron arithmetic, and gives
the scheduler (bot/scheduler.py) the same triggers, so what runs and what catch-up expects agree.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from models.cycle import PERIODS, Due, period_for
from models.periods import Grain
from models.policy import load_policy
from models.rules import Rules
from models.workcal import WorkCalendar

# How far back to look for the latest scheduled moment: a period and a long holiday.
_LOOKBACK: dict[Grain, timedelta] = {
    "day": timedelta(days=12),
    "week": timedelta(days=21),
    "month": timedelta(days=45),
    "quarter": timedelta(days=105),
    "half": timedelta(days=195),
    "year": timedelta(days=380),
}


# Longer than any run of days off (the Spring Festival's 8 and a weekend): a moment this far back
# cannot be moved past the one asked about.
_DAYS_OFF = timedelta(days=16)


class WorkdayCron(BaseTrigger):  # type: ignore[misc]  # APScheduler 3 has no types: BaseTrigger is Any
    """A cron line whose moments on days off move to the next working day, same clock time."""

    def __init__(self, line: str, tz: ZoneInfo, calendar: WorkCalendar | None) -> None:
        """`calendar` None: every day counts."""
        self.cron = CronTrigger.from_crontab(line, timezone=tz)
        self.tz, self.calendar = tz, calendar

    def shift(self, moment: datetime) -> datetime:
        """The moment itself, or the same time on the next working day."""
        if self.calendar is None:
            return moment
        local = moment.astimezone(self.tz)
        day = local.date()
        while not self.calendar.is_workday(day)[0]:
            day += timedelta(days=1)
        return datetime.combine(day, local.time(), self.tz)

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        """APScheduler's question: the next (shifted) moment after the previous one (or from
        now, the first time).

        Asked with the calendar as it is now, and from a little before: a moment that fell on a
        day found to be a holiday after it was scheduled (a year loaded meanwhile) comes round
        again, moved. The run at the old time finds nothing due (jobs/cycle.py asks
        `latest_due` with the same calendar) and this gives the moved one.
        """
        if self.calendar is None:
            start = self.cron.get_next_fire_time(previous_fire_time, now)
        else:
            start = self.cron.get_next_fire_time(None, (previous_fire_time or now) - _DAYS_OFF)
        moment = start
        while moment is not None:
            shifted = self.shift(moment)
            if (previous_fire_time is None and shifted >= now) or (
                previous_fire_time is not None and shifted > previous_fire_time
            ):
                return shifted
            moment = self.cron.get_next_fire_time(moment, moment + timedelta(microseconds=1))
        return None

    def __str__(self) -> str:
        """As APScheduler prints triggers."""
        return f"workday-cron[{self.cron}]"


def trigger_for(rules: Rules, job: str) -> WorkdayCron:
    """The job's trigger from the policy's cron line, in the city's zone."""
    calendar = rules.calendar if job in rules.policy.cycle.workdays_only else None
    return WorkdayCron(rules.policy.cron_lines()[job], rules.tz, calendar)


def latest_due(rules: Rules, job: str, now: datetime) -> Due | None:
    """The job's latest run whose (shifted) time is at or before `now`."""
    trigger = trigger_for(rules, job)
    moment = trigger.cron.get_next_fire_time(None, now - _LOOKBACK[PERIODS[job][0]])
    best: Due | None = None
    while moment is not None and moment <= now:
        runs_at = trigger.shift(moment)
        if runs_at <= now and (best is None or runs_at >= best.runs_at):
            best = Due(job, moment, runs_at, period_for(job, moment, rules.tz))
        moment = trigger.cron.get_next_fire_time(moment, moment + timedelta(microseconds=1))
    return best


def next_run(rules: Rules, job: str, now: datetime) -> datetime | None:
    """When the job runs next after `now`."""
    return trigger_for(rules, job).get_next_fire_time(None, now)


def cron_problem(line: str) -> str | None:
    """What is wrong with a cron line, as APScheduler reads it (None: nothing)."""
    try:
        CronTrigger.from_crontab(line)
    except ValueError as exc:
        return str(exc)
    return None


def load_rules(path: Path | str | None, tz: str) -> Rules:
    """The rules from the policy file (the shipped one for None), cron lines checked."""
    return Rules.build(load_policy(path, cron=cron_problem), tz)
