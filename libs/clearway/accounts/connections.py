"""Connections in PostgreSQL: their rows, their sealed secrets, their events, their OAuth state.

Secrets (tokens, KSeF tokens, certificates, private keys) live in `connection_secrets`, each
sealed under its own data key (clearway.security); the context every secret is sealed under
names its connection and kind, so a row copied elsewhere does not open. Nothing here logs a
secret, and no row or model that leaves this module holds one except `ActiveConnection` and
`read_secret`'s answer, which exist to be handed to a government.

The master keys come from CLEARWAY_MASTER_KEYS unless a caller passes a keyring.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from clearway.domain.connections import (
    ConnectionEvent,
    ConnectionStatus,
    SecretKind,
    next_refresh_at,
    system_of,
    token_policy_of,
)
from clearway.domain.ids import iso_millis, new_id, utcnow
from clearway.domain.lifecycle import EventType
from clearway.eventstore import Connection, InvoiceRef, OutboxMessage, append_event, enqueue
from clearway.messaging.envelope import ConnectionEventMessage
from clearway.messaging.topics import CONNECTION_EVENTS
from clearway.security import Keyring, SealedSecret, keyring_from_env, rewrap, seal, unseal
from clearway.store import status_polls

# How long an authorizationUrl stays good: the user may take a while with the USB token.
OAUTH_STATE_LIFETIME = dt.timedelta(hours=1)
_jitter = random.Random()  # noqa: S311 - spreads refresh times; nothing secret depends on it


@functools.cache
def default_keyring() -> Keyring:
    """The process's master keys, read once from CLEARWAY_MASTER_KEYS."""
    return keyring_from_env()


def _keys(keyring: Keyring | None) -> Keyring:
    return keyring if keyring is not None else default_keyring()


def secret_context(connection_id: str, kind: SecretKind) -> bytes:
    return f"connection/{connection_id}/{kind.value}".encode()


# --- secrets -------------------------------------------------------------------------------


async def store_secrets(
    conn: Connection,
    connection_id: str,
    values: Mapping[SecretKind, str | bytes],
    *,
    keyring: Keyring | None = None,
) -> None:
    """Seal and store (or replace) secrets of a connection."""
    keys = _keys(keyring)
    rows = []
    for kind, value in values.items():
        plaintext = value.encode() if isinstance(value, str) else value
        sealed = seal(keys, plaintext, secret_context(connection_id, kind))
        rows.append(
            (connection_id, kind.value, sealed.master_key_id, sealed.wrapped_key, sealed.ciphertext)
        )
    await conn.executemany(
        "INSERT INTO connection_secrets "
        "(connection_id, kind, master_key_id, wrapped_key, ciphertext) VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT (connection_id, kind) DO UPDATE SET master_key_id = EXCLUDED.master_key_id, "
        "wrapped_key = EXCLUDED.wrapped_key, ciphertext = EXCLUDED.ciphertext, updated_at = now()",
        rows,
    )


async def read_secret(
    conn: Connection, connection_id: str, kind: SecretKind, *, keyring: Keyring | None = None
) -> str | None:
    row: Any = await conn.fetchrow(
        "SELECT master_key_id, wrapped_key, ciphertext FROM connection_secrets "
        "WHERE connection_id = $1 AND kind = $2",
        connection_id,
        kind.value,
    )
    if row is None:
        return None
    sealed = SealedSecret(row["master_key_id"], row["wrapped_key"], row["ciphertext"])
    return unseal(_keys(keyring), sealed, secret_context(connection_id, kind)).decode()


async def purge_secrets(
    conn: Connection, connection_id: str, kinds: Iterable[SecretKind] | None = None
) -> int:
    """Delete the rows (not blank them): what is gone cannot be decrypted by anyone."""
    if kinds is None:
        result: str = await conn.execute(
            "DELETE FROM connection_secrets WHERE connection_id = $1", connection_id
        )
    else:
        result = await conn.execute(
            "DELETE FROM connection_secrets WHERE connection_id = $1 AND kind = ANY($2::text[])",
            connection_id,
            [kind.value for kind in kinds],
        )
    return int(result.split()[-1])


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
        rows = await conn.fetch(
            "SELECT connection_id, kind, master_key_id, wrapped_key, ciphertext "
            "FROM connection_secrets "
            "WHERE master_key_id <> $1 AND (connection_id, kind) > ($2, $3) "
            "ORDER BY connection_id, kind LIMIT $4",
            current,
            *after,
            batch_size,
        )
        if not rows:
            break
        for row in rows:
            kind = SecretKind(row["kind"])
            old = SealedSecret(row["master_key_id"], row["wrapped_key"], row["ciphertext"])
            new = rewrap(keyring, old, secret_context(row["connection_id"], kind))
            updated = await conn.execute(
                "UPDATE connection_secrets SET master_key_id = $3, wrapped_key = $4 "
                "WHERE connection_id = $1 AND kind = $2 AND master_key_id = $5 "
                "AND wrapped_key = $6",
                row["connection_id"],
                kind.value,
                new.master_key_id,
                new.wrapped_key,
                old.master_key_id,
                old.wrapped_key,
            )
            rewrapped += updated == "UPDATE 1"
        after = (rows[-1]["connection_id"], rows[-1]["kind"])
    remaining = await conn.fetch(
        "SELECT master_key_id, count(*) AS n FROM connection_secrets WHERE master_key_id <> $1 "
        "GROUP BY master_key_id",
        current,
    )
    return RewrapReport(
        rewrapped=rewrapped, remaining={r["master_key_id"]: r["n"] for r in remaining}
    )


# --- events --------------------------------------------------------------------------------


def connection_event(row: Mapping[str, Any], event: ConnectionEvent) -> OutboxMessage:
    expires = row["token_expires_at"]
    message = ConnectionEventMessage(
        eventId=new_id("evt"),
        event=event.value,
        connectionId=row["id"],
        accountId=row["account_id"],
        companyId=row["company_id"],
        countryCode=row["country"],
        status=row["status"],
        tokenExpiresAt=iso_millis(expires) if expires else None,
        lastErrorMessage=row["last_error_message"],
        createdAt=iso_millis(utcnow()),
    )
    return OutboxMessage(
        topic=CONNECTION_EVENTS, key=row["id"], payload=message.model_dump(mode="json")
    )


# --- rows ----------------------------------------------------------------------------------


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
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(
        "SELECT * FROM connections WHERE company_id = $1 AND country = $2 "  # noqa: S608
        f"AND livemode = $3 AND status <> 'deleted'{lock}",
        company_id,
        country,
        livemode,
    )


async def open_connection(  # noqa: PLR0913 - the parts of a new connection
    conn: Connection,
    account_id: str,
    company_id: str,
    country: str,
    *,
    is_sender: bool = True,
    is_receiver: bool = True,
    livemode: bool = False,
) -> tuple[Any, bool]:
    """The company's live connection for the country and mode, locked, and whether it was
    just made.

    Concurrent callers get the same row: the partial unique index decides who inserts."""
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
    row = await live_connection(conn, company_id, country, livemode=livemode, for_update=True)
    return row, inserted is not None


async def update_connection(conn: Connection, connection_id: str, **fields: Any) -> Any:
    """Set columns (names are ours, never the caller's input) and return the row."""
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(fields, start=2))
    return await conn.fetchrow(
        f"UPDATE connections SET {assignments}, updated_at = now() "  # noqa: S608
        "WHERE id = $1 RETURNING *",
        connection_id,
        *fields.values(),
    )


async def activate_connection(  # noqa: PLR0913 - the parts of an activation
    conn: Connection,
    row: Mapping[str, Any],
    *,
    secrets: Mapping[SecretKind, str | bytes],
    token_expires_at: dt.datetime | None,
    refresh_token_expires_at: dt.datetime | None = None,
    refresh_at: dt.datetime | None = None,
    keyring: Keyring | None = None,
) -> Any:
    """Store the secrets and make the connection active, in the caller's transaction; enqueue
    `connection.active` when it was not active, and let invoices waiting on it be followed
    again at once. Returns the updated row."""
    if secrets:
        await store_secrets(conn, row["id"], secrets, keyring=keyring)
    updated = await update_connection(
        conn,
        row["id"],
        status=ConnectionStatus.ACTIVE.value,
        last_error_message=None,
        token_expires_at=token_expires_at,
        refresh_token_expires_at=refresh_token_expires_at,
        next_refresh_at=refresh_at,
        refresh_lease_until=None,
        refresh_lease_owner=None,
        refresh_failures=0,
    )
    if row["status"] != ConnectionStatus.ACTIVE.value:
        await enqueue(conn, [connection_event(updated, ConnectionEvent.ACTIVE)])
        await status_polls.due_now_for_connection(conn, row["id"])
    return updated


class TokenPair(Protocol):
    """What a government's token endpoint gives back (ANAF OAuth, KSeF)."""

    @property
    def access_token(self) -> str: ...
    @property
    def refresh_token(self) -> str: ...
    @property
    def access_expires_at(self) -> dt.datetime | None: ...
    @property
    def refresh_expires_at(self) -> dt.datetime | None: ...


async def activate_with_tokens(  # noqa: PLR0913 - the parts of an activation
    conn: Connection,
    row: Mapping[str, Any],
    country: str,
    tokens: TokenPair,
    *,
    now: dt.datetime,
    extra_secrets: Mapping[SecretKind, str | bytes] | None = None,
) -> Any:
    """activate_connection with a fresh token pair, and the refresh planned for its country."""
    return await activate_connection(
        conn,
        row,
        secrets={
            **(extra_secrets or {}),
            SecretKind.ACCESS_TOKEN: tokens.access_token,
            SecretKind.REFRESH_TOKEN: tokens.refresh_token,
        },
        token_expires_at=tokens.access_expires_at,
        refresh_token_expires_at=tokens.refresh_expires_at,
        refresh_at=planned_refresh(
            country,
            now=now,
            access_expires_at=tokens.access_expires_at,
            refresh_expires_at=tokens.refresh_expires_at,
        ),
    )


def planned_refresh(
    country: str,
    *,
    now: dt.datetime,
    access_expires_at: dt.datetime | None,
    refresh_expires_at: dt.datetime | None,
    rng: random.Random | None = None,
) -> dt.datetime | None:
    """When the token refresher should next look at a connection of this country (None: never)."""
    policy = token_policy_of(country)
    if policy is None or access_expires_at is None:
        return access_expires_at  # a certificate: looked at when it expires
    return next_refresh_at(
        policy,
        now=now,
        access_expires_at=access_expires_at,
        refresh_expires_at=refresh_expires_at,
        rng=rng or _jitter,
    )


async def delete_connection(conn: Connection, connection_id: str) -> None:
    """Deleted for good: secrets and pending authorization gone, refreshes stopped."""
    await purge_secrets(conn, connection_id)
    await conn.execute("DELETE FROM oauth_states WHERE connection_id = $1", connection_id)
    await update_connection(
        conn,
        connection_id,
        status=ConnectionStatus.DELETED.value,
        deleted_at=utcnow(),
        next_refresh_at=None,
        refresh_lease_until=None,
        refresh_lease_owner=None,
    )


async def delete_company_connections(conn: Connection, company_id: str) -> None:
    ids = await conn.fetch(
        "SELECT id FROM connections WHERE company_id = $1 AND status <> 'deleted' FOR UPDATE",
        company_id,
    )
    for record in ids:
        await delete_connection(conn, record["id"])


# --- the ANAF OAuth state ------------------------------------------------------------------


async def start_authorization(
    conn: Connection, row: Mapping[str, Any], redirect_uri: str, *, now: dt.datetime
) -> str:
    """A fresh single-use state for the connection (its id, as the seed shows); any earlier
    authorization of it stops being accepted."""
    state: str = row["id"]
    await conn.execute(
        "INSERT INTO oauth_states (state, connection_id, account_id, redirect_uri, expires_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (state) DO UPDATE SET "
        "connection_id = EXCLUDED.connection_id, account_id = EXCLUDED.account_id, "
        "redirect_uri = EXCLUDED.redirect_uri, expires_at = EXCLUDED.expires_at, "
        "consumed_at = NULL, created_at = now()",
        state,
        row["id"],
        row["account_id"],
        redirect_uri,
        now + OAUTH_STATE_LIFETIME,
    )
    return state


class PendingAuthorization(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    connection: Any  # the connection row, locked
    redirect_uri: str


async def consume_authorization(
    conn: Connection, state: str, *, now: dt.datetime
) -> PendingAuthorization | None:
    """Use the state up, in the caller's transaction: None unless it is a live, unused state of
    a connection of the same account that is waiting for exactly this authorization."""
    claimed: Any = await conn.fetchrow(
        "UPDATE oauth_states s SET consumed_at = $2 FROM connections c "
        "WHERE s.state = $1 AND s.consumed_at IS NULL AND s.expires_at > $2 "
        "AND c.id = s.connection_id AND c.account_id = s.account_id "
        "AND c.status = 'pending_setup' AND c.country = 'RO' "
        "RETURNING s.connection_id, s.redirect_uri",
        state,
        now,
    )
    if claimed is None:
        return None
    row = await conn.fetchrow(
        "SELECT * FROM connections WHERE id = $1 FOR UPDATE", claimed["connection_id"]
    )
    return PendingAuthorization(connection=row, redirect_uri=claimed["redirect_uri"])


# --- what submitters and the poller use ----------------------------------------------------


class ActiveConnection(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    access_token: str = Field(repr=False)


async def create_active_connection(  # noqa: PLR0913 - the parts of an authorized connection
    conn: Connection,
    account_id: str,
    company_id: str,
    country: str,
    *,
    access_token: str,
    refresh_token: str | None,
    expires_at: dt.datetime,
    refresh_expires_at: dt.datetime | None = None,
    keyring: Keyring | None = None,
) -> str:
    """The company's connection for the country, active with these tokens (sealed): the live
    one is reused, else one is made. For tokens obtained outside the API (the sandbox seed)."""
    row, _ = await open_connection(conn, account_id, company_id, country)
    policy = token_policy_of(country)
    if refresh_token is not None and refresh_expires_at is None and policy is not None:
        refresh_expires_at = utcnow() + policy.refresh_lifetime
    secrets: dict[SecretKind, str | bytes] = {SecretKind.ACCESS_TOKEN: access_token}
    if refresh_token is not None:
        secrets[SecretKind.REFRESH_TOKEN] = refresh_token
    await activate_connection(
        conn,
        row,
        secrets=secrets,
        token_expires_at=expires_at,
        refresh_token_expires_at=refresh_expires_at,
        refresh_at=planned_refresh(
            country,
            now=utcnow(),
            access_expires_at=expires_at,
            refresh_expires_at=refresh_expires_at,
        ),
        keyring=keyring,
    )
    connection_id: str = row["id"]
    return connection_id


async def active_connection(
    conn: Connection,
    company_id: str,
    country: str,
    *,
    livemode: bool = False,
    keyring: Keyring | None = None,
) -> ActiveConnection | None:
    """The company's active connection in the mode (a live invoice never uses a sandbox one)."""
    connection_id = await conn.fetchval(
        "SELECT id FROM connections WHERE company_id = $1 AND country = $2 AND livemode = $3 "
        "AND status = 'active'",
        company_id,
        country,
        livemode,
    )
    if connection_id is None:
        return None
    token = await read_secret(conn, connection_id, SecretKind.ACCESS_TOKEN, keyring=keyring)
    return None if token is None else ActiveConnection(id=connection_id, access_token=token)


async def connection_token(
    conn: Connection, connection_id: str, *, keyring: Keyring | None = None
) -> str | None:
    """The access token of an active connection; None when it is not active."""
    if not await conn.fetchval(
        "SELECT 1 FROM connections WHERE id = $1 AND status = 'active'", connection_id
    ):
        return None
    return await read_secret(conn, connection_id, SecretKind.ACCESS_TOKEN, keyring=keyring)


# --- expiry --------------------------------------------------------------------------------


async def fail_waiting_invoices(
    conn: Connection, row: Mapping[str, Any], *, causation_id: str
) -> int:
    """Invoices being followed with this connection go to `error`, saying to authorize again.

    They were already filed: the message says not to send them again, and their status poll is
    kept, so they are followed to the government's decision once the connection is active."""
    system = system_of(row["country"])
    polls = await status_polls.lock_waiting_on_connection(conn, row["id"])
    for poll in polls:
        ref = InvoiceRef(
            invoice_id=poll["invoice_id"],
            account_id=poll["account_id"],
            country=poll["country"],
            livemode=poll["livemode"],
            external_id=poll["external_id"],
        )
        appended = await append_event(
            conn,
            ref,
            expected_version=poll["version"],
            event_type=EventType.ERROR,
            metadata={
                "stage": "submission",
                "reason": "connection_expired",
                "connectionId": row["id"],
                "uploadId": poll["upload_id"],
            },
            causation_id=causation_id,
            invoice_fields={
                "error_message": f"The supplier's company's {system} connection expired.",
                "error_fix": f"Authorize the company's {system} connection again "
                f"(POST /v1/connections). This invoice was already filed with {system} "
                f"(upload {poll['upload_id']}): do not send it again; Clearway follows it to "
                f"{system}'s decision once the connection is active.",
            },
        )
        await status_polls.moved_to(conn, poll["invoice_id"], appended.event.version)
    return len(polls)


async def expire_connection(
    conn: Connection, row: Mapping[str, Any], message: str, *, lease_owner: str | None = None
) -> Any:
    """A refresh failed for good: `expired` with the reason, secrets purged (they no longer
    work), `connection.expired` enqueued, waiting invoices to `error`. In the caller's
    transaction; None when `lease_owner` no longer holds the row."""
    fence = "" if lease_owner is None else " AND refresh_lease_owner = $3"
    args: list[Any] = [row["id"], message] + ([] if lease_owner is None else [lease_owner])
    updated = await conn.fetchrow(
        "UPDATE connections SET status = 'expired', last_error_message = $2, "  # noqa: S608
        "next_refresh_at = NULL, refresh_lease_until = NULL, refresh_lease_owner = NULL, "
        f"updated_at = now() WHERE id = $1 AND status = 'active'{fence} RETURNING *",
        *args,
    )
    if updated is None:
        return None
    await purge_secrets(conn, row["id"])
    event = connection_event(updated, ConnectionEvent.EXPIRED)
    await enqueue(conn, [event])
    await fail_waiting_invoices(
        conn, updated, causation_id=f"connection:{event.payload['eventId']}"
    )
    return updated
