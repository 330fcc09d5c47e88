"""The company the RO submitter, poller and sandbox tests file for: a company of the test's own
with an active ANAF connection (ro_support.ro_company). Tests of other countries that file for a
`company` define their own fixture of that name."""

from __future__ import annotations

import pytest

from tests.conftest import MakeAccount
from tests.services.submitter_ro.ro_support import RoCompany, ro_company


@pytest.fixture
async def company(make_account: MakeAccount) -> RoCompany:
    return await ro_company(make_account)
