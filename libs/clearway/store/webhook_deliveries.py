"""The webhook deliveries waiting to be sent (`webhook_deliveries`), every attempt made
(`webhook_attempts`), and the claim that leases due deliveries to a dispatcher.

A delivery is one event for one endpoint, unique by (endpoint, event): recording the same event
twice (a redelivered message) adds nothing. Inserting deliveries notifies WAKE_CHANNEL, so a
dispatcher sends them at once instead of at its next sweep.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from clearway.db import Connection
from clearway.domain.ids import new_id
from clearway.observability.tracing import current_traceparent
from clearway.store.rows import Where, newest_first
from clearway.store.webhook_endpoints import TAKE_TURNS
from clearway.webhooks.signing import webhook_id_for

WAKE_CHANNEL = "webhook_deliveries"


class NewDelivery(BaseModel):
    model_config = ConfigDict(frozen=True)

    endpoint_id: str
    event_id: str
    event_type: str
    body: str
    stream_id: str | None = None
    stream_version: int | None = None


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


# --- deliveries and attempts ------------------------------------------------------------------


async def send_pending_now(conn: Connection, endpoint_id: str) -> None:
    """The endpoint's pending deliveries waiting for a later attempt go now."""
    await conn.execute(
        "UPDATE webhook_deliveries SET next_attempt_at = now() "
        "WHERE endpoint_id = $1 AND state = 'pending' AND next_attempt_at > now()",
        endpoint_id,
    )


async def retry_delivery_now(conn: Connection, delivery_id: str, endpoint_id: str) -> Any:
    """Pending again and due now (a delivered or dead one for one attempt: a replay), unless an
    attempt holds its lease; the row, or None."""
    return await conn.fetchrow(
        "UPDATE webhook_deliveries SET next_attempt_at = now(), "
        "replay = (state <> 'pending'), state = 'pending' "
        "WHERE id = $1 AND endpoint_id = $2 "
        "AND (lease_expires_at IS NULL OR lease_expires_at <= now()) RETURNING *",
        delivery_id,
        endpoint_id,
    )


async def delivery_exists(conn: Connection, delivery_id: str, endpoint_id: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM webhook_deliveries WHERE id = $1 AND endpoint_id = $2",
            delivery_id,
            endpoint_id,
        )
    )


async def delivery_of_event(conn: Connection, endpoint_id: str, event_id: str) -> Any:
    return await conn.fetchrow(
        "SELECT * FROM webhook_deliveries WHERE endpoint_id = $1 AND event_id = $2",
        endpoint_id,
        event_id,
    )


async def delivery_position(conn: Connection, delivery_id: str, endpoint_id: str) -> Any:
    """(created_at, id) of the endpoint's delivery, the key its listing pages on; or None."""
    return await conn.fetchrow(
        "SELECT created_at, id FROM webhook_deliveries WHERE id = $1 AND endpoint_id = $2",
        delivery_id,
        endpoint_id,
    )


async def endpoint_deliveries(
    conn: Connection,
    endpoint_id: str,
    *,
    state: str | None,
    before: tuple[dt.datetime, str] | None,
    limit: int,
) -> list[Any]:
    """Newest first, of one state when given, older than `before` (created_at, id) when given."""
    where = Where("endpoint_id = ?", endpoint_id)
    if state is not None:
        where.add("state = ?", state)
    return await newest_first(conn, "webhook_deliveries", where, before=before, limit=limit)


async def attempts_of(conn: Connection, delivery_ids: list[str]) -> list[Any]:
    """Every attempt of these deliveries, oldest first."""
    return list(
        await conn.fetch(
            "SELECT * FROM webhook_attempts WHERE delivery_id = ANY($1::text[]) "
            "ORDER BY attempted_at, id",
            delivery_ids,
        )
    )


async def next_due_at(conn: Connection, after: dt.datetime) -> dt.datetime | None:
    """When the next pending delivery falls due after `after`."""
    next_due: dt.datetime | None = await conn.fetchval(
        "SELECT min(next_attempt_at) FROM webhook_deliveries "
        "WHERE state = 'pending' AND next_attempt_at > $1",
        after,
    )
    return next_due


class AttemptRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    attempted_at: dt.datetime
    http_status: int | None
    duration_ms: int
    error: str | None
    response_body: str | None
    next_retry_at: dt.datetime | None


async def record_attempt(  # noqa: PLR0913 - the outcome of one attempt
    conn: Connection,
    delivery_id: str,
    *,
    lease_token: str,
    state: str,
    delivered_at: dt.datetime,
    attempt: AttemptRecord,
) -> bool:
    """The delivery's new state after an attempt, and the attempt; False (nothing written)
    when the lease is no longer `lease_token`'s (deleted, or another attempt owns it)."""
    recorded = await conn.fetchval(
        "UPDATE webhook_deliveries SET state = $3, attempts = attempts + 1, "
        "next_attempt_at = coalesce($4, next_attempt_at), "
        "delivered_at = CASE WHEN $3 = 'delivered' THEN $5 ELSE delivered_at END, "
        "lease_expires_at = NULL, lease_token = NULL, replay = false "
        "WHERE id = $1 AND lease_token = $2 RETURNING id",
        delivery_id,
        lease_token,
        state,
        attempt.next_retry_at,
        delivered_at,
    )
    if recorded is None:
        return False
    await conn.execute(
        "INSERT INTO webhook_attempts (delivery_id, attempted_at, http_status, "
        "duration_ms, error, response_body, next_retry_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        delivery_id,
        attempt.attempted_at,
        attempt.http_status,
        attempt.duration_ms,
        attempt.error,
        attempt.response_body,
        attempt.next_retry_at,
    )
    return True


# --- claiming due deliveries ------------------------------------------------------------------

ENDPOINTS_PER_CLAIM = 100

# A delivery that may be sent now: due, not in flight, and the earliest version of its invoice
# still pending for the same endpoint. (A scalar subquery, not NOT EXISTS: it stays a per-row
# index probe, where an anti-join may be planned as a scan of every pending delivery.)
_CLAIMABLE = """
    d.state = 'pending' AND d.next_attempt_at <= $1
    AND (d.lease_expires_at IS NULL OR d.lease_expires_at <= $1)
    AND (d.stream_id IS NULL OR d.stream_version <= (
        SELECT min(earlier.stream_version) FROM webhook_deliveries earlier
        WHERE earlier.stream_id = d.stream_id AND earlier.endpoint_id = d.endpoint_id
          AND earlier.state = 'pending' AND earlier.stream_id IS NOT NULL))
"""
_IN_FLIGHT = """
    (SELECT count(*) FROM webhook_deliveries f
     WHERE f.endpoint_id = e.id AND f.lease_expires_at IS NOT NULL
       AND f.lease_expires_at > $1 AND f.state = 'pending')
"""
# The endpoints with due work and a free slot, served longest ago first (each takes its turn:
# all of them go to the back, so one whose due deliveries all wait on an earlier version never
# holds the front); then their claimable deliveries, one per endpoint per round up to the
# free slots of the process, oldest first, at most an endpoint's free slots each.
_CLAIM = f"""
WITH ready AS (
    SELECT e.id, e.url, e.last_claimed_at, $3::int - {_IN_FLIGHT} AS free
    FROM webhook_endpoints e
    WHERE e.disabled_at IS NULL
      AND {_IN_FLIGHT} < $3::int
      AND EXISTS (SELECT 1 FROM webhook_deliveries due
                  WHERE due.endpoint_id = e.id AND due.state = 'pending'
                    AND due.next_attempt_at <= $1
                    AND (due.lease_expires_at IS NULL OR due.lease_expires_at <= $1))
    ORDER BY e.last_claimed_at NULLS FIRST, e.id
    LIMIT $4
    FOR UPDATE OF e SKIP LOCKED
),
candidates AS (
    SELECT p.id, r.id AS endpoint_id, r.url, r.last_claimed_at,
           row_number() OVER (PARTITION BY r.id ORDER BY p.next_attempt_at) AS turn
    FROM ready r
    CROSS JOIN LATERAL (
        SELECT d.id, d.next_attempt_at FROM webhook_deliveries d
        WHERE d.endpoint_id = r.id AND {_CLAIMABLE}
        ORDER BY d.next_attempt_at
        LIMIT greatest(r.free, 0)
    ) p
),
picked AS (
    SELECT id, endpoint_id, url FROM candidates
    ORDER BY turn, last_claimed_at NULLS FIRST, endpoint_id
    LIMIT $5
),
served AS (
    {TAKE_TURNS}
)
UPDATE webhook_deliveries d
SET lease_expires_at = $1 + $2::interval, lease_token = $6
FROM picked
WHERE d.id = picked.id
RETURNING d.id, d.endpoint_id, d.webhook_id, d.body, d.attempts, d.replay, d.stream_id,
          d.lease_token, d.traceparent, d.event_type, picked.url
"""  # noqa: S608 - fixed fragments


async def claim_due(  # noqa: PLR0913 - each is one knob of the claim
    conn: Connection,
    *,
    now: dt.datetime,
    lease: dt.timedelta,
    endpoint_concurrency: int,
    limit: int,
    max_endpoints: int = ENDPOINTS_PER_CLAIM,
) -> list[dict[str, Any]]:
    """Lease up to `limit` deliveries that may be sent at `now` (see _CLAIM)."""
    # No more endpoints than free slots: every endpoint visited gets one if it can send.
    endpoints = min(max_endpoints, limit)
    rows = await conn.fetch(
        _CLAIM, now, lease, endpoint_concurrency, endpoints, limit, secrets.token_hex(8)
    )
    return [dict(row) for row in rows]
