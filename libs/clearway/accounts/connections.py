"""Connections: their events and lifecycle (rows: clearway.store.connections; sealed secrets:
clearway.accounts.connection_secrets).

Nothing here logs a secret, and no row or model that leaves this module holds one except
`ActiveConnection`, which exists to be handed to a government.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from clearway.accounts.connection_secrets import purge_secrets, read_secret, store_secrets
from clearway.db import Connection
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
from clearway.messaging.envelope import ConnectionEventMessage
from clearway.messaging.topics import CONNECTION_EVENTS
from clearway.security import Keyring
from clearway.store import connections as store
from clearway.store import status_polls
from clearway.store.connections import ConnectionChanges, live_connection
from clearway.store.events import NewEvent, append_event
from clearway.store.invoices import InvoiceChanges, InvoiceRef
from clearway.store.outbox import OutboxMessage, enqueue

# How long an authorizationUrl stays good: the user may take a while with the USB token.
OAUTH_STATE_LIFETIME = dt.timedelta(hours=1)
_jitter = random.Random()  # noqa: S311 - spreads refresh times; nothing secret depends on it


# --- events --------------------------------------------------------------------------------


def connection_event(row: Mapping[str, Any], event: ConnectionEvent) -> OutboxMessage:
    expires = row["token_expires_at"]
    message = ConnectionEventMessage(
        event_id=new_id("evt"),
        event=event.value,
        connection_id=row["id"],
        account_id=row["account_id"],
        company_id=row["company_id"],
        country_code=row["country"],
        status=row["status"],
        token_expires_at=iso_millis(expires) if expires else None,
        last_error_message=row["last_error_message"],
        created_at=iso_millis(utcnow()),
    )
    return OutboxMessage(
        topic=CONNECTION_EVENTS, key=row["id"], payload=message.model_dump(mode="json")
    )


# --- rows ----------------------------------------------------------------------------------


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
    inserted = await store.insert_pending_connection(
        conn,
        account_id,
        company_id,
        country,
        is_sender=is_sender,
        is_receiver=is_receiver,
        livemode=livemode,
    )
    row = await live_connection(conn, company_id, country, livemode=livemode, for_update=True)
    return row, inserted


async def update_connection(conn: Connection, connection_id: str, **fields: Any) -> Any:
    """Set columns of ConnectionChanges (checked: no other name reaches SQL); the row."""
    return await store.update_connection(conn, connection_id, ConnectionChanges(**fields))


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
    await store.delete_oauth_states(conn, connection_id)
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
    for connection_id in await store.company_connection_ids(conn, company_id):
        await delete_connection(conn, connection_id)


# --- the ANAF OAuth state ------------------------------------------------------------------


async def start_authorization(
    conn: Connection, row: Mapping[str, Any], redirect_uri: str, *, now: dt.datetime
) -> str:
    """A fresh single-use state for the connection (its id, as the seed shows); any earlier
    authorization of it stops being accepted."""
    state: str = row["id"]
    await store.put_oauth_state(
        conn,
        state,
        connection_id=row["id"],
        account_id=row["account_id"],
        redirect_uri=redirect_uri,
        expires_at=now + OAUTH_STATE_LIFETIME,
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
    claimed: Any = await store.consume_oauth_state(conn, state, now=now)
    if claimed is None:
        return None
    row = await store.connection_row(conn, claimed["connection_id"], for_update=True)
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
    connection_id = await store.active_connection_id(conn, company_id, country, livemode=livemode)
    if connection_id is None:
        return None
    token = await read_secret(conn, connection_id, SecretKind.ACCESS_TOKEN, keyring=keyring)
    return None if token is None else ActiveConnection(id=connection_id, access_token=token)


async def connection_token(
    conn: Connection, connection_id: str, *, keyring: Keyring | None = None
) -> str | None:
    """The access token of an active connection; None when it is not active."""
    if not await store.is_active(conn, connection_id):
        return None
    return await read_secret(conn, connection_id, SecretKind.ACCESS_TOKEN, keyring=keyring)


async def replace_refused_token(  # noqa: PLR0913 - the refusal, and the government's part
    conn: Connection,
    connection_id: str,
    refused_token: str,
    *,
    country: str,
    active_row: Callable[[Connection, str], Awaitable[Any]],
    renew: Callable[[Any], Awaitable[TokenPair | None]],
) -> str | None:
    """The token to use instead of `refused_token`, decided in one transaction: None when the
    connection is not (or no longer) active (`active_row` reads it); the current one when
    another caller renewed it since this one read it; else the token `renew` gets for the row,
    stored and announced. `renew` expires the connection and gives None when the government
    will not renew it."""
    async with conn.transaction():
        row = await active_row(conn, connection_id)
        if row is None:
            return None
        current = await read_secret(conn, connection_id, SecretKind.ACCESS_TOKEN)
        if current is not None and current != refused_token:
            return current  # renewed by someone else since this caller read it
        tokens = await renew(row)
        if tokens is None:
            return None
        updated = await activate_with_tokens(conn, row, country, tokens, now=utcnow())
        await enqueue(conn, [connection_event(updated, ConnectionEvent.REFRESHED)])
        return tokens.access_token


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
        ref = InvoiceRef.model_validate(dict(poll))  # the poll row carries the invoice's ref
        appended = await append_event(
            conn,
            ref,
            NewEvent(
                type=EventType.ERROR,
                expected_version=poll["version"],
                causation_id=causation_id,
                metadata={
                    "stage": "submission",
                    "reason": "connection_expired",
                    "connectionId": row["id"],
                    "uploadId": poll["upload_id"],
                },
                invoice=InvoiceChanges(
                    error_message=f"The supplier's company's {system} connection expired.",
                    error_fix=f"Authorize the company's {system} connection again "
                    f"(POST /v1/connections). This invoice was already filed with {system} "
                    f"(upload {poll['upload_id']}): do not send it again; Clearway follows it to "
                    f"{system}'s decision once the connection is active.",
                ),
            ),
        )
        await status_polls.moved_to(conn, poll["invoice_id"], appended.event.version)
    return len(polls)


async def expire_connection(
    conn: Connection, row: Mapping[str, Any], message: str, *, lease_owner: str | None = None
) -> Any:
    """A refresh failed for good: `expired` with the reason, secrets purged (they no longer
    work), `connection.expired` enqueued, waiting invoices to `error`. In the caller's
    transaction; None when `lease_owner` no longer holds the row."""
    updated = await store.expire_active_connection(
        conn, row["id"], message, lease_owner=lease_owner
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
