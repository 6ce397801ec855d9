"""DingTalk (钉钉) custom robot: signed markdown, and where to get the files it cannot carry.

The robot's webhook is `https://oapi.dingtalk.com/robot/send?access_token=TOKEN`; with 加签 the
query also carries `timestamp` (milliseconds) and `sign` (jobs/channels/signing.py), computed
at each send (DingTalk refuses a timestamp more than an hour old). It takes JSON: markdown with
a `title` (the notification's preview) and `text`. It answers `{"errcode": 0, "errmsg":
"ok"}`; 130101 is "sending too fast" (over 20 a minute the robot is throttled for ten
minutes); -1 a busy system; anything else (a bad sign, an unknown token, keywords missing) a
request it will not take. A custom robot cannot upload files: a bulletin's workbook and chart
become a line saying where to get them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jobs.channels import Rejected, Rendered, Transient
from jobs.channels.groups import Answer, GroupChannel, Target, fit_with, json_body
from jobs.channels.markdown import markdown, read_html, title_of
from jobs.channels.signing import dingtalk_query

TEXT_LIMIT = 18000  # bytes of markdown: DingTalk refuses a message over 20,000 bytes
THROTTLED = (130101, 130102)
BUSY = -1


@dataclass(frozen=True)
class DingTalkPart:
    """One robot message: markdown with its title."""

    title: str
    text: str


class DingTalkChannel(GroupChannel[DingTalkPart]):
    """Delivers notices to DingTalk custom robots, signed when the group has a secret."""

    kind = "dingtalk"
    api_url = "https://oapi.dingtalk.com"
    limits = ((20, 60.0),)
    throttle_wait = 600.0  # throttled for ten minutes

    def url_for_key(self, key: str) -> str:
        """The robot's send URL from its access token."""
        return f"{self.base}/robot/send?access_token={key}"

    def parts(self, message: Rendered) -> Sequence[DingTalkPart]:
        """One markdown message; files become the line saying where to get them."""
        lines = read_html(message.text)
        tail = markdown(read_html(message.elsewhere), hard_break=True) if message.files else ""
        text = fit_with(markdown(lines, hard_break=True), tail, TEXT_LIMIT, message)
        return [DingTalkPart(title_of(lines), text)]

    async def post(self, target: Target, part: DingTalkPart) -> Answer:
        """POST the markdown, the URL signed now."""
        url = target.url
        if target.secret:
            url += "&" + dingtalk_query(target.secret, int(self.wall() * 1000))
        body = {"msgtype": "markdown", "markdown": {"title": part.title, "text": part.text}}
        headers = {"Content-Type": "application/json; charset=utf-8"}
        return await self.call(url, content=json_body(body), headers=headers)

    def verdict(self, answer: Answer) -> None:
        """errcode 0: delivered; 130101: throttled ten minutes; -1: busy; else refused."""
        code = answer.code("errcode")
        if code == 0:
            return
        if code in THROTTLED:
            raise self.throttled()
        if code == BUSY:
            raise Transient(f"errcode {code}: system busy")
        errmsg = str((answer.body or {}).get("errmsg", answer.text))[:200]
        raise Rejected(f"errcode {code}: {errmsg}")
