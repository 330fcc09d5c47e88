"""`signed_in`: a new account's dashboard session over plain HTTP, and its API client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.stack.stack import Stack
from tests.conftest import MakeAccount
from tests.services.intake.dashboard.dashboard_support import SignedIn, api_key_of, signed_in_as


@pytest.fixture
async def signed_in(api_stack: Stack, make_api_account: MakeAccount) -> AsyncIterator[SignedIn]:
    _, api = await make_api_account()
    async with signed_in_as(api_stack.api_url, api_key_of(api)) as browser:
        yield browser, api
