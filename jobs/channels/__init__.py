"""The seam between the outbox and the services that carry its notices.

A notice is rendered at delivery, channel-neutral (`Rendered`: markup text, rows of `Button`s,
files); a `Channel` cuts it into the messages it sends (`parts`) and sends them one at a time
(`send`), within its own rate limits. The dispatcher (jobs/dispatch.py) keeps everything else:
the lease, the order per recipient, retries and back-off, and `Outbox.parts_sent`.

`send` returns when the part is delivered, or raises one of the outcomes below; anything else it
raises is a fault of ours (a bug, the database), not the endpoint's, and the row is left to its
lease. Telegram is jobs/channels/telegram.py; the group robots (WeCom, DingTalk, Feishu) and the
signed JSON webhook are jobs/channels/groups.py and the modules beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from jobs.textsplit import visible_length

CAPTION_LIMIT = 1024  # visible characters: the smallest any channel takes (Telegram's)


@dataclass(frozen=True)
class Button:
    """A button under a notice: what it says, and the action code a press sends back.

    The code is what the chat's handlers parse (on Telegram, the callback data); a channel that
    has no buttons shows the labels or leaves them out.
    """

    label: str
    code: str


Buttons = tuple[tuple[Button, ...], ...]  # rows, top to bottom


@dataclass(frozen=True)
class Attachment:
    """A file sent after a notice's text: a document (any file) or a photo (shown inline).

    `caption` is markup of at most `CAPTION_LIMIT` visible characters; a longer one is refused
    here rather than trimmed, so render fails before anything is sent instead of a channel
    refusing the file after the text went out. Telegram takes documents up to 50 MB and photos
    up to 10 MB (and at most 10,000 pixels width plus height).
    """

    name: str
    data: bytes
    kind: Literal["document", "photo"] = "document"
    caption: str | None = None

    def __post_init__(self) -> None:
        """Refuse a caption a channel would refuse."""
        if self.caption and visible_length(self.caption) > CAPTION_LIMIT:
            raise ValueError(f"caption of {self.name} over {CAPTION_LIMIT} characters")


@dataclass(frozen=True)
class Rendered:
    """A notice as the reader gets it, on any channel.

    `text` is Telegram's HTML subset (<b>, <i>, <a>, <code>, entities), which every channel
    converts; `buttons` go under the text (on its last part); the files follow it. A channel
    that cannot carry the files says `elsewhere` (markup too: where to get them) instead, and
    a channel that has to shorten the text says so in `locale`, the reader's language. `key` is
    the outbox row's dedupe key (the dispatcher sets it): a receiver's idempotency key.
    """

    text: str
    buttons: Buttons = ()
    files: tuple[Attachment, ...] = ()
    elsewhere: str = ""
    locale: str = "zh_CN"
    key: str = ""


class DeliveryError(Exception):
    """Why a part was not delivered; `str(error)` is what the outbox row records."""


class Transient(DeliveryError):
    """It may work later (a network error, a 5xx): the dispatcher backs off and counts a try."""


class RetryLater(DeliveryError):
    """The endpoint said when to come back: nothing was sent, and it is not a failed try."""

    def __init__(self, seconds: float) -> None:
        """Come back after `seconds`."""
        super().__init__(f"retry after {seconds:g}s")
        self.seconds = seconds


class Unreachable(DeliveryError):
    """The endpoint will not take messages from us (a person blocked the bot).

    A person's rows are then held until they come back; an address's rows back off as for a
    transient error, and fail once out of tries.
    """


class Rejected(DeliveryError):
    """The endpoint refused this message: sending it again would fail again. Failed for good."""


class Moved(DeliveryError):
    """The address has a new one (a Telegram group that became a supergroup).

    The dispatcher re-addresses every pending row of the old address and sends there at once.
    """

    def __init__(self, address: str) -> None:
        """The address to use from now on."""
        super().__init__(f"moved to {address}")
        self.address = address


P = TypeVar("P")


class Channel(Protocol[P]):
    """A service that carries notices: Telegram, a group robot, a signed webhook.

    `person_address` names the column of `Official` and `Contact` that holds a person's address
    here (Telegram: `chat_id`, their private chat), or is None when the channel reaches groups
    and endpoints only: a row for a person on such a channel fails for good.
    """

    @property
    def person_address(self) -> str | None:
        """The person's column holding their address here, or None."""
        ...

    def parts(self, message: Rendered) -> Sequence[P]:
        """The messages `message` is sent as, in order (never empty).

        Deterministic: a retry asks again and resumes after the parts already delivered. Raises
        `Rejected` for a message this channel can never carry.
        """
        ...

    async def send(self, address: str, part: P) -> None:
        """Deliver one part to `address`, waiting for the channel's rate limits first.

        Raises `RetryLater`, `Unreachable`, `Rejected`, `Moved` or `Transient`.
        """
        ...
