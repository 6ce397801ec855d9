"""Tests for models.credit_code (统一社会信用代码, GB 32100-2015)."""

from __future__ import annotations

import pytest

from models.credit_code import (
    CREDIT_CODE_ALPHABET,
    credit_check_char,
    credit_code_problem,
    normalize_credit_code,
)

# Published codes.  The first is the example commonly cited for the standard; the others are
# widely published codes of large companies (Huawei Technologies, Xiaomi).  Each passes the
# 18th-character check, which a mistyped code would do only about once in 31 times, and each
# also passes the inner GB 11714 organisation-code check.
VALID_CODES = [
    "91350100M000100Y43",
    "914403001922038216",
    "91110108551385082Q",
]

# GB 11714 organisation-code alphabet and weights, used only to build a code whose inner
# check digit is wrong (which the validator must not reject).
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]


def _org_check(first8: str) -> str:
    value = (
        11
        - sum(_ORG_ALPHABET.index(c) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True)) % 11
    )
    return {10: "X", 11: "0"}.get(value, str(value))


def test_alphabet_has_31_distinct_chars_without_forbidden_letters() -> None:
    assert len(CREDIT_CODE_ALPHABET) == 31
    assert len(set(CREDIT_CODE_ALPHABET)) == 31
    for ch in "IOZSV":
        assert ch not in CREDIT_CODE_ALPHABET


@pytest.mark.parametrize("code", VALID_CODES)
def test_valid_codes_pass(code: str) -> None:
    assert credit_code_problem(code) is None


@pytest.mark.parametrize("code", VALID_CODES)
def test_every_other_check_char_fails_with_check(code: str) -> None:
    prefix, check = code[:-1], code[-1]
    others = [ch for ch in CREDIT_CODE_ALPHABET if ch != check]
    assert len(others) == 30
    for ch in others:
        assert credit_code_problem(prefix + ch) == "check", prefix + ch


@pytest.mark.parametrize("code", VALID_CODES)
def test_prefix_round_trips_through_check_char(code: str) -> None:
    assert credit_check_char(code[:17]) == code[17]


def test_check_value_31_maps_to_zero() -> None:
    # All-zero prefix: weighted sum 0, 31 - 0 = 31 -> check value 0 -> "0".
    assert credit_check_char("0" * 17) == "0"
    assert credit_code_problem("0" * 18) is None


def test_inner_organisation_code_check_is_not_enforced() -> None:
    org8 = "12345678"
    wrong = "0" if _org_check(org8) != "0" else "1"
    first17 = "91320800" + org8 + wrong
    code = first17 + credit_check_char(first17)
    assert _org_check(org8) != wrong
    assert credit_code_problem(code) is None


@pytest.mark.parametrize(
    "raw",
    [
        "91350100m000100y43",
        "  91350100M000100Y43\n",
        "\t91350100 M000100 Y43 ",
        "91350100m000100Y43",
    ],
)
def test_lowercase_and_whitespace_are_normalized(raw: str) -> None:
    assert normalize_credit_code(raw) == "91350100M000100Y43"
    assert credit_code_problem(raw) is None


@pytest.mark.parametrize(
    "code",
    ["", "9135010", "91350100M000100Y4", "91350100M000100Y430", "91350100M000100Y43X"],
)
def test_wrong_length(code: str) -> None:
    assert credit_code_problem(code) == "length"


@pytest.mark.parametrize("letter", list("IOZSV"))
def test_forbidden_letter_is_alphabet_problem(letter: str) -> None:
    # Replace a body character, and separately the check character.
    body = "91350100" + letter + "000100Y43"
    assert len(body) == 18
    assert credit_code_problem(body) == "alphabet"
    assert credit_code_problem("91350100M000100Y4" + letter) == "alphabet"
    # Lower-case forbidden letters are upper-cased first and still rejected.
    assert credit_code_problem(body.lower()) == "alphabet"


@pytest.mark.parametrize(
    "code", ["91350100M000100Y4-", "91350100M000100Y4Ä", "９1350100M000100Y43"]
)
def test_other_foreign_characters_are_alphabet_problem(code: str) -> None:
    assert len(code) == 18
    assert credit_code_problem(code) == "alphabet"


def test_credit_check_char_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        credit_check_char("91350100M000100Y")  # 16 chars
    with pytest.raises(ValueError):
        credit_check_char("91350100M000100Y43")  # 18 chars
    with pytest.raises(ValueError):
        credit_check_char("91350100I000100Y4")  # forbidden letter
    with pytest.raises(ValueError):
        credit_check_char("91350100m000100y4")  # not normalised


def test_a_letter_for_the_registering_authority_is_a_valid_code() -> None:
    # GB 32100: the first character may be A, N or Y; stdnum's `validate` wants digits there
    # (why models/credit_code.py takes only its check character)
    first17 = "Y1350100M000100Y4"
    code = first17 + credit_check_char(first17)
    assert credit_code_problem(code) is None
    assert credit_code_problem(code[:-1] + ("0" if code[-1] != "0" else "1")) == "check"
