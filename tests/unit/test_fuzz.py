"""The fuzzer's generator (tests/support/fuzz_updates.py) without the app: every update it builds
is one Telegram could send, PTB reads it without a field left over, and every type PTB delivers
comes (the fuzz run against the real app: tests/e2e/test_fuzz.py; ZTC_FUZZ_SEED picks the seed
for both)."""

from __future__ import annotations

import json
import random

from telegram import Bot, TelegramObject, Update

from tests.support.chat import CONTACT
from tests.support.fuzz_updates import CHANNELS, GROUPS, KINDS, SEED, Cast, Fuzzer, Memory, kind_of


def extra_fields(obj: object, path: str = "update") -> list[str]:
    """Where PTB met fields it does not know (they land in `api_kwargs`): our typos."""
    if isinstance(obj, list | tuple):
        return [p for n, item in enumerate(obj) for p in extra_fields(item, f"{path}[{n}]")]
    if not isinstance(obj, TelegramObject):
        return []
    found = [f"{path}: {sorted(obj.api_kwargs)}"] if obj.api_kwargs else []
    for cls in type(obj).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if not name.startswith("_") and name != "api_kwargs":
                found += extra_fields(getattr(obj, name, None), f"{path}.{name}")
    return found


def test_generated_updates_deserialize_and_cover_every_type() -> None:
    bot = {"id": 123456, "is_bot": True, "first_name": "ztc", "username": "ztc_test_bot"}
    rng = random.Random(SEED)
    people = {CONTACT: {"id": CONTACT, "is_bot": False, "first_name": "王"}}
    cast = Cast(bot, people, Cast.make_strangers(rng, 8), GROUPS, CHANNELS, ["t0k"], [1, 2])
    fuzzer = Fuzzer(rng, cast, Memory(bot), now=1_795_000_000)
    telegram_bot = Bot("123456:TEST-TOKEN")
    assert set(KINDS) == {str(kind) for kind in Update.ALL_TYPES}
    for _ in range(3000):
        raw = json.loads(json.dumps(fuzzer.next(), ensure_ascii=False))  # as the wire has it
        update = Update.de_json(raw, telegram_bot)
        assert getattr(update, kind_of(raw)) is not None, raw
        assert not extra_fields(update), (extra_fields(update), raw)
    assert set(fuzzer.counts) == set(KINDS)
    assert min(fuzzer.counts.values()) >= 20, fuzzer.counts
