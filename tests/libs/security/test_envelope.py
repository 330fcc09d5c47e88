"""Envelope encryption: a data key per secret, wrapped by a master key; rotation re-wraps."""

from __future__ import annotations

import base64

import pytest
from clearway.security import (
    Keyring,
    KeyringError,
    SealedSecret,
    SecretIntegrityError,
    UnknownMasterKeyError,
    generate_master_key,
    keyring_from_env,
    rewrap,
    seal,
    unseal,
)

CONTEXT = b"connection/conn_1/access_token"
SECRET = b"eyJhbGciOiJIUzI1NiJ9.a-token.signature"


def _keyring(*ids: str) -> Keyring:
    return Keyring(generate_master_key(key_id) for key_id in ids)


def test_a_sealed_secret_opens_and_shows_nothing_of_itself() -> None:
    keyring = _keyring("k1")
    sealed = seal(keyring, SECRET, CONTEXT)
    assert unseal(keyring, sealed, CONTEXT) == SECRET
    assert sealed.master_key_id == "k1"
    assert SECRET not in sealed.ciphertext
    assert SECRET not in sealed.wrapped_key
    assert keyring.current.key not in sealed.wrapped_key


def test_every_secret_gets_its_own_data_key_and_nonces() -> None:
    keyring = _keyring("k1")
    first, second = seal(keyring, SECRET, CONTEXT), seal(keyring, SECRET, CONTEXT)
    assert first.wrapped_key != second.wrapped_key
    assert first.ciphertext != second.ciphertext
    # Swapping the wrapped keys of two secrets opens neither: each data key is its own.
    crossed = SealedSecret(first.master_key_id, second.wrapped_key, first.ciphertext)
    with pytest.raises(SecretIntegrityError):
        unseal(keyring, crossed, CONTEXT)


def test_a_secret_does_not_open_under_another_context() -> None:
    keyring = _keyring("k1")
    sealed = seal(keyring, SECRET, CONTEXT)
    with pytest.raises(SecretIntegrityError):
        unseal(keyring, sealed, b"connection/conn_2/access_token")


@pytest.mark.parametrize("part", ["wrapped_key", "ciphertext"])
def test_tampering_is_detected(part: str) -> None:
    keyring = _keyring("k1")
    sealed = seal(keyring, SECRET, CONTEXT)
    damaged = bytearray(getattr(sealed, part))
    damaged[-1] ^= 1
    fields = {**sealed.__dict__, part: bytes(damaged)}
    with pytest.raises(SecretIntegrityError):
        unseal(keyring, SealedSecret(**fields), CONTEXT)


def test_readers_accept_any_configured_key_and_refuse_an_unknown_one() -> None:
    old = _keyring("old")
    sealed = seal(old, SECRET, CONTEXT)
    both = Keyring([generate_master_key("new"), old.current])
    assert unseal(both, sealed, CONTEXT) == SECRET
    assert seal(both, SECRET, CONTEXT).master_key_id == "new"
    with pytest.raises(UnknownMasterKeyError, match="old"):
        unseal(Keyring([generate_master_key("new")]), sealed, CONTEXT)


def test_rewrap_moves_the_data_key_under_the_current_key_and_keeps_the_ciphertext() -> None:
    old = generate_master_key("old")
    new = generate_master_key("new")
    sealed = seal(Keyring([old]), SECRET, CONTEXT)
    rewrapped = rewrap(Keyring([new, old]), sealed, CONTEXT)
    assert rewrapped.master_key_id == "new"
    assert rewrapped.ciphertext == sealed.ciphertext  # the secret itself is not re-encrypted
    assert unseal(Keyring([new]), rewrapped, CONTEXT) == SECRET  # the old key can go
    assert rewrap(Keyring([new]), rewrapped, CONTEXT) is rewrapped  # already current


def test_keyring_configuration() -> None:
    first, second = generate_master_key("a-1"), generate_master_key("b.2")
    parsed = Keyring.parse(f" {first.encoded()},\n{second.encoded()} ")
    assert parsed.current == first
    assert parsed.key_ids == ("a-1", "b.2")
    assert keyring_from_env({"CLEARWAY_MASTER_KEYS": first.encoded()}).current == first
    short = base64.b64encode(b"x" * 16).decode()
    for bad in (
        "",
        "no-equals-sign",
        f"k={short}",
        "k=not*base64",
        f"{first.encoded()},{first.encoded()}",
        f"bad id={base64.b64encode(first.key).decode()}",
    ):
        with pytest.raises(KeyringError):
            Keyring.parse(bad)
    with pytest.raises(KeyringError, match="CLEARWAY_MASTER_KEYS"):
        keyring_from_env({})


def test_no_key_material_in_reprs() -> None:
    key = generate_master_key("k1")
    encoded = base64.b64encode(key.key).decode()
    for text in (repr(key), repr(Keyring([key])), str(Keyring([key]))):
        assert encoded not in text
        assert str(key.key) not in text
