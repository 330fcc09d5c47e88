"""Self-signed certificates made on the spot: self-issued, valid now, and readable as the
bundles a company uploads."""

from __future__ import annotations

import datetime as dt

from clearway.security import read_pem_bundle
from clearway.security.self_signed import (
    certificate_pem,
    common_name,
    key_pem,
    self_signed_certificate,
)
from cryptography.hazmat.primitives.asymmetric import ec


def test_a_certificate_issues_itself_from_a_day_ago_for_its_validity() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    certificate = self_signed_certificate(
        common_name("Sandbox"), key, valid_for=dt.timedelta(days=30)
    )
    assert certificate.issuer == certificate.subject == common_name("Sandbox")
    assert abs(certificate.not_valid_before_utc - (now - dt.timedelta(days=1))) < dt.timedelta(
        minutes=1
    )
    assert abs(certificate.not_valid_after_utc - (now + dt.timedelta(days=30))) < dt.timedelta(
        minutes=1
    )


def test_explicit_bounds_win_and_the_pem_reads_back_as_a_bundle() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    certificate = self_signed_certificate(
        common_name("Bounded"), key, not_before=start, not_after=end
    )
    bundle = read_pem_bundle(
        certificate_pem(certificate) + key_pem(key), None, now=start + dt.timedelta(days=1)
    )
    assert (bundle.not_valid_before, bundle.not_valid_after) == (start, end)
