"""The ANAF simulator the tests drive: on a hand-moved clock from noon in Bucharest, reached
over HTTP in process, and a token as the OAuth flow gives it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from services.govsim.ro.api import AnafSimulator
from tests.services.govsim.ro.test_anaf_sim import (
    BUCHAREST_NOON,
    CLIENT_ID,
    CLIENT_SECRET,
    PROCESSING_DELAY,
    access_token_via_oauth,
)
from tests.services.govsim.simtools import FakeClock, govsim_client

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(BUCHAREST_NOON)


@pytest.fixture
def simulator(clock: FakeClock) -> AnafSimulator:
    return AnafSimulator(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        processing_delay=PROCESSING_DELAY,
        clock=clock,
    )


@pytest.fixture
async def client(simulator: AnafSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with govsim_client(anaf=simulator) as http:
        yield http


@pytest.fixture
async def token(client: httpx.AsyncClient) -> str:
    return await access_token_via_oauth(client)
