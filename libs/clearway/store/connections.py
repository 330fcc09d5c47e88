"""The `connections`, `connection_secrets` and `oauth_states` tables: a company's link to its
government, its sealed secrets, and the single-use state of an ANAF authorization.

Secrets arrive here sealed (clearway.accounts.connection_secrets seals and opens them): nothing in
this module sees a plaintext secret."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from clearway.db import Connection
from clearway.domain.ids import new_id
from clearway.security import SealedSecret
from clearway.store.rows import Changes, Where, assignments, newest_first, one_row, owned

# A deleted connection is kept for the invoices that name it; the API and filing never see it.
NOT_DELETED = "status <> 'deleted'"

# --- connections ----------------------------------------------------------------------------


class ConnectionChanges(Changes):
    """Columns of a connection to set; only the fields given are written (None given clears)."""

    status: str | None = None
    is_sender: bool | None = None
    is_receiver: bool | None = None
    network_scheme: str | None = None
    network_identifier: str | None = None
    last_error_message: str | None = None
    token_expires_at: dt.datetime | None = None
    refresh_token_expires_at: dt.datetime | None = None
    next_refresh_at: dt.datetime | None = None
    refresh_lease_until: dt.datetime | None = None
    refresh_lease_owner: str | None = None
    refresh_failures: int | None = None
    deleted_at: dt.datetime | None = None


async def live_connection(
    conn: Connection,
    company_id: str,
    country: str,
    *,
    livemode: bool = False,
    for_update: bool = False,
) -> Any:
    """The company's connection for the country and mode that is not deleted (at most one), or
    None. ("Live" as in not deleted; `livemode` is the key's mode, sandbox or live.)"""
    where = Where("company_id = ?", company_id).add("country = ?", country)
    where.add("livemode = ?", livemode).add(NOT_DELETED)
    return await one_row(conn, "connections", where, for_update=for_update)


async def insert_pending_connection(  # noqa: PLR0913 - the parts of a new connection
    conn: Connection,
    account_id: str,
    company_id: str,
    country: str,
    *,
    is_sender: bool,
    is_receiver: bool,
    livemode: bool,
) -> bool:
    """A new `pending_setup` connection unless the company has a live one for the country and
    mode (the partial unique index decides between concurrent callers); True when made."""
    inserted = await conn.fetchval(
        "INSERT INTO connections (id, account_id, company_id, country, status, is_sender, "
        "is_receiver, livemode) VALUES ($1, $2, $3, $4, 'pending_setup', $5, $6, $7) "
        "ON CONFLICT (company_id, country, livemode) WHERE status <> 'deleted' DO NOTHING "
        "RETURNING id",
        new_id("conn"),
        account_id,
        company_id,
        country,
        is_sender,
        is_receiver,
        livemode,
    )
    return inserted is not None


async def update_connection(
    conn: Connection, connection_id: str, changes: ConnectionChanges
) -> Any:
    """Set the columns given and return the row (None when there is no such connection)."""
    fields = changes.columns()
    return await conn.fetchrow(
        f"UPDATE connections SET {assignments(fields, 2)}updated_at = now() "  # noqa: S608
        "WHERE id = $1 RETURNING *",
        connection_id,
        *fields.values(),
    )


async def expire_active_connection(
    conn: Connection, connection_id: str, message: str, *, lease_owner: str | None = None
) -> Any:
    """`expired` with the reason and no refresh planned, if it is active (and, when given, still
    leased to `lease_owner`); the updated row, or None."""
    fence = "" if lease_owner is None else " AND refresh_lease_owner = $3"
    args: list[Any] = [connection_id, message] + ([] if lease_owner is None else [lease_owner])
    return await conn.fetchrow(
        "UPDATE connections SET status = 'expired', last_error_message = $2, "  # noqa: S608
        "next_refresh_at = NULL, refresh_lease_until = NULL, refresh_lease_owner = NULL, "
        f"updated_at = now() WHERE id = $1 AND status = 'active'{fence} RETURNING *",
        *args,
    )


async def connection_row(conn: Connection, connection_id: str, *, for_update: bool = False) -> Any:
    return await one_row(conn, "connections", Where("id = ?", connection_id), for_update=for_update)


async def owned_connection_row(
    conn: Connection,
    connection_id: str,
    account_id: str,
    *,
    livemode: bool,
    for_update: bool = False,
) -> Any:
    """The account's connection of that mode when it is not deleted, else None."""
    where = owned(connection_id, account_id, livemode=livemode).add(NOT_DELETED)
    return await one_row(conn, "connections", where, for_update=for_update)


async def account_connections(conn: Connection, account_id: str, *, livemode: bool) -> list[Any]:
    """The account's connections of that mode that are not deleted, newest first."""
    where = Where("account_id = ?", account_id).add("livemode = ?", livemode).add(NOT_DELETED)
    return await newest_first(conn, "connections", where)


async def active_connection_with_vat(conn: Connection, connection_id: str) -> Any:
    """The active connection, locked, with its company's `vat_number`; else None."""
    return await conn.fetchrow(
        "SELECT c.*, co.vat_number FROM connections c "
        "JOIN companies co ON co.id = c.company_id "
        "WHERE c.id = $1 AND c.status = 'active' FOR UPDATE OF c",
        connection_id,
    )


async def connection_with_vat(conn: Connection, connection_id: str) -> Any:
    """The connection with its company's `vat_number` (what an inbox is read for), unlocked."""
    return await conn.fetchrow(
        "SELECT c.*, co.vat_number FROM connections c "
        "JOIN companies co ON co.id = c.company_id WHERE c.id = $1",
        connection_id,
    )


# Where each way a network names a receiving company is recorded (clearway.governments.pushed).
_RECIPIENT_COLUMNS = {
    "vat_number": "co.vat_number",
    "network_identifier": "c.network_identifier",
    "participant_id": "(c.network_scheme || ':' || c.network_identifier)",
}


async def receiving_connections(
    conn: Connection, *, country: str, livemode: bool, recipient_field: str, recipient: str
) -> list[Any]:
    """The active receiving connections of that country and mode whose company the network
    names `recipient` (its `recipient_field`), each with its company's `vat_number`; none when
    no company here receives for it (several when accounts connected the same company: each
    receives, as each would read a pulled inbox). Compared without case or spaces, as networks
    write identifiers."""
    column = _RECIPIENT_COLUMNS[recipient_field]
    # The column is one of ours.
    query = (
        "SELECT c.*, co.vat_number FROM connections c "  # noqa: S608
        "JOIN companies co ON co.id = c.company_id "
        "WHERE c.country = $1 AND c.livemode = $2 AND c.status = 'active' AND c.is_receiver "
        f"AND upper(replace({column}, ' ', '')) = upper(replace($3, ' ', '')) "
        "ORDER BY c.created_at, c.id"
    )
    return await conn.fetch(
        query,
        country,
        livemode,
        recipient,
    )


async def active_connection_row(conn: Connection, connection_id: str) -> Any:
    """The connection, locked, when it is active; else None."""
    return await conn.fetchrow(
        "SELECT * FROM connections WHERE id = $1 AND status = 'active' FOR UPDATE",
        connection_id,
    )


async def active_connection_id(
    conn: Connection, company_id: str, country: str, *, livemode: bool
) -> str | None:
    connection_id: str | None = await conn.fetchval(
        "SELECT id FROM connections WHERE company_id = $1 AND country = $2 AND livemode = $3 "
        "AND status = 'active'",
        company_id,
        country,
        livemode,
    )
    return connection_id


async def is_active(conn: Connection, connection_id: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM connections WHERE id = $1 AND status = 'active'", connection_id
        )
    )


async def company_connection_ids(conn: Connection, company_id: str) -> list[str]:
    """The company's connections that are not deleted, locked."""
    rows = await conn.fetch(
        "SELECT id FROM connections WHERE company_id = $1 AND status <> 'deleted' FOR UPDATE",
        company_id,
    )
    return [str(r["id"]) for r in rows]


# --- the token refresher's schedule and lease ------------------------------------------------


async def claim_due_refreshes(
    conn: Connection, *, now: dt.datetime, lease_until: dt.datetime, owner: str, limit: int
) -> list[Any]:
    """Lease to `owner` up to `limit` active connections whose refresh is due and that no other
    replica holds; their rows."""
    return list(
        await conn.fetch(
            "UPDATE connections c SET refresh_lease_until = $2, refresh_lease_owner = $3 "
            "FROM (SELECT id FROM connections WHERE status = 'active' "
            "AND next_refresh_at <= $1 "
            "AND (refresh_lease_until IS NULL OR refresh_lease_until <= $1) "
            "ORDER BY next_refresh_at LIMIT $4 FOR UPDATE SKIP LOCKED) due "
            "WHERE c.id = due.id RETURNING c.*",
            now,
            lease_until,
            owner,
            limit,
        )
    )


async def record_refresh(  # noqa: PLR0913 - the parts of a refresh
    conn: Connection,
    connection_id: str,
    *,
    owner: str,
    token_expires_at: dt.datetime | None,
    refresh_token_expires_at: dt.datetime | None,
    next_refresh_at: dt.datetime | None,
) -> Any:
    """New token lifetimes and the next refresh, lease released; the row, or None when the
    lease is no longer `owner`'s or the connection is no longer active."""
    return await conn.fetchrow(
        "UPDATE connections SET token_expires_at = $3, refresh_token_expires_at = $4, "
        "next_refresh_at = $5, refresh_lease_until = NULL, refresh_lease_owner = NULL, "
        "refresh_failures = 0, last_error_message = NULL, updated_at = now() "
        "WHERE id = $1 AND refresh_lease_owner = $2 AND status = 'active' RETURNING *",
        connection_id,
        owner,
        token_expires_at,
        refresh_token_expires_at,
        next_refresh_at,
    )


async def refresh_later(  # noqa: PLR0913 - the parts of a postponed refresh
    conn: Connection,
    connection_id: str,
    *,
    owner: str,
    retry_at: dt.datetime,
    failures: int,
    message: str,
) -> None:
    """A passing failure: try again at `retry_at`, lease released (if still `owner`'s)."""
    await conn.execute(
        "UPDATE connections SET next_refresh_at = $3, refresh_failures = $4, "
        "last_error_message = $5, refresh_lease_until = NULL, refresh_lease_owner = NULL, "
        "updated_at = now() WHERE id = $1 AND refresh_lease_owner = $2",
        connection_id,
        owner,
        retry_at,
        failures,
        message,
    )


async def refresh_at_expiry(conn: Connection, connection_id: str, *, owner: str) -> None:
    """Nothing to refresh yet: look again when the credential expires, lease released."""
    await conn.execute(
        "UPDATE connections SET next_refresh_at = token_expires_at, "
        "refresh_lease_until = NULL, refresh_lease_owner = NULL "
        "WHERE id = $1 AND refresh_lease_owner = $2",
        connection_id,
        owner,
    )


async def expiry_horizons(conn: Connection, *, except_countries: Sequence[str]) -> dict[str, Any]:
    """Per country, the first moment an active connection stops working unless renewed by a
    person: the refresh token's end, else the credential's own."""
    rows = await conn.fetch(
        "SELECT country, min(coalesce(refresh_token_expires_at, token_expires_at)) "
        "AS horizon FROM connections WHERE status = 'active' "
        "AND NOT (country = ANY($1::text[])) GROUP BY country",
        list(except_countries),
    )
    return {row["country"]: row["horizon"] for row in rows}


# --- secrets --------------------------------------------------------------------------------


class SecretRow(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    connection_id: str
    kind: str
    sealed: SealedSecret


async def put_secrets(conn: Connection, rows: Sequence[SecretRow]) -> None:
    """Store (or replace) sealed secrets."""
    await conn.executemany(
        "INSERT INTO connection_secrets "
        "(connection_id, kind, master_key_id, wrapped_key, ciphertext) VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT (connection_id, kind) DO UPDATE SET master_key_id = EXCLUDED.master_key_id, "
        "wrapped_key = EXCLUDED.wrapped_key, ciphertext = EXCLUDED.ciphertext, updated_at = now()",
        [
            (
                r.connection_id,
                r.kind,
                r.sealed.master_key_id,
                r.sealed.wrapped_key,
                r.sealed.ciphertext,
            )
            for r in rows
        ],
    )


async def sealed_secret(conn: Connection, connection_id: str, kind: str) -> SealedSecret | None:
    row = await conn.fetchrow(
        "SELECT master_key_id, wrapped_key, ciphertext FROM connection_secrets "
        "WHERE connection_id = $1 AND kind = $2",
        connection_id,
        kind,
    )
    if row is None:
        return None
    return SealedSecret(row["master_key_id"], row["wrapped_key"], row["ciphertext"])


async def delete_secrets(
    conn: Connection, connection_id: str, kinds: Iterable[str] | None = None
) -> int:
    """Delete the rows (of these kinds, else all); how many were deleted."""
    if kinds is None:
        result: str = await conn.execute(
            "DELETE FROM connection_secrets WHERE connection_id = $1", connection_id
        )
    else:
        result = await conn.execute(
            "DELETE FROM connection_secrets WHERE connection_id = $1 AND kind = ANY($2::text[])",
            connection_id,
            list(kinds),
        )
    return int(result.split()[-1])


async def secrets_not_under(
    conn: Connection, master_key_id: str, *, after: tuple[str, str], limit: int
) -> list[SecretRow]:
    """Up to `limit` secrets wrapped under another master key, after `after` (connection id,
    kind) in that order."""
    rows = await conn.fetch(
        "SELECT connection_id, kind, master_key_id, wrapped_key, ciphertext "
        "FROM connection_secrets "
        "WHERE master_key_id <> $1 AND (connection_id, kind) > ($2, $3) "
        "ORDER BY connection_id, kind LIMIT $4",
        master_key_id,
        *after,
        limit,
    )
    return [
        SecretRow(
            connection_id=r["connection_id"],
            kind=r["kind"],
            sealed=SealedSecret(r["master_key_id"], r["wrapped_key"], r["ciphertext"]),
        )
        for r in rows
    ]


async def replace_wrapped_key(conn: Connection, row: SecretRow, rewrapped: SealedSecret) -> bool:
    """The secret's data key wrapped anew, unless the row changed since it was read."""
    updated: str = await conn.execute(
        "UPDATE connection_secrets SET master_key_id = $3, wrapped_key = $4 "
        "WHERE connection_id = $1 AND kind = $2 AND master_key_id = $5 AND wrapped_key = $6",
        row.connection_id,
        row.kind,
        rewrapped.master_key_id,
        rewrapped.wrapped_key,
        row.sealed.master_key_id,
        row.sealed.wrapped_key,
    )
    return updated == "UPDATE 1"


async def secrets_per_master_key(conn: Connection, *, except_key: str) -> dict[str, int]:
    """How many secrets each master key other than `except_key` still wraps."""
    rows = await conn.fetch(
        "SELECT master_key_id, count(*) AS n FROM connection_secrets WHERE master_key_id <> $1 "
        "GROUP BY master_key_id",
        except_key,
    )
    return {r["master_key_id"]: r["n"] for r in rows}


# --- the ANAF OAuth state -------------------------------------------------------------------


async def put_oauth_state(  # noqa: PLR0913 - the parts of an authorization
    conn: Connection,
    state: str,
    *,
    connection_id: str,
    account_id: str,
    redirect_uri: str,
    expires_at: dt.datetime,
) -> None:
    """A fresh, unused state (replacing one of the same value)."""
    await conn.execute(
        "INSERT INTO oauth_states (state, connection_id, account_id, redirect_uri, expires_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (state) DO UPDATE SET "
        "connection_id = EXCLUDED.connection_id, account_id = EXCLUDED.account_id, "
        "redirect_uri = EXCLUDED.redirect_uri, expires_at = EXCLUDED.expires_at, "
        "consumed_at = NULL, created_at = now()",
        state,
        connection_id,
        account_id,
        redirect_uri,
        expires_at,
    )


async def delete_oauth_states(conn: Connection, connection_id: str) -> None:
    await conn.execute("DELETE FROM oauth_states WHERE connection_id = $1", connection_id)


async def consume_oauth_state(conn: Connection, state: str, *, now: dt.datetime) -> Any:
    """Use the state up: (connection_id, redirect_uri) when it was live and unused, of a
    connection of the same account waiting for an ANAF authorization; else None."""
    return await conn.fetchrow(
        "UPDATE oauth_states s SET consumed_at = $2 FROM connections c "
        "WHERE s.state = $1 AND s.consumed_at IS NULL AND s.expires_at > $2 "
        "AND c.id = s.connection_id AND c.account_id = s.account_id "
        "AND c.status = 'pending_setup' AND c.country = 'RO' "
        "RETURNING s.connection_id, s.redirect_uri",
        state,
        now,
    )
