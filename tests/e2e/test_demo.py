"""`ztc demo`'s JSON API over HTTP, driving the real bot on the sandbox, and what another site
cannot make it do (its clock and page: tests/unit/test_demo.py; its world:
tests/services/test_demo.py; in a browser: tests/e2e/test_demo_browser.py)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from babel.messages.pofile import read_po
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

from bot.demo.data import FEATURED
from bot.demo.server import Demo, close_demo, open_demo, serve
from bot.demo.world import examples_folder
from jobs.reports.chart import chart_font_path
from tests.support.factories import at
from tests.support.paths import ROOT

START = at("2026-11-20 10:00")  # a Friday
Json = dict[str, Any]
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)  # enough of a picture for the sandbox, which never decodes


# --- the JSON API, with the real bot behind it ------------------------------------------------


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[tuple[Demo, httpx.AsyncClient]]:
    running = await open_demo(
        database=tmp_path / "demo.db",
        examples=examples_folder(),
        start=START,
        seed=7,
        locale="zh_CN",
    )
    runner, url = await serve(running, "127.0.0.1", 0)
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield running, client
    await runner.cleanup()
    await close_demo(running)


def _uid(demo: Demo, code: str) -> int:
    return next(p.user_id for p in demo.people if p.code == code)


async def _state(client: httpx.AsyncClient, chat: int, since: int = -1) -> dict[str, Any]:
    response = await client.get("/api/state", params={"chat": chat, "since": since})
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


async def _until(
    client: httpx.AsyncClient, chat: int, needle: str | Callable[[Json], Any]
) -> Json:
    """Long-poll the chat until a bot message contains `needle` (or matches it); returns it."""
    match = needle if callable(needle) else lambda m: needle in m["html"]
    since = -1
    async with asyncio.timeout(20):
        while True:
            state = await _state(client, chat, since)
            for message in state["chat"]["messages"]:
                if message["from"] == "bot" and match(message):
                    return message  # type: ignore[no-any-return]
            since = state["version"]


async def test_the_api_chats_presses_and_moves_the_clock(
    demo: tuple[Demo, httpx.AsyncClient],
) -> None:
    running, client = demo
    contact, head = _uid(running, FEATURED[0]), _uid(running, FEATURED[1])
    first = await _state(client, contact)
    assert first["chat"]["started"] is False and first["chat"]["messages"] == []
    assert first["clock"]["label"].startswith("2026年11月20日") and first["clock"]["workday"]

    assert (await client.post("/api/send", json={"chat": contact, "text": "/start"})).json()["ok"]
    greeting = await _until(client, contact, "您好")
    assert "/report" in greeting["html"]

    await client.post("/api/send", json={"chat": contact, "text": "/report"})
    categories = await _until(client, contact, "哪一类")
    land = next(b for row in categories["buttons"] for b in row if b["text"] == "土地")
    pressed = await client.post(
        "/api/press", json={"chat": contact, "message_id": categories["id"], "data": land["data"]}
    )
    assert pressed.json()["ok"] is True

    # a photo and a document from the page reach the bot as Telegram's photo and document
    photo = {"file": ("现场.png", PNG, "image/png")}
    sent = await client.post("/api/upload", data={"chat": contact, "kind": "photo"}, files=photo)
    assert sent.json() == {"ok": True}
    await _until(client, contact, "已附文件（1/5）")
    sheet = {"file": ("用电负荷.xlsx", b"PK\x03\x04 sheet", "application/vnd.ms-excel")}
    await client.post("/api/upload", data={"chat": contact, "kind": "document"}, files=sheet)
    await _until(client, contact, "已附文件（2/5）")
    mine = [m for m in (await _state(client, contact))["chat"]["messages"] if m["from"] == "user"]
    assert mine[-2]["photo"] and mine[-1]["document"]["name"] == "用电负荷.xlsx"
    assert (await client.get(mine[-2]["photo"])).content == PNG
    empty = await client.post("/api/upload", data={"chat": contact, "kind": "photo"})
    assert empty.status_code == 400 and empty.json()["error"] == "请先选择文件。"

    # a person's text is refused politely when too long, and nothing reaches the bot
    refused = await client.post("/api/send", json={"chat": contact, "text": "字" * 4097})
    assert refused.status_code == 400 and "4096" in refused.json()["error"]
    # a button on a message that is gone answers with the page's own message
    gone = await client.post("/api/press", json={"chat": head, "message_id": 999, "data": "x"})
    assert gone.json()["error"] == "该消息已不在对话中。"

    # the clock: backwards is refused; the bulletin's step brings the bulletin to a principal
    back = await client.post("/api/clock", json={"to": "2026-11-01T09:00"})
    assert back.status_code == 400 and back.json()["error"] == "演示时间只能向前调。"
    moved = (await client.post("/api/clock", json={"step": "bulletin"})).json()
    assert moved["clock"]["label"].startswith("2026年12月1日")
    principal = _uid(running, FEATURED[3])
    await _until(client, principal, "2026年11月 项目服务通报")
    workbook = await _until(client, principal, lambda m: m["document"] is not None)
    assert workbook["document"]["name"].endswith(".xlsx")
    photo = (await _until(client, principal, lambda m: m["photo"] is not None))["photo"]
    image = await client.get(photo)
    assert image.headers["content-type"] == "image/png" and image.content[:4] == b"\x89PNG"
    # the jump also swept the clocks: what nobody accepted in eleven days went up the ladder
    jumped = at("2026-12-01 09:00").timestamp() - 60

    def escalations() -> list[Json] | None:
        found = [
            m
            for chat in running.api.state.chats.values()
            for m in chat.bot_messages()
            if "已提级至" in m.get("text", "") and m["date"] >= jumped
        ]
        return found or None

    assert await running.api.state.wait_for(escalations, 20)


async def test_the_featured_contact_answers_the_request_for_material(
    demo: tuple[Demo, httpx.AsyncClient],
) -> None:
    running, client = demo
    contact, head = _uid(running, FEATURED[0]), _uid(running, FEATURED[1])
    await client.post("/api/send", json={"chat": contact, "text": "/start"})
    await _until(client, contact, "您好")
    pdf = {"file": ("水资源论证报告.pdf", b"%PDF-1.4 report", "application/pdf")}
    await client.post("/api/upload", data={"chat": contact, "kind": "document"}, files=pdf)
    await _until(client, contact, "已附文件（1/5）")
    await client.post("/api/send", json={"chat": contact, "text": "论证报告已上传"})
    await _until(client, contact, "计时已恢复")
    told = await _until(client, head, "企业已提交")
    assert "论证报告已上传" in told["html"] and "附件：1 个" in told["html"]


async def test_the_language_switch_changes_the_page_and_the_bot(
    demo: tuple[Demo, httpx.AsyncClient],
) -> None:
    running, client = demo
    contact = _uid(running, FEATURED[0])
    assert (await client.post("/api/lang", json={"lang": "fr"})).status_code == 400
    assert (await client.post("/api/lang", json={"lang": "en"})).json()["ok"]
    page = (await client.get("/")).text
    assert '<html lang="en">' in page and '"send": "Send"' in page
    state = await _state(client, contact)
    me = next(p for p in state["people"] if p["id"] == contact)
    assert me["role_label"] == "enterprise contact"
    await client.post("/api/send", json={"chat": contact, "text": "/help"})
    assert "/report — Report a problem" in (await _until(client, contact, "Hello"))["html"]


# --- the page's Chinese font (bot/demo/fonts.py) --------------------------------------------


def _texts_the_page_shows() -> list[str]:
    """A sample of what the page shows in Chinese: 20 of the catalog's translations, and every
    name of the example city (its people, regions, enterprises and projects)."""
    with (ROOT / "locales" / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as file:
        translated = [str(m.string) for m in read_po(file) if m.id and m.string]
    texts = translated[:: max(1, len(translated) // 20)][:20]
    for name, column in [("officials", "name"), ("regions", "name_zh"), ("enterprises", "name")]:
        with (examples_folder() / f"{name}.csv").open(encoding="utf-8") as file:
            texts += [row[column] for row in csv.DictReader(file)]
    for projects in (examples_folder() / "projects.csv", examples_folder() / "demo/projects.csv"):
        with projects.open(encoding="utf-8") as file:
            texts += [row["name"] for row in csv.DictReader(file)]
    return texts


async def test_the_page_font_is_a_small_cut_with_the_whole_font_at_its_own_url(
    demo: tuple[Demo, httpx.AsyncClient],
) -> None:
    _, client = demo
    cut = await client.get("/static/cjk.woff")
    assert cut.status_code == 200 and cut.headers["Content-Type"] == "font/woff"
    assert "max-age" in cut.headers["Cache-Control"]
    print(f"the page's font: {len(cut.content)} bytes")
    assert len(cut.content) < 2_000_000
    has = TTFont(io.BytesIO(cut.content)).getBestCmap()
    whole = TTFont(str(chart_font_path()), lazy=True).getBestCmap()
    # what the font draws (a line break or a space is layout, not a glyph the cut must carry)
    shown = _texts_the_page_shows()
    drawable = {c for text in shown for c in text if ord(c) in whole and not c.isspace()}
    assert drawable and not {c for c in drawable if ord(c) not in has}
    assert ord("龘") in whole and ord("龘") not in has  # a rare one is left to the whole font

    full = await client.get("/static/cjk-full.otf")
    assert full.status_code == 200 and full.headers["Content-Type"] == "font/otf"
    assert len(full.content) == chart_font_path().stat().st_size


# --- what another site cannot make the demo do ----------------------------------------------

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>'


async def _user_message(client: httpx.AsyncClient, chat: int, what: str) -> Json:
    """Long-poll until the person's newest message has a `what` ("photo"/"document")."""
    since = -1
    async with asyncio.timeout(20):
        while True:
            state = await _state(client, chat, since)
            mine = [m for m in state["chat"]["messages"] if m["from"] == "user"]
            if mine and mine[-1][what]:
                return mine[-1]  # type: ignore[no-any-return]
            since = state["version"]


def _said_nothing(running: Demo, user_id: int) -> bool:
    chat = running.api.state.chats.get(user_id)
    return chat is None or not chat.messages


async def test_uploaded_files_are_downloads_never_pages(
    demo: tuple[Demo, httpx.AsyncClient],
) -> None:
    running, client = demo
    contact = _uid(running, FEATURED[0])
    # an SVG is downloaded as a file with its name, never shown in the demo's origin
    svg = {"file": ("图 <1>.svg", SVG, "image/svg+xml")}
    sent = await client.post("/api/upload", data={"chat": contact, "kind": "document"}, files=svg)
    assert sent.json() == {"ok": True}
    document = (await _user_message(client, contact, "document"))["document"]
    download = await client.get(document["url"])
    assert download.content == SVG
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"_ <1>.svg\"; filename*=UTF-8''%E5%9B%BE%20%3C1%3E.svg"
    )
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-security-policy"] == "default-src 'none'; sandbox"
    # HTML, and a type the uploader made up, are downloads too
    page = {"file": ("x.html", b"<script>alert(1)</script>", "text/html; charset=utf-8")}
    await client.post("/api/upload", data={"chat": contact, "kind": "document"}, files=page)
    html = await client.get((await _user_message(client, contact, "document"))["document"]["url"])
    assert html.headers["content-type"] == "text/html"
    assert html.headers["content-disposition"].startswith("attachment;")
    # an SVG sent as a photo is not a photo (Telegram's photos are raster images): a document
    await client.post("/api/upload", data={"chat": contact, "kind": "photo"}, files=svg)
    again = await client.get((await _user_message(client, contact, "document"))["document"]["url"])
    assert again.content == SVG and again.headers["content-disposition"].startswith("attachment;")
    # a photo still shows in the page: a raster image, inline, never sniffed
    png = {"file": ("现场.png", PNG, "image/png")}
    await client.post("/api/upload", data={"chat": contact, "kind": "photo"}, files=png)
    photo = await client.get((await _user_message(client, contact, "photo"))["photo"])
    assert photo.headers["content-type"] in {"image/png", "image/jpeg"}
    assert photo.headers["content-disposition"] == "inline"
    assert photo.headers["x-content-type-options"] == "nosniff"


async def test_the_page_runs_only_its_own_script(demo: tuple[Demo, httpx.AsyncClient]) -> None:
    _running, client = demo
    page = await client.get("/")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy and page.headers["x-content-type-options"]
    # so every script in it is the script file or data, none inline to be run
    scripts = re.findall(r"<script([^>]*)>", page.text)
    assert scripts and all("src=" in s or 'type="application/json"' in s for s in scripts)


async def test_a_json_call_not_sent_as_json_is_refused_and_does_nothing(
    demo: tuple[Demo, httpx.AsyncClient],
) -> None:
    running, client = demo
    contact = _uid(running, FEATURED[0])
    body = json.dumps({"chat": contact, "text": "/start"})
    # what a cross-site form or a "simple" fetch can send without asking first
    for kind in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"Content-Type": kind} if kind else {}
        refused = await client.post("/api/send", content=body, headers=headers)
        assert refused.status_code == 415, kind
        assert refused.json() == {
            "ok": False,
            "error": "此请求须以 JSON 发送（Content-Type: application/json）。",
        }
    clock = running.clock()
    moved = await client.post("/api/clock", content='{"step": "day"}', headers=TEXT_PLAIN)
    assert moved.status_code == 415 and running.clock() - clock < timedelta(hours=1)
    assert _said_nothing(running, contact)  # nothing reached the sandbox
    # the page's own request (app.js sends this Content-Type) goes through
    ok = await client.post("/api/send", content=body, headers=PAGES_OWN)
    assert ok.json() == {"ok": True}
    await _until(client, contact, "您好")


TEXT_PLAIN = {"Content-Type": "text/plain"}
PAGES_OWN = {"Content-Type": "application/json; charset=utf-8"}  # app.js's api()


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},  # a sandboxed frame or a file:// page
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # another port on the same host is another origin
    ],
)
async def test_another_site_cannot_act_as_anyone(
    demo: tuple[Demo, httpx.AsyncClient], headers: dict[str, str]
) -> None:
    running, client = demo
    contact = _uid(running, FEATURED[0])
    cross = {**PAGES_OWN, **headers}
    said = await client.post("/api/send", json={"chat": contact, "text": "/start"}, headers=cross)
    assert said.status_code == 403
    assert said.json() == {"ok": False, "error": "演示只接受来自本页面的请求。"}
    # a form can post a file cross-site without a preflight: refused as well
    photo = {"file": ("x.png", PNG, "image/png")}
    form = {"chat": str(contact), "kind": "photo"}
    upload = await client.post("/api/upload", data=form, files=photo, headers=headers)
    assert upload.status_code == 403
    clock = running.clock()
    moved = await client.post("/api/clock", json={"step": "day"}, headers=cross)
    language = await client.post("/api/lang", json={"lang": "en"}, headers=cross)
    assert moved.status_code == language.status_code == 403
    assert running.clock() - clock < timedelta(hours=1) and running.locale == "zh_CN"
    assert _said_nothing(running, contact)
    # the same requests from the page itself, as a browser sends them, go through
    own = {"Origin": str(client.base_url).rstrip("/"), "Sec-Fetch-Site": "same-origin"}
    said = await client.post(
        "/api/send", json={"chat": contact, "text": "/start"}, headers={**PAGES_OWN, **own}
    )
    assert said.json() == {"ok": True}
    upload = await client.post("/api/upload", data=form, files=photo, headers=own)
    assert upload.json() == {"ok": True}
    await _user_message(client, contact, "photo")


async def _press(client: httpx.AsyncClient, chat: int, message: Json, label: str) -> None:
    button = next(b for row in message["buttons"] for b in row if b["text"] == label)
    pressed = await client.post(
        "/api/press", json={"chat": chat, "message_id": message["id"], "data": button["data"]}
    )
    assert pressed.json()["ok"] is True


async def test_the_featured_contact_reports_progress_and_her_head_confirms_the_stage(
    demo: tuple[Demo, httpx.AsyncClient],
) -> None:
    running, client = demo
    contact, head = _uid(running, FEATURED[0]), _uid(running, FEATURED[1])
    await client.post("/api/send", json={"chat": contact, "text": "/start"})
    await _until(client, contact, "您好")
    await client.post("/api/send", json={"chat": contact, "text": "/progress"})
    stages = await _until(client, contact, "本月是否达到新阶段")
    assert "2026-10" in stages["html"]  # October's report, from the demo's history
    labels = [b["text"] for row in stages["buttons"] for b in row]
    assert labels[0] == "无变化" and len(labels) >= 2
    await _press(client, contact, stages, labels[1])  # the next stage
    await _press(client, contact, await _until(client, contact, "哪一天达到"), "今天")
    await _until(client, contact, "累计完成投资多少")
    await client.post("/api/send", json={"chat": contact, "text": "3.5亿"})
    await _until(client, contact, "还有需要说明的吗")
    await client.post("/api/send", json={"chat": contact, "text": "设备已进场调试"})
    await _press(
        client, contact, await _until(client, contact, "累计完成投资：3.5亿元"), "确认提交"
    )
    await _until(client, contact, "的进度报送")

    claim = await _until(client, head, "阶段认定")
    assert f"已{labels[1]}" in claim["html"] and "设备已进场调试" in claim["html"]
    await _press(client, head, claim, "认定")
    told = await _until(client, contact, "已认定")
    assert labels[1] in told["html"]
