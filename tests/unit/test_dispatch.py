"""What the outbox dispatcher is given to send, checked when it is built (the dispatcher itself:
tests/services/test_dispatch.py)."""

from __future__ import annotations

import pytest

from jobs.channels import Attachment


def test_a_caption_over_telegrams_limit_is_refused_when_built() -> None:
    tags_are_free = "<b>" + "字" * 1024 + "</b>"
    assert Attachment("a.xlsx", b"PK", caption=tags_are_free).caption == tags_are_free
    with pytest.raises(ValueError, match="caption of a"):
        Attachment("a.xlsx", b"PK", caption="字" * 1025)
