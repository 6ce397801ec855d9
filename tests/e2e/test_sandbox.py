"""The fake Bot API, driven by a real PTB Bot over real HTTP (raw httpx where PTB hides it)."""

from __future__ import annotations

import asyncio
import datetime as dtm
from collections.abc import AsyncIterator
from io import BytesIO
from typing import Any

import httpx
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MessageEntity,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import Application, CallbackContext, CommandHandler, ContextTypes

from bot.sandbox import FakeBotAPI
from bot.sandbox.driver import Trouble

# PTB 22 warns whenever it builds a RetryAfter (int vs timedelta); that is PTB's concern, not ours.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*`retry_after`:telegram.warnings.PTBDeprecationWarning"
)

USER = 42
BOT_ID = 123456
GROUP = -1001234567890


def make_bot(api: FakeBotAPI, token: str | None = None) -> Bot:
    """A real PTB bot talking to the sandbox."""
    return Bot(token or api.token, base_url=f"{api.url}/bot", base_file_url=f"{api.url}/file/bot")


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    """A running sandbox that knows user 42 (Li)."""
    async with FakeBotAPI() as server:
        server.add_user(USER, "Li", username="li")
        yield server


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    """An initialized PTB bot on the sandbox."""
    async with make_bot(api) as client:
        yield client


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    """One button per row, from (text, callback_data) pairs."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d)] for t, d in pairs])


def seconds(value: int | dtm.timedelta) -> float:
    """RetryAfter.retry_after in seconds, whichever type this PTB returns."""
    return value.total_seconds() if isinstance(value, dtm.timedelta) else value


async def only_update(bot: Bot) -> Update:
    """The single pending update, confirmed so the next call sees only newer ones."""
    updates = await bot.get_updates(timeout=5)
    assert len(updates) == 1
    await bot.get_updates(offset=updates[0].update_id + 1, timeout=0)  # confirm it
    return updates[0]


async def test_get_me_describes_the_bot(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.first_name, me.username) == (BOT_ID, True, "ztc", "ztc_test_bot")


async def test_a_sent_message_is_stored_and_read_back(api: FakeBotAPI, bot: Bot) -> None:
    markup = keyboard(("是", "yes"), ("否", "no"))
    message = await bot.send_message(USER, "<b>确认？</b>", parse_mode="HTML", reply_markup=markup)

    assert message.message_id == 1 and message.from_user.id == BOT_ID
    assert message.chat.type == "private" and message.reply_markup == markup
    [stored] = api.sent(USER)
    assert stored["text"] == "<b>确认？</b>" and stored["parse_mode"] == "HTML"
    assert api.buttons(stored) == [("是", "yes"), ("否", "no")]
    assert await api.next_message(USER) == stored
    assert api.calls[-1][0] == "sendMessage"


async def test_a_command_arrives_as_ptb_parses_it_and_offset_confirms_it(
    api: FakeBotAPI, bot: Bot
) -> None:
    said = api.user_says(USER, "/start@ztc_test_bot abc")
    [update] = await bot.get_updates(timeout=5)

    message = update.message
    assert message.text == "/start@ztc_test_bot abc" and message.message_id == said["message_id"]
    assert message.entities[0].type == MessageEntity.BOT_COMMAND
    assert message.entities[0].length == len("/start@ztc_test_bot")
    assert message.from_user.language_code == "zh-hans"

    async def callback(u: Update, c: CallbackContext[Any, Any, Any, Any]) -> None: ...

    assert CommandHandler("start", callback).check_update(update)
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()


async def test_a_long_poll_returns_as_soon_as_an_update_arrives(api: FakeBotAPI, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await api.wait_call("getUpdates")  # recorded only once the poll is waiting
    assert not poll.done()

    api.user_says(USER, "你好")
    async with asyncio.timeout(5):
        updates = await poll
    assert [u.message.text for u in updates] == ["你好"]


async def test_an_unknown_method_is_a_400_in_telegrams_shape(api: FakeBotAPI) -> None:
    async with httpx.AsyncClient() as http:
        unknown = await http.post(f"{api.url}/bot{api.token}/sendTelepathy", data={"a": "1"})
        me = await http.get(f"{api.url}/bot{api.token}/GETME")

    assert unknown.status_code == 400
    assert unknown.json() == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: method not found",
    }
    assert me.status_code == 200 and me.json()["result"]["id"] == BOT_ID


async def test_a_wrong_token_is_unauthorized(api: FakeBotAPI) -> None:
    async with httpx.AsyncClient() as http:
        raw = await http.get(f"{api.url}/bot999:WRONG/getMe")
    assert raw.status_code == 401 and raw.json()["description"] == "Unauthorized"

    with pytest.raises(InvalidToken):
        async with make_bot(api, "999:WRONG"):
            pass


async def test_edits_are_counted_and_an_unchanged_edit_is_refused(
    api: FakeBotAPI, bot: Bot
) -> None:
    markup = keyboard(("好", "ok"))
    sent = await bot.send_message(USER, "一", reply_markup=markup)

    await bot.edit_message_text("二", USER, sent.message_id, reply_markup=markup)
    edited = await api.wait_edit(USER, sent.message_id, edits_seen=0)
    assert edited["text"] == "二" and api.edit_count(USER, sent.message_id) == 1

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("二", USER, sent.message_id, reply_markup=markup)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=markup)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("三", USER, 999)


async def test_an_edit_without_markup_removes_the_keyboard(api: FakeBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(USER, "选", reply_markup=keyboard(("甲", "a")))
    await bot.edit_message_text("已选", USER, sent.message_id)
    assert api.buttons(api.sent(USER)[0]) == []


async def test_fail_next_429_raises_retry_after_and_stores_nothing(
    api: FakeBotAPI, bot: Bot
) -> None:
    api.fail_next("sendMessage", code=429, retry_after=7)

    with pytest.raises(RetryAfter) as refused:
        await bot.send_message(USER, "一")
    assert seconds(refused.value.retry_after) == 7
    assert api.sent(USER) == [] and api.too_many == 1

    await bot.send_message(USER, "二")
    assert [m["text"] for m in api.sent(USER)] == ["二"]


async def test_fail_next_can_target_one_chat(api: FakeBotAPI, bot: Bot) -> None:
    api.add_user(43)
    api.fail_next("sendmessage", code=400, description="Bad Request: oops", chat_id=43)

    await bot.send_message(USER, "fine")
    with pytest.raises(BadRequest, match=r"(?i)oops"):
        await bot.send_message(43, "refused")


async def test_a_hang_outlasts_the_clients_timeout_and_does_nothing(
    api: FakeBotAPI, bot: Bot
) -> None:
    api.fail_next("sendMessage", code=504, hang=1.0)

    with pytest.raises(TimedOut):
        await bot.send_message(USER, "一", read_timeout=0.3)
    await bot.send_message(USER, "二")
    assert [m["text"] for m in api.sent(USER)] == ["二"]
    assert [p["text"] for p in api.delivered_of("sendMessage")] == ["二"]
    assert len(api.calls_of("sendMessage")) == 2


async def test_random_failures_take_the_kinds_in_turn_until_calm(
    api: FakeBotAPI, bot: Bot
) -> None:
    troubles = [
        Trouble("gone", 400, "Bad Request: message to edit not found", methods=frozenset({"x"})),
        Trouble("busy", 429, retry_after=1),
        Trouble("down", 502, "Bad Gateway"),
    ]
    injected = api.fail_randomly({"sendMessage": 1.0}, troubles=troubles, seed=1)
    with pytest.raises(RetryAfter):
        await bot.send_message(USER, "一")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(USER, "二")
    with pytest.raises(RetryAfter):
        await bot.send_message(USER, "三")
    assert injected == {("sendMessage", "busy"): 2, ("sendMessage", "down"): 1}
    await bot.get_me()  # a method with no share: never fails
    api.calm()
    await bot.send_message(USER, "四")
    assert [m["text"] for m in api.sent(USER)] == ["四"]


async def test_a_blocked_user_is_forbidden(api: FakeBotAPI, bot: Bot) -> None:
    api.block(USER)
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(USER, "在吗")
    api.unblock(USER)
    await bot.send_message(USER, "在吗")


async def test_an_uploaded_document_and_photo_download_again(api: FakeBotAPI, bot: Bot) -> None:
    doc = await bot.send_document(USER, BytesIO(b"%PDF-1.4 report"), filename="report.pdf")
    photo = await bot.send_photo(USER, BytesIO(b"\x89PNG fake"), caption="图")

    assert doc.document.file_name == "report.pdf"
    file = await bot.get_file(doc.document.file_id)
    assert await file.download_as_bytearray() == b"%PDF-1.4 report"
    file = await bot.get_file(photo.photo[-1].file_id)
    assert await file.download_as_bytearray() == b"\x89PNG fake"

    resent = await bot.send_document(USER, doc.document.file_id)
    assert resent.document.file_id == doc.document.file_id
    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        await bot.get_file("nope")


async def test_a_users_photo_and_document_can_be_fetched(api: FakeBotAPI, bot: Bot) -> None:
    api.user_says(USER, photo=b"JPEGDATA", caption="现场")
    update = await only_update(bot)
    assert update.message.caption == "现场"
    file = await bot.get_file(update.message.photo[-1].file_id)
    assert await file.download_as_bytearray() == b"JPEGDATA"

    api.user_says(USER, document=("名单.xlsx", b"PK\x03\x04", "application/vnd.ms-excel"))
    document = (await only_update(bot)).message.document
    assert (document.file_name, document.file_size) == ("名单.xlsx", 4)
    file = await bot.get_file(document.file_id)
    assert await file.download_as_bytearray() == b"PK\x03\x04"


async def test_a_press_is_a_callback_query_answered_once(api: FakeBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(USER, "选", reply_markup=keyboard(("甲", "pick:a")))
    query_id = api.press(USER, sent.message_id, "pick:a")

    query = (await only_update(bot)).callback_query
    assert (query.id, query.data, query.from_user.id) == (query_id, "pick:a", USER)
    assert query.message.message_id == sent.message_id
    assert query.message.reply_markup == keyboard(("甲", "pick:a"))

    await bot.answer_callback_query(query_id, text="已选", show_alert=True)
    assert (await api.wait_answer(query_id))["text"] == "已选"
    assert api.answers[query_id]["show_alert"] is True
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query_id)


async def receiver() -> tuple[web.AppRunner, str, asyncio.Queue[tuple[str | None, Any]]]:
    """A tiny webhook endpoint recording each POST's secret header and body."""
    got: asyncio.Queue[tuple[str | None, Any]] = asyncio.Queue()

    async def hook(request: web.Request) -> web.Response:
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        await got.put((secret, await request.json()))
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}/hook", got


async def test_a_webhook_receives_updates_and_blocks_get_updates(
    api: FakeBotAPI, bot: Bot
) -> None:
    runner, url, got = await receiver()
    try:
        assert await bot.set_webhook(url, secret_token="s3cret")
        api.user_says(USER, "/help")
        api.user_says(USER, "second")
        async with asyncio.timeout(5):
            first, second = await got.get(), await got.get()
        assert first[0] == "s3cret"
        assert [first[1]["message"]["text"], second[1]["message"]["text"]] == ["/help", "second"]
        assert (await bot.get_webhook_info()).url == url
        with pytest.raises(Conflict, match=r"(?i)webhook is active"):
            await bot.get_updates()

        await bot.delete_webhook()
        assert await bot.get_updates(timeout=0) == ()
    finally:
        await runner.cleanup()


async def test_commands_are_stored_per_scope_and_language(api: FakeBotAPI, bot: Bot) -> None:
    commands = [BotCommand("start", "开始"), BotCommand("help", "帮助")]
    await bot.set_my_commands(commands, scope=BotCommandScopeChat(USER), language_code="zh")

    stored = api.commands({"type": "chat", "chat_id": USER}, "zh")
    assert stored == [
        {"command": "start", "description": "开始"},
        {"command": "help", "description": "帮助"},
    ]
    assert api.commands() == []
    assert await bot.get_my_commands(BotCommandScopeChat(USER), "zh") == tuple(commands)
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("<b>" + "长" * 4097 + "</b>", "message is too long"),
        ("<div>x</div>", "can't parse entities"),
        ("<b>x", "can't parse entities"),
        ("<b>x</i>", "can't parse entities"),
        ("1 < 2", "can't parse entities"),
        ("Tom & Jerry", "can't parse entities"),
        ("<b> </b>", "message text is empty"),
    ],
)
async def test_html_telegram_refuses_is_refused(
    bot: Bot, api: FakeBotAPI, text: str, complaint: str
) -> None:
    with pytest.raises(BadRequest, match=rf"(?i){complaint}"):
        await bot.send_message(USER, text, parse_mode="HTML")
    assert api.sent(USER) == []


async def test_html_length_counts_what_the_reader_sees(api: FakeBotAPI, bot: Bot) -> None:
    text = (
        "<b>"
        + "x" * 4090
        + "</b>"
        + "&lt;&amp;&quot;&gt;"
        + '<a href="https://e.org">&#20013;</a>x'
    )
    await bot.send_message(USER, text, parse_mode="HTML")
    assert api.sent(USER)[0]["text"] == text


async def test_other_refusals(api: FakeBotAPI, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(777, "hi")
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "hi", reply_markup=keyboard(("x", "d" * 65)))
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(USER, "")


async def test_rate_limits_refuse_a_second_quick_send_to_one_user() -> None:
    async with FakeBotAPI(rate_limits=True) as api, make_bot(api) as bot:
        api.add_user(USER)
        await bot.send_message(USER, "一")
        with pytest.raises(RetryAfter) as refused:
            await bot.send_message(USER, "二")

        assert seconds(refused.value.retry_after) >= 1
        assert api.too_many == 1 and [m["text"] for m in api.sent(USER)] == ["一"]
        assert [name for name, _ in api.calls].count("sendMessage") == 2


async def test_rate_limits_allow_twenty_a_minute_in_a_group() -> None:
    async with FakeBotAPI(rate_limits=True) as api, make_bot(api) as bot:
        api.add_group(GROUP, "专班")
        for n in range(20):
            await bot.send_message(GROUP, f"#{n}")
        with pytest.raises(RetryAfter):
            await bot.send_message(GROUP, "#20")
        assert len(api.sent(GROUP)) == 20 and api.sent(GROUP)[0]["chat"]["type"] == "supergroup"


async def test_texts_stay_strings(api: FakeBotAPI, bot: Bot) -> None:
    await bot.send_message(USER, "007")
    await bot.send_message(USER, "123")
    async with httpx.AsyncClient() as http:
        url = f"{api.url}/bot{api.token}/sendMessage"
        await http.post(url, json={"chat_id": USER, "text": "0.50"})

    assert [m["text"] for m in api.sent(USER)] == ["007", "123", "0.50"]
    assert [p["text"] for name, p in api.calls if name == "sendMessage"] == ["007", "123", "0.50"]


async def test_a_reply_keyboard_belongs_to_the_chat_not_the_message(
    api: FakeBotAPI, bot: Bot
) -> None:
    await bot.send_message(USER, "选", reply_markup=ReplyKeyboardMarkup([["甲", "乙"]]))
    assert "reply_markup" not in api.sent(USER)[0]
    assert api.reply_keyboard(USER)["keyboard"] == [[{"text": "甲"}, {"text": "乙"}]]


async def test_next_message_times_out_saying_what_the_chat_holds(
    api: FakeBotAPI, bot: Bot
) -> None:
    await bot.send_message(USER, "唯一")
    await api.next_message(USER)
    with pytest.raises(TimeoutError, match=r"(?i)唯一"):
        await api.next_message(USER, timeout=0.05)


async def test_group_messages_and_deletion(api: FakeBotAPI, bot: Bot) -> None:
    api.add_group(GROUP, "专班")
    said = api.user_says(USER, "/report", chat_id=GROUP)
    update = await only_update(bot)
    assert update.effective_chat.title == "专班" and update.effective_user.id == USER

    reply = await bot.send_message(GROUP, "收到", reply_to_message_id=said["message_id"])
    assert reply.reply_to_message.message_id == said["message_id"]
    assert await bot.delete_message(GROUP, reply.message_id)
    assert api.sent(GROUP) == []
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(GROUP, reply.message_id)


async def test_a_polling_application_talks_to_the_sandbox(api: FakeBotAPI) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text(f"欢迎 {update.effective_user.first_name}")

    app = (
        Application.builder()
        .token(api.token)
        .base_url(f"{api.url}/bot")
        .base_file_url(f"{api.url}/file/bot")
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=5)
        api.user_says(USER, "/start")
        assert (await api.next_message(USER))["text"] == "欢迎 Li"
        await app.updater.stop()
        await app.stop()
    assert api.state.updates == []  # the last poll confirmed the update
