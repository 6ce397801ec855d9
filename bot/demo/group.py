"""The demo's 市领导工作群 (WeCom): a fake WeCom group robot that the city's monthly bulletin is
delivered to through the outbox, as a real deployment's would be, shown on the page beside the
Telegram chats. It is read-only there: a robot's group is not a chat with the bot.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from bot.demo.page import safe_html
from bot.sandbox.robots import FakeRobots
from bot.sandbox.state import Json, SandboxState
from bot.settings import Settings
from locales import N_, gettext_for
from models.policy import Group, Recipients
from models.rules import Rules

GROUP_ID = -1001  # the page's id for the group (negative, as Telegram's group chat ids are)
KEY_ENV, KEY = "ZTC_DEMO_WECOM_LEADERS", "demo-city-leaders"
LABELS = {
    "name": N_("City leaders' work group (WeCom)"),
    "role": N_("WeCom group"),
    "detail": N_("A WeCom group robot: it receives the monthly bulletin"),
}

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`]+)`")
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")
_FONT = re.compile(r"</?font[^>]*>")
_ESCAPED = re.compile(r"\\([\\`*_\[\]])")


class DemoSettings(Settings):
    """The demo's settings: the group robot's key is the demo's own, not the environment's."""

    def secret(self, name: str) -> str | None:
        """The demo robot's key by its variable; any other from the environment."""
        return KEY if name == KEY_ENV else super().secret(name)


def with_group(rules: Rules) -> Rules:
    """The rules with the group in the monthly bulletin's audience."""
    policy = rules.policy
    group = Group(channel="wecom", name="city-leaders-wecom", key_env=KEY_ENV)
    audiences = dict(policy.audiences)
    bulletin = audiences.get("monthly_bulletin", Recipients())
    audiences["monthly_bulletin"] = bulletin.model_copy(
        update={"groups": (*bulletin.groups, group)}
    )
    return Rules.build(policy.model_copy(update={"audiences": audiences}), rules.tz)


def markdown_html(text: str) -> str:
    """WeCom's markdown as the page's safe HTML: bold, code and links kept, the rest as text."""
    shown = html.escape(_FONT.sub("", text), quote=False)
    shown = _LINK.sub(r'<a href="\2">\1</a>', _CODE.sub(r"<code>\1</code>", shown))
    shown = _ESCAPED.sub(r"\1", _BOLD.sub(r"<b>\1</b>", shown))
    return safe_html(shown, "HTML")


class DemoGroup:
    """The group's robot and what it received, as the page shows a chat."""

    def __init__(self, robots: FakeRobots, sandbox: SandboxState, clock: Callable[[], float]):
        """Register the robot; each message it takes is kept for the page, with its time."""
        self.robots, self.sandbox, self.clock = robots, sandbox, clock
        self.messages: list[Json] = []
        robots.wecom(KEY)
        robots.on_message = self._received

    def _received(self) -> None:
        for message in self.robots.messages(KEY)[len(self.messages) :]:
            self.messages.append(self._shown(message, len(self.messages) + 1))
        self.sandbox.changed()  # the page's long poll answers

    def _shown(self, message: dict[str, Any], number: int) -> Json:
        kind = message["msgtype"]
        shown: Json = {"id": number, "date": int(self.clock()), "html": "", "photo": None}
        shown["document"] = None
        if kind in ("markdown", "text"):
            content = str(message.get("content", ""))
            shown["html"] = markdown_html(content) if kind == "markdown" else html.escape(content)
        elif kind == "image":
            stored = self.sandbox.store_file(message["data"], "photos", "chart.png", "image/png")
            shown["photo"] = f"/files/{stored.file_id}"
        elif kind == "file":
            data, name = message["data"], str(message.get("name") or "file")
            stored = self.sandbox.store_file(data, "documents", name, None)
            size = f"{max(1, len(data) // 1024)} KB"
            shown["document"] = {"name": name, "url": f"/files/{stored.file_id}", "size": size}
        return shown

    def person_json(self, locale: str) -> Json:
        """The group as the page's list shows it."""
        _ = gettext_for(locale)
        return {
            "id": GROUP_ID,
            "name": _(LABELS["name"]),
            "role": "group",
            "role_label": _(LABELS["role"]),
            "detail": _(LABELS["detail"]),
            "featured": True,  # beside the five a visitor starts with
            "bot_messages": len(self.messages),
        }

    def chat_json(self, clock_label: Callable[[int], str]) -> Json:
        """The group's messages, oldest first, as the page draws a chat (with nothing to send)."""
        return {
            "started": True,
            "readonly": True,
            "keyboard": None,
            "messages": [
                {
                    "id": m["id"],
                    "from": "bot",
                    "html": m["html"],
                    "time": clock_label(m["date"]),
                    "edited": False,
                    "photo": m["photo"],
                    "document": m["document"],
                    "buttons": [],
                }
                for m in self.messages
            ],
        }
