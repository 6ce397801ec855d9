"""Unit: pure rules, no database, no network, no app; `pytest tests/unit` runs in seconds.

The database fixtures of tests/conftest.py are refused here, so a unit test that reaches for one
fails saying where it belongs instead of quietly migrating a database.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def database_url() -> str:
    """No database in the unit layer (`engine`, `session` and `world` come through here)."""
    pytest.fail(
        "a unit test takes no database: this test belongs in tests/services", pytrace=False
    )
