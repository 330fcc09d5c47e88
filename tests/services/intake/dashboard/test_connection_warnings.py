"""When the connections page asks for a person: an unfinished setup, an expired or failed
connection, or a credential that does not renew itself (or ANAF's consent) ending within 14 days."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.intake.dashboard.connections import needs_a_person

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def _connection(status: str, country: str = "IT", expires_in: dt.timedelta | None = None) -> Any:
    expires = None if expires_in is None else (NOW + expires_in).isoformat()
    return {"status": status, "countryCode": country, "tokenExpiresAt": expires}


@pytest.mark.parametrize("status", ["pending_setup", "expired", "error"])
def test_a_connection_that_does_not_file_needs_a_person(status: str) -> None:
    assert needs_a_person(_connection(status), NOW) is not None


def test_a_certificate_ending_within_two_weeks_needs_a_person() -> None:
    warning = needs_a_person(_connection("active", "IT", dt.timedelta(days=13)), NOW)
    assert warning == "Its credential ends on 2026-03-14 12:00 UTC: upload a new one."
    assert needs_a_person(_connection("active", "PL", dt.timedelta(days=15)), NOW) is None
    assert needs_a_person(_connection("active", "BE"), NOW) is None


def test_anafs_tokens_renew_themselves() -> None:
    assert needs_a_person(_connection("active", "RO", dt.timedelta(hours=1)), NOW) is None


def test_anafs_consent_ending_within_two_weeks_needs_a_person() -> None:
    """The refresher renews RO's access token only until ANAF's refresh token ends."""
    ending = _connection("active", "RO", dt.timedelta(hours=1))
    ending["refreshTokenExpiresAt"] = (NOW + dt.timedelta(days=13)).isoformat()
    warning = needs_a_person(ending, NOW)
    assert warning == "ANAF's consent ends on 2026-03-14 12:00 UTC: connect it again."
    ending["refreshTokenExpiresAt"] = (NOW + dt.timedelta(days=15)).isoformat()
    assert needs_a_person(ending, NOW) is None


def test_only_anafs_refresh_token_needs_a_person() -> None:
    """PL's refresher signs in afresh, so its refresh token's end asks for nobody."""
    pl = _connection("active", "PL", dt.timedelta(days=300))
    pl["refreshTokenExpiresAt"] = (NOW + dt.timedelta(days=1)).isoformat()
    assert needs_a_person(pl, NOW) is None
