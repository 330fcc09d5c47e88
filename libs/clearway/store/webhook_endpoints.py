"""The webhook endpoints an account registers (`webhook_endpoints`) and their signing secrets
(`webhook_secrets`, sealed with the master keys); what a delivery needs of an endpoint (its
turn in the claim, whether it is failing) is written here too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from clearway.db import Connection
from clearway.domain.ids import new_id
from clearway.security import Keyring, SealedSecret, rewrap, seal, unseal
from clearway.store.rows import Changes, Where, assignments, newest_first, one_row, owned
from clearway.webhooks.signing import new_secret

# The claim (clearway.store.webhook_deliveries) gives every endpoint it visits its turn in the
# same statement as it leases their deliveries: this is that statement's write of endpoints.
TAKE_TURNS = "UPDATE webhook_endpoints SET last_claimed_at = $1 WHERE id IN (SELECT id FROM ready)"


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


async def enabled_endpoints(
    conn: Connection, account_id: str, *, livemode: bool | None
) -> list[Any]:
    """The account's enabled endpoints (of that mode, when it has one), with their events."""
    return list(
        await conn.fetch(
            "SELECT id, enabled_events, created_at FROM webhook_endpoints "
            "WHERE account_id = $1 AND disabled_at IS NULL "
            "AND ($2::boolean IS NULL OR livemode = $2)",
            account_id,
            livemode,
        )
    )


# --- endpoints ------------------------------------------------------------------------------


class EndpointChanges(Changes):
    """Columns of an endpoint to set; only the fields given are written (None given clears)."""

    url: str | None = None
    description: str | None = None
    enabled_events: list[str] | None = None
    disabled_at: dt.datetime | None = None
    disabled_reason: str | None = None
    failing_since: dt.datetime | None = None


async def create_endpoint(  # noqa: PLR0913 - the parts of an endpoint
    conn: Connection,
    endpoint_id: str,
    *,
    account_id: str,
    livemode: bool,
    url: str,
    description: str | None,
    enabled_events: list[str],
) -> None:
    await conn.execute(
        "INSERT INTO webhook_endpoints (id, account_id, livemode, url, description, "
        "enabled_events) VALUES ($1, $2, $3, $4, $5, $6)",
        endpoint_id,
        account_id,
        livemode,
        url,
        description,
        enabled_events,
    )


async def update_endpoint(conn: Connection, endpoint_id: str, changes: EndpointChanges) -> Any:
    """Set the columns given and return the row."""
    fields = changes.columns()
    return await conn.fetchrow(
        f"UPDATE webhook_endpoints SET {assignments(fields, 2)}updated_at = now() "  # noqa: S608
        "WHERE id = $1 RETURNING *",
        endpoint_id,
        *fields.values(),
    )


async def delete_endpoint(conn: Connection, endpoint_id: str) -> None:
    """The endpoint, its secrets and its deliveries (the schema cascades)."""
    await conn.execute("DELETE FROM webhook_endpoints WHERE id = $1", endpoint_id)


async def lock_account_endpoints(conn: Connection, account_id: str) -> int:
    """Serialise endpoint creation for the account (until the transaction ends); how many
    endpoints it has."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", account_id)
    count: int = await conn.fetchval(
        "SELECT count(*) FROM webhook_endpoints WHERE account_id = $1", account_id
    )
    return count


async def owned_endpoint(
    conn: Connection, endpoint_id: str, account_id: str, *, livemode: bool
) -> Any:
    return await one_row(
        conn, "webhook_endpoints", owned(endpoint_id, account_id, livemode=livemode)
    )


async def account_endpoints(conn: Connection, account_id: str, *, livemode: bool) -> list[Any]:
    """Newest first."""
    where = Where("account_id = ?", account_id).add("livemode = ?", livemode)
    return await newest_first(conn, "webhook_endpoints", where)


async def endpoint_succeeded(conn: Connection, endpoint_id: str) -> None:
    """A 2xx: the endpoint is no longer failing."""
    await conn.execute(
        "UPDATE webhook_endpoints SET failing_since = NULL "
        "WHERE id = $1 AND failing_since IS NOT NULL",
        endpoint_id,
    )


async def endpoint_failed(conn: Connection, endpoint_id: str, at: dt.datetime) -> dt.datetime:
    """A failed attempt at `at`; returns since when the endpoint has been failing."""
    failing_since: dt.datetime = await conn.fetchval(
        "UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, $2) "
        "WHERE id = $1 RETURNING failing_since",
        endpoint_id,
        at,
    )
    return failing_since


async def disable_endpoint(
    conn: Connection, endpoint_id: str, *, at: dt.datetime, reason: str
) -> Any:
    """Disabled with the reason, unless it already was; the row, or None."""
    return await conn.fetchrow(
        "UPDATE webhook_endpoints SET disabled_at = $2, disabled_reason = $3, updated_at = $2 "
        "WHERE id = $1 AND disabled_at IS NULL "
        "RETURNING id, account_id, livemode, url, failing_since",
        endpoint_id,
        at,
        reason,
    )
