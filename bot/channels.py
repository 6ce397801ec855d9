"""The group channels of a deployment: the policy's group destinations, reached with the secrets
in the environment (`Settings.secret`), at the platforms' addresses (or the settings' overrides:
a local fake, a proxy). Used by `ztc run` (bot/app.py), `ztc outbox send` and
`ztc channels test` (bot/cli/channels.py).
"""

from __future__ import annotations

from typing import Any

from bot.settings import Settings
from jobs.channels.dingtalk import DingTalkChannel
from jobs.channels.feishu import FeishuChannel
from jobs.channels.groups import GroupChannel
from jobs.channels.webhook import WebhookChannel
from jobs.channels.wecom import WeComChannel
from models.rules import Rules

KINDS: dict[str, type[GroupChannel[Any]]] = {
    "webhook": WebhookChannel,
    "wecom": WeComChannel,
    "dingtalk": DingTalkChannel,
    "feishu": FeishuChannel,
}


def api_urls(settings: Settings) -> dict[str, str]:
    """Each robot platform's root (ZTC_WECOM_API_URL …); the webhook has its own whole URL."""
    return {
        "wecom": settings.wecom_api_url,
        "dingtalk": settings.dingtalk_api_url,
        "feishu": settings.feishu_api_url,
    }


def group_channels(settings: Settings, rules: Rules, **options: Any) -> dict[str, Any]:
    """One channel per platform, reaching the policy's groups of that platform (by name)."""
    groups, urls = rules.policy.groups(), api_urls(settings)
    return {
        kind: channel(groups=groups, lookup=settings.secret, api_url=urls.get(kind), **options)
        for kind, channel in KINDS.items()
    }


def variables(rules: Rules) -> list[str]:
    """The environment variables the policy's groups name (keys, URLs, secrets)."""
    names = {
        name
        for group in rules.policy.groups().values()
        for name in (group.key_env, group.url_env, group.secret_env)
        if name
    }
    return sorted(names)


def group_secrets(settings: Settings, rules: Rules) -> list[str]:
    """The values of those variables that are set: what the log mask hides."""
    return [value for name in variables(rules) if (value := settings.secret(name))]


def unset_variables(settings: Settings, rules: Rules) -> list[str]:
    """Those not set: said at start-up, since their groups' notices would fail."""
    return [name for name in variables(rules) if not settings.secret(name)]
