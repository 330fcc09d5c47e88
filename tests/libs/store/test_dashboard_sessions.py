"""The dashboard's session rows against real PostgreSQL: a row opens until it expires, its key
is revoked or it is deleted (sign-out), and each new session clears the expired rows."""

from __future__ import annotations

import secrets
from typing import Any

import asyncpg
import pytest
from clearway.accounts import create_account, create_api_key, key_id_of, revoke_api_key
from clearway.security import SealedSecret
from clearway.store.dashboard_sessions import (
    SessionRow,
    delete_session,
    insert_session,
    open_session,
)

pytestmark = [pytest.mark.postgres]

SEALED = SealedSecret("test-1", b"wrapped", b"ciphertext")


async def _session_row(conn: asyncpg.Connection[Any]) -> SessionRow:
    """A session's row for a new key of a new account."""
    account_id = await create_account(conn, "dashboard sessions")
    key_id = await key_id_of(conn, await create_api_key(conn, account_id, "test"))
    assert key_id is not None
    return SessionRow(key_id, "csrf-token", SEALED)


def _id_hash() -> str:
    return secrets.token_hex(32)


async def test_a_session_opens_until_deleted_or_its_key_is_revoked(
    store_db: asyncpg.Pool[Any],
) -> None:
    async with store_db.acquire() as conn:
        row = await _session_row(conn)
        signed_out, revoked, other_key = _id_hash(), _id_hash(), _id_hash()
        for id_hash in (signed_out, revoked):
            await insert_session(conn, id_hash, row, 3600)
        await insert_session(conn, other_key, await _session_row(conn), 3600)
        opened = await open_session(conn, signed_out)
        await delete_session(conn, signed_out)
        after_sign_out = await open_session(conn, signed_out)
        before_revocation = await open_session(conn, revoked)
        assert await revoke_api_key(conn, row.key_id)
        after_revocation = await open_session(conn, revoked)
        of_another_key = await open_session(conn, other_key)
        never_made = await open_session(conn, _id_hash())
    assert opened == row
    assert before_revocation == row
    assert (after_sign_out, after_revocation, never_made) == (None, None, None)
    assert of_another_key is not None


async def test_an_expired_session_opens_as_none_and_goes_at_the_next_sign_in(
    store_db: asyncpg.Pool[Any],
) -> None:
    async with store_db.acquire() as conn:
        row = await _session_row(conn)
        expiring, lasting = _id_hash(), _id_hash()
        for id_hash in (expiring, lasting):
            await insert_session(conn, id_hash, row, 3600)
        await conn.execute(
            "UPDATE dashboard_sessions SET expires_at = now() - interval '1 second' "
            "WHERE id_hash = $1",
            expiring,
        )
        expired = await open_session(conn, expiring)
        still_open = await open_session(conn, lasting)
        await insert_session(conn, _id_hash(), row, 3600)
        kept = await conn.fetchval(
            "SELECT count(*) FROM dashboard_sessions WHERE id_hash = ANY($1::text[])",
            [expiring, lasting],
        )
    assert expired is None
    assert still_open == row
    assert kept == 1  # the expired row went when the next session was made
