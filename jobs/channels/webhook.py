"""A generic JSON webhook, signed with HMAC-SHA256: for systems that are not chat platforms.

One POST per notice, its body a JSON document:

    {"id": "<idempotency key>", "locale": "zh_CN", "title": "…", "text": "…",
     "markdown": "…", "html": "…", "files": [{"name", "kind", "media_type", "size",
     "sha256", "data" (base64)}], "elsewhere": "…"}

with the headers `X-Ztc-Timestamp` (Unix seconds), `X-Ztc-Signature: sha256=<hex HMAC-SHA256
of "<timestamp>.<body>" keyed by the shared secret>` and `X-Ztc-Idempotency-Key` (the outbox
row's dedupe key: the same on every retry, so a receiver that saw it already can answer 2xx
and drop the copy). Files travel inside the body up to 10 MB in all; beyond that they are left
out and `elsewhere` says where to get them.

Any 2xx is delivered, and so is 409 (the receiver has it already); 429 waits (its
`Retry-After`); 408, 5xx, timeouts and refused connections back off; another 4xx is refused for
good.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jobs.channels import Attachment, Rejected, Rendered
from jobs.channels.groups import Answer, GroupChannel, Target, json_body
from jobs.channels.markdown import markdown, plain, read_html, title_of
from jobs.channels.signing import webhook_headers

FILES_LIMIT = 10 * 1024 * 1024  # bytes of files, before base64
MEDIA_TYPES = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".png": "image/png",
    ".pdf": "application/pdf",
}


@dataclass(frozen=True)
class WebhookPart:
    """The one request of a notice: its idempotency key and its body."""

    key: str
    body: dict[str, Any]


class WebhookChannel(GroupChannel[WebhookPart]):
    """Delivers notices to signed JSON webhooks (the URL from the group's `url_env`)."""

    kind = "webhook"
    limits = ((10, 1.0),)
    throttle_wait = 30.0

    def url_for_key(self, key: str) -> str:
        """A webhook is named by its whole URL (`url_env`): a key alone names nothing."""
        raise Rejected("a webhook group needs url_env, the variable holding its URL")

    def parts(self, message: Rendered) -> Sequence[WebhookPart]:
        """One document: the notice in three forms, and its files when they fit."""
        lines = read_html(message.text)
        key = message.key or hashlib.sha256(message.text.encode()).hexdigest()
        body: dict[str, Any] = {
            "id": key,
            "locale": message.locale,
            "title": title_of(lines, limit=200),
            "text": plain(lines),
            "markdown": markdown(lines),
            "html": message.text,
            "files": [],
        }
        if sum(len(f.data) for f in message.files) <= FILES_LIMIT:
            body["files"] = [_file(attachment) for attachment in message.files]
        elif message.elsewhere:
            body["elsewhere"] = plain(read_html(message.elsewhere))
        return [WebhookPart(key, body)]

    async def post(self, target: Target, part: WebhookPart) -> Answer:
        """POST the document, signed now."""
        if not target.secret:
            raise Rejected("a webhook is always signed: its secret is not configured")
        content = json_body(part.body)
        headers = webhook_headers(target.secret, int(self.wall()), content, part.key)
        return await self.call(target.url, content=content, headers=headers)

    def judge(self, answer: Answer) -> None:
        """409 means the receiver has this key already: delivered."""
        if answer.status != 409:
            super().judge(answer)


def _file(attachment: Attachment) -> dict[str, Any]:
    suffix = "." + attachment.name.rsplit(".", 1)[-1].lower() if "." in attachment.name else ""
    return {
        "name": attachment.name,
        "kind": attachment.kind,
        "media_type": MEDIA_TYPES.get(suffix, "application/octet-stream"),
        "size": len(attachment.data),
        "sha256": hashlib.sha256(attachment.data).hexdigest(),
        "data": base64.b64encode(attachment.data).decode("ascii"),
    }
