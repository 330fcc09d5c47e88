"""When tokens are refreshed (per country, jittered), and which network identifier a company has."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from clearway.domain.connections import (
    RETRY_CAP,
    MissingIdentifierError,
    NetworkCredentials,
    needs_reauthentication,
    network_credentials_for,
    next_refresh_at,
    retry_delay,
    token_policy_of,
)

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def test_ro_refreshes_in_the_last_third_of_the_90_days_spread_over_days() -> None:
    policy = token_policy_of("RO")
    expires = NOW + policy.access_lifetime
    rng = random.Random(7)  # noqa: S311 - seeded jitter
    planned = [
        next_refresh_at(
            policy,
            now=NOW,
            access_expires_at=expires,
            refresh_expires_at=NOW + policy.refresh_lifetime,
            rng=rng,
        )
        for _ in range(1000)
    ]
    assert all(NOW + dt.timedelta(days=63) <= at <= NOW + dt.timedelta(days=72) for at in planned)
    # 1000 connections authorized in the same second do not refresh in the same second.
    assert len({at.replace(microsecond=0) for at in planned}) > 990
    assert max(planned) - min(planned) > dt.timedelta(days=8)


def test_pl_refreshes_minutes_ahead_and_authenticates_again_before_the_refresh_token_ends() -> None:
    policy = token_policy_of("PL")
    rng = random.Random(1)  # noqa: S311 - seeded jitter
    access = NOW + dt.timedelta(minutes=15)
    planned = next_refresh_at(
        policy,
        now=NOW,
        access_expires_at=access,
        refresh_expires_at=NOW + dt.timedelta(days=7),
        rng=rng,
    )
    assert NOW + dt.timedelta(minutes=10) <= planned <= NOW + dt.timedelta(minutes=12)
    assert not needs_reauthentication(
        policy, now=NOW, refresh_expires_at=NOW + dt.timedelta(days=7)
    )
    ending = NOW + dt.timedelta(hours=20)
    assert needs_reauthentication(policy, now=NOW, refresh_expires_at=ending)
    # A refresh token with a day left: the next look is now, not after the access token's life.
    soon = NOW + dt.timedelta(days=1, minutes=5)
    assert next_refresh_at(
        policy, now=NOW, access_expires_at=access, refresh_expires_at=soon, rng=rng
    ) == (NOW + dt.timedelta(minutes=5))
    # RO renews its refresh token with every refresh: never "authenticate again".
    assert not needs_reauthentication(token_policy_of("RO"), now=NOW, refresh_expires_at=ending)


def test_retry_backs_off_to_the_cap() -> None:
    rng = random.Random(3)  # noqa: S311 - seeded jitter
    delays = [retry_delay(n, rng) for n in range(1, 12)]
    assert dt.timedelta(seconds=48) <= delays[0] <= dt.timedelta(seconds=72)
    assert delays[3] > delays[0] * 4
    assert all(delay <= RETRY_CAP * 1.2 for delay in delays)
    assert retry_delay(10_000, rng) <= RETRY_CAP * 1.2


@pytest.mark.parametrize(
    ("country", "fields", "expected"),
    [
        ("BE", {"vat_number": "BE0123.456.749"}, NetworkCredentials("0208", "0123456749")),
        (
            "BE",
            {"vat_number": "BE0123456749", "peppol_id": "9925:BE0123456749"},
            NetworkCredentials("9925", "BE0123456749"),
        ),
        ("DE", {"vat_number": "DE 123 456 789"}, NetworkCredentials("9930", "DE123456789")),
        ("FR", {"vat_number": "FR40303265045"}, NetworkCredentials("0002", "303265045")),
        (
            "FR",
            {"vat_number": "FR00000000000", "siret": "732 829 320 00074"},
            NetworkCredentials("0002", "732829320"),
        ),
        ("RO", {"vat_number": "RO12345678"}, None),
        ("PL", {"vat_number": "PL5260250995"}, None),
    ],
)
def test_network_credentials(
    country: str, fields: dict[str, str], expected: NetworkCredentials | None
) -> None:
    assert network_credentials_for(country, **fields) == expected


@pytest.mark.parametrize(
    ("country", "vat"), [("BE", "DE123456789"), ("DE", "BE0123456749"), ("FR", "BE0123456749")]
)
def test_a_company_without_the_network_identifier_is_told_which_one(country: str, vat: str) -> None:
    with pytest.raises(MissingIdentifierError):
        network_credentials_for(country, vat_number=vat)
