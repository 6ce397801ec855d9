"""`ztc demo`: the bot, a fake Telegram and a chat page in the browser, on this machine."""
