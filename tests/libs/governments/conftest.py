"""What the governments' tests against their simulators share."""

from __future__ import annotations

from typing import Any

import pytest
from clearway.accounts.connection_secrets import default_keyring

from tests.conftest import TEST_MASTER_KEYS


@pytest.fixture
def keyring(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The master keys the connections' secrets are sealed under, for this test only."""
    monkeypatch.setenv("CLEARWAY_MASTER_KEYS", TEST_MASTER_KEYS)
    default_keyring.cache_clear()
    yield default_keyring()
    default_keyring.cache_clear()
