"""Keep the bot token out of every log line and error message.

The token is the bot's password, and it travels where logs go: PTB logs the Bot API URL
(`…/bot<TOKEN>`) at DEBUG, and `InvalidToken` names it in its message, hence in tracebacks.
`mask_token` rewrites a text; `TokenMask` is a logging filter that rewrites a record — its message
with the arguments filled in, its traceback and stack — before any formatter prints it.

A token is `<bot id>:<secret>` (BotFather's secret: 35 characters of A-Z a-z 0-9 _ -). Only the
secret is hidden: the bot id is public (it is the bot's user id) and tells the admin which bot a
line is about. The configured token is masked exactly, whatever its shape; anything else shaped
like a token (a second bot's, a token pasted into a message) is masked too.

The group robots' secrets go the same way (`mask_secrets`): the values of the variables the
policy's groups name, exactly, and whatever sits where a robot's URL keeps its key (WeCom's
`key=`, DingTalk's `access_token=` and `sign=`, Feishu's `/hook/<token>`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote

# Bot id digits, a colon (or %3A inside a URL), a secret of 30+ token characters. Real secrets
# are 35 characters; Telegram's own documentation shows 34-character examples, so allow fewer.
TOKEN_SHAPE = re.compile(r"(?<![0-9])([0-9]{5,16})(?::|%3[Aa])[A-Za-z0-9_-]{30,}")
HIDDEN = "***"
URL_SECRET = re.compile(
    r"((?:[?&](?:key|access_token|sign|secret|token)=)|/hook/)[^&\s\"'#<>]+", re.IGNORECASE
)
LogArgs = tuple[object, ...] | Mapping[str, object] | None  # LogRecord.args


def mask_token(text: str, token: str | None = None) -> str:
    """`text` with `token`, and anything shaped like a bot token, shown as `<bot id>:***`."""
    if token:
        masked = _masked(token)
        for form in (token, quote(token, safe="")):  # as is, and as written inside a URL
            text = text.replace(form, masked)
    return TOKEN_SHAPE.sub(rf"\1:{HIDDEN}", text)


def mask_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with each of `secrets` (as is and URL-encoded) and any robot URL's key hidden."""
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        for form in (secret, quote(secret, safe="")):
            text = text.replace(form, HIDDEN)
    return URL_SECRET.sub(rf"\1{HIDDEN}", text)


def _masked(token: str) -> str:
    bot_id, colon, _secret = token.partition(":")
    return f"{bot_id}:{HIDDEN}" if colon and bot_id.isdigit() else HIDDEN


class TokenMask(logging.Filter):
    """A handler filter that masks the bot token in a record's message, arguments and traceback.

    Put it on *handlers*: a logger's filters do not see records propagated from its children
    (`telegram.ext`, `httpx` …), a handler's filters see every record it prints.
    """

    def __init__(self, token: str | None = None, secrets: Iterable[str] = ()) -> None:
        """Mask `token` exactly (when set), anything shaped like a bot token, and `secrets`."""
        super().__init__()
        self.token, self.secrets = token, tuple(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drop it."""
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: let the handler report it, with masked parts
            record.msg = self._mask(str(record.msg))
            record.args = self._mask_args(record.args)
        else:
            record.msg, record.args = self._mask(message), ()
        if record.exc_info and not record.exc_text:
            # Formatter.format prints exc_text when set: format the traceback here to mask it
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self._mask(record.stack_info)
        return True

    def _mask(self, text: str) -> str:
        return mask_secrets(mask_token(text, self.token), self.secrets)

    def _mask_args(self, args: LogArgs) -> LogArgs:
        if isinstance(args, tuple):
            return tuple(self._mask(a) if isinstance(a, str) else a for a in args)
        if isinstance(args, Mapping):
            return {k: self._mask(v) if isinstance(v, str) else v for k, v in args.items()}
        return args


def mask_log_handlers(token: str | None = None, secrets: Iterable[str] = ()) -> None:
    """Put a TokenMask on every handler of the root logger (once; a new call replaces it)."""
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, TokenMask)]:
            handler.removeFilter(old)
        handler.addFilter(TokenMask(token, secrets))
