"""/progress for an enterprise contact (or the monthly reminder's button): the progress report.

project (skipped when one) → stage reached, if it changed, and its date → investment completed
so far (万元) → note and photos (optional) → summary → 确认提交. A stage goes to the project's
agent and manager as a claim (handlers/progress_claims.py). The draft lives in user_data as ids
and codes, so the persisted conversation survives a restart; its key makes the submit
idempotent. An official's /progress lists the claims awaiting them.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ConversationHandler

from handlers import lists, progress_claims
from handlers.callbacks import CB, State, pack, parse_id, unpack
from handlers.common import (
    Turn,
    file_entry,
    point_to_buttons,
    redraw,
    redraw_buttons,
    reply,
    speaker,
)
from handlers.context import ZtcContext
from jobs.progress import day_text
from jobs.reports import stage_label
from locales.formats import error_text, money
from locales.labels import label
from models.attachments import MAX_FILES, check_file
from models.errors import DomainError, InvalidInput
from models.progress import (
    MAX_NOTE,
    Claim,
    check_claim,
    confirmers,
    latest_report,
    next_claims,
    pending_claim,
    report_progress,
)
from models.queries import enterprise_projects
from models.tables.org import Contact, Official
from models.tables.project import Project
from models.text import clean_text
from models.typed import parse_day, parse_wan

END = ConversationHandler.END
KEY = "progress"  # user_data: the draft
SAME = "same"  # the stage did not change


@dataclass
class Draft:
    """A progress report being written: ids and codes only (JSON in user_data)."""

    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    project: int | None = None
    claim: str | None = None
    claim_on: str | None = None  # ISO date
    invested: int | None = None
    note: str | None = None
    files: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, context: ZtcContext) -> Draft | None:
        """The draft under way, or None."""
        data = (context.user_data or {}).get(KEY)
        if not isinstance(data, dict) or not isinstance(data.get("key"), str):
            return None
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def keep(self, context: ZtcContext) -> None:
        """Store the draft in the person's user_data."""
        assert context.user_data is not None
        context.user_data[KEY] = asdict(self)


def _buttons(pairs: list[tuple[str, str]], width: int = 3) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(text[:60], callback_data=data) for text, data in pairs]
    return InlineKeyboardMarkup([buttons[k : k + width] for k in range(0, len(buttons), width)])


def _join(*parts: str | None) -> str:
    return "\n\n".join(p for p in parts if p)


def _today(turn: Turn) -> date:
    return turn.rt.now().astimezone(turn.rt.rules.tz).date()


async def _lost(update: Update, context: ZtcContext, turn: Turn) -> int:
    """A step arrived for a draft that is gone."""
    if update.callback_query is not None:  # answered by the caller (a second answer fails)
        await redraw_buttons(update)
    await reply(
        update, context, turn._("That report was interrupted. Please start again: /progress")
    )
    return END


async def _draft_project(turn: Turn, draft: Draft | None) -> Project | None:
    """The draft's project, while the speaker may still report on it."""
    if draft is None or draft.project is None:
        return None
    project = await turn.session.get(Project, draft.project)
    if project is None or not isinstance(turn.person, Contact):
        return None
    return project if project.enterprise_id == turn.person.enterprise_id else None


@speaker()
async def begin(update: Update, context: ZtcContext, turn: Turn) -> int:
    """/progress: a contact reports; an official sees the stage claims awaiting them."""
    if isinstance(turn.person, Official):
        await progress_claims.awaiting(update, context, turn)
        return END
    assert isinstance(turn.person, Contact)
    projects = await enterprise_projects(
        session=turn.session, enterprise_id=turn.person.enterprise_id
    )
    if not projects:
        text = turn._(
            "Your enterprise has no project on record. Please contact your service agent."
        )
        await reply(update, context, text)
        return END
    draft = Draft()
    head = await lists.progress_overview(turn, projects)
    if len(projects) == 1:
        return await _ask_stage(update, context, turn, draft, projects[0], head)
    draft.keep(context)
    pairs = [(f"{p.code} {p.name}", pack(CB.PROGRESS_PROJECT, p.id)) for p in projects[:20]]
    question = turn._("Which project are you reporting on?")
    await reply(update, context, _join(head, question), reply_markup=_buttons(pairs, 1))
    return State.PROGRESS_PROJECT


@speaker()
async def use_buttons(update: Update, context: ZtcContext, turn: Turn) -> None:
    """A message where the step waits for a press: point at the buttons, stay in the step."""
    await point_to_buttons(update, context, turn)


@speaker("contact")
async def start_for(update: Update, context: ZtcContext, turn: Turn) -> int:
    """The reminder's button: report on that project."""
    query = update.callback_query
    assert query is not None
    draft = Draft(project=parse_id((unpack(query.data) or [""])[0]))
    project = await _draft_project(turn, draft)
    if project is None:
        await query.answer(turn._("This button is no longer active."))
        return END
    await query.answer()
    return await _ask_stage(update, context, turn, draft, project)


@speaker("contact")
async def project_chosen(update: Update, context: ZtcContext, turn: Turn) -> int | None:
    """A project button was pressed."""
    query = update.callback_query
    assert query is not None
    if (draft := Draft.of(context)) is None:
        await query.answer()
        return await _lost(update, context, turn)
    draft.project = parse_id((unpack(query.data) or [""])[0])
    if (project := await _draft_project(turn, draft)) is None:
        await query.answer(turn._("This button is no longer active."))
        return None
    await query.answer()
    await redraw_buttons(update)
    return await _ask_stage(update, context, turn, draft, project)


async def _ask_stage(
    update: Update,
    context: ZtcContext,
    turn: Turn,
    draft: Draft,
    project: Project,
    head: str | None = None,
) -> int:
    """Ask whether the project reached a new stage (skipped while a claim awaits, or when
    there is none left to reach)."""
    draft.project = project.id
    draft.keep(context)
    waiting = await pending_claim(session=turn.session, project_id=project.id or 0)
    choices = [] if waiting else next_claims(project)
    if not choices:
        said = None
        if waiting is not None:
            said = turn._("Its claim of “{stage}” ({date}) awaits confirmation.").format(
                stage=stage_label(waiting.claim or "", turn.locale),
                date=day_text(waiting.claim_on, turn.locale),
            )
        return await _ask_amount(update, context, turn, project, _join(head, said))
    question = turn._("{code} {name} is at “{stage}”. Has it reached a new stage?").format(
        code=project.code, name=project.name, stage=label(project.stage, turn.locale)
    )
    pairs = [(turn._("No change"), pack(CB.PROGRESS_STAGE, SAME))]
    pairs += [(stage_label(c, turn.locale), pack(CB.PROGRESS_STAGE, c)) for c in choices]
    await reply(update, context, _join(head, question), reply_markup=_buttons(pairs))
    return State.PROGRESS_STAGE


@speaker("contact")
async def stage_chosen(update: Update, context: ZtcContext, turn: Turn) -> int | None:
    """Keep the stage; ask its date (or, no change, the amount)."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    draft = Draft.of(context)
    if (project := await _draft_project(turn, draft)) is None or draft is None:
        return await _lost(update, context, turn)
    choice = (unpack(query.data) or [""])[0]
    if choice != SAME and choice not in next_claims(project):
        return None
    await redraw_buttons(update)
    draft.claim, draft.claim_on = (None if choice == SAME else choice), None
    draft.keep(context)
    if draft.claim is None:
        return await _ask_amount(update, context, turn, project)
    question = turn._(
        "On what date did it reach “{stage}”? Send the date, for example {example}, or press "
        "Today."
    ).format(stage=stage_label(choice, turn.locale), example=_today(turn).isoformat())
    today = [(turn._("Today"), pack(CB.PROGRESS_TODAY))]
    await reply(update, context, question, reply_markup=_buttons(today))
    return State.PROGRESS_DATE


@speaker("contact")
async def date_typed(update: Update, context: ZtcContext, turn: Turn) -> int | None:
    """A date was typed for the stage."""
    assert update.message is not None and update.message.text is not None
    try:
        day = parse_day(update.message.text, _today(turn))
    except InvalidInput as exc:
        await reply(update, context, error_text(exc, turn.locale))
        return None
    return await _use_date(update, context, turn, day)


@speaker("contact")
async def date_today(update: Update, context: ZtcContext, turn: Turn) -> int | None:
    """Today, by the button."""
    assert update.callback_query is not None
    await update.callback_query.answer()
    return await _use_date(update, context, turn, _today(turn))


async def _use_date(update: Update, context: ZtcContext, turn: Turn, day: date) -> int | None:
    draft = Draft.of(context)
    if (project := await _draft_project(turn, draft)) is None or draft is None:
        return await _lost(update, context, turn)
    if draft.claim is None:
        return None
    try:
        check_claim(project, draft.claim, day, _today(turn))
    except InvalidInput as exc:
        await reply(update, context, error_text(exc, turn.locale))
        return None
    if update.callback_query is not None:
        await redraw_buttons(update)
    draft.claim_on = day.isoformat()
    draft.keep(context)
    return await _ask_amount(update, context, turn, project)


async def _ask_amount(
    update: Update, context: ZtcContext, turn: Turn, project: Project, head: str | None = None
) -> int:
    question = turn._(
        "How much has been invested in total so far, in 万元? For example 12000, 3000万 or 1.2亿."
    )
    last = await latest_report(session=turn.session, project_id=project.id or 0, with_amount=True)
    if last is not None and last.invested_wan is not None:
        question += "\n" + turn._("Last reported: {amount} ({month}).").format(
            amount=money(last.invested_wan, turn.locale), month=last.month.strftime("%Y-%m")
        )
    await reply(update, context, _join(head, question))
    return State.PROGRESS_AMOUNT


@speaker("contact")
async def amount_typed(update: Update, context: ZtcContext, turn: Turn) -> int | None:
    """Keep the amount; ask for a note and photos."""
    assert update.message is not None and update.message.text is not None
    if (draft := Draft.of(context)) is None:
        return await _lost(update, context, turn)
    try:
        draft.invested = parse_wan(update.message.text)
    except InvalidInput as exc:
        await reply(update, context, error_text(exc, turn.locale))
        return None
    draft.keep(context)
    question = turn._(
        "Anything to add? Send a note (photos first if you like, up to {limit}), or press Next."
    ).format(limit=MAX_FILES)
    nothing = [(turn._("Next"), pack(CB.PROGRESS_NEXT))]
    await reply(update, context, question, reply_markup=_buttons(nothing))
    return State.PROGRESS_NOTE


@speaker("contact")
async def note_file(update: Update, context: ZtcContext, turn: Turn) -> int | None:
    """Keep a photo or document; a caption is the note."""
    message = update.message
    assert message is not None
    if (draft := Draft.of(context)) is None:
        return await _lost(update, context, turn)
    entry = file_entry(message)
    assert entry is not None  # the handler's filter lets only photos and documents in
    try:
        check_file(draft.files, entry.get("size"))
    except InvalidInput as exc:
        await reply(update, context, error_text(exc, turn.locale))
        return None
    draft.files = [*draft.files, entry]
    draft.keep(context)
    if message.caption:
        return await _use_note(update, context, turn, draft, message.caption)
    text = turn._("Received ({count} of {limit}). Send more, a note, or press Next.").format(
        count=len(draft.files), limit=MAX_FILES
    )
    await reply(
        update, context, text, reply_markup=_buttons([(turn._("Next"), pack(CB.PROGRESS_NEXT))])
    )
    return None


@speaker("contact")
async def note_typed(update: Update, context: ZtcContext, turn: Turn) -> int | None:
    """Keep the note; show the summary."""
    assert update.message is not None and update.message.text is not None
    if (draft := Draft.of(context)) is None:
        return await _lost(update, context, turn)
    return await _use_note(update, context, turn, draft, update.message.text)


@speaker("contact")
async def note_next(update: Update, context: ZtcContext, turn: Turn) -> int | None:
    """No (more) note: show the summary."""
    assert update.callback_query is not None
    await update.callback_query.answer()
    if (draft := Draft.of(context)) is None:
        return await _lost(update, context, turn)
    await redraw_buttons(update)
    return await _summary(update, context, turn, draft)


async def _use_note(
    update: Update, context: ZtcContext, turn: Turn, draft: Draft, text: str
) -> int | None:
    note = clean_text(text).strip()
    if len(note) > MAX_NOTE:
        limit = turn._("Your note is {length} characters long; the limit is {limit}.")
        await reply(update, context, limit.format(length=len(note), limit=MAX_NOTE))
        return None
    draft.note = note or None
    draft.keep(context)
    return await _summary(update, context, turn, draft)


async def _summary(update: Update, context: ZtcContext, turn: Turn, draft: Draft) -> int:
    if (project := await _draft_project(turn, draft)) is None or draft.invested is None:
        return await _lost(update, context, turn)
    stage = turn._("no change ({stage})").format(stage=label(project.stage, turn.locale))
    if draft.claim is not None:
        stage = turn._("{stage}, reached on {date} (to be confirmed)").format(
            stage=stage_label(draft.claim, turn.locale),
            date=day_text(date.fromisoformat(draft.claim_on or ""), turn.locale),
        )
    text = turn._(
        "Please check:\nProject: {project}\nStage: {stage}\nInvestment completed so far: "
        "{invested}\nNote: {note}\nPhotos and files: {files}"
    ).format(
        project=f"{project.code} {project.name}",
        stage=stage,
        invested=money(draft.invested, turn.locale),
        note=draft.note or "—",
        files=len(draft.files),
    )
    pairs = [
        (turn._("Submit"), pack(CB.PROGRESS_SUBMIT, "go")),
        (turn._("Cancel"), pack(CB.PROGRESS_SUBMIT, "no")),
    ]
    await reply(update, context, text, reply_markup=_buttons(pairs, 2))
    return State.PROGRESS_CONFIRM


@speaker("contact")
async def submitted(update: Update, context: ZtcContext, turn: Turn) -> int:
    """确认提交 (committed before we say so) or cancel."""
    query = update.callback_query
    assert query is not None and isinstance(turn.person, Contact)
    await query.answer()
    draft = Draft.of(context)
    project = await _draft_project(turn, draft)
    if (unpack(query.data) or [""])[0] != "go" or draft is None or project is None:
        (context.user_data or {}).pop(KEY, None)
        await redraw(update, context, turn._("Cancelled. Nothing was reported."))
        return END
    try:
        report = await report_progress(
            session=turn.session,
            tz=turn.rt.rules.tz,
            contact=turn.person,
            project=project,
            now=turn.rt.now(),
            claim=Claim(draft.claim, date.fromisoformat(draft.claim_on or ""))
            if draft.claim
            else None,
            invested_wan=draft.invested,
            note=draft.note,
            files=draft.files,
            key=draft.key,
        )
    except DomainError as exc:
        await turn.rollback()
        (context.user_data or {}).pop(KEY, None)
        await redraw(update, context, error_text(exc, turn.locale))
        return END
    await turn.commit()  # kept before anybody is told
    (context.user_data or {}).pop(KEY, None)
    turn.rt.wake_dispatcher()
    await redraw_buttons(update)
    await reply(update, context, await _received(turn, project, report.claim, report.month))
    return END


async def _received(turn: Turn, project: Project, claim: str | None, month: date) -> str:
    text = turn._("Received: the progress of {project} for {month}.").format(
        project=f"{project.code} {project.name}", month=month.strftime("%Y-%m")
    )
    if claim is None:
        return text
    ids = await confirmers(session=turn.session, project=project)
    names = [o.name for i in ids if (o := await turn.session.get(Official, i)) is not None]
    return (
        text
        + "\n"
        + turn._(
            "The stage “{stage}” goes to {names} for confirmation; it counts once confirmed."
        ).format(stage=stage_label(claim, turn.locale), names=_names(turn, names))
    )


def _names(turn: Turn, names: list[str]) -> str:
    """People's names in a row: 张三、李四 / Zhang, Li."""
    return ("、" if turn.locale.startswith("zh") else ", ").join(names) or "—"
