"""Validation of the Chinese Unified Social Credit Code (统一社会信用代码, GB 32100-2015).

A code has 18 characters drawn from a 31-character alphabet (the digits and the upper-case
Latin letters without I, O, Z, S and V); the 18th is a check character over the first 17. The
check is python-stdnum's (`stdnum.cn.uscc.calc_check_digit`), but not its `validate`: that also
wants the first eight characters to be digits, while GB 32100 lets the first (the registering
authority) be a letter — A 中央军委改革和编制办公室, N 农业, Y 其他 — so genuine codes would fail.

Positions 9-17 hold the organisation code (GB 11714), which has a check digit of its own.
That inner check is deliberately *not* enforced: a good number of genuine codes fail it.

The problem reasons returned by :func:`credit_code_problem` are short codes (``"length"``,
``"alphabet"``, ``"check"``); turning them into user-facing text is the caller's job.
"""

from __future__ import annotations

from typing import Final, Literal

from stdnum.cn import uscc

__all__ = [
    "CREDIT_CODE_ALPHABET",
    "CREDIT_CODE_LENGTH",
    "CreditCodeProblem",
    "credit_check_char",
    "credit_code_problem",
    "normalize_credit_code",
]

CREDIT_CODE_ALPHABET: Final[str] = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 characters a credit code may contain, in value order (``alphabet[v]`` has value v)."""

CREDIT_CODE_LENGTH: Final[int] = 18
"""Number of characters in a credit code, the check character included."""

CreditCodeProblem = Literal["length", "alphabet", "check"]
"""Reason codes returned by :func:`credit_code_problem`."""


def credit_check_char(first17: str) -> str:
    """Return the check character (18th position) for the first 17 characters of a code.

    ``first17`` must be exactly 17 characters of :data:`CREDIT_CODE_ALPHABET`, already
    upper-case (no normalisation happens here).

    Raises:
        ValueError: if ``first17`` has the wrong length or contains a character outside the
            alphabet.
    """
    if len(first17) != CREDIT_CODE_LENGTH - 1:
        raise ValueError(
            f"expected {CREDIT_CODE_LENGTH - 1} characters, got {len(first17)}: {first17!r}"
        )
    for pos, ch in enumerate(first17, 1):
        if ch not in CREDIT_CODE_ALPHABET:
            raise ValueError(f"character {ch!r} at position {pos} is not allowed in a credit code")
    return str(uscc.calc_check_digit(first17))


def normalize_credit_code(raw: str) -> str:
    """Return ``raw`` with all whitespace removed and letters upper-cased.

    Whitespace anywhere (leading, trailing, or inside, as in codes copied with spaces) is
    dropped.  Nothing else is changed; the result is not necessarily a valid code.
    """
    return "".join(raw.split()).upper()


def credit_code_problem(code: str) -> CreditCodeProblem | None:
    """Check a credit code and return ``None`` if it is valid, else the reason code.

    The input is normalised first (:func:`normalize_credit_code`), so lower case and stray
    whitespace are accepted.  Checks, in order:

    - ``"length"``: not exactly 18 characters;
    - ``"alphabet"``: a character outside :data:`CREDIT_CODE_ALPHABET` (e.g. I, O, Z, S, V);
    - ``"check"``: the 18th character does not match the check computed from the first 17.

    The organisation code's own check digit (positions 9-17, GB 11714) is not verified.
    """
    normalized = normalize_credit_code(code)
    if len(normalized) != CREDIT_CODE_LENGTH:
        return "length"
    if any(ch not in CREDIT_CODE_ALPHABET for ch in normalized):
        return "alphabet"
    if credit_check_char(normalized[:-1]) != normalized[-1]:
        return "check"
    return None
