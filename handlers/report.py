"""/report (an enterprise contact) and /new (an official logging a phone call): the guided flow.

project → category → description (+ photos/documents) → urgency → summary → 确认提交. The draft
lives in user_data as ids and codes, so the persisted conversation survives a restart.
"""

from __future__ import annotations

import html
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import ConversationHandler

from bot.labels import label
from bot.render import error_text, moment, span_text
from bot.runtime import ZtcContext
from handlers.callbacks import CB, State, pack, unpack
from handlers.common import Turn, speaker
from models.attachments import attach_files, check_file
from models.codes import Category, Urgency
from models.db import session_scope
from models.errors import DomainError, InvalidInput, NotAllowed
from models.issues import MAX_TEXT, report_issue
from models.org import Contact, Official
from models.permissions import may_report
from models.project import Project
from models.queries import enterprise_projects, get_by_code, team_projects

END = ConversationHandler.END


def _draft(context: ZtcContext) -> dict[str, Any]:
    assert context.user_data is not None
    return context.user_data.setdefault("report", {"files": []})  # type: ignore[no-any-return]


def _rows(buttons: list[InlineKeyboardButton], width: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([buttons[k : k + width] for k in range(0, len(buttons), width)])


@speaker()
async def begin(update: Update, context: ZtcContext, turn: Turn) -> int:
    """Start a report: pick the project (skipped when the enterprise has only one)."""
    assert context.user_data is not None and update.effective_message is not None
    context.user_data["report"] = {"files": []}
    async with session_scope(turn.engine) as session:
        if isinstance(turn.person, Contact):
            projects = await enterprise_projects(
                session=session, enterprise_id=turn.person.enterprise_id
            )
        else:
            assert isinstance(turn.person, Official) and turn.person.id is not None
            projects = await team_projects(session=session, official_id=turn.person.id)
    if isinstance(turn.person, Contact) and not projects:
        await update.effective_message.reply_text(
            turn._("Your enterprise has no project on record. Please contact your service agent.")
        )
        return END
    if isinstance(turn.person, Contact) and len(projects) == 1:
        _draft(context)["project"] = projects[0].id
        return await ask_category(update.effective_message, turn, projects[0])
    buttons = [
        InlineKeyboardButton(f"{p.code} {p.name}"[:60], callback_data=pack(CB.PROJECT, p.id))
        for p in projects[:20]
    ]
    prompt = (
        turn._("Which project is the problem about?")
        if isinstance(turn.person, Contact)
        else turn._("Which project? Send its code (for example P01), or pick one of yours.")
    )
    await update.effective_message.reply_text(prompt, reply_markup=_rows(buttons, 1))
    return State.PROJECT


async def ask_category(message: Message, turn: Turn, project: Project) -> int:
    """Ask what kind of problem it is."""
    buttons = [
        InlineKeyboardButton(label(c, turn.locale), callback_data=pack(CB.CATEGORY, c.value))
        for c in Category
    ]
    await message.reply_text(
        turn._("Project {code} {name}. What kind of problem is it?").format(
            code=project.code, name=project.name
        ),
        reply_markup=_rows(buttons, 3),
    )
    return State.CATEGORY


async def _use_project(update: Update, context: ZtcContext, turn: Turn, key: str) -> int | None:
    assert update.effective_message is not None
    async with session_scope(turn.engine) as session:
        try:
            if key.isdigit():
                project = await session.get(Project, int(key))
            else:
                project = await get_by_code(
                    session=session, model=Project, code=key.strip(), entity="project"
                )
            if project is None or not may_report(
                turn.actor,
                enterprise_id=project.enterprise_id,
                region_id=project.region_id,
                team_ids=project.team_ids,
            ):
                raise NotAllowed(action="report", issue=key)
        except DomainError as exc:
            await update.effective_message.reply_text(error_text(exc, turn.locale))
            return None
    _draft(context)["project"] = project.id
    return await ask_category(update.effective_message, turn, project)


@speaker()
async def project_chosen(update: Update, context: ZtcContext, turn: Turn) -> int | None:
    """A project button was pressed."""
    assert update.callback_query is not None
    await update.callback_query.answer()
    return await _use_project(
        update, context, turn, (unpack(update.callback_query.data) or [""])[0]
    )


@speaker()
async def project_typed(update: Update, context: ZtcContext, turn: Turn) -> int | None:
    """A project code was typed."""
    assert update.message is not None and update.message.text is not None
    return await _use_project(update, context, turn, update.message.text)


@speaker()
async def category_chosen(update: Update, context: ZtcContext, turn: Turn) -> int | None:
    """Keep the category; ask for the description."""
    query = update.callback_query
    assert query is not None and query.message is not None
    await query.answer()
    code = (unpack(query.data) or [""])[0]
    if code not in Category.__members__.values():
        return None
    _draft(context)["category"] = code
    await query.edit_message_reply_markup(None)
    await query.message.reply_text(  # type: ignore[union-attr]
        turn._(
            "Describe the problem in one message (up to {limit} characters). You may first "
            "attach up to {files} photos or documents."
        ).format(limit=MAX_TEXT, files=5)
    )
    return State.DESCRIBE


@speaker()
async def file_received(update: Update, context: ZtcContext, turn: Turn) -> int | None:
    """Keep an attached photo or document; a caption counts as the description."""
    message = update.message
    assert message is not None
    draft = _draft(context)
    if message.photo:
        photo = message.photo[-1]
        entry = {"kind": "photo", "file_id": photo.file_id, "size": photo.file_size}
    else:
        document = message.document
        assert document is not None
        entry = {
            "kind": "document",
            "file_id": document.file_id,
            "name": document.file_name,
            "mime": document.mime_type,
            "size": document.file_size,
        }
    try:
        check_file(draft["files"], entry.get("size"))
    except InvalidInput as exc:
        await message.reply_text(error_text(exc, turn.locale))
        return None
    draft["files"] = [*draft["files"], entry]
    if message.caption:
        return await _use_text(message, context, turn, message.caption)
    await message.reply_text(
        turn._("Attached ({count} of {limit}). Now describe the problem in a message.").format(
            count=len(draft["files"]), limit=5
        )
    )
    return None


@speaker()
async def text_received(update: Update, context: ZtcContext, turn: Turn) -> int | None:
    """Keep the description; ask how urgent it is."""
    assert update.message is not None and update.message.text is not None
    return await _use_text(update.message, context, turn, update.message.text)


async def _use_text(message: Message, context: ZtcContext, turn: Turn, text: str) -> int | None:
    if len(text) > MAX_TEXT:
        await message.reply_text(
            turn._(
                "Your description is {length} characters long; the limit is {limit}. "
                "Please shorten it and send it again."
            ).format(length=len(text), limit=MAX_TEXT)
        )
        return None
    _draft(context)["text"] = text.strip()
    buttons = [
        InlineKeyboardButton(label(u, turn.locale), callback_data=pack(CB.URGENCY, u.value))
        for u in Urgency
    ]
    await message.reply_text(turn._("How urgent is it?"), reply_markup=_rows(buttons, 2))
    return State.URGENCY


@speaker()
async def urgency_chosen(update: Update, context: ZtcContext, turn: Turn) -> int | None:
    """Keep the urgency; show the summary with 确认提交 / cancel."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    code = (unpack(query.data) or [""])[0]
    if code not in Urgency.__members__.values():
        return None
    draft = _draft(context)
    draft["urgency"] = code
    async with session_scope(turn.engine) as session:
        project = await session.get(Project, draft["project"])
    assert project is not None
    summary = turn._(
        "Please check:\nProject: {project}\nCategory: {category}\nUrgency: {urgency}\n"
        "Files: {files}\n\n{text}"
    ).format(
        project=html.escape(f"{project.code} {project.name}"),
        category=label(Category(draft["category"]), turn.locale),
        urgency=label(Urgency(code), turn.locale),
        files=len(draft["files"]),
        text=html.escape(draft["text"]),
    )
    buttons = [
        InlineKeyboardButton(turn._("Submit"), callback_data=pack(CB.SUBMIT)),
        InlineKeyboardButton(turn._("Cancel"), callback_data=pack(CB.ABORT)),
    ]
    await query.edit_message_text(summary, reply_markup=InlineKeyboardMarkup([buttons]))
    return State.CONFIRM


@speaker()
async def submit(update: Update, context: ZtcContext, turn: Turn) -> int:
    """Create the issue (committed before we say so) and tell where it went and by when."""
    query = update.callback_query
    assert query is not None and context.user_data is not None
    draft = context.user_data.pop("report", None)
    await query.answer()
    if not draft or "urgency" not in draft:
        await query.edit_message_reply_markup(None)
        return END
    now = turn.rt.now()
    try:
        async with session_scope(turn.engine) as session:
            project = await session.get(Project, draft["project"])
            assert project is not None
            issue = await report_issue(
                session=session,
                rules=turn.rt.rules,
                actor=turn.actor,
                project=project,
                category=Category(draft["category"]),
                text=draft["text"],
                urgency=Urgency(draft["urgency"]),
                now=now,
            )
            await attach_files(session=session, issue=issue, files=draft["files"], now=now)
            handler = await session.get(Official, issue.assignee_id) if issue.assignee_id else None
    except DomainError as exc:
        await query.edit_message_text(error_text(exc, turn.locale))
        return END
    turn.rt.wake_dispatcher()
    resolve = turn.rt.rules.policy.clocks.for_issue(issue.level, issue.urgency).resolve
    await query.edit_message_reply_markup(None)
    tz = turn.rt.rules.tz
    await query.message.reply_text(  # type: ignore[union-attr]
        turn._(
            "Received: issue {number}.\nIt is with the {level}: {handler}.\n"
            "To be accepted by {accept}, then resolved within {span}.\nFollow it with /my."
        ).format(
            number=issue.number,
            level=label(issue.level, turn.locale),
            handler=handler.name if handler else turn._("the administrators (being assigned)"),
            accept=moment(issue.accept_due, tz, turn.locale),
            span=span_text(resolve.amount, resolve.unit, turn.locale),
        )
    )
    return END


@speaker()
async def abort(update: Update, context: ZtcContext, turn: Turn) -> int:
    """Drop the draft from the summary's cancel button."""
    assert update.callback_query is not None and context.user_data is not None
    context.user_data.pop("report", None)
    await update.callback_query.answer()
    await update.callback_query.edit_message_text(turn._("Cancelled. Nothing was submitted."))
    return END
