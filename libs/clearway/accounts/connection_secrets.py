"""A connection's secrets (tokens, KSeF tokens, certificates, private keys), sealed.

Each lives in `connection_secrets` (rows: clearway.store.connections) sealed under its own data
key (clearway.security); the context it is sealed under names its connection and kind, so a row
copied elsewhere does not open. The master keys come from CLEARWAY_MASTER_KEYS unless a caller
passes a keyring. Nothing here logs a secret.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

from pydantic import BaseModel, ConfigDict

from clearway.db import Connection
from clearway.domain.connections import SecretKind
from clearway.security import Keyring, keyring_from_env, rewrap, seal, unseal
from clearway.store import connections as store


@functools.cache
def default_keyring() -> Keyring:
    """The process's master keys, read once from CLEARWAY_MASTER_KEYS."""
    return keyring_from_env()


def _keys(keyring: Keyring | None) -> Keyring:
    return keyring if keyring is not None else default_keyring()


def secret_context(connection_id: str, kind: SecretKind) -> bytes:
    return f"connection/{connection_id}/{kind.value}".encode()


async def store_secrets(
    conn: Connection,
    connection_id: str,
    values: Mapping[SecretKind, str | bytes],
    *,
    keyring: Keyring | None = None,
) -> None:
    """Seal and store (or replace) secrets of a connection."""
    keys = _keys(keyring)
    await store.put_secrets(
        conn,
        [
            store.SecretRow(
                connection_id=connection_id,
                kind=kind.value,
                sealed=seal(
                    keys,
                    value.encode() if isinstance(value, str) else value,
                    secret_context(connection_id, kind),
                ),
            )
            for kind, value in values.items()
        ],
    )


async def read_secret(
    conn: Connection, connection_id: str, kind: SecretKind, *, keyring: Keyring | None = None
) -> str | None:
    sealed = await store.sealed_secret(conn, connection_id, kind.value)
    if sealed is None:
        return None
    return unseal(_keys(keyring), sealed, secret_context(connection_id, kind)).decode()


async def purge_secrets(
    conn: Connection, connection_id: str, kinds: Iterable[SecretKind] | None = None
) -> int:
    """Delete the rows (not blank them): what is gone cannot be decrypted by anyone."""
    return await store.delete_secrets(
        conn, connection_id, None if kinds is None else [kind.value for kind in kinds]
    )


class RewrapReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    rewrapped: int
    remaining: dict[str, int]  # master key id → data keys still under it (written meanwhile)


async def rewrap_all_secrets(
    conn: Connection, keyring: Keyring, *, batch_size: int = 500
) -> RewrapReport:
    """Wrap every data key under the current master key, one row at a time.

    Services keep running: they open secrets under any configured key. A row rewritten
    meanwhile (a refresh sealing new tokens) is left as its writer made it; rows a writer still
    running with the old configuration sealed under an old key are counted in `remaining`.
    """
    current = keyring.current.key_id
    rewrapped = 0
    after = ("", "")
    while True:
        rows = await store.secrets_not_under(conn, current, after=after, limit=batch_size)
        if not rows:
            break
        for row in rows:
            context = secret_context(row.connection_id, SecretKind(row.kind))
            rewrapped += await store.replace_wrapped_key(
                conn, row, rewrap(keyring, row.sealed, context)
            )
        after = (rows[-1].connection_id, rows[-1].kind)
    remaining = await store.secrets_per_master_key(conn, except_key=current)
    return RewrapReport(rewrapped=rewrapped, remaining=remaining)
