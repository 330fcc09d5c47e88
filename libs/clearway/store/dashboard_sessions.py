"""`dashboard_sessions`: the dashboard's signed-in browsers (services.intake.dashboard.session
makes, opens and ends them).

A row is found by the SHA-256 of the random id its browser's cookie holds. The API key the
session acts with arrives here sealed: nothing in this module sees a plaintext key. A session is
open until it expires, while its key is not revoked; sign-out deletes it."""

from __future__ import annotations

from dataclasses import dataclass

from clearway.db import Connection
from clearway.security import SealedSecret


@dataclass(frozen=True)
class SessionRow:
    key_id: str
    csrf_token: str
    sealed_key: SealedSecret


async def insert_session(conn: Connection, id_hash: str, row: SessionRow, seconds: int) -> None:
    """A session open for `seconds` from now. The expired rows go at the same time: each
    sign-in clears what no browser can use any more."""
    await conn.execute("DELETE FROM dashboard_sessions WHERE expires_at <= now()")
    await conn.execute(
        "INSERT INTO dashboard_sessions "
        "(id_hash, key_id, csrf_token, master_key_id, wrapped_key, ciphertext, expires_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))",
        id_hash,
        row.key_id,
        row.csrf_token,
        row.sealed_key.master_key_id,
        row.sealed_key.wrapped_key,
        row.sealed_key.ciphertext,
        seconds,
    )


async def open_session(conn: Connection, id_hash: str) -> SessionRow | None:
    """The session, unless there is none, it expired or its key is revoked."""
    row = await conn.fetchrow(
        "SELECT s.key_id, s.csrf_token, s.master_key_id, s.wrapped_key, s.ciphertext "
        "FROM dashboard_sessions s JOIN api_keys k ON k.id = s.key_id "
        "WHERE s.id_hash = $1 AND s.expires_at > now() AND k.revoked_at IS NULL",
        id_hash,
    )
    if row is None:
        return None
    return SessionRow(
        key_id=row["key_id"],
        csrf_token=row["csrf_token"],
        sealed_key=SealedSecret(row["master_key_id"], row["wrapped_key"], row["ciphertext"]),
    )


async def delete_session(conn: Connection, id_hash: str) -> None:
    await conn.execute("DELETE FROM dashboard_sessions WHERE id_hash = $1", id_hash)
