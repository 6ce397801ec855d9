"""The error handler tells the admins: once per kind of error and hour, the repeats counted."""

from __future__ import annotations

from handlers import signature
from models.errors import InvalidInput
from models.text import checked_text


def test_a_signature_names_the_type_and_our_line_never_the_message() -> None:
    try:
        checked_text("王先生 13800000000" * 400, "note", required=True)  # too long
    except InvalidInput as exc:
        ours = exc
    try:
        raise KeyError("王先生的手机号 13800000000")  # raised in a test: not our code
    except KeyError as exc:
        elsewhere = exc
    assert signature(ours).startswith("InvalidInput@models/text.py:")
    assert signature(elsewhere) == "KeyError@?"
    assert "138" not in signature(ours) + signature(elsewhere)
    assert signature(None) == "unknown"
