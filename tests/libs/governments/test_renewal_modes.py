"""The token renewers' clients per mode (base.per_mode): a sandbox connection renews at the
sandbox, a live one at the live system, and while live is not configured its renewal is deferred
(the operator may yet configure it), never tried at the sandbox."""

from __future__ import annotations

import pytest
from clearway.config import GovernmentEndpoints
from clearway.governments.base import RenewalDeferredError, per_mode


def test_each_mode_renews_at_its_own_system() -> None:
    clients = per_mode(GovernmentEndpoints("ANAF", "sandbox-url", "live-url"), str.upper)
    assert clients(False) == "SANDBOX-URL"
    assert clients(True) == "LIVE-URL"


def test_a_live_renewal_without_a_live_configuration_is_deferred() -> None:
    endpoints = GovernmentEndpoints("KSeF", "sandbox-url", None, ("KSEF_LIVE_API_URL",))
    clients = per_mode(endpoints, str.upper)
    assert clients(False) == "SANDBOX-URL"
    with pytest.raises(RenewalDeferredError, match="KSEF_LIVE_API_URL"):
        clients(True)
