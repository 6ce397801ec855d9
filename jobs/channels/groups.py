"""What the group channels share: a destination's address resolved to its URL and secret, each
destination's own rate limit, one HTTP request with its failures as the channel's outcomes.

A group destination is named in the policy (`[audiences.<job>] groups`, models/policy.py:
`Group`) by the environment variables that hold its key or URL and its signing secret; an
outbox row's address is the group's name. The values are read when a message goes, from the
environment (and the `.env` file) through `lookup`: never from the policy file, never written
to the outbox or a log line (bot/logmask.py masks them).

The channels here are jobs/channels/wecom.py, dingtalk.py, feishu.py and webhook.py; the
dispatcher (jobs/dispatch.py) keeps the lease, the order per destination and the back-off.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

import httpx

from jobs.channels import Rejected, Rendered, RetryLater, Transient, Unreachable
from jobs.channels.markdown import fit, size
from locales import gettext_for
from models.policy import Group

Lookup = Callable[[str], str | None]  # an environment variable's value, or None
Limit = tuple[int, float]  # at most this many messages in any this many seconds
P = TypeVar("P")


@dataclass(frozen=True)
class Target:
    """Where one destination's messages go: its URL (the key is in it) and signing secret."""

    url: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Answer:
    """What the endpoint answered: the HTTP status, the body, and the body as JSON if it is."""

    status: int
    text: str
    body: dict[str, Any] | None = None
    retry_after: float | None = None

    @classmethod
    def of(cls, response: httpx.Response) -> Answer:
        """Read a response."""
        try:
            body = response.json()
        except ValueError:
            body = None
        wait = response.headers.get("Retry-After", "")
        return cls(
            response.status_code,
            response.text,
            body if isinstance(body, dict) else None,
            float(wait) if wait.replace(".", "", 1).isdigit() else None,
        )

    def code(self, *names: str) -> int | None:
        """The first of the body's fields `names` that is a number (errcode, code …)."""
        for name in names:
            value = (self.body or {}).get(name)
            if isinstance(value, int):
                return value
        return None

    def __str__(self) -> str:
        """HTTP status and body, as `ztc channels test` prints it."""
        return f"HTTP {self.status}: {self.text.strip()}"


class Window:
    """At most `count` messages in any `seconds` (a sliding window).

    Not aiolimiter's leaky bucket: a bucket of 20 a minute lets 20 go at once and then one every
    three seconds, so 39 in the first minute; the robots count any 60 seconds, and answer the
    21st with an error (DingTalk then refuses everything for ten minutes).
    """

    def __init__(self, count: int, seconds: float, clock: Callable[[], float]) -> None:
        """An empty window."""
        self.count, self.seconds, self.clock = count, seconds, clock
        self._sent: deque[float] = deque()
        self._lock = asyncio.Lock()

    def wait(self) -> float:
        """Seconds until one more message fits (0: now)."""
        now = self.clock()
        while self._sent and self._sent[0] <= now - self.seconds:
            self._sent.popleft()
        if len(self._sent) < self.count:
            return 0.0
        return self._sent[0] + self.seconds - now

    async def take(self) -> None:
        """Wait until one more message fits, and count it; callers go in turn."""
        async with self._lock:
            while (seconds := self.wait()) > 0:  # noqa: ASYNC110 (a time is awaited, not an event)
                await asyncio.sleep(seconds)
            self._sent.append(self.clock())


class GroupChannel(Generic[P]):
    """A channel to group destinations over HTTPS: a robot's webhook or a signed endpoint.

    Subclasses say how a notice becomes parts (`parts`), how a part is posted (`post`), how a
    key becomes a URL (`url_for_key`) and what the platform's answer means (`verdict`).
    """

    kind: ClassVar[str]
    api_url: ClassVar[str] = ""
    limits: ClassVar[tuple[Limit, ...]] = ((20, 60.0),)
    # How long to wait after the platform's own "too many" answer.
    throttle_wait: ClassVar[float] = 60.0
    person_address = None  # groups only: a row for a person on this channel fails for good

    def __init__(
        self,
        *,
        groups: Mapping[str, Group] | None = None,
        lookup: Lookup = os.environ.get,
        api_url: str | None = None,
        client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        limits: Sequence[Limit] | None = None,
        throttle_wait: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        """Reach `groups` (by name), their secrets read through `lookup`.

        Without `client`, each message opens a connection of its own: a few messages a minute
        per destination need no pool, and nothing is left to close at shutdown. `clock` paces
        (monotonic), `wall` signs (the platforms compare it with theirs).
        """
        self.groups = {name: g for name, g in (groups or {}).items() if g.channel == self.kind}
        self.lookup, self.client, self.timeout = lookup, client, timeout
        self.base = (api_url or type(self).api_url).rstrip("/")
        self._limits = tuple(limits if limits is not None else type(self).limits)
        self.wait_after_throttle = (
            type(self).throttle_wait if throttle_wait is None else throttle_wait
        )
        self.clock, self.wall = clock, wall
        self._windows: dict[str, list[Window]] = {}

    # --- what subclasses say ---------------------------------------------------------------

    def parts(self, message: Rendered) -> Sequence[P]:
        """The messages a notice is sent as."""
        raise NotImplementedError

    async def post(self, target: Target, part: P) -> Answer:
        """Send one part to `target`; the endpoint's answer (network failures raise)."""
        raise NotImplementedError

    def url_for_key(self, key: str) -> str:
        """The robot's URL from its key alone (the platform's address, or `api_url`'s)."""
        raise NotImplementedError

    def verdict(self, answer: Answer) -> None:
        """Raise the outcome a 2xx answer's body means (nothing: delivered)."""

    # --- the channel -------------------------------------------------------------------------

    def target(self, address: str) -> Target:
        """The named group's URL and secret, read now from the environment."""
        group = self.groups.get(address)
        if group is None:
            raise Rejected(f"no {self.kind} group named {address!r} in the policy")
        if group.url_env:
            url = self._env(group.url_env)
        else:
            url = self.url_for_key(self._env(group.key_env or ""))
        secret = self._env(group.secret_env) if group.secret_env else None
        return Target(url, secret)

    def _env(self, name: str) -> str:
        value = (self.lookup(name) or "").strip()
        if not value:  # a configuration to fix: backs off, and fails once out of tries
            raise Unreachable(f"{name} is not set")
        return value

    async def send(self, address: str, part: P) -> None:
        """One part to the named group, within its rate limits."""
        target = self.target(address)
        for window in self._window(address):
            await window.take()
        self.judge(await self.post(target, part))

    def _window(self, address: str) -> list[Window]:
        if address not in self._windows:
            self._windows[address] = [Window(n, s, self.clock) for n, s in self._limits]
        return self._windows[address]

    def judge(self, answer: Answer) -> None:
        """Raise what the answer means for the part: nothing when it was delivered."""
        if answer.status == 429:
            raise RetryLater(answer.retry_after or self.wait_after_throttle)
        if answer.status >= 500 or answer.status == 408:
            raise Transient(f"HTTP {answer.status}")
        if answer.status >= 400:
            raise Rejected(f"HTTP {answer.status}: {answer.text.strip()[:200]}")
        self.verdict(answer)

    def throttled(self, seconds: float | None = None) -> RetryLater:
        """The outcome of the platform's rate-limit answer."""
        return RetryLater(self.wait_after_throttle if seconds is None else seconds)

    # --- HTTP --------------------------------------------------------------------------------

    @asynccontextmanager
    async def _client(self) -> AsyncIterator[httpx.AsyncClient]:
        if self.client is not None:
            yield self.client
            return
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            yield client

    async def call(self, url: str, **request: Any) -> Answer:
        """POST to `url`; a timeout or a network failure is transient.

        The error names the failure's kind only: httpx's messages can carry the URL, and the
        URL carries the robot's key.
        """
        try:
            async with self._client() as client:
                return Answer.of(await client.post(url, **request))
        except httpx.TimeoutException as exc:
            raise Transient(f"timed out ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise Transient(f"no answer ({type(exc).__name__})") from None


def json_body(data: Any) -> bytes:
    """JSON as the platforms take it: UTF-8, Chinese as is (their limits count bytes)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def cut_note(message: Rendered) -> str:
    """The note under a text cut to a platform's limit, in the reader's language."""
    return gettext_for(message.locale)(
        "(The rest is left out: this group's messages are limited in length. "
        "The full text is in Telegram.)"
    )


def fit_with(text: str, tail: str, limit: int, message: Rendered) -> str:
    """`text` cut politely to leave room for `tail` (never cut), then `tail`, within `limit`
    bytes: the line saying where the files are survives a long bulletin."""
    if not tail:
        return fit(text, limit, cut_note(message))
    return fit(text, limit - size(tail) - 2, cut_note(message)) + "\n\n" + tail
