"""Feishu (飞书) custom bot: signed rich text (`post`), and where to get the files.

The bot's webhook is `https://open.feishu.cn/open-apis/bot/v2/hook/TOKEN`; it takes JSON with a
`msg_type` (`post`: a title and lines of text and link elements; `text`) and, when the bot has
签名校验, `timestamp` (seconds) and `sign` (jobs/channels/signing.py) in the same body. It
answers `{"code": 0, "msg": "success"}`; 11232 is its rate limit (5 a second, 100 a minute per
bot); anything else (19021: a bad sign, 19024: keywords missing, 9499: a bad request) a request
it will not take. The body must stay under 20 KB. A custom bot cannot upload files: a
bulletin's workbook and chart become a line saying where to get them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jobs.channels import Rejected, Rendered
from jobs.channels.groups import Answer, GroupChannel, Target, cut_note, json_body
from jobs.channels.markdown import Line, Run, feishu_elements, read_html, title_of
from jobs.channels.signing import feishu_sign

CONTENT_LIMIT = 18 * 1024  # bytes of the post's content as JSON: the body stays under 20 KB
RATE_LIMITED = 11232
LANGUAGES = {"zh_CN": "zh_cn", "en": "en_us"}
Content = tuple[tuple[dict[str, Any], ...], ...]  # lines of elements


@dataclass(frozen=True)
class FeishuPart:
    """One bot message: a `post`'s title and content in one language."""

    language: str
    title: str
    content: Content


class FeishuChannel(GroupChannel[FeishuPart]):
    """Delivers notices to Feishu custom bots, signed when the group has a secret."""

    kind = "feishu"
    api_url = "https://open.feishu.cn"
    limits = ((5, 1.0), (100, 60.0))
    throttle_wait = 30.0

    def url_for_key(self, key: str) -> str:
        """The bot's hook URL from its token."""
        return f"{self.base}/open-apis/bot/v2/hook/{key}"

    def parts(self, message: Rendered) -> Sequence[FeishuPart]:
        """One `post`: the first line its title, the rest its content (cut past the limit)."""
        lines = read_html(message.text)
        title, body = (title_of(lines[:1], 100), lines[1:]) if lines else ("", [])
        tail = [Line(), *read_html(message.elsewhere)] if message.files else []
        content = _fit(body, tail, cut_note(message))
        return [FeishuPart(LANGUAGES.get(message.locale, "zh_cn"), title, content)]

    async def post(self, target: Target, part: FeishuPart) -> Answer:
        """POST the post, signed now when there is a secret."""
        content = [list(line) for line in part.content]
        post = {part.language: {"title": part.title, "content": content}}
        body: dict[str, Any] = {"msg_type": "post", "content": {"post": post}}
        if target.secret:
            timestamp = int(self.wall())
            body = {"timestamp": str(timestamp), "sign": feishu_sign(target.secret, timestamp)}
            body |= {"msg_type": "post", "content": {"post": post}}
        headers = {"Content-Type": "application/json; charset=utf-8"}
        return await self.call(target.url, content=json_body(body), headers=headers)

    def verdict(self, answer: Answer) -> None:
        """code 0 (or the older StatusCode 0): delivered; 11232: wait; else refused."""
        code = answer.code("code", "StatusCode")
        if code == 0:
            return
        if code == RATE_LIMITED:
            raise self.throttled()
        message = str((answer.body or {}).get("msg", answer.text))[:200]
        raise Rejected(f"code {code}: {message}")


def _fit(lines: list[Line], tail: list[Line], note: str) -> Content:
    """The lines as a post's content within `CONTENT_LIMIT` bytes of JSON: whole lines, then
    the note when some were left out; `tail` (where to get the files) always."""
    rows, end = feishu_elements(lines), feishu_elements(tail) if tail else []
    if size_of([*rows, *end]) <= CONTENT_LIMIT:
        return tuple(tuple(row) for row in (*rows, *end))
    end = feishu_elements([Line(), Line([Run(note)])]) + end
    used, kept = size_of(end), []
    for row in rows:
        used += size_of(row) + 1  # and the comma between
        if used > CONTENT_LIMIT:
            break
        kept.append(row)
    return tuple(tuple(row) for row in (*kept, *end))


def size_of(value: Any) -> int:
    """Bytes of `value` as the JSON body carries it."""
    return len(json_body(value))
