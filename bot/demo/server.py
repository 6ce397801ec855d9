"""`ztc demo`'s moving parts in one event loop: the fake Bot API, the real bot polling it, and
the page's web server, which acts as the people in the sandbox and moves the demo's clock."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from babel.dates import format_date, format_time
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import build_application, start_in_loop, stop_in_loop
from bot.demo.clock import STEPS, DemoClock, JumpRefused, step_target
from bot.demo.data import DemoPerson, demo_people, set_language
from bot.demo.fonts import FULL_NAME, SUBSET_NAME, SUBSET_TYPE, PageFont
from bot.demo.group import GROUP_ID, DemoGroup, DemoSettings, with_group
from bot.demo.guard import (
    FILE_POLICY,
    INLINE_IMAGES,
    content_disposition,
    media_type,
    only_from_the_page,
    secure_headers,
)
from bot.demo.page import (
    TEXT_LIMIT,
    UPLOAD_LIMIT,
    chat_json,
    error,
    page_html,
    person_json,
    static_file,
)
from bot.demo.world import prepare_world
from bot.runtime import Runtime, ZtcApplication
from bot.sandbox import FakeBotAPI
from bot.sandbox.robots import FakeRobots
from bot.sandbox.wire import json_response
from bot.scheduler import start_up
from jobs.clocks import run_clocks
from jobs.reports import babel_locale
from jobs.reports.chart import chart_font_path
from jobs.schedule import load_rules
from locales import LOCALES
from models.db import make_engine, session_scope
from models.rules import Rules

log = logging.getLogger(__name__)
POLL_SECONDS = 25.0  # how long the page's long poll waits for something to happen
ANSWER_SECONDS = 5.0  # how long a button press waits for the bot's answer
CLIENT_LANGUAGE = {"zh_CN": "zh-hans", "en": "en"}  # the language a sandbox user's app reports
STATIC = {"app.js": "application/javascript", "style.css": "text/css"}
FONT_CACHE = {"Cache-Control": "max-age=86400"}


@dataclass
class Demo:
    """One running demo."""

    api: FakeBotAPI
    app: ZtcApplication
    engine: AsyncEngine
    rules: Rules
    clock: DemoClock
    people: list[DemoPerson]
    locale: str
    group: DemoGroup
    robots: FakeRobots
    font: PageFont
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def runtime(self) -> Runtime:
        """The bot's runtime (its clock is the demo's)."""
        return self.app.runtime

    def person(self, user_id: Any) -> DemoPerson | None:
        """The person a page request names."""
        return next((p for p in self.people if str(p.user_id) == str(user_id)), None)


async def open_demo(
    *, database: Path, examples: Path, start: datetime, seed: int, locale: str
) -> Demo:
    """Build the demo's world, then start the sandbox and the bot on it."""
    font = PageFont(examples)
    font.start()  # the page's font is cut in a worker thread while the world is built
    clock = DemoClock(start)
    api = FakeBotAPI(username="ztc_demo_bot", clock=lambda: clock().timestamp())
    await api.start()
    robots = FakeRobots()  # the city leaders' WeCom group (bot/demo/group.py)
    await robots.start()
    group = DemoGroup(robots, api.state, lambda: clock().timestamp())
    settings = DemoSettings(
        bot_token=api.token,
        bot_api_url=api.url,
        database_url=f"sqlite:///{database}",
        wecom_api_url=robots.url,
    )
    engine = make_engine(settings.database_url)
    try:
        rules = with_group(load_rules(settings.policy, settings.timezone))
        people = await prepare_world(
            engine=engine, rules=rules, examples=examples, now=clock(), seed=seed, locale=locale
        )
        for person in people:
            api.add_user(person.user_id, person.name, CLIENT_LANGUAGE[locale])
        app = build_application(settings, engine=engine, clock=clock, rules=rules)
        await start_in_loop(app)
    except BaseException:
        await engine.dispose()
        await api.stop()
        await robots.stop()
        await font.close()
        raise
    return Demo(api, app, engine, rules, clock, people, locale, group, robots, font)


async def close_demo(demo: Demo) -> None:
    """Stop the bot (finishing what it has in hand), the sandbox and the database."""
    await stop_in_loop(demo.app)
    await demo.api.stop()
    await demo.robots.stop()
    await demo.engine.dispose()
    await demo.font.close()


def web_app(demo: Demo) -> web.Application:
    """The page and its JSON API."""
    routes = Routes(demo)
    app = web.Application(
        client_max_size=UPLOAD_LIMIT + 64 * 1024,
        middlewares=[only_from_the_page(lambda key, **kw: refusal(demo.locale, key, **kw))],
    )
    app.on_response_prepare.append(secure_headers)
    app.router.add_get("/", routes.index)
    app.router.add_get("/static/{name}", routes.static)
    app.router.add_get("/files/{file_id}", routes.file)
    app.router.add_get("/api/state", routes.state)
    app.router.add_post("/api/send", routes.send)
    app.router.add_post("/api/upload", routes.upload)
    app.router.add_post("/api/press", routes.press)
    app.router.add_post("/api/clock", routes.move_clock)
    app.router.add_post("/api/lang", routes.language)
    return app


async def serve(demo: Demo, host: str, port: int) -> tuple[web.AppRunner, str]:
    """Serve the page on host:port (0 picks a free one); the runner and the address."""
    runner = web.AppRunner(web_app(demo), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    bound_host, bound_port = runner.addresses[0][:2]
    return runner, f"http://{bound_host}:{bound_port}"


class Routes:
    """The page's requests, each acting on the demo."""

    def __init__(self, demo: Demo) -> None:
        self.demo = demo

    # --- the page and its files ---------------------------------------------------------------

    async def index(self, request: web.Request) -> web.Response:
        """The page, in the demo's language."""
        return web.Response(text=page_html(self.demo.locale), content_type="text/html")

    async def static(self, request: web.Request) -> web.StreamResponse:
        """The page's script, style sheet and Chinese font (bot/demo/fonts.py): the charts' font
        cut to what the page shows, and whole for what a visitor types beyond that."""
        name = request.match_info["name"]
        if name == SUBSET_NAME:
            data = await self.demo.font.data()
            return web.Response(body=data, content_type=SUBSET_TYPE, headers=FONT_CACHE)
        if name == FULL_NAME:
            headers = {**FONT_CACHE, "Content-Type": "font/otf"}
            return web.FileResponse(chart_font_path(), headers=headers)
        if name not in STATIC:
            raise web.HTTPNotFound()
        return web.Response(body=static_file(name), content_type=STATIC[name])

    async def file(self, request: web.Request) -> web.Response:
        """A photo or document someone sent, by its file_id: a raster image inline (the page
        shows it), anything else (SVG and HTML included) only as a download."""
        stored = self.demo.api.state.files.get(request.match_info["file_id"])
        if stored is None:
            raise web.HTTPNotFound()
        mime = media_type(stored.mime_type)
        shown = "inline" if mime in INLINE_IMAGES else "attachment"
        response = web.Response(body=stored.data, content_type=mime)
        response.headers["Content-Disposition"] = content_disposition(shown, stored.file_name)
        response.headers["Content-Security-Policy"] = FILE_POLICY[shown]
        return response

    # --- reading ----------------------------------------------------------------------------

    async def state(self, request: web.Request) -> web.Response:
        """Everything the page shows; waits up to POLL_SECONDS for a change past `since`."""
        try:
            since = int(request.query.get("since", "-1"))
        except ValueError:
            since = -1
        sandbox = self.demo.api.state
        with contextlib.suppress(TimeoutError):
            await sandbox.wait_for(lambda: True if sandbox.version > since else None, POLL_SECONDS)
        return json_response(self.snapshot(request.query.get("chat")))

    def snapshot(self, chat: str | None) -> dict[str, Any]:
        """The clock, the people with their message counts, and one person's chat."""
        demo, sandbox = self.demo, self.demo.api.state
        person = demo.person(chat) if chat else None
        body: dict[str, Any] = {
            "version": sandbox.version,
            "clock": self.clock_json(),
            "people": [
                *(person_json(p, sandbox.chats.get(p.user_id), demo.locale) for p in demo.people),
                demo.group.person_json(demo.locale),
            ],
            "chat": None,
        }
        if chat == str(GROUP_ID):
            body["chat"] = {"id": GROUP_ID, **demo.group.chat_json(self.when)}
        elif person is not None:
            log_ = sandbox.chats.get(person.user_id)
            body["chat"] = {"id": person.user_id, **chat_json(log_, sandbox.bot["id"], self.when)}
        return body

    def clock_json(self) -> dict[str, Any]:
        """The demo's time as the page shows it."""
        local = self.demo.clock().astimezone(self.demo.rules.tz)
        locale = babel_locale(self.demo.locale)
        day = format_date(local.date(), "full", locale=locale)
        return {
            "iso": local.isoformat(timespec="seconds"),
            "label": f"{day} {format_time(local.time(), 'HH:mm', locale=locale)}",
            "workday": self.demo.rules.calendar.is_workday(local.date())[0],
        }

    def when(self, epoch: int) -> str:
        """A message's time: the hour on the demo's today, else with its date."""
        tz = self.demo.rules.tz
        moment = datetime.fromtimestamp(epoch, UTC).astimezone(tz)
        today = self.demo.clock().astimezone(tz).date()
        return moment.strftime("%H:%M" if moment.date() == today else "%m-%d %H:%M")

    # --- acting as a person -----------------------------------------------------------------

    async def send(self, request: web.Request) -> web.Response:
        """The person sends a text (or a command)."""
        body = await _json(request)
        person = self.demo.person(body.get("chat"))
        text = str(body.get("text") or "").strip()
        if person is None:
            return self.nobody(body.get("chat"))
        if not text:
            return self.refuse("empty")
        if len(text) > TEXT_LIMIT:
            return self.refuse("too_long", limit=TEXT_LIMIT)
        self.demo.api.user_says(person.user_id, text)
        return json_response({"ok": True})

    async def upload(self, request: web.Request) -> web.Response:
        """The person sends a photo or a document, with an optional caption."""
        try:
            form = await request.post()
        except web.HTTPRequestEntityTooLarge:
            return self.refuse("too_big")
        person = self.demo.person(form.get("chat"))
        upload = form.get("file")
        caption = str(form.get("caption") or "").strip() or None
        if person is None:
            return self.nobody(form.get("chat"))
        if not isinstance(upload, web.FileField):
            return self.refuse("no_file")
        data = upload.file.read()
        if not data:
            return self.refuse("no_file")
        if caption and len(caption) > 1024:  # Telegram's caption limit
            return self.refuse("too_long", limit=1024)
        mime = media_type(upload.content_type)
        if form.get("kind") == "photo" and mime in INLINE_IMAGES:  # an SVG goes as a document
            self.demo.api.user_says(person.user_id, photo=data, caption=caption)
        else:
            document = (upload.filename or "file", data, mime)
            self.demo.api.user_says(person.user_id, document=document, caption=caption)
        return json_response({"ok": True})

    async def press(self, request: web.Request) -> web.Response:
        """The person presses an inline button; the bot's answer (a toast) if it gives one."""
        body = await _json(request)
        person = self.demo.person(body.get("chat"))
        if person is None:
            return self.nobody(body.get("chat"))
        try:
            query = self.demo.api.press(
                person.user_id, int(body.get("message_id") or 0), str(body.get("data") or "")
            )
        except (LookupError, ValueError):
            return self.refuse("gone")
        try:
            answer = await self.demo.api.wait_answer(query, timeout=ANSWER_SECONDS)
        except TimeoutError:
            return json_response({"ok": True, "answer": None})
        text = answer.get("text") or ""
        return json_response(
            {"ok": True, "answer": {"text": text, "alert": bool(answer.get("show_alert"))}}
        )

    # --- the demo's controls ----------------------------------------------------------------

    async def move_clock(self, request: web.Request) -> web.Response:
        """Jump the demo's time: a step, or a local date and time; what fell due then runs."""
        demo, body = self.demo, await _json(request)
        try:
            if "to" in body:
                target = datetime.fromisoformat(str(body["to"]))
                if target.tzinfo is None:
                    target = target.replace(tzinfo=demo.rules.tz)
            elif body.get("step") in STEPS:
                target = step_target(demo.rules, demo.clock(), str(body["step"]))
            else:
                return self.refuse("bad_step")
        except ValueError:
            return self.refuse("bad_time")
        async with demo.lock:
            try:
                demo.clock.jump_to(target)
            except JumpRefused as refused:
                return self.refuse(refused.reason)
            await catch_up_now(demo)
        return json_response({"ok": True, "clock": self.clock_json()})

    async def language(self, request: web.Request) -> web.Response:
        """Switch the page and everybody in the demo to another language."""
        demo, body = self.demo, await _json(request)
        locale = str(body.get("lang") or "")
        if locale not in LOCALES:
            return self.refuse("bad_language")
        async with session_scope(demo.engine) as session:
            await set_language(session=session, locale=locale)
        async with session_scope(demo.engine) as session:
            demo.people = await demo_people(session=session, locale=locale)
        for person in demo.people:
            demo.api.add_user(person.user_id, person.name, CLIENT_LANGUAGE[locale])
        demo.locale = locale
        demo.api.state.changed()
        return json_response({"ok": True})

    def nobody(self, chat: Any) -> web.Response:
        """The answer when a request names no person: the group takes nothing from the page."""
        return self.refuse("read_only" if str(chat) == str(GROUP_ID) else "no_person")

    def refuse(self, key: str, **values: Any) -> web.Response:
        """A request the demo will not do, said in the page's language."""
        return refusal(self.demo.locale, key, **values)


def refusal(locale: str, key: str, status: int = 400, **values: Any) -> web.Response:
    """The page's error answer: `{"ok": false, "error": …}` in the demo's language."""
    return json_response({"ok": False, "error": error(key, locale, **values)}, status=status)


async def catch_up_now(demo: Demo) -> None:
    """After a jump: the cycle's runs that fell due, then reminders and escalations as at now."""
    runtime = demo.runtime
    await start_up(runtime)
    report = await run_clocks(engine=demo.engine, rules=demo.rules, now=runtime.now())
    if report.changed:
        runtime.wake_dispatcher()
    demo.api.state.changed()


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
