"""`received_responses`: the buyer's response to each received invoice (one at most: the
received invoice is the key) and the responder's durable schedule for sending it. The only
module that writes it; the API records a response with its `invoice.response_requested` event
(clearway.store.events), and the responding machine (clearway.pipeline.responding) decides
what else to write.

A claimed row is leased to one responder (`lease_owner`): a responder that dies mid-send leaves
it to be claimed again once the lease ends; one that outlived its lease writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from clearway.db import Connection
from clearway.domain.responses import RESPONSE_REQUESTED, BuyerResponse, ResponseStatus
from clearway.store.events import StreamEvent
from clearway.store.received_events import append_received_event
from clearway.store.received_invoices import received_row


@dataclass(frozen=True)
class ResponseClaim:
    """One claimed response: what is sent, for which received invoice, and its lease."""

    received_invoice_id: str
    response: BuyerResponse
    requested_event_id: str  # the cause of the event that ends it
    attempts: int  # transient failures before this attempt
    owner: str


async def request_response(
    conn: Connection, received_id: str, response: BuyerResponse, *, via: str
) -> StreamEvent | None:
    """Record the buyer's response to a received invoice, due at once, with its
    `invoice.response_requested` event (saying `via` which network message carries it) and the
    event's message, in one transaction (a savepoint when the caller holds one). None, writing
    nothing, when the invoice has a response already, or no row. The received invoice's row is
    locked first, so of two requests at once the second finds the first."""
    async with conn.transaction():
        if await received_row(conn, received_id, for_update=True) is None:
            return None
        if await response_row(conn, received_id) is not None:
            return None
        event = await append_received_event(
            conn,
            received_id,
            RESPONSE_REQUESTED,
            causation_id=None,
            metadata={**response.metadata(), "via": via},
        )
        assert event is not None  # the row is there, locked
        await _insert_requested(
            conn, received_id, response, requested_event_id=event.id, at=event.created_at
        )
    return event


async def _insert_requested(
    conn: Connection,
    received_invoice_id: str,
    response: BuyerResponse,
    *,
    requested_event_id: str,
    at: dt.datetime,
) -> None:
    await conn.execute(
        "INSERT INTO received_responses (received_invoice_id, decision, reason, status, "
        "requested_event_id, next_attempt_at, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $6, $6)",
        received_invoice_id,
        response.decision.value,
        response.reason,
        ResponseStatus.REQUESTED.value,
        requested_event_id,
        at,
    )


async def response_row(conn: Connection, received_invoice_id: str) -> Any:
    """The invoice's response (None when it has none)."""
    return await conn.fetchrow(
        "SELECT * FROM received_responses WHERE received_invoice_id = $1", received_invoice_id
    )


async def response_rows(conn: Connection, received_invoice_ids: Sequence[str]) -> dict[str, Any]:
    """The responses of those received invoices, by received invoice (those with one)."""
    rows = await conn.fetch(
        "SELECT * FROM received_responses WHERE received_invoice_id = ANY($1::text[])",
        list(received_invoice_ids),
    )
    return {row["received_invoice_id"]: row for row in rows}


async def claim_due(
    conn: Connection, *, countries: Sequence[str], owner: str, lease: dt.timedelta, limit: int
) -> list[ResponseClaim]:
    """Lease to `owner` up to `limit` due requested responses to invoices of `countries` that no
    other responder holds."""
    rows = await conn.fetch(
        "UPDATE received_responses r SET lease_owner = $2, lease_until = now() + $3::interval "
        "FROM (SELECT s.received_invoice_id FROM received_responses s "
        "JOIN received_invoices i ON i.id = s.received_invoice_id "
        "WHERE s.status = 'requested' AND i.country = ANY($4::text[]) "
        "AND s.next_attempt_at <= now() AND (s.lease_until IS NULL OR s.lease_until <= now()) "
        "ORDER BY s.next_attempt_at LIMIT $1 FOR UPDATE OF s SKIP LOCKED) due "
        "WHERE r.received_invoice_id = due.received_invoice_id "
        "RETURNING r.received_invoice_id, r.decision, r.reason, r.requested_event_id, r.attempts",
        limit,
        owner,
        lease,
        list(countries),
    )
    return [
        ResponseClaim(
            received_invoice_id=row["received_invoice_id"],
            response=BuyerResponse.model_validate(
                {"decision": row["decision"], "reason": row["reason"]}
            ),
            requested_event_id=row["requested_event_id"],
            attempts=row["attempts"],
            owner=owner,
        )
        for row in rows
    ]


async def settle(
    conn: Connection,
    claim: ResponseClaim,
    *,
    status: ResponseStatus,
    receipt: dict[str, Any] | None = None,
    failure: str | None = None,
) -> bool:
    """The response sent (its receipt) or failed for good (the network's reason), the lease
    released; False, writing nothing, when it is no longer requested under this claim's lease
    (the caller rolls its event back)."""
    updated = await conn.fetchval(
        "UPDATE received_responses SET status = $3, receipt = $4, failure = $5, "
        "lease_owner = NULL, lease_until = NULL, updated_at = now() "
        "WHERE received_invoice_id = $1 AND lease_owner = $2 AND status = 'requested' "
        "RETURNING 1",
        claim.received_invoice_id,
        claim.owner,
        status.value,
        receipt,
        failure,
    )
    return updated is not None


async def later(
    conn: Connection,
    claim: ResponseClaim,
    *,
    next_attempt_at: dt.datetime,
    error: str,
    counted: bool = True,
) -> None:
    """A transient failure, its reason kept, tried again at `next_attempt_at`; counted as an
    attempt unless nothing was sent (`counted` False: a throttle)."""
    await conn.execute(
        "UPDATE received_responses SET next_attempt_at = $3, attempts = attempts + $5, "
        "last_error = $4, lease_owner = NULL, lease_until = NULL, updated_at = now() "
        "WHERE received_invoice_id = $1 AND lease_owner = $2",
        claim.received_invoice_id,
        claim.owner,
        next_attempt_at,
        error,
        1 if counted else 0,
    )
