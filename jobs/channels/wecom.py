"""WeCom (企业微信) group robot: markdown, the chart as an image, the workbook as a file.

The robot's webhook is `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY`; it takes
JSON with a `msgtype`: markdown (at most 4,096 bytes), image (base64 and its md5, at most 2 MB
before encoding, PNG or JPG), and file (a `media_id` from `upload_media`, 5 bytes to 20 MB,
valid three days). It answers `{"errcode": 0, "errmsg": "ok"}`; 45009 is its rate limit (20
messages a minute per robot), -1 a busy system; anything else is a request it will not take.
WeCom's markdown has no italic; its links, bold, code and quotes are kept.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import httpx

from jobs.channels import Rejected, Rendered, Transient
from jobs.channels.groups import Answer, GroupChannel, Target, fit_with, json_body
from jobs.channels.markdown import markdown, read_html

MARKDOWN_LIMIT = 4096  # bytes
IMAGE_LIMIT = 2 * 1024 * 1024  # bytes, before base64
FILE_LIMIT = 20 * 1024 * 1024
FILE_MIN = 5
RATE_LIMITED, BUSY = 45009, -1


@dataclass(frozen=True)
class WeComPart:
    """One robot message: markdown text, or an image or a file (name and bytes)."""

    kind: Literal["markdown", "image", "file"]
    text: str = ""
    name: str = ""
    data: bytes = b""


class WeComChannel(GroupChannel[WeComPart]):
    """Delivers notices to WeCom group robots."""

    kind = "wecom"
    api_url = "https://qyapi.weixin.qq.com"
    limits = ((20, 60.0),)
    throttle_wait = 60.0

    def url_for_key(self, key: str) -> str:
        """The robot's send URL."""
        return f"{self.base}/cgi-bin/webhook/send?key={key}"

    def parts(self, message: Rendered) -> Sequence[WeComPart]:
        """The markdown text (cut politely past 4,096 bytes), then each file it can carry."""
        files: list[WeComPart] = []
        left_out = False
        for attachment in message.files:
            size = len(attachment.data)
            if attachment.kind == "photo" and size <= IMAGE_LIMIT and _is_image(attachment.data):
                files.append(WeComPart("image", name=attachment.name, data=attachment.data))
            elif FILE_MIN <= size <= FILE_LIMIT:
                files.append(WeComPart("file", name=attachment.name, data=attachment.data))
            else:
                left_out = True
        tail = markdown(read_html(message.elsewhere), italic=False) if left_out else ""
        text = markdown(read_html(message.text), italic=False)
        return [WeComPart("markdown", fit_with(text, tail, MARKDOWN_LIMIT, message)), *files]

    async def post(self, target: Target, part: WeComPart) -> Answer:
        """Send the part; a file is uploaded first, then sent by its media id."""
        if part.kind == "markdown":
            body = {"msgtype": "markdown", "markdown": {"content": part.text}}
        elif part.kind == "image":
            encoded = base64.b64encode(part.data).decode("ascii")
            digest = hashlib.md5(part.data, usedforsecurity=False).hexdigest()  # WeCom's checksum
            body = {"msgtype": "image", "image": {"base64": encoded, "md5": digest}}
        else:
            uploaded = await self._upload(target, part)
            media = (uploaded.body or {}).get("media_id")
            if uploaded.status != 200 or uploaded.code("errcode") != 0 or not media:
                return uploaded  # judged as the send's answer: the same codes
            body = {"msgtype": "file", "file": {"media_id": media}}
        headers = {"Content-Type": "application/json; charset=utf-8"}
        return await self.call(target.url, content=json_body(body), headers=headers)

    async def _upload(self, target: Target, part: WeComPart) -> Answer:
        url = httpx.URL(target.url)
        upload = url.copy_with(path=url.path.rsplit("/", 1)[0] + "/upload_media")
        upload = upload.copy_merge_params({"type": "file"})
        files = {"media": (part.name, part.data, "application/octet-stream")}
        return await self.call(str(upload), files=files)

    def verdict(self, answer: Answer) -> None:
        """errcode 0: delivered; 45009: wait a minute; -1: busy; else refused."""
        code = answer.code("errcode")
        if code == 0:
            return
        if code == RATE_LIMITED:
            raise self.throttled()
        if code == BUSY:
            raise Transient(f"errcode {code}: system busy")
        errmsg = str((answer.body or {}).get("errmsg", answer.text))[:200]
        raise Rejected(f"errcode {code}: {errmsg}")


def _is_image(data: bytes) -> bool:
    """PNG or JPEG: what WeCom shows inline."""
    return data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"))
