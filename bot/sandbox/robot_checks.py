"""What each fake platform checks before it takes a message, and the answers it gives.

Written from the platforms' documentation, apart from jobs/channels (the signatures are computed
again here, so a wrong recipe on the sending side fails against these checks):

- WeCom: the key; markdown ≤ 4,096 bytes, text ≤ 2,048; an image's base64 and md5, ≤ 2 MB,
  PNG or JPG; a file's media_id from an upload of 5 B to 20 MB; 20 a minute (45009).
- DingTalk: the token; with a secret, `timestamp` within an hour and `sign` (310000); markdown
  with a title and text; ≤ 20,000 bytes (460101); past 20 a minute, throttled ten minutes
  (130101).
- Feishu: the token; with a secret, `timestamp` within an hour and `sign` (19021); a `text` or
  `post` of known elements; ≤ 20 KB (9499); 5 a second and 100 a minute (11232).
- Webhook: `X-Ztc-Timestamp` within five minutes and `X-Ztc-Signature` (401), an idempotency
  key (400; a key seen before is answered 200 and counted as a duplicate), JSON (400).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from bot.sandbox.robots import Robot

Answer = tuple[int, Any]
Check = Callable[["Robot", web.Request, float], Awaitable[Answer]]


def _ok_wecom(**extra: Any) -> Answer:
    return 200, {"errcode": 0, "errmsg": "ok", **extra}


def _wecom_error(code: int, message: str) -> Answer:
    return 200, {"errcode": code, "errmsg": f"{message}, hint: [fake]"}


def unknown(kind: str) -> Answer:
    """The answer to a key, token or name nobody registered."""
    return {
        "wecom": _wecom_error(93000, "invalid webhook url"),
        "dingtalk": (200, {"errcode": 300001, "errmsg": "token is not exist"}),
        "feishu": (200, {"code": 19001, "msg": "param invalid: incoming webhook access token"}),
        "webhook": (404, {"error": "no such webhook"}),
    }[kind]


def rate_answer(robot: Robot) -> Answer:
    """The platform's own answer to one message too many."""
    return {
        "wecom": _wecom_error(45009, "api freq out of limit"),
        "dingtalk": (
            200,
            {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"},
        ),
        "feishu": (
            200,
            {"code": 11232, "msg": "frequency limited psm[lark.oapi.app_platform_runtime]"},
        ),
        "webhook": (429, {"error": "too many requests"}),
    }[robot.kind]


def _full(sent: deque[float], count: int, seconds: float, now: float) -> bool:
    while sent and sent[0] <= now - seconds:
        sent.popleft()
    return len(sent) >= count


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


async def _json(request: web.Request) -> dict[str, Any] | None:
    try:
        data = json.loads(await request.read())
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


# --- WeCom ---------------------------------------------------------------------------------


async def wecom(robot: Robot, request: web.Request, now: float) -> Answer:
    """A WeCom robot's send."""
    data = await _json(request)
    if data is None:
        return _wecom_error(40058, "invalid Request Parameter: not JSON")
    kind = str(data.get("msgtype"))
    problem = _wecom_problem(robot, kind, data.get(kind))
    if problem:
        return problem
    if _full(robot.sent, 20, 60.0, now):
        return rate_answer(robot)
    robot.sent.append(now)
    message: dict[str, Any] = {"msgtype": kind, **data[kind]}
    if kind == "image":
        message["data"] = base64.b64decode(data[kind]["base64"])
    elif kind == "file":
        message["name"], message["data"] = robot.media[data[kind]["media_id"]]
    robot.messages.append(message)
    return _ok_wecom()


def _wecom_problem(robot: Robot, kind: Any, body: Any) -> Answer | None:
    if kind not in ("text", "markdown", "image", "file") or not isinstance(body, dict):
        return _wecom_error(40008, "invalid message type")
    if kind in ("text", "markdown"):
        content, limit = body.get("content"), 2048 if kind == "text" else 4096
        if not isinstance(content, str) or not content:
            return _wecom_error(44004, "empty content")
        if _size(content) > limit:
            return _wecom_error(40058, f"{kind}.content exceed max length {limit}")
    elif kind == "image":
        try:
            data = base64.b64decode(body.get("base64", ""), validate=True)
        except (binascii.Error, ValueError):
            return _wecom_error(40058, "invalid base64")
        if hashlib.md5(data, usedforsecurity=False).hexdigest() != body.get("md5"):
            return _wecom_error(40058, "image md5 not match")
        if len(data) > 2 * 1024 * 1024 or not data.startswith((b"\x89PNG", b"\xff\xd8\xff")):
            return _wecom_error(40009, "invalid image size or type")
    elif body.get("media_id") not in robot.media:
        return _wecom_error(40007, "invalid media_id")
    return None


async def wecom_upload(robot: Robot, request: web.Request, now: float) -> Answer:
    """A WeCom robot's upload_media (type=file): the media id of the file."""
    if request.query.get("type") != "file":
        return _wecom_error(40004, "invalid media type")
    if not request.content_type.startswith("multipart/"):
        return _wecom_error(40058, "invalid Request Parameter: not multipart")
    form = await request.post()
    media = form.get("media")
    if not isinstance(media, web.FileField):
        return _wecom_error(41001, "media data missing")
    data = media.file.read()
    if not 5 <= len(data) <= 20 * 1024 * 1024:
        return _wecom_error(40006, "invalid file size")
    media_id = "m-" + uuid.uuid4().hex
    robot.media[media_id] = (media.filename, data)
    return _ok_wecom(type="file", media_id=media_id, created_at=str(int(now)))


# --- DingTalk ------------------------------------------------------------------------------


async def dingtalk(robot: Robot, request: web.Request, now: float) -> Answer:
    """A DingTalk custom robot's send."""

    def error(code: int, message: str) -> Answer:
        return 200, {"errcode": code, "errmsg": message}

    if now < robot.throttled_until:
        return rate_answer(robot)
    if robot.secret and (problem := _dingtalk_sign(robot.secret, request, now)):
        return error(310000, problem)
    raw = await request.read()
    if len(raw) > 20000:
        return error(460101, "message too long, exceed 20000 bytes")
    data = await _json(request)
    body = (data or {}).get("markdown")
    if data is None or data.get("msgtype") not in ("text", "markdown"):
        return error(40035, "缺少参数 json")
    if data["msgtype"] == "markdown" and not (
        isinstance(body, dict) and body.get("title") and body.get("text")
    ):
        return error(40035, "缺少参数 markdown.title / markdown.text")
    if _full(robot.sent, 20, 60.0, now):
        robot.throttled_until = now + 600  # ten minutes of nothing
        return rate_answer(robot)
    robot.sent.append(now)
    robot.messages.append({"msgtype": data["msgtype"], **data[data["msgtype"]]})
    return error(0, "ok")


def _dingtalk_sign(secret: str, request: web.Request, now: float) -> str | None:
    stamp, sign = request.query.get("timestamp", ""), request.query.get("sign", "")
    if not stamp.isdigit() or abs(int(stamp) - now * 1000) > 3600 * 1000:
        return "invalid timestamp"
    digest = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(base64.b64encode(digest).decode(), sign):
        return "sign not match"
    return None


# --- Feishu --------------------------------------------------------------------------------


async def feishu(robot: Robot, request: web.Request, now: float) -> Answer:
    """A Feishu custom bot's hook."""

    def error(code: int, message: str) -> Answer:
        return 200, {"code": code, "msg": message, "data": {}}

    raw = await request.read()
    data = await _json(request)
    if data is None or len(raw) > 20 * 1024:
        return error(9499, "Bad Request")
    if robot.secret and not _feishu_signed(robot.secret, data, now):
        return error(
            19021, "sign match fail or timestamp is not within one hour from current time"
        )
    kind, content = data.get("msg_type"), data.get("content")
    if not isinstance(content, dict) or not _feishu_content(kind, content):
        return error(9499, "Bad Request")
    if _full(robot.second, 5, 1.0, now) or _full(robot.sent, 100, 60.0, now):
        return rate_answer(robot)
    robot.second.append(now)
    robot.sent.append(now)
    robot.messages.append({"msg_type": kind, **content})
    return error(0, "success")


def _feishu_signed(secret: str, data: dict[str, Any], now: float) -> bool:
    stamp, sign = str(data.get("timestamp", "")), data.get("sign")
    if not stamp.isdigit() or abs(int(stamp) - now) > 3600 or not isinstance(sign, str):
        return False
    digest = hmac.new(f"{stamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), sign)


def _feishu_content(kind: Any, content: dict[str, Any]) -> bool:
    if kind == "text":
        return isinstance(content.get("text"), str) and bool(content["text"])
    post = content.get("post")
    if kind != "post" or not isinstance(post, dict) or not post:
        return False
    for language in post.values():
        lines = language.get("content") if isinstance(language, dict) else None
        if not isinstance(lines, list) or not all(isinstance(line, list) for line in lines):
            return False
        if any(e.get("tag") not in ("text", "a", "at", "img") for line in lines for e in line):
            return False
    return True


# --- the signed webhook ---------------------------------------------------------------------


async def webhook(robot: Robot, request: web.Request, now: float) -> Answer:
    """A signed JSON webhook: timestamp, signature, idempotency key, JSON."""
    raw = await request.read()
    stamp = request.headers.get("X-Ztc-Timestamp", "")
    if not stamp.isdigit() or abs(int(stamp) - now) > 300:
        return 401, {"error": "missing or stale X-Ztc-Timestamp"}
    expected = hmac.new((robot.secret or "").encode(), stamp.encode() + b"." + raw, hashlib.sha256)
    signature = request.headers.get("X-Ztc-Signature", "")
    if not hmac.compare_digest("sha256=" + expected.hexdigest(), signature):
        return 401, {"error": "bad X-Ztc-Signature"}
    key = request.headers.get("X-Ztc-Idempotency-Key", "")
    if not key:
        return 400, {"error": "missing X-Ztc-Idempotency-Key"}
    if not request.content_type == "application/json" or (data := await _json(request)) is None:
        return 400, {"error": "the body is not a JSON object"}
    if key in robot.keys:
        robot.keys[key] += 1
        robot.duplicates += 1
        return 200, {"ok": True, "duplicate": True}
    if robot.per_minute is not None and _full(robot.sent, robot.per_minute, 60.0, now):
        return rate_answer(robot)
    robot.sent.append(now)
    robot.keys[key] = 1
    robot.messages.append({"key": key, **data})
    return 200, {"ok": True}
