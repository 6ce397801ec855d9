"""A fake Telegram Bot API server, for end-to-end tests and the browser demo."""

from bot.sandbox.api import FakeBotAPI

__all__ = ["FakeBotAPI"]
