"""Webhook records in PostgreSQL, as the intake API and the dispatcher share them: the signing
secrets (sealed), and the deliveries waiting to be sent.

A delivery is one event for one endpoint, unique by (endpoint, event): recording the same event
twice (a redelivered message) adds nothing. Inserting deliveries notifies WAKE_CHANNEL, so a
dispatcher sends them at once instead of at its next sweep.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from clearway.domain.ids import new_id
from clearway.eventstore import Connection
from clearway.observability.tracing import current_traceparent
from clearway.security import Keyring, SealedSecret, rewrap, seal, unseal
from clearway.webhooks.signing import new_secret, webhook_id_for

WAKE_CHANNEL = "webhook_deliveries"


class NewDelivery(BaseModel):
    model_config = ConfigDict(frozen=True)

    endpoint_id: str
    event_id: str
    event_type: str
    body: str
    stream_id: str | None = None
    stream_version: int | None = None


def _context(endpoint_id: str) -> bytes:
    # A sealed secret opens only on its own endpoint's row.
    return f"webhook-endpoint:{endpoint_id}".encode()


async def add_secret(conn: Connection, keyring: Keyring, endpoint_id: str) -> str:
    """A new current secret for the endpoint; returns it (the only time it is shown)."""
    secret = new_secret()
    sealed = seal(keyring, secret.encode(), _context(endpoint_id))
    await conn.execute(
        "INSERT INTO webhook_secrets (id, endpoint_id, master_key_id, wrapped_key, ciphertext) "
        "VALUES ($1, $2, $3, $4, $5)",
        new_id("whsk"),
        endpoint_id,
        sealed.master_key_id,
        sealed.wrapped_key,
        sealed.ciphertext,
    )
    return secret


async def rotate_secret(
    conn: Connection, keyring: Keyring, endpoint_id: str, overlap: dt.timedelta
) -> tuple[str, dt.datetime | None]:
    """Replace the current secret; the old ones keep signing until now + overlap (or their own
    earlier expiry). Returns the new secret and when the previous one stops signing."""
    async with conn.transaction():
        await conn.execute(
            "DELETE FROM webhook_secrets WHERE endpoint_id = $1 AND expires_at <= now()",
            endpoint_id,
        )
        expires_at: dt.datetime | None = await conn.fetchval(
            "WITH ended AS (UPDATE webhook_secrets SET expires_at = LEAST("
            "  coalesce(expires_at, 'infinity'::timestamptz), now() + $2::interval) "
            "WHERE endpoint_id = $1 RETURNING expires_at) SELECT max(expires_at) FROM ended",
            endpoint_id,
            overlap,
        )
        secret = await add_secret(conn, keyring, endpoint_id)
    return secret, expires_at


async def signing_secrets(
    conn: Connection, keyring: Keyring, endpoint_id: str, now: dt.datetime
) -> list[str]:
    """Every secret that signs at `now`, newest first."""
    rows = await conn.fetch(
        "SELECT master_key_id, wrapped_key, ciphertext FROM webhook_secrets "
        "WHERE endpoint_id = $1 AND (expires_at IS NULL OR expires_at > $2) "
        "ORDER BY created_at DESC, id DESC",
        endpoint_id,
        now,
    )
    return [
        unseal(
            keyring,
            SealedSecret(row["master_key_id"], row["wrapped_key"], row["ciphertext"]),
            _context(endpoint_id),
        ).decode()
        for row in rows
    ]


async def rewrap_secrets(conn: Connection, keyring: Keyring) -> int:
    """Re-wrap every secret's data key with the current master key (master key rotation)."""
    rows = await conn.fetch(
        "SELECT id, endpoint_id, master_key_id, wrapped_key, ciphertext FROM webhook_secrets "
        "WHERE master_key_id <> $1",
        keyring.current.key_id,
    )
    for row in rows:
        context = _context(row["endpoint_id"])
        sealed = SealedSecret(row["master_key_id"], row["wrapped_key"], row["ciphertext"])
        fresh = rewrap(keyring, sealed, context)
        await conn.execute(
            "UPDATE webhook_secrets SET master_key_id = $2, wrapped_key = $3 WHERE id = $1",
            row["id"],
            fresh.master_key_id,
            fresh.wrapped_key,
        )
    return len(rows)


async def subscribed_endpoints(
    conn: Connection, account_id: str, event_type: str, *, livemode: bool | None
) -> list[Any]:
    """The account's enabled endpoints that want `event_type` (of that mode, when it has one)."""
    return list(
        await conn.fetch(
            "SELECT id, created_at FROM webhook_endpoints "
            "WHERE account_id = $1 AND disabled_at IS NULL "
            "AND ($2::boolean IS NULL OR livemode = $2) "
            "AND ('*' = ANY(enabled_events) OR $3 = ANY(enabled_events)) "
            "ORDER BY created_at",
            account_id,
            livemode,
            event_type,
        )
    )


async def enqueue_deliveries(conn: Connection, deliveries: Sequence[NewDelivery]) -> None:
    """Record deliveries (those already recorded are left as they are) and wake dispatchers."""
    if not deliveries:
        return
    traceparent = current_traceparent()  # the delivery continues the event's trace
    await conn.executemany(
        "INSERT INTO webhook_deliveries (id, endpoint_id, event_id, webhook_id, event_type, "
        "stream_id, stream_version, body, traceparent) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        "ON CONFLICT (endpoint_id, event_id) DO NOTHING",
        [
            (
                new_id("whd"),
                d.endpoint_id,
                d.event_id,
                webhook_id_for(d.endpoint_id, d.event_id),
                d.event_type,
                d.stream_id,
                d.stream_version,
                d.body,
                traceparent,
            )
            for d in deliveries
        ],
    )
    await wake_dispatchers(conn)


async def wake_dispatchers(conn: Connection) -> None:
    # Delivered on commit, to every dispatcher listening.
    await conn.execute("SELECT pg_notify($1, '')", WAKE_CHANNEL)
