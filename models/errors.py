"""Typed domain errors: each carries a code and parameters; the presentation layer translates."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule refused something. `code` picks the translated message; `params` fill it."""

    code = "domain_error"

    def __init__(self, **params: Any) -> None:
        """Keep the parameters for the message."""
        self.params = params
        detail = ", ".join(f"{k}={v}" for k, v in params.items())
        super().__init__(f"{self.code}: {detail}" if detail else self.code)


class NotFound(DomainError):
    """No such thing: params `entity`, `key`."""

    code = "not_found"


class NotAllowed(DomainError):
    """This actor may not do this: params `action`, `issue`."""

    code = "not_allowed"


class InvalidTransition(DomainError):
    """Not from this state: params `action`, `issue`, `status`."""

    code = "invalid_transition"


class AtTop(DomainError):
    """Nowhere higher on the ladder: params `issue`."""

    code = "at_top"


class InvalidInput(DomainError):
    """A value is not acceptable: params `field`, `reason` (a code), and detail params."""

    code = "invalid_input"


class InviteRefused(DomainError):
    """An invite cannot be used: param `reason` is unknown, used or expired."""

    code = "invite_refused"


class TooMany(DomainError):
    """Over an abuse limit of the policy ([limits]): params `limit` (its key, such as
    reports_per_contact_per_day), `allowed` (the limit) and `count` (how many were had)."""

    code = "too_many"
