"""An issue as a chat card: HTML text in the reader's language and the buttons they may press now.

The same card answers /my and /inbox, refreshes a stale press, and rides on every notification,
so what a person can do is always drawn from `allowed_actions` at the moment of drawing.
"""

from __future__ import annotations

import html
import zlib
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup

from handlers.callbacks import CB, pack
from jobs.channels import Button, Buttons
from jobs.channels.telegram import markup
from locales import N_, gettext_for, ngettext_for
from locales.formats import department_name, moment, money
from locales.labels import label
from models.codes import AWAITING_ACCEPT, Action, Rating
from models.issues.deadlines import pause_end, running_due
from models.issues.runner import facts_for
from models.permissions import Actor, allowed_actions
from models.queries import IssueView, is_overdue, issue_view
from models.rules import Rules
from models.tables.issue import Issue, IssueCoHandler

BUTTONS = {
    "official": {
        Action.ACCEPT: N_("Accept"),
        Action.COMMENT: N_("Reply"),
        Action.REQUEST_INFO: N_("Ask for material"),
        Action.RESUME: N_("Resume"),
        Action.ADD_COHANDLER: N_("Co-handler"),
        Action.ESCALATE: N_("Escalate"),
        Action.DIRECT_LINE: N_("Direct line"),
        Action.RESOLVE: N_("Resolve"),
        Action.OPINION: N_("Co-handling opinion"),
        Action.TRANSFER: N_("Transfer"),
    },
    "contact": {
        Action.COMMENT: N_("Add information"),
        Action.SUPPLY: N_("Send the material"),
        Action.DIRECT_LINE: N_("Direct line"),
        Action.REOPEN: N_("Reopen"),
    },
}
DEADLINES = {"accept": N_("Accept by: {when}"), "resolve": N_("Resolve by: {when}")}
DESCRIPTION_SHOWN = 600
# Characters of card HTML, under Telegram's 4,096 visible ones with room for a notice's headline.
CARD_BUDGET = 3500


def stamp(issue: Issue) -> str:
    """A short fingerprint of where the issue stands; a card carrying an old one is stale."""
    state = f"{issue.status}|{issue.level}|{issue.assignee_id}|{issue.reopen_count}"
    return format(zlib.crc32(state.encode()), "x")


def _e(value: object) -> str:
    return html.escape(str(value), quote=False)


def card_text(
    view: IssueView,
    *,
    tz: ZoneInfo,
    locale: str,
    now: datetime,
    paused_until: datetime | None = None,
) -> str:
    """The card's HTML: headline, where it stands, deadlines (and when a pause for material
    runs out), the co-handlers and how each stands, the description, the timeline."""
    _ = gettext_for(locale)
    i, p = view.issue, view.project
    lines = [
        _("<b>Issue {number}</b> · {category} · {urgency}").format(
            number=_e(i.number),
            category=label(i.category, locale),
            urgency=label(i.urgency, locale),
        ),
        _("Project: {code} {name} ({amount})").format(
            code=_e(p.code), name=_e(p.name), amount=money(p.investment_wan, locale)
        ),
        _("Status: {status} · level: {level} · handler: {handler}").format(
            status=label(i.status, locale),
            level=label(i.level, locale),
            handler=_e(view.assignee.name) if view.assignee else _("nobody yet"),
        ),
    ]
    lines.extend(_deadline_lines(i, tz=tz, locale=locale, now=now))
    if paused_until is not None:
        lines.append(
            _("Waiting for material; the clock runs again by {when} at the latest.").format(
                when=moment(paused_until, tz, locale)
            )
        )
    if view.departments:
        lines.append(
            _("Co-handlers: {departments}").format(departments=_cohandlers(view, tz, locale))
        )
    if view.files:
        lines.append(_("Files: {count}").format(count=view.files))
    if i.repeats:  # the reporter came back with it while it was open
        lines.append(_("Repeat reports: {count}").format(count=i.repeats))
    if i.rating is not None:
        lines.append(_("Rating: {rating}").format(rating=label(i.rating, locale)))
    text = i.text if len(i.text) <= DESCRIPTION_SHOWN else i.text[:DESCRIPTION_SHOWN] + "…"
    lines += ["", _e(text), "", _("<b>Timeline</b>")]
    steps = []
    for event, actor in view.events:
        who = _e(actor) if actor else _("system")
        note = f" — {_e(event.note[:200])}" if event.note and event.kind != "created" else ""
        steps.append(f"{moment(event.at, tz, locale)} · {label(event.kind, locale)} · {who}{note}")
    # A long-lived issue's timeline would outgrow one message: its latest steps, and a count.
    room = CARD_BUDGET - sum(len(line) + 1 for line in lines)
    shown: list[str] = []
    for step in reversed(steps):
        room -= len(step) + 1
        if room < 0:
            break
        shown.insert(0, step)
    if len(shown) < len(steps):
        earlier = len(steps) - len(shown)
        more = ngettext_for(locale)("… {count} earlier step", "… {count} earlier steps", earlier)
        shown.insert(0, more.format(count=earlier))
    return "\n".join(lines + shown)


def _cohandlers(view: IssueView, tz: ZoneInfo, locale: str) -> str:
    """Each co-handling department and how it stands: answered, late, or its deadline."""
    _ = gettext_for(locale)
    rows: list[IssueCoHandler | None] = [*view.cohandling] or [None] * len(view.departments)
    named = []
    for department, row in zip(view.departments, rows, strict=True):
        name = _e(department_name(department, locale))
        if row is None or row.due_at is None:
            named.append(name)
        elif row.answered_at is not None:
            named.append(_("{department} (answered)").format(department=name))
        elif row.overdue:
            named.append(_("{department} (late)").format(department=name))
        else:
            when = moment(row.due_at, tz, locale)
            named.append(_("{department} (by {when})").format(department=name, when=when))
    return "、".join(named)


PROVISIONAL = {
    "short": N_("{when} (provisional)"),
    "long": N_("{when} (provisional: the holidays of that year are not announced yet)"),
}


def deadline_text(
    issue: Issue, due: datetime | None, *, tz: ZoneInfo, locale: str, short: bool = False
) -> str:
    """A deadline of the issue, marked 暂定 while it was counted through a year whose holidays
    are not announced yet (a list's button: `short`)."""
    when = moment(due, tz, locale)
    if not issue.provisional:
        return when
    return gettext_for(locale)(PROVISIONAL["short" if short else "long"]).format(when=when)


def _deadline_lines(issue: Issue, *, tz: ZoneInfo, locale: str, now: datetime) -> list[str]:
    _ = gettext_for(locale)
    due = running_due(issue)
    if due is None:
        return []
    clock = "accept" if issue.status in AWAITING_ACCEPT else "resolve"
    line = _(DEADLINES[clock]).format(when=moment(due, tz, locale))
    if is_overdue(issue, now):
        line += " " + _("(overdue)")
    if issue.provisional:
        line += " " + _("(provisional: next year's holidays are not known yet)")
    return [line]


def card_buttons(issue: Issue, actions: list[Action], *, official: bool, locale: str) -> Buttons:
    """The buttons for the actions allowed now, two to a row; ratings on a row of their own.

    Neutral rows (label and the callback data as the code): the chat draws them with `markup`,
    and a notice carries them to whichever channel delivers it.
    """
    _ = gettext_for(locale)
    kind = "official" if official else "contact"
    s = stamp(issue)
    buttons = [
        Button(_(BUTTONS[kind][a]), pack(CB.ACT, a.value, issue.id, s))
        for a in actions
        if a in BUTTONS[kind]
    ]
    rows = [tuple(buttons[k : k + 2]) for k in range(0, len(buttons), 2)]
    if Action.CONFIRM in actions:
        rate = (Button(label(r, locale), pack(CB.RATE, issue.id, r.value, s)) for r in Rating)
        rows.insert(0, tuple(rate))
    return tuple(rows)


async def draw_card(
    *, session: AsyncSession, rules: Rules, issue: Issue, actor: Actor, locale: str, now: datetime
) -> tuple[str, Buttons]:
    """The card of an issue for one reader, with the buttons that reader may press now, as
    neutral rows (what a notice carries, on any channel)."""
    view = await issue_view(session=session, issue=issue)
    facts = await facts_for(session=session, issue=issue)
    actions = allowed_actions(actor, facts, rules.policy, now)
    text = card_text(
        view, tz=rules.tz, locale=locale, now=now, paused_until=pause_end(issue, rules)
    )
    rows = card_buttons(issue, actions, official=actor.kind == "official", locale=locale)
    if view.files:
        show = Button(gettext_for(locale)("Show the files"), pack(CB.FILES, issue.id))
        rows = (*rows, (show,))
    return text, rows


async def render_card(
    *, session: AsyncSession, rules: Rules, issue: Issue, actor: Actor, locale: str, now: datetime
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The card of an issue for one reader in the chat: its text and Telegram's keyboard."""
    text, rows = await draw_card(
        session=session, rules=rules, issue=issue, actor=actor, locale=locale, now=now
    )
    return text, markup(rows)
