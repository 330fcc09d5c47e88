"""Fixtures every simulator's tests share."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from services.govsim.app import CountrySimulators
from services.govsim.de.state import ZreSimulator
from services.govsim.fr.state import FrPaSimulator
from services.govsim.peppol.state import PeppolSimulator
from tests.services.govsim.simtools import FakeClock, govsim_client

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx

KeyedSimulators = ZreSimulator | FrPaSimulator | PeppolSimulator


@pytest.fixture
def clock() -> FakeClock:
    """A clock the test moves by hand (a simulator's tests may start it elsewhere)."""
    return FakeClock()


@pytest.fixture
async def sim_client() -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app with every simulator as it starts (not `client`, which
    tests/services/conftest.py and the ANAF tests define)."""
    async with govsim_client() as http:
        yield http


@pytest.fixture
async def http(simulator: KeyedSimulators) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app around the module's API-key simulator (ZRE, PA FR, Peppol AP), its
    key on every call. The modules of the other simulators define their own."""
    async with govsim_client(_around(simulator), api_key=simulator.api_key) as client:
        yield client


def _around(simulator: KeyedSimulators) -> CountrySimulators:
    if isinstance(simulator, ZreSimulator):
        return CountrySimulators(zre=simulator)
    if isinstance(simulator, FrPaSimulator):
        return CountrySimulators(fr_pa=simulator)
    return CountrySimulators(peppol=simulator)
