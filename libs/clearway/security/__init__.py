"""Secrets at rest: envelope encryption under configured master keys, and client certificates."""

from clearway.security.certificates import (
    CertificateBundle,
    CertificateError,
    read_pem_bundle,
    read_pkcs12_bundle,
)
from clearway.security.envelope import (
    MASTER_KEYS_ENV,
    Keyring,
    KeyringError,
    MasterKey,
    SealedSecret,
    SecretIntegrityError,
    UnknownMasterKeyError,
    generate_master_key,
    keyring_from_env,
    keyring_from_setting,
    rewrap,
    seal,
    unseal,
)

__all__ = [
    "MASTER_KEYS_ENV",
    "CertificateBundle",
    "CertificateError",
    "Keyring",
    "KeyringError",
    "MasterKey",
    "SealedSecret",
    "SecretIntegrityError",
    "UnknownMasterKeyError",
    "generate_master_key",
    "keyring_from_env",
    "keyring_from_setting",
    "read_pem_bundle",
    "read_pkcs12_bundle",
    "rewrap",
    "seal",
    "unseal",
]
