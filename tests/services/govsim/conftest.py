"""Fixtures every simulator's tests share."""

from __future__ import annotations

import pytest

from tests.services.govsim.simtools import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    """A clock the test moves by hand (a simulator's tests may start it elsewhere)."""
    return FakeClock()
