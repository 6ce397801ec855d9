"""A seeded generator of Telegram updates of every type PTB delivers, for the fuzz tests
(tests/unit/test_fuzz.py checks the generator, tests/e2e/test_fuzz.py runs it against the app).

`Fuzzer(rng, cast, sink).next()` builds one update as the Bot API would send it and queues it
through the sink (the fake Bot API, or `Memory` for the unit test), which gives messages their
ids. Private chats, groups, supergroups and channels; bound people and strangers; messages with
no `from` (channel posts) or sent as a chat (anonymous admins); the bot's real commands, odd
texts, photos, documents and edits; callback data from the real prefixes, forged and garbled,
and presses on what the bot really sent (the sink's `last_sent`). Everything random comes from one
`random.Random`, so a seed replays a run (presses on the bot's messages depend on what it sent).

One builder per update type, named after its field; `BUILDERS` must cover `Update.ALL_TYPES`
(tests/unit/test_fuzz.py says so), so a PTB upgrade that adds a type fails until it is fuzzed
too. The module is longer than our usual ~300 lines because it is a catalogue: one short builder
per type.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from telegram import Update

from bot.sandbox.driver import command_entities
from models.codes import Action, Category, Rating, Urgency

Json = dict[str, Any]
KINDS: tuple[str, ...] = tuple(str(kind) for kind in Update.ALL_TYPES)
# Updates whose payload is a message of its own (the sink gives it the chat's next id).
MESSAGE_KINDS = frozenset(
    {"message", "edited_message", "channel_post", "edited_channel_post"}
    | {"business_message", "edited_business_message"}
)
# How often each type comes once every type has come once (the rest weigh 1).
WEIGHTS = {"message": 44, "callback_query": 22, "edited_message": 6, "channel_post": 3}
COMMANDS = ("start", "report", "new", "my", "inbox", "progress", "stats", "help", "lang", "cancel")
PREFIXES = ("lang", "rp", "rc", "ru", "rs", "rx", "c", "a", "co", "rt", "pg", "f")
SEED = int(os.environ.get("ZTC_FUZZ_SEED", "20261120"))  # one seed replays a run
# The groups and supergroups the bot is in, and a channel.
GROUPS = [
    {"id": -4001, "type": "group", "title": "清江浦区企业服务群"},
    {"id": -4002, "type": "group", "title": "<b>&"},
    {"id": -1001000000001, "type": "supergroup", "title": "招商", "is_forum": True},
    {"id": -1001000000002, "type": "supergroup", "title": "项目推进", "username": "xm"},
]
CHANNELS = [{"id": -1002000000001, "type": "channel", "title": "淮安发布", "username": "ha"}]
BUSINESS_CHATS = range(6_000_001, 6_000_006)  # a business account's chats with its customers
ANONYMOUS_ADMIN = {"id": 1087968824, "is_bot": True, "first_name": "Group"}
ANONYMOUS_ADMIN["username"] = "GroupAnonymousBot"
TELEGRAM = {"id": 777000, "is_bot": False, "first_name": "Telegram"}  # forwards from a channel
OTHER_BOT = {"id": 5000000001, "is_bot": True, "first_name": "Other", "username": "other_bot"}

ODD_TEXTS = (
    " ", "\n", "\t \n ", "a", "ok", "P1", "p1", " P1 ", "P" + "9" * 300, "2026-00001",
    "<b>", "</b>", "<b>bold</b>", "<script>x</script>", "&", "&amp;", "&lt;", "a & b < c > d",
    '"quoted" \'single\' «guillemets» „low“ ‘curly’', "\x00", "NUL\x00inside",
    "\x01\x02\x1b[31m\x7f",
    "\u202eRTL override\u202c", "مرحبا، أريد الإبلاغ عن مشكلة", "שלום עולם", "👍", "👨‍👩‍👧‍👦🏳️‍🌈",
    "\u200b", "\ufeffBOM", "e\u0301", "%s %d {} {0} {name} %(name)s", "'; DROP TABLE issue; --",
    "${jndi:ldap://x/a}", "用地指标迟迟未落实，影响开工", "𠮷野家", "\\", "```code```",
    "*bold* _it_ [link](http://x)", "http://example.com/?a=1&b=<2>", "@ztc_test_bot", "/", "//",
    "/ start", "/start@", "／start", "/start\u200b", "/HELP", "/Start", "/help@", "/help@@x",
)  # fmt: skip
ODD_IDS = (
    "1", "2", "3", "0", "-1", "²", "١", "１", "1²", "2147483648", str(2**63), str(2**64 + 1),
    "9" * 40, "", "abc", " 1", "1 ", "1.0", "0x1", "1e3", "NaN", "None", "null", "+1", "01",
)  # fmt: skip
ODD_WORDS = ("", "x", "ZH_CN", "../..", "zh_CN\n", "é", "²", "None", "*", "%", " ", "a" * 70)
ALPHABET = "aZ09 \n\t\x00\x07<>&\"'%{}\\/长用地🙂👍🏽\u202e\u200bعשé\u0301𠮷"
NAMES = ("Ann", "<b>Bob</b>", "&amp;", "ميلاد", "🙂", "x" * 64, "Zoë", "\u202eevil", "Мария")
LANGS = (None, "zh-hans", "zh-hant", "en", "ru", "ar", "", "xx-YY", "EN")
FILE_NAMES = (None, "plan.pdf", "../../etc/passwd", "a" * 250 + ".docx", "无标题.xlsx", "x", ".")
MIMES = (None, "application/pdf", "image/png", "application/x-msdownload", "text/html", "")


# What a ChatMemberAdministrator must say (all granted here).
ADMIN_RIGHTS = (
    "can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages",
    "can_manage_video_chats", "can_restrict_members", "can_promote_members", "can_change_info",
    "can_invite_users", "can_post_stories", "can_edit_stories", "can_delete_stories",
)  # fmt: skip


class Sink(Protocol):
    """Where updates go: the fake Bot API (or `Memory`), which also keeps the files."""

    def push_update(self, kind: str, payload: Json) -> Json:
        """Queue an update; returns it as queued (`update_id`; a new message with its id)."""

    def last_sent(self, chat_id: int, count: int) -> list[Json]:
        """The bot's last messages in a chat."""

    def stored_photo(self, data: bytes) -> list[Json]:
        """A `photo` array whose file_id the bot can use."""

    def stored_document(self, name: str | None, data: bytes, mime: str | None) -> Json:
        """A `document` whose file_id the bot can use."""


@dataclass
class Cast:
    """Who writes where: the bot, bound people and strangers (user objects), the chats."""

    bot: Json
    people: dict[int, Json]
    strangers: dict[int, Json]
    groups: list[Json]  # groups and supergroups the bot is in
    channels: list[Json]
    tokens: list[str] = field(default_factory=list)  # redeemed invites: /start never binds
    issue_ids: list[int] = field(default_factory=list)

    @staticmethod
    def make_strangers(rng: random.Random, count: int) -> dict[int, Json]:
        """Users nobody invited, with odd names and languages (ids up to Telegram's 2**52)."""
        users = {}
        for n in range(count):
            uid = rng.choice((9_000_000 + n, 8_000_000_000 + n, 2**52 - 1 - n))
            user: Json = {"id": uid, "is_bot": False, "first_name": rng.choice(NAMES)}
            if (lang := rng.choice(LANGS)) is not None:
                user["language_code"] = lang
            if rng.random() < 0.5:
                user["username"] = f"user{n}"
            users[uid] = user
        return users


def private_chat(user: Json) -> Json:
    """A user's private chat with the bot, as Telegram describes it in a message."""
    chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
    if "username" in user:
        chat["username"] = user["username"]
    return chat


def kind_of(update: Json) -> str:
    """An update's type: the name of its one field besides `update_id`."""
    return next(key for key in update if key != "update_id")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


class Fuzzer:
    """Builds and queues one random update at a time; `counts` says how many of each type."""

    def __init__(self, rng: random.Random, cast: Cast, sink: Sink, now: int) -> None:
        self.rng, self.cast, self.sink, self.now = rng, cast, sink, now
        self.counts: dict[str, int] = {}
        self.history: dict[int, list[Json]] = {}  # messages of users and channels, per chat
        self.builders: dict[str, Callable[[], Json]] = {k: getattr(self, k) for k in KINDS}
        self._serial = 0
        self._weights = [WEIGHTS.get(kind, 1) for kind in KINDS]

    def next(self) -> Json:
        """One update of a random type (every type once first), as queued."""
        done = sum(self.counts.values())
        kind = KINDS[done] if done < len(KINDS) else self.rng.choices(KINDS, self._weights)[0]
        return self.push(kind, self.builders[kind]())

    def push(self, kind: str, payload: Json) -> Json:
        """Queue a payload; remember messages for later edits and replies."""
        update = self.sink.push_update(kind, payload)
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if kind in ("message", "channel_post", "business_message"):
            self.history.setdefault(update[kind]["chat"]["id"], []).append(update[kind])
        return update

    # --- small pieces ----------------------------------------------------------------------

    def serial(self) -> int:
        """A fresh number for ids."""
        self._serial += 1
        return self._serial

    def date(self) -> int:
        """A message date near the bot's now."""
        return self.now + self.serial() % 600

    def anyone(self) -> Json:
        """A bound person or a stranger (about half each)."""
        pool = self.cast.people if self.rng.random() < 0.5 else self.cast.strangers
        return pool[self.rng.choice(list(pool))]

    def odd_text(self, limit: int = 4096) -> str:
        """Free text: the catalogue of odd ones, or random odd characters of any length."""
        roll = self.rng.random()
        if roll < 0.55:
            text = self.rng.choice(ODD_TEXTS)
        elif roll < 0.75:
            text = self.rng.choice(("长", "x", "a ", "👍")) * self.rng.choice((4000, 4001, 4096))
        else:
            size = self.rng.choice((1, 2, 63, 64, 65, 200, 1024, self.rng.randint(1, limit)))
            text = "".join(self.rng.choice(ALPHABET) for _ in range(size))
        while utf16_len(text) > limit:
            text = text[: -max(1, (utf16_len(text) - limit) // 2)]
        return text

    def command_text(self) -> str:
        """One of the bot's commands, with odd suffixes and arguments."""
        rng = self.rng
        name = rng.choice((*COMMANDS, *COMMANDS, "START", "Help", "unknown", "settings"))
        bot = self.cast.bot["username"]
        suffix = rng.choice(("", "", "", f"@{bot}", f"@{bot.upper()}", "@other_bot"))
        args = rng.choice(("", "", "", " a b c", " " + "x" * 300, " 😀", "\nsecond line", "  "))
        if name == "start" and rng.random() < 0.7:
            tokens = [*self.cast.tokens, "not-a-token", "' OR 1=1 --", "%00", "a" * 64, "²³"]
            args = " " + rng.choice([*tokens, "../../etc/passwd", "\u202etoken", "x y"])
        return f"/{name}{suffix}{args}"

    def text_fields(self, key: str = "text", limit: int = 4096) -> Json:
        """A command or free text, with the entities Telegram would attach."""
        text = self.command_text() if self.rng.random() < 0.5 else self.odd_text(limit)
        fields: Json = {key: text}
        if entities := command_entities(text):
            fields["entities" if key == "text" else "caption_entities"] = entities
        return fields

    def content(self, chat: Json) -> Json:
        """What a message holds: text, a photo or document (maybe captioned), or other media."""
        roll = self.rng.random()
        if roll < 0.7:
            return self.text_fields()
        if roll < 0.95:
            fields = self.media()
            if self.rng.random() < 0.5:
                fields.update(self.text_fields("caption", 1024))
            return fields
        return self.other_media(chat)

    def media(self) -> Json:
        """A photo or document the sandbox serves; sometimes claiming an enormous size."""
        data = b"\xff\xd8fuzz%d" % self.serial()
        if self.rng.random() < 0.55:
            fields: Json = {"photo": self.sink.stored_photo(data)}
            target = fields["photo"][-1]
        else:
            name, mime = self.rng.choice(FILE_NAMES), self.rng.choice(MIMES)
            fields = {"document": self.sink.stored_document(name, data, mime)}
            target = fields["document"]
        if self.rng.random() < 0.1:
            target["file_size"] = self.rng.choice((0, 20 * 2**20 + 1, 2**31, 2**40))
        return fields

    def other_media(self, chat: Json) -> Json:
        """A sticker, location, contact, dice, venue or (in groups) a service message."""
        n = self.serial()
        options: list[Json] = [
            {"sticker": {"file_id": f"CAAC{n}", "file_unique_id": f"S{n}", "width": 512,
                         "height": 512, "is_animated": False, "is_video": False,
                         "type": "regular", "emoji": "👍"}},
            {"location": {"latitude": 33.6, "longitude": 119.0}},
            {"contact": {"phone_number": "+8613800000000", "first_name": "王", "user_id": 1001}},
            {"dice": {"emoji": "🎲", "value": self.rng.randint(1, 6)}},
            {"venue": {"location": {"latitude": 33.6, "longitude": 119.0}, "title": "<b>",
                       "address": "&"}},
        ]  # fmt: skip
        if chat["type"] != "private":
            options += [
                {"new_chat_members": [self.cast.bot, self.anyone()]},
                {"left_chat_member": self.rng.choice((self.cast.bot, self.anyone()))},
                {"new_chat_title": self.odd_text(128)},
                {"group_chat_created": True},
                {"migrate_to_chat_id": -1009000000000 - n},
            ]
        return self.rng.choice(options)

    def bot_message(self, chat_id: int) -> Json | None:
        """One of the bot's messages in the chat, preferring those with buttons."""
        # Drawn whatever the bot sent, so that a seed replays the same updates otherwise.
        prefer, index = self.rng.random(), self.rng.random()
        sent = self.sink.last_sent(chat_id, 30)
        with_buttons = [m for m in sent if m.get("reply_markup")]
        pool = with_buttons if with_buttons and prefer < 0.7 else sent
        return pool[int(index * len(pool))] if pool else None

    def group_sender(self, chat: Json) -> Json:
        """Who writes in a group: a member, or an anonymous admin, a channel, another bot."""
        roll = self.rng.random()
        if roll < 0.8:
            return {"from": self.anyone()}
        if roll < 0.9:
            return {"from": ANONYMOUS_ADMIN, "sender_chat": chat}
        if roll < 0.95 and self.cast.channels:
            channel = self.rng.choice(self.cast.channels)
            return {"from": TELEGRAM, "sender_chat": channel, "is_automatic_forward": True}
        return {"from": OTHER_BOT}

    # --- messages --------------------------------------------------------------------------

    def message(self) -> Json:
        """A message in a private chat (60%) or a group, maybe a reply or a forward."""
        if self.rng.random() < 0.6 or not self.cast.groups:
            user = self.anyone()
            chat, sender = private_chat(user), {"from": user}
        else:
            chat = self.rng.choice(self.cast.groups)
            sender = self.group_sender(chat)
        message = {"chat": chat, "date": self.date(), **sender, **self.content(chat)}
        if chat.get("is_forum") and self.rng.random() < 0.5:
            message.update(message_thread_id=self.rng.randint(1, 5), is_topic_message=True)
        reply, forward = self.rng.random(), self.rng.random()
        target = self.bot_message(chat["id"])
        if reply < 0.15 and target:
            message["reply_to_message"] = {
                k: v for k, v in target.items() if k != "reply_to_message"
            }
        elif forward < 0.05:
            origin = {"type": "hidden_user", "date": self.date(), "sender_user_name": "某人"}
            message["forward_origin"] = origin
        return message

    def edited(self, chat_ids: list[int], fresh: Callable[[], Json]) -> Json:
        """A new version of an earlier message in one of the chats (or of a fresh one)."""
        earlier = [
            m
            for c in chat_ids
            for m in self.history.get(c, ())[-20:]
            if {"text", "caption", "photo", "document"} & m.keys()
        ]
        base = dict(self.rng.choice(earlier)) if earlier else fresh()
        for key in ("text", "entities", "caption", "caption_entities"):
            base.pop(key, None)
        key = "caption" if "photo" in base or "document" in base else "text"
        base.update(self.text_fields(key, 1024 if key == "caption" else 4096))
        base["edit_date"] = self.date()
        return base

    def edited_message(self) -> Json:
        """An edit of an earlier private or group message."""
        chats = [*self.cast.people, *self.cast.strangers, *(g["id"] for g in self.cast.groups)]
        return self.edited(chats, self.message)

    def channel_post(self) -> Json:
        """A post in a channel: no `from`, the channel as sender; sometimes a command."""
        channel = self.rng.choice(self.cast.channels)
        post = {"chat": channel, "sender_chat": channel, "date": self.date()}
        if self.rng.random() < 0.2:
            post["author_signature"] = self.rng.choice(NAMES)
        return {**post, **self.content(channel)}

    def edited_channel_post(self) -> Json:
        """An edit of an earlier channel post."""
        return self.edited([c["id"] for c in self.cast.channels], self.channel_post)

    # --- buttons ---------------------------------------------------------------------------

    def callback_data(self) -> str:
        """Data from a real prefix with valid, garbled, unicode or huge parts, or none at all."""
        rng = self.rng
        prefix = rng.choice((*PREFIXES, *PREFIXES, "", "x", "A", "lang ", "ｃ", "c:c:c"))
        ids = (*ODD_IDS, *(str(i) for i in self.cast.issue_ids))

        def issue() -> str:
            return rng.choice(ids)

        def stamp() -> str:
            return rng.choice(("0", "deadbeef", "", "g" * 8, "zz", "-1", "²"))

        parts = {
            "lang": lambda: [rng.choice(("zh_CN", "en", "fr", *ODD_WORDS))],
            "rp": lambda: [issue()],
            "rc": lambda: [rng.choice((*(c.value for c in Category), *ODD_WORDS))],
            "ru": lambda: [rng.choice((*(u.value for u in Urgency), *ODD_WORDS))],
            "a": lambda: [rng.choice((*(a.value for a in Action), *ODD_WORDS)), issue(), stamp()],
            "co": lambda: [issue(), issue(), stamp()],
            "rt": lambda: [issue(), rng.choice((*(r.value for r in Rating), *ODD_WORDS)), stamp()],
            "pg": lambda: [rng.choice(("my", "inbox", *ODD_WORDS)), issue()],
            "c": lambda: [issue()],
            "f": lambda: [issue()],
        }.get(prefix, lambda: [])()
        if rng.random() < 0.15 and parts:
            parts.pop(rng.randrange(len(parts)))
        if rng.random() < 0.15:
            parts += [issue() for _ in range(rng.randint(1, 4))]
        data = ":".join((prefix, *parts)) if parts or rng.random() < 0.5 else prefix
        if rng.random() < 0.05:
            data += ":" + "9" * rng.randint(60, 200)  # over Telegram's 64 bytes
        return data

    def callback_query(self) -> Json:
        """A press: on a real bot message (its own button or forged data), an inaccessible
        message, an inline message, or a game button; in private chats and groups."""
        rng, user = self.rng, self.anyone()
        query: Json = {"id": f"fuzz{self.serial()}", "from": user}
        roll = rng.random()
        chat = private_chat(user) if roll < 0.75 or not self.cast.groups else None
        if chat is None and roll < 0.95:
            chat = rng.choice(self.cast.groups)
        if chat is None:
            query.update(inline_message_id=f"AgAAAF{self.serial()}", chat_instance="-1")
        else:
            query["chat_instance"] = f"{abs(chat['id'])}77"
            accessible, gone = rng.random() < 0.9, rng.randint(1, 10**6)
            target = self.bot_message(chat["id"])
            target = target if accessible else None
            query["message"] = target or {"chat": chat, "message_id": gone, "date": 0}
            buttons = [
                b["callback_data"]
                for row in (target or {}).get("reply_markup", {}).get("inline_keyboard", [])
                for b in row
                if "callback_data" in b
            ]
            own, index = rng.random(), rng.random()
            if buttons and own < 0.6:
                query["data"] = buttons[int(index * len(buttons))]
        forged, game = self.callback_data(), rng.random() < 0.03
        if game:
            query["game_short_name"] = "game"
        elif "data" not in query:
            query["data"] = forged
        return query

    # --- everything else Telegram can deliver ----------------------------------------------

    def business_chat(self) -> Json:
        """A business account's private chat with one of its customers."""
        uid = self.rng.choice(BUSINESS_CHATS)
        return {"id": uid, "type": "private", "first_name": f"Customer {uid}"}

    def business_connection(self) -> Json:
        """A person (bound or not) connects the bot to their business account."""
        user = self.anyone()
        return {
            "id": f"BC{self.rng.randint(1, 3)}",
            "user": user,
            "user_chat_id": user["id"],
            "date": self.date(),
            "is_enabled": self.rng.random() < 0.7,
            "rights": {"can_reply": True},
        }

    def business_message(self) -> Json:
        """A message in a connected business chat, from the customer or the account owner."""
        chat = self.business_chat()
        sender = chat_user(chat) if self.rng.random() < 0.5 else self.anyone()
        message = {"chat": chat, "from": sender, "date": self.date(), **self.content(chat)}
        return {**message, "business_connection_id": f"BC{self.rng.randint(1, 3)}"}

    def edited_business_message(self) -> Json:
        """An edit in a business chat."""
        return self.edited(list(BUSINESS_CHATS), self.business_message)

    def deleted_business_messages(self) -> Json:
        """Messages deleted from a business chat."""
        ids = [self.rng.randint(1, 50) for _ in range(self.rng.randint(1, 5))]
        chat = self.business_chat()
        return {"business_connection_id": "BC1", "chat": chat, "message_ids": ids}

    def reaction(self) -> Json:
        """A reaction type."""
        return self.rng.choice(
            (
                {"type": "emoji", "emoji": self.rng.choice(("👍", "🔥", "❤", "👎"))},
                {"type": "custom_emoji", "custom_emoji_id": "5368324170671202286"},
                {"type": "paid"},
            )
        )

    def reacted_chat(self) -> tuple[Json, Json | None]:
        """A chat with a message to react to (a bot message when there is one)."""
        user = self.anyone()
        chat = private_chat(user)
        if self.cast.groups and self.rng.random() < 0.4:
            chat = self.rng.choice(self.cast.groups)
        return chat, user

    def message_reaction(self) -> Json:
        """Someone changes their reaction to a message (anonymously in groups: as the chat)."""
        chat, user = self.reacted_chat()
        target, gone = self.bot_message(chat["id"]), self.rng.randint(1, 999)
        update: Json = {
            "chat": chat,
            "message_id": target["message_id"] if target else gone,
            "date": self.date(),
            "old_reaction": [self.reaction()] if self.rng.random() < 0.3 else [],
            "new_reaction": [self.reaction()] if self.rng.random() < 0.8 else [],
        }
        if chat["type"] != "private" and self.rng.random() < 0.3:
            update["actor_chat"] = chat
        else:
            update["user"] = user
        return update

    def message_reaction_count(self) -> Json:
        """Anonymous reaction counts on a group or channel message."""
        chat = self.rng.choice([*self.cast.groups, *self.cast.channels])
        reactions = [{"type": self.reaction(), "total_count": self.rng.randint(1, 99)}]
        date, message_id = self.date(), self.rng.randint(1, 999)
        return {"chat": chat, "message_id": message_id, "date": date, "reactions": reactions}

    def inline_query(self) -> Json:
        """@bot query typed in any chat (the bot does not offer inline mode)."""
        query: Json = {
            "id": str(self.serial()),
            "from": self.anyone(),
            "query": self.odd_text(256),
            "offset": self.rng.choice(("", "10", "x")),
        }
        if self.rng.random() < 0.7:
            chat_type = ("sender", "private", "group", "supergroup", "channel")
            query["chat_type"] = self.rng.choice(chat_type)
        return query

    def chosen_inline_result(self) -> Json:
        """An inline result was chosen."""
        result = {"result_id": str(self.serial()), "from": self.anyone(), "query": "2026"}
        if self.rng.random() < 0.5:
            result["inline_message_id"] = f"AgAAAF{self.serial()}"
        return result

    def shipping_query(self) -> Json:
        """A shipping query (the bot sells nothing)."""
        address = {
            "country_code": "CN",
            "state": "江苏",
            "city": "淮安",
            "street_line1": self.odd_text(64),
            "street_line2": "",
            "post_code": "223001",
        }
        return {
            "id": f"ship{self.serial()}",
            "from": self.anyone(),
            "invoice_payload": self.rng.choice(("", "x", "c:1")),
            "shipping_address": address,
        }

    def pre_checkout_query(self) -> Json:
        """A pre-checkout query (the bot sells nothing)."""
        return {
            "id": f"pay{self.serial()}",
            "from": self.anyone(),
            "currency": self.rng.choice(("CNY", "XTR", "USD")),
            "total_amount": self.rng.choice((1, 100, 2**31)),
            "invoice_payload": self.rng.choice(("", "x", "rs")),
        }

    def purchased_paid_media(self) -> Json:
        """Someone bought paid media (the bot sends none)."""
        return {"from": self.anyone(), "paid_media_payload": self.odd_text(128)}

    def poll(self) -> Json:
        """A poll's new state."""
        options = [
            {"text": t, "voter_count": self.rng.randint(0, 9), "persistent_id": str(n)}
            for n, t in enumerate(("是", "否"))
        ]
        return {
            "id": str(self.serial()),
            "question": self.odd_text(300),
            "options": options,
            "total_voter_count": sum(o["voter_count"] for o in options),
            "is_closed": self.rng.random() < 0.5,
            "is_anonymous": self.rng.random() < 0.5,
            "type": "regular",
            "allows_multiple_answers": False,
            "allows_revoting": True,
            "members_only": False,
        }

    def poll_answer(self) -> Json:
        """A vote (or its retraction), by a user or as a chat."""
        options = self.rng.choice(([], [0], [1]))
        answer: Json = {"poll_id": str(self.serial()), "option_ids": options}
        answer["option_persistent_ids"] = [str(n) for n in options]
        if self.cast.groups and self.rng.random() < 0.2:
            answer["voter_chat"] = self.rng.choice(self.cast.groups)
        else:
            answer["user"] = self.anyone()
        return answer

    def member(self, user: Json, status: str) -> Json:
        """A ChatMember of a status, with the fields that status requires."""
        member: Json = {"user": user, "status": status}
        if status == "kicked":
            member["until_date"] = 0
        elif status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(dict.fromkeys(ADMIN_RIGHTS, True))
        return member

    def member_change(self, subject: Json, chats: list[Json]) -> Json:
        """A ChatMemberUpdated: someone's status changes in one of the chats."""
        statuses = ("member", "administrator", "left", "kicked", "creator")
        old, new = self.rng.sample(statuses, 2)
        return {
            "chat": self.rng.choice(chats),
            "from": self.anyone(),
            "date": self.date(),
            "old_chat_member": self.member(subject, old),
            "new_chat_member": self.member(subject, new),
        }

    def my_chat_member(self) -> Json:
        """The bot's own status changes: added to or removed from a group, blocked in private."""
        if self.rng.random() < 0.4:
            user = self.anyone()
            change = self.member_change(self.cast.bot, [private_chat(user)])
            change["from"] = user
            return change
        return self.member_change(self.cast.bot, [*self.cast.groups, *self.cast.channels])

    def chat_member(self) -> Json:
        """Someone's status changes in a group."""
        return self.member_change(self.anyone(), self.cast.groups or self.cast.channels)

    def chat_join_request(self) -> Json:
        """Someone asks to join a supergroup or channel."""
        user = self.anyone()
        link = {
            "invite_link": "https://t.me/+AbCd…",
            "creator": self.cast.bot,
            "creates_join_request": True,
            "is_primary": False,
            "is_revoked": False,
        }
        return {
            "chat": self.rng.choice([*self.cast.groups, *self.cast.channels]),
            "from": user,
            "user_chat_id": user["id"],
            "date": self.date(),
            "bio": self.odd_text(70),
            "invite_link": link,
        }

    def boost_source(self) -> Json:
        """Where a boost came from."""
        return self.rng.choice(
            (
                {"source": "premium", "user": self.anyone()},
                {"source": "gift_code", "user": self.anyone()},
                {"source": "giveaway", "giveaway_message_id": 1, "is_unclaimed": True},
            )
        )

    def chat_boost(self) -> Json:
        """A chat was boosted."""
        date = self.date()
        boost = {"boost_id": str(self.serial()), "add_date": date, "expiration_date": date + 86400}
        chat = self.rng.choice([*self.cast.channels, *self.cast.groups])
        return {"chat": chat, "boost": {**boost, "source": self.boost_source()}}

    def removed_chat_boost(self) -> Json:
        """A boost was removed."""
        chat = self.rng.choice([*self.cast.channels, *self.cast.groups])
        return {
            "chat": chat,
            "boost_id": str(self.serial()),
            "remove_date": self.date(),
            "source": self.boost_source(),
        }

    def managed_bot(self) -> Json:
        """A bot managed by this one was created or changed."""
        managed = {"id": 7_000_000_000 + self.serial(), "is_bot": True, "first_name": "Managed"}
        return {"user": self.anyone(), "bot": {**managed, "username": "managed_bot"}}

    def guest_message(self) -> Json:
        """A guest query: someone calls the bot in a chat it is not a member of."""
        user = self.anyone()
        chat = {"id": -4_500_000_000 - self.rng.randint(1, 9), "type": "group", "title": "外部"}
        text = f"@{self.cast.bot['username']} " + self.odd_text(200)
        message = {"message_id": self.serial(), "chat": chat, "from": user, "date": self.date()}
        return {**message, "text": text, "guest_query_id": f"guest{self.serial()}"}


def chat_user(chat: Json) -> Json:
    """The user on the other side of a private chat."""
    return {"id": chat["id"], "is_bot": False, "first_name": chat.get("first_name", "User")}


class Memory:
    """A `Sink` without a server, for checking what the generator builds: ids per chat, and in
    every chat one bot message with the buttons the bot really draws."""

    def __init__(self, bot: Json) -> None:
        self.bot = bot
        self.next_ids: dict[int, int] = {}
        self.chats: dict[int, Json] = {}
        self.files = 0
        self.updates = 0

    def push_update(self, kind: str, payload: Json) -> Json:
        """Number the update; give a new message its chat's next id."""
        if kind in MESSAGE_KINDS and "message_id" not in payload:
            chat_id = payload["chat"]["id"]
            self.chats.setdefault(chat_id, payload["chat"])
            self.next_ids[chat_id] = self.next_ids.get(chat_id, 1) + 1
            payload = {"message_id": self.next_ids[chat_id], **payload}
        self.updates += 1
        return {"update_id": self.updates, kind: payload}

    def last_sent(self, chat_id: int, count: int) -> list[Json]:
        """One bot message with a card's buttons, in any chat seen so far."""
        if chat_id not in self.chats:
            return []
        accept = {"text": "受理", "callback_data": "a:accept:1:1a2b3c4d"}
        rows = [[accept], [{"text": "◀", "callback_data": "pg:my:0"}, {"text": "x", "url": "x"}]]
        chat = self.chats[chat_id]
        message = {"message_id": 1, "from": self.bot, "chat": chat, "date": 0, "text": "卡片"}
        return [{**message, "reply_markup": {"inline_keyboard": rows}}]

    def stored_photo(self, data: bytes) -> list[Json]:
        """A photo array with a made-up file id."""
        self.files += 1
        photo = {"file_id": f"P{self.files}", "file_unique_id": f"U{self.files}"}
        return [{**photo, "file_size": len(data), "width": 800, "height": 600}]

    def stored_document(self, name: str | None, data: bytes, mime: str | None) -> Json:
        """A document with a made-up file id."""
        self.files += 1
        document: Json = {"file_id": f"D{self.files}", "file_unique_id": f"U{self.files}"}
        if name:
            document["file_name"] = name
        if mime:
            document["mime_type"] = mime
        return document
