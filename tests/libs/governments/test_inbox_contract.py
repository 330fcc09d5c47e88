"""What every inbox Clearway looks into on its own schedule (KSeF's, ANAF's) answers alike,
written once and run for each against its simulated government, with real PostgreSQL for the
connection. What differs (pages, limits, cursors) stays in <cc>/test_receiving.py; France's
inbox closes on its own terms (fr/test_receiving.py)."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from tests.libs.governments.inboxes import assert_closed_once_inactive
from tests.libs.governments.pl.test_receiving import company as pl_company  # noqa: F401 - fixture
from tests.libs.governments.ro.conftest import company as ro_company  # noqa: F401 - fixture

pytestmark = [pytest.mark.postgres]


@pytest.fixture(params=["pl_company", "ro_company"])
def company(request: pytest.FixtureRequest) -> Any:
    """Each country's connected company (its own tests' fixture, imported under its name)."""
    return request.getfixturevalue(request.param)


async def test_an_inactive_connection_closes_the_inbox(
    company: Any, store_db: asyncpg.Pool[Any]
) -> None:
    await assert_closed_once_inactive(store_db, company.connection_id, company.inbox())
