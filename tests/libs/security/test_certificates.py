"""Client certificates: PEM or PKCS#12, the key must be the certificate's, valid now."""

from __future__ import annotations

import datetime as dt

import pytest
from clearway.security import CertificateError, read_pem_bundle, read_pkcs12_bundle
from cryptography import x509

from tests.libs.security.certmaker import make_certificate, pem_bundle, pkcs12_bundle

NOW = dt.datetime.now(dt.UTC)


@pytest.mark.parametrize("key_first", [False, True])
def test_pem_with_key_reads_expiry_and_subject(key_first: bool) -> None:
    certificate, key = make_certificate(common_name="Canale SDI")
    bundle = read_pem_bundle(pem_bundle(certificate, key, key_first=key_first), None, now=NOW)
    assert bundle.not_valid_after == certificate.not_valid_after_utc
    assert bundle.subject == "CN=Canale SDI"
    assert x509.load_pem_x509_certificate(bundle.certificate_pem) == certificate
    assert b"PRIVATE KEY" in bundle.private_key_pem
    assert b"PRIVATE KEY" not in repr(bundle).encode()


def test_encrypted_pem_key_needs_its_password() -> None:
    certificate, key = make_certificate()
    pem = pem_bundle(certificate, key, password=b"s3cret")
    assert read_pem_bundle(pem, b"s3cret", now=NOW).not_valid_after == (
        certificate.not_valid_after_utc
    )
    with pytest.raises(CertificateError, match="give its password"):
        read_pem_bundle(pem, None, now=NOW)
    with pytest.raises(CertificateError, match="password is wrong"):
        read_pem_bundle(pem, b"wrong", now=NOW)


def test_pkcs12() -> None:
    certificate, key = make_certificate()
    data = pkcs12_bundle(certificate, key, b"p12-pass")
    bundle = read_pkcs12_bundle(data, b"p12-pass", now=NOW)
    assert bundle.not_valid_after == certificate.not_valid_after_utc
    with pytest.raises(CertificateError, match="password is wrong"):
        read_pkcs12_bundle(data, b"nope", now=NOW)
    with pytest.raises(CertificateError):
        read_pkcs12_bundle(b"not a pkcs12 file", None, now=NOW)


def test_refusals() -> None:
    certificate, key = make_certificate()
    _, other_key = make_certificate()
    expired, expired_key = make_certificate(
        not_before=NOW - dt.timedelta(days=30), not_after=NOW - dt.timedelta(days=1)
    )
    future, future_key = make_certificate(
        not_before=NOW + dt.timedelta(days=1), not_after=NOW + dt.timedelta(days=30)
    )
    cases = {
        "belong": pem_bundle(certificate, other_key),
        "expired": pem_bundle(expired, expired_key),
        "valid only from": pem_bundle(future, future_key),
        "no private key": pem_bundle(certificate, key).split(b"-----BEGIN PRIVATE KEY")[0],
        "No PEM certificate": b"hello",
    }
    for message, pem in cases.items():
        with pytest.raises(CertificateError, match=message):
            read_pem_bundle(pem, None, now=NOW)
