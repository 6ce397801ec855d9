"""The Bot API methods about the bot itself: getMe, updates, webhooks, commands, descriptions."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from bot.sandbox.state import Json, SandboxState
from bot.sandbox.wire import ApiError, Params, bad_request, decode, get_bool, get_int, get_str

WEBHOOK_ATTEMPTS = 3
WEBHOOK_BACKOFF = 0.1  # seconds before the first retry, doubled after each failure
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


def scope_key(scope: Any) -> str:
    """A command scope as canonical JSON; the default scope when none is given."""
    scope = dict(scope) if isinstance(scope, dict) else {"type": "default"}
    for key in ("chat_id", "user_id"):
        if isinstance(scope.get(key), str) and scope[key].lstrip("-").isdigit():
            scope[key] = int(scope[key])  # PTB sends ints, a form may send text: same scope
    return json.dumps(scope, sort_keys=True, separators=(",", ":"))


class BotAdmin:
    """getMe, getUpdates, webhooks, commands, descriptions and the menu button."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.commands: dict[tuple[str, str], list[Json]] = {}
        self.descriptions: dict[tuple[str, str], str] = {}
        self.menu_buttons: dict[int | None, Json] = {}

    def table(self) -> dict[str, Callable[[Params], Any]]:
        """The methods this class answers, by their Bot API names."""
        return {
            "getMe": lambda _: dict(self.state.bot),
            "logOut": lambda _: True,
            "close": lambda _: True,
            "getUpdates": self.get_updates,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "setMyDescription": lambda p: self._describe(p, "description"),
            "getMyDescription": lambda p: self._description(p, "description"),
            "setMyShortDescription": lambda p: self._describe(p, "short_description"),
            "getMyShortDescription": lambda p: self._description(p, "short_description"),
            "setChatMenuButton": self.set_chat_menu_button,
        }

    async def get_updates(self, params: Params) -> list[Json]:
        """Confirm updates below `offset`, then long-poll up to `timeout` s for new ones."""
        if self.state.webhook:
            raise ApiError(409, WEBHOOK_CONFLICT)
        offset = get_int(params, "offset")
        limit = min(max(get_int(params, "limit", 100) or 100, 1), 100)
        self.state.confirm(offset)
        try:
            return await self.state.wait_for(
                lambda: self._batch(limit), max(get_int(params, "timeout", 0) or 0, 0)
            )
        except TimeoutError:
            return []

    def _batch(self, limit: int) -> list[Json] | None:
        if self.state.closing or self.state.webhook:
            return []  # release the long poll: the server is stopping or switched to a webhook
        return self.state.updates[:limit] or None

    def set_webhook(self, params: Params) -> bool:
        """Send updates to `url` from now on (an empty url removes the webhook)."""
        url = get_str(params, "url") or ""
        if not url:
            return self.delete_webhook(params)
        if not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: HTTPS url must be provided for webhook")
        secret = get_str(params, "secret_token")
        if secret is not None and not _SECRET.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        if get_bool(params, "drop_pending_updates"):
            self.state.updates.clear()
        self.state.webhook = {"url": url, "secret_token": secret}
        self.state.webhook["max_connections"] = get_int(params, "max_connections", 40)
        self.state.changed()
        return True

    def delete_webhook(self, params: Params) -> bool:
        """Go back to getUpdates, optionally dropping what is pending."""
        if get_bool(params, "drop_pending_updates"):
            self.state.updates.clear()
        self.state.webhook = None
        self.state.changed()
        return True

    def get_webhook_info(self, params: Params) -> Json:
        """The webhook's URL, pending count and last delivery error."""
        hook = self.state.webhook or {}
        info: Json = {
            "url": hook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self.state.updates),
        }
        for key in ("max_connections", "last_error_date", "last_error_message"):
            if hook.get(key) is not None:
                info[key] = hook[key]
        return info

    def set_my_commands(self, params: Params) -> bool:
        """Store the command list for a scope and language."""
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            name = command.get("command", "") if isinstance(command, dict) else None
            if not _COMMAND.fullmatch(str(name)):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def get_my_commands(self, params: Params) -> list[Json]:
        """The commands stored for exactly this scope and language (no fallback, as Telegram)."""
        return list(self.commands.get(self._key(params), []))

    def delete_my_commands(self, params: Params) -> bool:
        """Forget the commands of a scope and language."""
        self.commands.pop(self._key(params), None)
        return True

    @staticmethod
    def _key(params: Params) -> tuple[str, str]:
        return scope_key(params.get("scope")), get_str(params, "language_code") or ""

    def _describe(self, params: Params, field: str) -> bool:
        limit = 512 if field == "description" else 120
        text = get_str(params, field) or ""
        if len(text) > limit:
            raise bad_request(f"{field.upper()}_INVALID")
        self.descriptions[(field, get_str(params, "language_code") or "")] = text
        return True

    def _description(self, params: Params, field: str) -> Json:
        language = get_str(params, "language_code") or ""
        return {field: self.descriptions.get((field, language), "")}

    def set_chat_menu_button(self, params: Params) -> bool:
        """Remember the menu button (per chat, or the default one)."""
        button = params.get("menu_button")
        if isinstance(button, str):
            button = decode("menu_button", button)
        self.menu_buttons[get_int(params, "chat_id")] = button or {"type": "default"}
        return True


class WebhookPusher:
    """POSTs queued updates to the webhook in order, retrying a few times before dropping one."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def _due(self) -> tuple[Json, Json] | None:
        hook, updates = self.state.webhook, self.state.updates
        return (hook, updates[0]) if hook and updates else None

    async def run(self) -> None:
        """Deliver until cancelled."""
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            while True:
                hook, update = await self.state.wait_for(self._due, None)
                settled = await self._deliver(session, hook, update)
                # Delivered or given up on: either way it leaves the queue (unless already gone).
                if settled and self.state.updates and self.state.updates[0] is update:
                    self.state.updates.pop(0)
                    self.state.changed()

    async def _deliver(self, session: aiohttp.ClientSession, hook: Json, update: Json) -> bool:
        """True once delivered or given up on; False when the webhook went away meanwhile."""
        headers = {}
        if hook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
        for attempt in range(WEBHOOK_ATTEMPTS):
            if attempt:
                await asyncio.sleep(WEBHOOK_BACKOFF * 2 ** (attempt - 1))
            if self.state.webhook is not hook:
                return False  # the webhook was changed or removed meanwhile
            error = await self._post(session, hook["url"], update, headers)
            if error is None:
                return True
            hook["last_error_date"] = int(time.time())
            hook["last_error_message"] = error
        return True

    @staticmethod
    async def _post(
        session: aiohttp.ClientSession, url: str, update: Json, headers: dict[str, str]
    ) -> str | None:
        try:
            async with session.post(url, json=update, headers=headers) as response:
                if 200 <= response.status < 300:
                    return None
                return f"Wrong response from the webhook: {response.status} {response.reason}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"Connection failed: {exc or type(exc).__name__}"
