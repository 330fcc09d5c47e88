"""Self-signed certificates made on the spot: what the sandbox hands its simulators (an SDI
channel certificate, KSeF's published keys) and what tests sign with. Nothing here is trusted by
anything real. Pure: no I/O."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    PrivateKeyTypes,
)
from cryptography.x509.oid import NameOID

DEFAULT_VALIDITY = dt.timedelta(days=365)


def common_name(value: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, value)])


def self_signed_certificate(
    name: x509.Name,
    key: CertificateIssuerPrivateKeyTypes,
    *,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    valid_for: dt.timedelta = DEFAULT_VALIDITY,
) -> x509.Certificate:
    """`name` issuing itself, SHA-256: by default valid from a day ago for `valid_for`."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - dt.timedelta(days=1))
        .not_valid_after(not_after or now + valid_for)
        .sign(key, hashes.SHA256())
    )


def key_pem(
    key: PrivateKeyTypes,
    encryption: serialization.KeySerializationEncryption | None = None,
) -> bytes:
    """The key as PKCS#8 PEM, unencrypted unless `encryption` says otherwise."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        encryption or serialization.NoEncryption(),
    )


def certificate_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)
