"""Enterprises' monthly progress: reports (append-only), stage claims and their confirmation.

A contact reports on one of their enterprise's projects: the cumulative investment completed
(counted as reported: the latest report's figure is the project's) and, when the project moved
on, the stage reached with its date. A stage is a *claim* until the project's service agent or
manager (or an admin, for a project that has neither) confirms it (认定): only then do the
project's stage and that stage's date change, so the bulletins count confirmed stages only. A
rejected claim leaves the project as it was; the contact is told either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from models.attachments import MAX_FILES
from models.codes import Role, Stage
from models.errors import InvalidInput, NotAllowed
from models.tables.infra import TELEGRAM, Outbox
from models.tables.org import Contact, Enterprise, Official, Region
from models.tables.project import ProgressReport, Project
from models.text import checked_text
from models.typed import checked_wan

LISTED = "listed"  # 列统: entered into the above-size statistics; a milestone, not a `Stage`
CLAIMS = (*(s.value for s in Stage), LISTED)
PENDING, CONFIRMED, REJECTED = "pending", "confirmed", "rejected"
# The project column holding each claim's date.
DATE_OF = {
    Stage.SIGNED.value: "signed_on",
    Stage.STARTED.value: "started_on",
    Stage.COMPLETED.value: "completed_on",
    Stage.IN_PRODUCTION.value: "production_on",
    Stage.AT_CAPACITY.value: "capacity_on",
    LISTED: "listed_on",
}
MAX_NOTE = 2000  # ProgressReport.note's width

# --- the rules of a claim --------------------------------------------------------------------


def next_claims(project: Project) -> list[str]:
    """What a report on the project may claim now: the stage after its confirmed one, and
    列统 until it is listed."""
    stages = list(Stage)
    index = stages.index(project.stage)
    claims = [stages[index + 1].value] if index + 1 < len(stages) else []
    return claims + ([LISTED] if project.listed_on is None else [])


def _earlier(project: Project, claim: str) -> list[date]:
    """The project's dates that a claim's date may not precede."""
    if claim == LISTED:
        return [project.signed_on] if project.signed_on else []
    stages = [s.value for s in Stage]
    before = stages[: stages.index(claim)]
    return [day for s in before if (day := getattr(project, DATE_OF[s])) is not None]


def check_claim(project: Project, claim: str, on: date | None, today: date) -> date:
    """The claim's date if the claim may be made now; else InvalidInput (field "stage":
    `not_next`; field "date": `empty`, `future` or `before_earlier`)."""
    if claim not in next_claims(project):
        raise InvalidInput(field="stage", reason="not_next", project=project.code)
    if on is None:
        raise InvalidInput(field="date", reason="empty")
    if on > today:
        raise InvalidInput(field="date", reason="future", date=on.isoformat())
    earlier = _earlier(project, claim)
    if earlier and on < max(earlier):
        raise InvalidInput(
            field="date", reason="before_earlier", date=on.isoformat(), earlier=max(earlier)
        )
    return on


def may_confirm(official: Official, project: Project) -> bool:
    """The project's agent or manager confirms its stage claims; an admin may too (a project
    with neither would otherwise have nobody)."""
    mine = official.id is not None and official.id in (project.agent_id, project.manager_id)
    return mine or official.role == Role.ADMIN


def month_of(now: datetime, tz: ZoneInfo) -> date:
    """The month a report made at `now` is for: its first day, in the city's zone."""
    return now.astimezone(tz).date().replace(day=1)


def apply_claim(project: Project, claim: str, on: date) -> None:
    """Record a confirmed claim on the project: the stage's date, and the stage if later."""
    setattr(project, DATE_OF[claim], on)
    if claim != LISTED:
        stages = list(Stage)
        project.stage = max(project.stage, Stage(claim), key=stages.index)


# --- reading ---------------------------------------------------------------------------------


async def pending_claim(*, session: AsyncSession, project_id: int) -> ProgressReport | None:
    """The project's stage claim awaiting confirmation (at most one at a time)."""
    query = select(ProgressReport).where(
        ProgressReport.project_id == project_id, ProgressReport.claim_status == PENDING
    )
    return (await session.exec(query.order_by(col(ProgressReport.id).desc()))).first()


def _newest_first(query: SelectOfScalar[ProgressReport]) -> SelectOfScalar[ProgressReport]:
    return query.order_by(col(ProgressReport.reported_at).desc(), col(ProgressReport.id).desc())


async def latest_report(
    *, session: AsyncSession, project_id: int, with_amount: bool = False
) -> ProgressReport | None:
    """The project's latest progress report (`with_amount`: the latest that gave one)."""
    query = select(ProgressReport).where(ProgressReport.project_id == project_id)
    if with_amount:
        query = query.where(col(ProgressReport.invested_wan).is_not(None))
    return (await session.exec(_newest_first(query))).first()


async def latest_invested(*, session: AsyncSession, until: datetime) -> dict[int, int]:
    """Each project's cumulative investment completed, as its latest report up to `until` gave."""
    query = select(ProgressReport).where(
        col(ProgressReport.invested_wan).is_not(None), col(ProgressReport.reported_at) <= until
    )
    found: dict[int, int] = {}
    for report in (await session.exec(_newest_first(query))).all():
        if report.invested_wan is not None:
            found.setdefault(report.project_id, report.invested_wan)
    return found


async def reported_since(*, session: AsyncSession, month: date) -> set[int]:
    """The projects that reported for `month` or later."""
    query = select(ProgressReport.project_id).where(col(ProgressReport.month) >= month)
    return set((await session.exec(query)).all())


async def claims_for(*, session: AsyncSession, official: Official) -> list[ProgressReport]:
    """The pending claims the official may confirm, oldest first."""
    query = select(ProgressReport).where(ProgressReport.claim_status == PENDING)
    if official.role != Role.ADMIN:
        mine = select(Project.id).where(
            (Project.agent_id == official.id) | (Project.manager_id == official.id)
        )
        query = query.where(col(ProgressReport.project_id).in_(mine))
    return list((await session.exec(query.order_by(col(ProgressReport.id)))).all())


async def report_by_key(*, session: AsyncSession, key: str) -> ProgressReport | None:
    """The report a chat draft's submit made, if any."""
    query = select(ProgressReport).where(ProgressReport.submission_key == key)
    return (await session.exec(query)).first()


async def confirmers(*, session: AsyncSession, project: Project) -> list[int]:
    """Who is asked to confirm a claim: the agent and the manager, else the admins."""
    team = sorted({i for i in (project.agent_id, project.manager_id) if i is not None})
    if team:
        return team
    admins = select(Official.id).where(Official.role == Role.ADMIN).order_by(col(Official.id))
    return [i for i in (await session.exec(admins)).all() if i is not None]


@dataclass(frozen=True)
class ReportView:
    """A report with the names a message about it shows."""

    report: ProgressReport
    project: Project
    enterprise: str
    contact: str | None  # who reported it
    decided_by: str | None  # who confirmed or rejected its claim


async def report_view(*, session: AsyncSession, report_id: int) -> ReportView | None:
    """A report and the names around it, or None when there is no such report."""
    report = await session.get(ProgressReport, report_id)
    project = await session.get(Project, report.project_id) if report else None
    if report is None or project is None:
        return None
    enterprise = await session.get(Enterprise, project.enterprise_id)
    contact = await session.get(Contact, report.contact_id) if report.contact_id else None
    judge = await session.get(Official, report.decided_by_id) if report.decided_by_id else None
    return ReportView(
        report,
        project,
        enterprise.name if enterprise else "",
        contact.name if contact else None,
        judge.name if judge else None,
    )


# --- changing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A stage reached (a `CLAIMS` code) and the day it was reached."""

    stage: str
    on: date | None


async def report_progress(
    *,
    session: AsyncSession,
    tz: ZoneInfo,
    contact: Contact,
    project: Project,
    now: datetime,
    claim: Claim | None = None,
    invested_wan: int | None = None,
    note: str | None = None,
    files: Sequence[dict[str, Any]] = (),
    key: str | None = None,
) -> ProgressReport:
    """Append a progress report; a stage claim asks the project's confirmers (outbox rows in
    the caller's transaction). A draft's `key` makes a repeated submit return the first report.

    Raises NotAllowed (a contact of another enterprise) or InvalidInput.
    """
    if key is not None and (earlier := await report_by_key(session=session, key=key)):
        return earlier
    if contact.enterprise_id != project.enterprise_id:
        raise NotAllowed(action="report_progress", issue=project.code)
    if claim is None and invested_wan is None:
        raise InvalidInput(field="progress", reason="nothing")
    text = checked_text(note, "note", required=False)
    if text is not None and len(text) > MAX_NOTE:
        raise InvalidInput(field="note", reason="too_long", limit=MAX_NOTE, length=len(text))
    if len(files) > MAX_FILES:
        raise InvalidInput(field="files", reason="too_many", limit=MAX_FILES)
    report = ProgressReport(
        project_id=project.id or 0,
        month=month_of(now, tz),
        stage=project.stage,
        invested_wan=None if invested_wan is None else checked_wan(invested_wan),
        note=text,
        reported_at=now,
        contact_id=contact.id,
        files=list(files),
        submission_key=key,
    )
    if claim is not None:
        await _claim(session, project, report, claim, now.astimezone(tz).date())
    session.add(report)
    await session.flush()
    if claim is not None:
        session.add_all(
            _row(report, "claim", "official", who, now)
            for who in await confirmers(session=session, project=project)
        )
    return report


async def _claim(
    session: AsyncSession, project: Project, report: ProgressReport, claim: Claim, today: date
) -> None:
    """Put a checked claim on the report (one pending claim per project at a time)."""
    if await pending_claim(session=session, project_id=project.id or 0) is not None:
        raise InvalidInput(field="stage", reason="claim_pending", project=project.code)
    report.claim_on = check_claim(project, claim.stage, claim.on, today)
    report.claim, report.claim_status = claim.stage, PENDING


def _row(report: ProgressReport, what: str, who: str, ident: int, now: datetime) -> Outbox:
    return Outbox(
        dedupe_key=f"progress:{report.id}:{what}:{who}:{ident}",
        created_at=now,
        kind=f"progress_{what}",
        payload={"progress": report.id},
        next_attempt_at=now,
        channel=TELEGRAM,  # the person's own chat
        official_id=ident if who == "official" else None,
        contact_id=ident if who == "contact" else None,
    )


async def decide_claim(
    *,
    session: AsyncSession,
    official: Official,
    project: Project,
    now: datetime,
    confirm: bool = True,
    note: str | None = None,
    report_id: int | None = None,
) -> ProgressReport:
    """认定 (confirm) or reject, with a reason, the project's pending claim (`report_id`: that
    one only; a press on a claim decided meanwhile finds none). The contact who reported it is
    told (an outbox row in the caller's transaction).

    Raises NotAllowed (not the project's agent or manager, nor an admin) or InvalidInput
    (`no_claim`: none pending; a rejection without a reason).
    """
    if not may_confirm(official, project):
        raise NotAllowed(action="confirm_progress", issue=project.code)
    reason = checked_text(note, "note", required=not confirm)
    if reason is not None and len(reason) > MAX_NOTE:
        raise InvalidInput(field="note", reason="too_long", limit=MAX_NOTE, length=len(reason))
    report = await pending_claim(session=session, project_id=project.id or 0)
    if report is None or (report_id is not None and report.id != report_id):
        raise InvalidInput(field="claim", reason="no_claim", project=project.code)
    decided = await session.exec(  # one verdict, whoever presses at the same moment
        update(ProgressReport)
        .where(col(ProgressReport.id) == report.id, col(ProgressReport.claim_status) == PENDING)
        .values(
            claim_status=CONFIRMED if confirm else REJECTED,
            decided_by_id=official.id,
            decided_at=now,
            decision_note=reason,
        )
    )
    if decided.rowcount != 1:
        raise InvalidInput(field="claim", reason="no_claim", project=project.code)
    await session.refresh(report)
    if confirm:
        assert report.claim is not None and report.claim_on is not None
        apply_claim(project, report.claim, report.claim_on)
        session.add(project)
    if report.contact_id is not None:
        session.add(_row(report, "decided", "contact", report.contact_id, now))
    await session.flush()
    return report


# --- the contract's JSON -----------------------------------------------------------------------


def _iso(value: date | datetime | None, tz: ZoneInfo) -> str | None:
    if isinstance(value, datetime):
        return value.astimezone(tz).isoformat()
    return value.isoformat() if value else None


async def _code(session: AsyncSession, model: Any, ident: int | None) -> str | None:
    found = await session.get(model, ident) if ident is not None else None
    return found.code if found is not None else None


async def progress_json(
    *, session: AsyncSession, report: ProgressReport, tz: ZoneInfo
) -> dict[str, Any]:
    """A progress report as `ztc progress … --json` prints it."""
    return {
        "id": report.id,
        "project": await _code(session, Project, report.project_id),
        "month": report.month.strftime("%Y-%m"),
        "reported_at": _iso(report.reported_at, tz),
        "by": await _code(session, Contact, report.contact_id),
        "invested_wan": report.invested_wan,
        "stage": report.claim,
        "stage_on": _iso(report.claim_on, tz),
        "claim_status": report.claim_status,
        "decided_by": await _code(session, Official, report.decided_by_id),
        "decided_at": _iso(report.decided_at, tz),
        "decision_note": report.decision_note,
        "note": report.note,
        "files": len(report.files),
    }


async def project_json(*, session: AsyncSession, project: Project, tz: ZoneInfo) -> dict[str, Any]:
    """A project as `ztc projects show --json` prints it: its confirmed stage and dates, the
    investment completed as last reported, and the claim awaiting confirmation."""
    assert project.id is not None
    amount = await latest_report(session=session, project_id=project.id, with_amount=True)
    claim = await pending_claim(session=session, project_id=project.id)
    return {
        "code": project.code,
        "name": project.name,
        "enterprise": await _code(session, Enterprise, project.enterprise_id),
        "region": await _code(session, Region, project.region_id),
        "investment_wan": project.investment_wan,
        "stage": project.stage.value,
        **{column: _iso(getattr(project, column), tz) for column in DATE_OF.values()},
        "invested_wan": amount.invested_wan if amount else None,
        "invested_reported_at": _iso(amount.reported_at, tz) if amount else None,
        "pending_claim": claim.claim if claim else None,
        "pending_claim_on": _iso(claim.claim_on, tz) if claim else None,
        "leader": await _code(session, Official, project.leader_id),
        "manager": await _code(session, Official, project.manager_id),
        "agent": await _code(session, Official, project.agent_id),
    }
