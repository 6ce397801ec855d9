"""Telegram-facing code: parse an update, call one service in models/, render the reply.

The chat arrives with the next release; `register(app)` will add every handler here in one block.
"""
