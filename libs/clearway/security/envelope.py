"""Envelope encryption of the secrets Clearway keeps (government tokens, certificates, keys).

Each secret is sealed with AES-256-GCM under a data key made for it alone; the data key is
sealed (wrapped) with AES-256-GCM under a master key from configuration, named by its id. Only
wrapped data keys reach the database, so a copy of the database opens nothing without the master
key, and rotating the master key re-wraps 32-byte data keys without touching the secrets.

Both layers authenticate a `context` (what the secret is and whose it is), so a ciphertext or a
wrapped key copied onto another row does not open. Pure: no I/O besides the random generator.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from clearway.config import SecuritySettings, variable

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # GCM's standard nonce; random per encryption, never reused under a key
MASTER_KEYS_ENV = variable(SecuritySettings, "master_keys")
_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class KeyringError(ValueError):
    """The master key configuration cannot be used (missing, malformed, duplicated)."""


class UnknownMasterKeyError(LookupError):
    """A secret is wrapped by a master key that is not configured (removed too early?)."""


class SecretIntegrityError(ValueError):
    """A sealed secret does not open: tampered with, or read under the wrong context."""


@dataclass(frozen=True)
class MasterKey:
    key_id: str
    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not _KEY_ID.fullmatch(self.key_id):
            raise KeyringError(f"master key id {self.key_id!r}: use 1-64 of A-Z a-z 0-9 . _ -")
        if len(self.key) != KEY_BYTES:
            raise KeyringError(f"master key {self.key_id}: {KEY_BYTES} bytes needed")

    def encoded(self) -> str:
        """`id=base64`, the form CLEARWAY_MASTER_KEYS takes."""
        return f"{self.key_id}={base64.b64encode(self.key).decode()}"


class Keyring:
    """The configured master keys: the first seals, every one of them opens."""

    def __init__(self, keys: Iterable[MasterKey]) -> None:
        ordered = list(keys)
        if not ordered:
            raise KeyringError("no master key configured")
        self._by_id: dict[str, MasterKey] = {}
        for key in ordered:
            if key.key_id in self._by_id:
                raise KeyringError(f"master key id {key.key_id} is configured twice")
            self._by_id[key.key_id] = key
        self.current = ordered[0]

    @classmethod
    def parse(cls, text: str) -> Keyring:
        """`id=base64[,id=base64…]` (commas, spaces or newlines between pairs); first is current."""
        keys: list[MasterKey] = []
        for pair in re.split(r"[\s,]+", text.strip()):
            if not pair:
                continue
            key_id, separator, encoded = pair.partition("=")
            if not separator:
                raise KeyringError("master keys are written id=base64")
            try:
                key = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise KeyringError(f"master key {key_id}: not valid base64") from None
            keys.append(MasterKey(key_id, key))
        return cls(keys)

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._by_id)

    def get(self, key_id: str) -> MasterKey:
        try:
            return self._by_id[key_id]
        except KeyError:
            raise UnknownMasterKeyError(
                f"master key {key_id} is not configured ({MASTER_KEYS_ENV} has "
                f"{', '.join(self._by_id)})"
            ) from None

    def __repr__(self) -> str:
        return f"Keyring(current={self.current.key_id!r}, ids={list(self._by_id)!r})"


def keyring_from_env(environ: Mapping[str, str] | None = None) -> Keyring:
    """The keyring CLEARWAY_MASTER_KEYS configures (clearway.config reads it)."""
    return keyring_from_setting(SecuritySettings.from_env(environ).master_keys)


def keyring_from_setting(text: str) -> Keyring:
    if not text.strip():
        raise KeyringError(
            f"{MASTER_KEYS_ENV} is not set: give it id=base64 of {KEY_BYTES} random bytes "
            "(`clearway admin new-master-key` makes one)"
        )
    return Keyring.parse(text)


def generate_master_key(key_id: str | None = None) -> MasterKey:
    """A fresh key; its default id names the day it was made, so rotations read in order."""
    made = datetime.now(UTC).strftime("%Y%m%d")
    return MasterKey(key_id or f"mk-{made}-{secrets.token_hex(3)}", AESGCM.generate_key(256))


@dataclass(frozen=True)
class SealedSecret:
    """What is stored: nothing in it opens without the master key named `master_key_id`."""

    master_key_id: str
    wrapped_key: bytes  # nonce || AES-256-GCM(master key, data key)
    ciphertext: bytes  # nonce || AES-256-GCM(data key, secret)


def _secret_aad(context: bytes) -> bytes:
    return b"clearway-secret/v1|" + context


def _wrap_aad(master_key_id: str, context: bytes) -> bytes:
    return b"clearway-data-key/v1|" + master_key_id.encode() + b"|" + context


def _encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _decrypt(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
    except InvalidTag:
        raise SecretIntegrityError("the sealed secret does not open under its context") from None


def seal(keyring: Keyring, plaintext: bytes, context: bytes) -> SealedSecret:
    """Encrypt under a fresh data key, wrapped by the current master key."""
    data_key = AESGCM.generate_key(256)
    master = keyring.current
    return SealedSecret(
        master_key_id=master.key_id,
        wrapped_key=_encrypt(master.key, data_key, _wrap_aad(master.key_id, context)),
        ciphertext=_encrypt(data_key, plaintext, _secret_aad(context)),
    )


def _data_key(keyring: Keyring, sealed: SealedSecret, context: bytes) -> bytes:
    master = keyring.get(sealed.master_key_id)
    return _decrypt(master.key, sealed.wrapped_key, _wrap_aad(master.key_id, context))


def unseal(keyring: Keyring, sealed: SealedSecret, context: bytes) -> bytes:
    """Open with whichever configured master key wrapped the data key."""
    return _decrypt(_data_key(keyring, sealed, context), sealed.ciphertext, _secret_aad(context))


def rewrap(keyring: Keyring, sealed: SealedSecret, context: bytes) -> SealedSecret:
    """The same secret with its data key wrapped by the current master key (the ciphertext of
    the secret is kept as it is); unchanged when it already is."""
    master = keyring.current
    if sealed.master_key_id == master.key_id:
        return sealed
    data_key = _data_key(keyring, sealed, context)
    return SealedSecret(
        master_key_id=master.key_id,
        wrapped_key=_encrypt(master.key, data_key, _wrap_aad(master.key_id, context)),
        ciphertext=sealed.ciphertext,
    )
