"""The company the RO submitter, poller and sandbox tests file for: a company of the test's own
with an active ANAF connection (ro_support.ro_company). Tests of other countries that file for a
`company` define their own fixture of that name. And `client`, the client of a new account."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import MakeAccount
from tests.services.submitter_ro.ro_support import RoCompany, ro_company


@pytest.fixture
async def company(make_account: MakeAccount) -> RoCompany:
    return await ro_company(make_account)


@pytest.fixture
async def client(make_account: MakeAccount) -> httpx.AsyncClient:
    """A client of a new account of the test's own (modules filing for a country define theirs)."""
    _, client = await make_account()
    return client
