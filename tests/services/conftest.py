"""Services: the domain, the jobs and the CLI on a real database (the `engine`, `session` and
`world` fixtures are in tests/conftest.py, shared with tests/e2e)."""

from __future__ import annotations

import os

import pytest

from tests.support.database import IN_CI, PG_URL


@pytest.fixture
def postgres_url() -> str:
    """PostgreSQL's URL, for tests that need it; in CI its absence is a failure, not a skip."""
    if PG_URL and PG_URL.startswith(("postgres", "postgresql")):
        return PG_URL
    if IN_CI and os.environ.get("ZTC_REQUIRE_POSTGRES") == "1":
        pytest.fail("ZTC_TEST_DATABASE_URL must point at PostgreSQL in this CI run")
    pytest.skip("PostgreSQL-only test: set ZTC_TEST_DATABASE_URL")
