"""The bot's scheduler: PTB's JobQueue (APScheduler 3 in the bot's event loop) runs every job of
the policy's `[schedule]` on its cron line, in the city's zone.

Nothing that must survive a restart lives in APScheduler: the jobs are rebuilt from the policy at
each start, and what ran is in `schedule_runs`. At start-up `catch_up` runs each cycle job's
latest period if nobody ran it yet — late inside the grace window, else recorded as skipped.
"""

from __future__ import annotations

import logging

from telegram.ext import JobQueue

from bot.runtime import Runtime, ztc_application
from handlers.context import BotRuntime, ZtcContext
from jobs.clocks import run_clocks
from jobs.cycle import CycleRun, catch_up, run_cycle_job
from jobs.schedule import trigger_for
from models.audit import seal_all
from models.db import session_scope
from models.updates import forget_old

log = logging.getLogger(__name__)
RETRY_SECONDS = 300.0  # a cycle job that failed tries again this much later (inside its grace)


def schedule_jobs(job_queue: JobQueue[ZtcContext], runtime: Runtime) -> None:
    """One APScheduler job per cron line; a job never overlaps itself and never piles up."""
    for job in runtime.rules.policy.cron_lines():
        job_queue.run_custom(
            _clock_tick if job == "clocks" else _cycle_tick,
            job_kwargs={
                "trigger": trigger_for(runtime.rules, job),
                "id": job,
                "max_instances": 1,
                "coalesce": True,
                "misfire_grace_time": None,  # late is for run_cycle_job to judge, not APScheduler
            },
            name=job,
        )


async def _clock_tick(context: ZtcContext) -> None:
    """The clock watcher: reminders and escalations as at now; then deliver what it queued.
    It also forgets the ids of updates handled more than two days ago (models/updates.py) and
    anchors the events written since the last tick in the record's chain (models/audit.py)."""
    rt = context.rt
    if not rt.leading():
        return  # another process leads the scheduler
    report = await run_clocks(engine=rt.engine, rules=rt.rules, now=rt.now())
    await forget_old(engine=rt.engine, now=rt.now())  # the update ids past Telegram's 24 hours
    async with session_scope(rt.engine) as session:
        await seal_all(session=session, now=rt.now())
    if report.changed:
        log.info("clock sweep: %s", report)
        rt.wake_dispatcher()


async def _cycle_tick(context: ZtcContext) -> None:
    """A cycle job's moment came: run its period once; on failure, try again a little later."""
    rt, job = context.rt, context.job.name if context.job and context.job.name else ""
    if not rt.leading():
        return  # another process leads the scheduler; schedule_runs keeps it once anyway
    try:
        run = await run_cycle_job(engine=rt.engine, rules=rt.rules, job=job, now=rt.now())
    except Exception:
        log.exception("cycle job %s failed; retrying in %.0f s", job, RETRY_SECONDS)
        queue = ztc_application(context.application).job_queue  # typed for ZtcContext
        if queue is not None:
            queue.run_once(_cycle_tick, RETRY_SECONDS, name=job)
        return
    _report([run], rt)


async def start_up(runtime: Runtime) -> list[CycleRun]:
    """Catch up on what the cycle missed while the bot was down."""
    runs = await catch_up(engine=runtime.engine, rules=runtime.rules, now=runtime.now())
    _report(runs, runtime)
    return runs


def _report(runs: list[CycleRun], runtime: BotRuntime) -> None:
    for run in runs:
        if run.outcome in ("done", "late", "skipped"):
            log.info("cycle %s %s: %s (%d notices)", run.job, run.period, run.outcome, run.notices)
    if any(run.notices for run in runs):
        runtime.wake_dispatcher()
