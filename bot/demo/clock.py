"""The demo's clock: the wall clock plus an offset the visitor moves forward, never back."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from bot.runtime import utc_now
from jobs.schedule import next_run
from models.rules import Rules

STEPS = ("hour", "day", "workday", "bulletin")
LONGEST_JUMP = timedelta(days=400)  # a year and a bit: enough for an annual assessment


LEAD = 5  # working days from the demo's default start to the next monthly bulletin


def default_start(rules: Rules, now: datetime) -> datetime:
    """Where the demo's clock starts when no --at is given: 09:00 on the fifth working day
    before the next monthly bulletin, so that its jump comes after a few working days of a
    real-looking month (on 1 December, "now" would leave a whole empty month before it); now,
    when the bulletin is nearer than that already."""
    bulletin = next_run(rules, "monthly_bulletin", now)
    if bulletin is None:
        return now
    day, counted = bulletin.astimezone(rules.tz).date(), 0
    while counted < LEAD:
        day -= timedelta(days=1)
        counted += rules.calendar.is_workday(day)[0]
    return max(datetime.combine(day, time(9, 0), rules.tz), now)


class JumpRefused(ValueError):
    """A jump the demo will not make: backwards, or too far ahead."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "backwards" or "too_far"


class DemoClock:
    """Callable like `utc_now`; `jump_to` moves it forward and it keeps ticking from there."""

    def __init__(self, start: datetime) -> None:
        self._offset = start - utc_now()

    def __call__(self) -> datetime:
        return utc_now() + self._offset

    def jump_to(self, moment: datetime) -> None:
        """Move to `moment`; JumpRefused if it is not ahead of now or too far ahead."""
        now = self()
        if moment <= now:
            raise JumpRefused("backwards")
        if moment - now > LONGEST_JUMP:
            raise JumpRefused("too_far")
        self._offset = moment - utc_now()


def step_target(rules: Rules, now: datetime, step: str) -> datetime:
    """Where a step button takes the clock from `now`: an hour or a day on, the next working
    day's morning, or the next monthly bulletin's moment (the 1st, 09:00, moved off days off)."""
    if step == "hour":
        return now + timedelta(hours=1)
    if step == "day":
        return now + timedelta(days=1)
    if step == "workday":
        tomorrow = now.astimezone(rules.tz).date() + timedelta(days=1)
        return rules.working_morning(
            datetime.combine(tomorrow, rules.policy.reminders.morning, rules.tz)
        )
    if step == "bulletin":
        due = next_run(rules, "monthly_bulletin", now + timedelta(seconds=1))  # strictly later
        assert due is not None  # a cron line always has a next moment
        return due
    raise ValueError(f"unknown step {step!r}; one of {', '.join(STEPS)}")
