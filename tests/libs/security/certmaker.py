"""Self-signed certificates with their keys, made on the spot for tests (nothing real)."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID


def self_signed(
    name: x509.Name,
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
    not_before: dt.datetime | None,
    not_after: dt.datetime | None,
) -> x509.Certificate:
    """A certificate for `name` signed by its own key, valid from yesterday for a year unless
    told otherwise."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - dt.timedelta(days=1))
        .not_valid_after(not_after or now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )


def make_certificate(
    *,
    common_name: str = "SDI channel (test)",
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    return self_signed(name, key, not_before, not_after), key


def pem_bundle(
    certificate: x509.Certificate,
    key: ec.EllipticCurvePrivateKey,
    *,
    password: bytes | None = None,
    key_first: bool = False,
) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)
    return key_pem + certificate_pem if key_first else certificate_pem + key_pem


def pkcs12_bundle(
    certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey, password: bytes
) -> bytes:
    return pkcs12.serialize_key_and_certificates(
        b"sdi", key, certificate, None, serialization.BestAvailableEncryption(password)
    )


def make_seal_certificate(
    nip: str,
    *,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    rsa_key: bool = False,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey]:
    """A self-signed stand-in for a qualified company seal: organizationIdentifier VATPL-<NIP>,
    as KSeF reads it (and as its test environment accepts self-signed)."""
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if rsa_key
        else ec.generate_private_key(ec.SECP256R1())
    )
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "PL"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Sprzedawca sp. z o.o. (test)"),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, f"VATPL-{nip}"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Sprzedawca (test seal)"),
        ]
    )
    return self_signed(name, key, not_before, not_after), key


def pem_pair(
    certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
) -> tuple[bytes, bytes]:
    """The certificate and its unencrypted PKCS#8 key, PEM."""
    return certificate.public_bytes(serialization.Encoding.PEM), key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
