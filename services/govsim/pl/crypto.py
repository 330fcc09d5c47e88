"""The cryptography of the simulated KSeF: the Ministry's public keys, and the identifiers it mints.

KSeF publishes X.509 certificates at GET /security/public-key-certificates, one per usage:
`KsefTokenEncryption` (RSA-OAEP/SHA-256 of "token|timestampMs") and `SymmetricKeyEncryption`
(RSA-OAEP/SHA-256 of the session's AES-256 key). The simulator makes its own RSA-2048 keys and
self-signed certificates, once per process, and publishes them the same way: `certificate` is
the Base64 DER, `certificateId` the Base64 SHA-256 of that DER, `publicKeyId` the Base64 SHA-256
of the DER SubjectPublicKeyInfo (ksef-docs, bezpieczenstwo/klucze-publiczne-do-szyfrowania.md).

Reference numbers ("20250625-SO-2C3E6C8000-B675CF5D68-07") and KSeF numbers
("5265877635-20250826-0100001AF629-AF") end in a CRC-8 (polynomial 0x07, initial value 0) of the
characters before it; the published examples check out against that.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from clearway.security.self_signed import self_signed_certificate
from cryptography import x509
from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.padding import PKCS7
from cryptography.x509.oid import NameOID

AES_KEY_BYTES = 32
AES_BLOCK_BYTES = 16
CERTIFICATE_VALIDITY = timedelta(days=730)


class KeyUsage(StrEnum):
    KSEF_TOKEN_ENCRYPTION = "KsefTokenEncryption"  # noqa: S105 -- a key usage, not a secret
    SYMMETRIC_KEY_ENCRYPTION = "SymmetricKeyEncryption"


@dataclass(frozen=True)
class PublishedKey:
    usage: KeyUsage
    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def certificate_der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def public_key_id(self) -> str:
        spki = self.certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return _b64(hashlib.sha256(spki).digest())

    def as_json(self) -> dict[str, object]:
        return {
            "certificate": _b64(self.certificate_der),
            "certificateId": _b64(hashlib.sha256(self.certificate_der).digest()),
            "publicKeyId": self.public_key_id,
            "validFrom": self.certificate.not_valid_before_utc.isoformat(),
            "validTo": self.certificate.not_valid_after_utc.isoformat(),
            "usage": [self.usage.value],
        }

    def decrypt(self, ciphertext: bytes) -> bytes:
        """RSA-OAEP with SHA-256 for both the digest and MGF1, as KSeF requires."""
        return self.private_key.decrypt(
            ciphertext,
            padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
        )


@functools.cache
def published_key(usage: KeyUsage) -> PublishedKey:
    """One key pair per usage and process: generating RSA keys is slow, and no test needs more."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "PL"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Clearway government simulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Ministerstwo Finansów (govsim) {usage}"),
        ]
    )
    certificate = self_signed_certificate(subject, private_key, valid_for=CERTIFICATE_VALIDITY)
    return PublishedKey(usage, private_key, certificate)


def public_key_certificates() -> list[dict[str, object]]:
    return [published_key(usage).as_json() for usage in KeyUsage]


class DecryptionError(Exception):
    """Ciphertext that does not decrypt under the key it claims."""


def rsa_decrypt(usage: KeyUsage, ciphertext_b64: str) -> bytes:
    try:
        return published_key(usage).decrypt(decode_b64(ciphertext_b64))
    except (ValueError, InvalidKey) as exc:
        raise DecryptionError(str(exc) or "RSA-OAEP decryption failed") from exc


def aes_cbc_decrypt(ciphertext: bytes, key: bytes, iv: bytes) -> bytes:
    """AES-256-CBC with PKCS#7 padding.

    ksef-docs says the IV is "attached as a prefix to the ciphertext" while the official
    clients send the bare ciphertext with the IV given at session opening; both are accepted.
    """
    if ciphertext.startswith(iv) and len(ciphertext) >= 2 * AES_BLOCK_BYTES:
        ciphertext = ciphertext[AES_BLOCK_BYTES:]
    if not ciphertext or len(ciphertext) % AES_BLOCK_BYTES:
        raise DecryptionError("Ciphertext length is not a multiple of the AES block size")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = PKCS7(algorithms.AES.block_size).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as exc:
        raise DecryptionError("Invalid PKCS#7 padding") from exc


def decode_b64(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecryptionError("Not valid Base64") from exc


def sha256_b64(data: bytes) -> str:
    return _b64(hashlib.sha256(data).digest())


def crc8(data: bytes) -> int:
    """CRC-8, polynomial 0x07, initial value 0, no reflection, no final XOR."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def reference_number(kind: str, at: datetime) -> str:
    """A 36-character reference number, e.g. 20250625-SO-2C3E6C8000-B675CF5D68-07.

    `kind` is the two-letter type seen in KSeF's examples: CR challenge, AU authentication,
    SO online session, EE invoice, EU UPO.
    """
    body = f"{at:%Y%m%d}-{kind}-{secrets.token_hex(5).upper()}-{secrets.token_hex(5).upper()}"
    return f"{body}-{crc8(body.encode()):02X}"


def ksef_number(seller_nip: str, at: datetime) -> str:
    """NIP-YYYYMMDD-12 hex-CRC, 35 characters (ksef-docs, faktury/numer-ksef.md)."""
    body = f"{seller_nip}-{at:%Y%m%d}-{secrets.token_hex(6).upper()}"
    return f"{body}-{crc8(body.encode()):02X}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
