"""/report (an enterprise contact) and /new (an official logging a phone call): the guided flow.

project → category → description (+ photos/documents) → urgency → summary → 确认提交. The draft
lives in user_data as ids and codes, so the persisted conversation survives a restart.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from sqlmodel import select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ConversationHandler

from handlers.callbacks import CB, State, pack, parse_id, unpack
from handlers.cards import deadline_text
from handlers.common import Turn, file_entry, redraw, redraw_buttons, reply, speaker
from handlers.context import ZtcContext
from locales.formats import error_text, span_text
from locales.labels import label
from models.attachments import MAX_FILES, attach_files, check_file
from models.codes import Category, Urgency
from models.errors import DomainError, InvalidInput, NotFound, TooMany
from models.issues.intake import add_repeat, issue_by_submission, open_repeat, report_issue
from models.permissions import may_report
from models.queries import enterprise_projects, team_projects
from models.tables.issue import Issue
from models.tables.org import Contact, Official
from models.tables.project import Project
from models.text import MAX_TEXT, clean_line, clean_text

END = ConversationHandler.END
CODE_MAX = 32  # Project.code's width: anything longer is no code
CODE_SHOWN = 20  # characters of a typed code repeated back
SUMMARY_LIMIT = 4096  # Telegram's message length


@dataclass
class Draft:
    """A report being written: ids and codes only, kept in user_data as JSON so the persisted
    conversation survives a restart. `key` makes its submit idempotent."""

    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    project: int | None = None
    category: str | None = None
    text: str | None = None
    urgency: str | None = None
    files: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, context: ZtcContext) -> Draft | None:
        """The draft under way, or None (never begun, cancelled, or not one of ours)."""
        data = (context.user_data or {}).get("report")
        if not isinstance(data, dict) or not isinstance(data.get("key"), str):
            return None
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def keep(self, context: ZtcContext) -> None:
        """Store the draft (as plain JSON) in the person's user_data."""
        assert context.user_data is not None
        context.user_data["report"] = asdict(self)

    @property
    def complete(self) -> bool:
        """Everything a submit needs is there."""
        return None not in (self.project, self.category, self.text, self.urgency)


def _rows(buttons: list[InlineKeyboardButton], width: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([buttons[k : k + width] for k in range(0, len(buttons), width)])


async def _lost(update: Update, context: ZtcContext, turn: Turn) -> int:
    """A step arrived for a draft that is gone: say so, and end the conversation."""
    if update.callback_query is not None:  # answered by the caller (a second answer fails)
        await redraw_buttons(update)
    await reply(
        update, context, turn._("That report was interrupted. Please start again: /report")
    )
    return END


@speaker()
async def begin(update: Update, context: ZtcContext, turn: Turn) -> int:
    """Start a report: pick the project (skipped when the enterprise has only one)."""
    draft = Draft()
    draft.keep(context)
    session = turn.session
    if isinstance(turn.person, Contact):
        projects = await enterprise_projects(
            session=session, enterprise_id=turn.person.enterprise_id
        )
    else:
        assert isinstance(turn.person, Official) and turn.person.id is not None
        projects = await team_projects(session=session, official_id=turn.person.id)
    if isinstance(turn.person, Contact) and not projects:
        (context.user_data or {}).pop("report", None)  # nothing is under way
        await reply(
            update,
            context,
            turn._("Your enterprise has no project on record. Please contact your service agent."),
        )
        return END
    if isinstance(turn.person, Contact) and len(projects) == 1:
        draft.project = projects[0].id
        draft.keep(context)
        return await ask_category(update, context, turn, projects[0])
    buttons = [
        InlineKeyboardButton(f"{p.code} {p.name}"[:60], callback_data=pack(CB.PROJECT, p.id))
        for p in projects[:20]
    ]
    prompt = (
        turn._("Which project is the problem about?")
        if isinstance(turn.person, Contact)
        else turn._("Which project? Send its code (for example P01), or pick one of yours.")
    )
    await reply(update, context, prompt, reply_markup=_rows(buttons, 1))
    return State.PROJECT


async def ask_category(update: Update, context: ZtcContext, turn: Turn, project: Project) -> int:
    """Ask what kind of problem it is."""
    buttons = [
        InlineKeyboardButton(label(c, turn.locale), callback_data=pack(CB.CATEGORY, c.value))
        for c in Category
    ]
    await reply(
        update,
        context,
        turn._("Project {code} {name}. What kind of problem is it?").format(
            code=project.code, name=project.name
        ),
        reply_markup=_rows(buttons, 3),
    )
    return State.CATEGORY


async def _use_project(
    update: Update,
    context: ZtcContext,
    turn: Turn,
    draft: Draft,
    project: Project | None,
    typed: str = "",
) -> int | None:
    """Take the project if the person may report on it. An unknown project and another
    enterprise's get the same answer, so the reply tells nothing about projects not theirs."""
    if project is None or not may_report(
        turn.actor,
        enterprise_id=project.enterprise_id,
        region_id=project.region_id,
        team_ids=project.team_ids,
    ):
        shown = typed if len(typed) <= CODE_SHOWN else typed[: CODE_SHOWN - 1] + "…"
        await reply(
            update,
            context,
            turn._("No project of yours has the code {code}. Please check it.").format(code=shown),
        )
        return None
    draft.project = project.id
    draft.keep(context)
    return await ask_category(update, context, turn, project)


@speaker()
async def project_chosen(update: Update, context: ZtcContext, turn: Turn) -> int | None:
    """A project button was pressed."""
    assert update.callback_query is not None
    await update.callback_query.answer()
    if (draft := Draft.of(context)) is None:
        return await _lost(update, context, turn)
    project_id = parse_id((unpack(update.callback_query.data) or [""])[0])
    session = turn.session
    project = await session.get(Project, project_id) if project_id else None
    return await _use_project(update, context, turn, draft, project)


@speaker()
async def project_typed(update: Update, context: ZtcContext, turn: Turn) -> int | None:
    """A project code was typed."""
    assert update.message is not None and update.message.text is not None
    if (draft := Draft.of(context)) is None:
        return await _lost(update, context, turn)
    code = clean_line(update.message.text).strip()
    project = None
    if len(code) <= CODE_MAX:
        session = turn.session
        project = (await session.exec(select(Project).where(Project.code == code))).first()
    return await _use_project(update, context, turn, draft, project, code)


@speaker()
async def category_chosen(update: Update, context: ZtcContext, turn: Turn) -> int | None:
    """Keep the category; ask for the description."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    if (draft := Draft.of(context)) is None:
        return await _lost(update, context, turn)
    code = (unpack(query.data) or [""])[0]
    if code not in Category.__members__.values():
        return None
    draft.category = code
    draft.keep(context)
    await redraw_buttons(update)
    await reply(
        update,
        context,
        turn._(
            "Describe the problem in one message (up to {limit} characters). You may first "
            "attach up to {files} photos or documents."
        ).format(limit=MAX_TEXT, files=MAX_FILES),
    )
    return State.DESCRIBE


@speaker()
async def file_received(update: Update, context: ZtcContext, turn: Turn) -> int | None:
    """Keep an attached photo or document; a caption counts as the description."""
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
        return await _use_text(update, context, turn, draft, message.caption)
    await reply(
        update,
        context,
        turn._("Attached ({count} of {limit}). Now describe the problem in a message.").format(
            count=len(draft.files), limit=MAX_FILES
        ),
    )
    return None


@speaker()
async def text_received(update: Update, context: ZtcContext, turn: Turn) -> int | None:
    """Keep the description; ask how urgent it is."""
    assert update.message is not None and update.message.text is not None
    if (draft := Draft.of(context)) is None:
        return await _lost(update, context, turn)
    return await _use_text(update, context, turn, draft, update.message.text)


async def _use_text(
    update: Update, context: ZtcContext, turn: Turn, draft: Draft, text: str
) -> int | None:
    text = clean_text(text).strip()
    if len(text) > MAX_TEXT:
        await reply(
            update,
            context,
            turn._(
                "Your description is {length} characters long; the limit is {limit}. "
                "Please shorten it and send it again."
            ).format(length=len(text), limit=MAX_TEXT),
        )
        return None
    if not text:
        await reply(update, context, turn._("Please describe the problem in words."))
        return None
    draft.text = text
    draft.keep(context)
    buttons = [
        InlineKeyboardButton(label(u, turn.locale), callback_data=pack(CB.URGENCY, u.value))
        for u in Urgency
    ]
    await reply(update, context, turn._("How urgent is it?"), reply_markup=_rows(buttons, 2))
    return State.URGENCY


@speaker()
async def urgency_chosen(update: Update, context: ZtcContext, turn: Turn) -> int | None:
    """Keep the urgency; show the summary with 确认提交 / cancel."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    draft = Draft.of(context)
    if draft is None or draft.project is None or draft.text is None:
        return await _lost(update, context, turn)
    code = (unpack(query.data) or [""])[0]
    if code not in Urgency.__members__.values() or draft.category is None:
        return None
    draft.urgency = code
    draft.keep(context)
    session = turn.session
    project = await session.get(Project, draft.project)
    if project is None:
        return await _lost(update, context, turn)
    buttons = [
        InlineKeyboardButton(turn._("Submit"), callback_data=pack(CB.SUBMIT)),
        InlineKeyboardButton(turn._("Cancel"), callback_data=pack(CB.ABORT)),
    ]
    await redraw(update, context, summary(turn, draft, project), InlineKeyboardMarkup([buttons]))
    return State.CONFIRM


def summary(turn: Turn, draft: Draft, project: Project) -> str:
    """The draft to check before submitting, as plain text (what they typed, unescaped); a
    description too long to fit one message with the rest is shortened here, not in the issue."""
    assert draft.category is not None and draft.urgency is not None and draft.text is not None
    head = turn._(
        "Please check:\nProject: {project}\nCategory: {category}\nUrgency: {urgency}\n"
        "Files: {files}\n\n"
    ).format(
        project=f"{project.code} {project.name}",
        category=label(Category(draft.category), turn.locale),
        urgency=label(Urgency(draft.urgency), turn.locale),
        files=len(draft.files),
    )
    room = SUMMARY_LIMIT - len(head)
    text = draft.text if len(draft.text) <= room else draft.text[: room - 1] + "…"
    return head + text


@speaker()
async def submit(update: Update, context: ZtcContext, turn: Turn) -> int | None:
    """Create the issue (committed before we say so) and tell where it went and by when.

    The draft is dropped only once the issue is committed, so after a failed commit the same
    button works again; its key makes a repeated submit answer with the issue already made.
    """
    query = update.callback_query
    assert query is not None
    await query.answer()
    draft = Draft.of(context)
    if draft is None or not draft.complete:
        await redraw_buttons(update)
        return END
    parts = unpack(query.data)  # []: the first press; ["add", id] or ["new"] after the offer
    choice, chosen = (parts or [""])[0], parse_id(parts[1]) if len(parts) > 1 else None
    try:
        repeat = await _open_repeat(turn, draft) if choice != "new" else None
        if repeat is not None and choice == "":
            await _offer_repeat(update, context, turn, draft, repeat)
            return State.CONFIRM
        if repeat is not None and choice == "add" and chosen == repeat.id:
            return await _add_repeat(update, context, turn, draft, repeat)
        issue, handler = await _file(turn, draft)
    except TooMany as exc:  # the day's limit of new reports: the draft is kept for tomorrow
        await turn.rollback()
        turn.rt.refused("reports_per_day")
        await _over_the_limit(update, context, turn, draft, exc)
        return State.CONFIRM
    except DomainError as exc:
        await turn.rollback()
        await redraw(update, context, error_text(exc, turn.locale))
        (context.user_data or {}).pop("report", None)
        return END
    await turn.commit()  # the report is kept before anybody is told
    (context.user_data or {}).pop("report", None)
    turn.rt.wake_dispatcher()
    resolve = turn.rt.rules.policy.clocks.for_issue(issue.level, issue.urgency).resolve
    await redraw_buttons(update)
    await reply(
        update,
        context,
        turn._(
            "Received: issue {number}.\nIt is with the {level}: {handler}.\n"
            "To be accepted by {accept}, then resolved within {span}.\nFollow it with /my."
        ).format(
            number=issue.number,
            level=label(issue.level, turn.locale),
            handler=handler.name if handler else turn._("the administrators (being assigned)"),
            accept=deadline_text(issue, issue.accept_due, tz=turn.rt.rules.tz, locale=turn.locale),
            span=span_text(resolve.amount, resolve.unit, turn.locale),
        ),
    )
    return END


async def _over_the_limit(
    update: Update, context: ZtcContext, turn: Turn, draft: Draft, exc: TooMany
) -> None:
    """Say the day's limit of new reports is reached; the summary stays, with its buttons,
    so the same draft can be submitted another day (or cancelled)."""
    project = await turn.session.get(Project, draft.project)
    if project is not None:
        buttons = [
            InlineKeyboardButton(turn._("Submit"), callback_data=pack(CB.SUBMIT)),
            InlineKeyboardButton(turn._("Cancel"), callback_data=pack(CB.ABORT)),
        ]
        markup = InlineKeyboardMarkup([buttons])
        await redraw(update, context, summary(turn, draft, project), markup)
    text = turn._(
        "New problems you reported today: {count}. The limit is {allowed} a day. "
        "For anything urgent, please call your service agent.\n"
        "Your report is kept: press {submit} on it again tomorrow, or {cancel}."
    ).format(
        count=exc.params.get("count"),
        allowed=exc.params.get("allowed"),
        submit=turn._("Submit"),
        cancel=turn._("Cancel"),
    )
    await reply(update, context, text)


async def _open_repeat(turn: Turn, draft: Draft) -> Issue | None:
    """The reporter's open issue this draft would repeat (issue 17: one ticket per problem);
    None when there is none, or when this draft was submitted already."""
    assert draft.project is not None and draft.category
    if await issue_by_submission(session=turn.session, key=draft.key) is not None:
        return None  # a double tap, or a press again after a crash: the first submit answers
    return await open_repeat(
        session=turn.session,
        reporter=turn.actor,
        project_id=draft.project,
        category=Category(draft.category),
    )


async def _offer_repeat(
    update: Update, context: ZtcContext, turn: Turn, draft: Draft, repeat: Issue
) -> None:
    """Ask whether the report adds to the open issue or is a different problem."""
    project = await turn.session.get(Project, draft.project)
    assert project is not None and repeat.number is not None
    question = turn._(
        "You reported this before: issue {number} ({category}) is still open.\n"
        "Add this report to it, or is it a different problem?"
    ).format(number=repeat.number, category=label(repeat.category, turn.locale))
    buttons = [
        [
            InlineKeyboardButton(
                turn._("Add to {number}").format(number=repeat.number),
                callback_data=pack(CB.SUBMIT, "add", repeat.id),
            )
        ],
        [
            InlineKeyboardButton(
                turn._("A different problem"), callback_data=pack(CB.SUBMIT, "new")
            ),
            InlineKeyboardButton(turn._("Cancel"), callback_data=pack(CB.ABORT)),
        ],
    ]
    text = f"{summary(turn, draft, project)}\n\n{question}"
    await redraw(update, context, text, InlineKeyboardMarkup(buttons))


async def _add_repeat(
    update: Update, context: ZtcContext, turn: Turn, draft: Draft, repeat: Issue
) -> int:
    """Count the draft as a repeat of `repeat` (its files too), commit, and say so."""
    assert draft.text is not None
    await add_repeat(turn.ctx(), repeat, draft.text, files=draft.files, submission_key=draft.key)
    await turn.commit()  # kept before anybody is told
    (context.user_data or {}).pop("report", None)
    turn.rt.wake_dispatcher()
    await redraw_buttons(update)
    await reply(
        update,
        context,
        turn._(
            "Added to issue {number}: reported {count} times now, and its handler is told.\n"
            "Follow it with /my."
        ).format(number=repeat.number, count=repeat.repeats + 1),
    )
    return END


async def _file(turn: Turn, draft: Draft) -> tuple[Issue, Official | None]:
    """Report the draft's issue with its files (the caller commits); the issue and its handler."""
    assert draft.project is not None and draft.category and draft.text and draft.urgency
    ctx = turn.ctx()
    session = turn.session
    issue = await issue_by_submission(session=session, key=draft.key)
    if issue is not None:  # submitted before (a double tap, or a crash before the reply)
        handler = await session.get(Official, issue.assignee_id) if issue.assignee_id else None
        return issue, handler
    project = await session.get(Project, draft.project)
    if project is None:
        raise NotFound(entity="project", key=str(draft.project))
    issue = await report_issue(
        ctx,
        project=project,
        category=Category(draft.category),
        text=draft.text,
        urgency=Urgency(draft.urgency),
        submission_key=draft.key,
    )
    await attach_files(session=session, issue=issue, files=draft.files, now=ctx.now)
    handler = await session.get(Official, issue.assignee_id) if issue.assignee_id else None
    return issue, handler


@speaker()
async def abort(update: Update, context: ZtcContext, turn: Turn) -> int:
    """Drop the draft from the summary's cancel button."""
    assert update.callback_query is not None
    (context.user_data or {}).pop("report", None)
    await update.callback_query.answer()
    await redraw(update, context, turn._("Cancelled. Nothing was submitted."))
    return END
