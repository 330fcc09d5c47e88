"""Client certificates a company hands over (SDI channel certificates): read, checked, described.

A bundle is a certificate with its private key, from PEM (certificates and key, in any order) or
PKCS#12. It is accepted only when the key belongs to the certificate and the certificate is valid
now. The key is kept as unencrypted PKCS#8 PEM in memory only: it is sealed before it is stored.
Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12

PEM_CERTIFICATE_MARKER = b"-----BEGIN CERTIFICATE-----"


class CertificateError(ValueError):
    """The upload is not a usable certificate and key; the message says why, for the user."""


@dataclass(frozen=True)
class CertificateBundle:
    certificate_pem: bytes  # the certificate first, then any chain certificates
    private_key_pem: bytes = field(repr=False)
    subject: str
    serial_number: str
    not_valid_before: dt.datetime
    not_valid_after: dt.datetime
    fingerprint_sha256: str


def _public_der(key: PrivateKeyTypes | x509.Certificate) -> bytes:
    public = key.public_key()
    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _bundle(
    key: PrivateKeyTypes | None, certificates: list[x509.Certificate], now: dt.datetime
) -> CertificateBundle:
    if key is None:
        raise CertificateError("The upload has no private key; include the certificate's key.")
    if not certificates:
        raise CertificateError("The upload has no certificate.")
    key_der = _public_der(key)
    leaf = next((c for c in certificates if _public_der(c) == key_der), None)
    if leaf is None:
        raise CertificateError("The private key does not belong to any uploaded certificate.")
    if now < leaf.not_valid_before_utc:
        raise CertificateError(
            f"The certificate is valid only from {leaf.not_valid_before_utc.isoformat()}."
        )
    if now >= leaf.not_valid_after_utc:
        raise CertificateError(
            f"The certificate expired on {leaf.not_valid_after_utc.isoformat()}."
        )
    chain = [leaf, *(c for c in certificates if c is not leaf)]
    return CertificateBundle(
        certificate_pem=b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain),
        private_key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        subject=leaf.subject.rfc4514_string(),
        serial_number=format(leaf.serial_number, "X"),
        not_valid_before=leaf.not_valid_before_utc,
        not_valid_after=leaf.not_valid_after_utc,
        fingerprint_sha256=hashlib.sha256(
            leaf.public_bytes(serialization.Encoding.DER)
        ).hexdigest(),
    )


def read_pem_bundle(pem: bytes, password: bytes | None, *, now: dt.datetime) -> CertificateBundle:
    """Certificates and one private key (PKCS#8, PKCS#1 or SEC1; encrypted with `password`)."""
    if PEM_CERTIFICATE_MARKER not in pem:
        raise CertificateError("No PEM certificate found (-----BEGIN CERTIFICATE-----).")
    try:
        certificates = x509.load_pem_x509_certificates(pem)
    except ValueError:
        raise CertificateError("A PEM certificate in the upload cannot be read.") from None
    if b"PRIVATE KEY-----" not in pem:
        raise CertificateError("The upload has no private key; include the certificate's key.")
    try:
        key = serialization.load_pem_private_key(pem, password=password or None)
    except TypeError:
        # cryptography says TypeError for a password given to a plain key, and the reverse.
        raise CertificateError(
            "The private key is encrypted: give its password."
            if not password
            else "The private key is not encrypted: send it without a password."
        ) from None
    except ValueError:
        raise CertificateError(
            "The private key cannot be read (or its password is wrong)."
        ) from None
    return _bundle(key, certificates, now)


def read_pkcs12_bundle(
    data: bytes, password: bytes | None, *, now: dt.datetime
) -> CertificateBundle:
    try:
        key, certificate, additional = pkcs12.load_key_and_certificates(data, password or None)
    except ValueError:
        raise CertificateError(
            "The PKCS#12 file cannot be opened: it is damaged or the password is wrong."
        ) from None
    certificates = [c for c in (certificate, *additional) if c is not None]
    return _bundle(key, certificates, now)
