"""The CSV importer's rejections as the admin reads them, in each language (the importer itself,
on a real database: tests/services/test_importer.py)."""

from __future__ import annotations

import pytest

from locales.formats import row_error_text
from models.importer import RowError


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
@pytest.mark.parametrize(
    ("reason", "params"),
    [
        ("duplicate_column", {"column": "name"}),
        ("bad_digits", {"column": "investment_wan", "value": "１０００"}),
        ("too_large", {"column": "investment_wan", "value": "100000001", "limit": "100000000"}),
    ],
)
def test_new_reasons_read_with_their_parameters(
    locale: str, reason: str, params: dict[str, str]
) -> None:
    text = row_error_text("projects.csv", RowError(3, reason, params), locale)
    assert text.startswith("projects.csv:3: ") and "?" not in text
    assert all(value in text for value in params.values())
