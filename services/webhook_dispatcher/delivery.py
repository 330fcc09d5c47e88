"""Sending deliveries: claim what is due, post it signed, record the attempt and decide what next.

Claiming: due deliveries are leased (not deleted) with FOR UPDATE SKIP LOCKED on their
endpoints, so replicas share the work and a delivery whose dispatcher died is taken up again
when its lease runs out, with the same webhook-id and body. Endpoints take turns (the one
served longest ago first), and each has at most `endpoint_concurrency` attempts in flight, all
replicas together: a slow or dead endpoint holds a few slots and never the others'.

After an attempt: a 2xx delivers it; a failure schedules the next attempt (RetryPolicy), or
dead-letters the delivery (state `dead`, kept and replayable) after the last one. A 410
disables the endpoint; so does failing for `disable_after`. Either sends a
`webhook_endpoint.disabled` notice to the account's other endpoints that subscribed to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
from collections.abc import Callable
from typing import Any

import asyncpg
from clearway.domain.ids import iso_millis, new_id, utcnow
from clearway.eventstore import Connection
from clearway.observability.logs import log_context
from clearway.observability.metrics import WEBHOOK_DELIVERIES, WEBHOOK_DELIVERY_DURATION
from clearway.observability.tracing import continued, tracer
from clearway.security import Keyring
from clearway.webhooks.events import ENDPOINT_DISABLED_EVENT, encode_body, endpoint_disabled_body
from clearway.webhooks.retry import should_disable
from clearway.webhooks.settings import WebhookSettings
from clearway.webhooks.signing import signature_header
from clearway.webhooks.store import (
    WAKE_CHANNEL,
    NewDelivery,
    enqueue_deliveries,
    signing_secrets,
    subscribed_endpoints,
    wake_dispatchers,
)

from services.webhook_dispatcher.transport import AttemptResult, Sender

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
SWEEP_SECONDS = 0.5  # also picks up expired leases and deliveries another replica unblocked
ENDPOINTS_PER_CLAIM = 100
HTTP_GONE = 410

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
    UPDATE webhook_endpoints SET last_claimed_at = $1 WHERE id IN (SELECT id FROM ready)
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


class DeliveryLoop:
    def __init__(
        self,
        pool: asyncpg.Pool[Any],
        settings: WebhookSettings,
        keyring: Keyring,
        sender: Sender,
        *,
        clock: Clock = utcnow,
    ) -> None:
        self._pool = pool
        self._settings = settings
        self._keyring = keyring
        self._sender = sender
        self._clock = clock
        self._wakeup = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        listener = await self._pool.acquire()
        await listener.add_listener(WAKE_CHANNEL, self._on_notify)
        try:
            while True:
                self._wakeup.clear()
                try:
                    if await self._claim_and_start():
                        continue  # there may be more: claim again before sleeping
                    pause = await self._seconds_until_next_due()
                except Exception:
                    log.exception("delivery loop failed; retrying")
                    pause = SWEEP_SECONDS
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), timeout=pause)
        finally:
            for task in self._in_flight:
                task.cancel()  # their leases run out and another dispatcher takes them up
            await asyncio.gather(*self._in_flight, return_exceptions=True)
            with contextlib.suppress(Exception):
                await listener.remove_listener(WAKE_CHANNEL, self._on_notify)
            await self._pool.release(listener)

    def _on_notify(self, *_: object) -> None:
        self._wakeup.set()

    async def _claim_and_start(self) -> int:
        free = self._settings.max_in_flight - len(self._in_flight)
        if free <= 0:
            return 0
        async with self._pool.acquire() as conn:
            rows = await claim_due(
                conn,
                now=self._clock(),
                lease=dt.timedelta(seconds=self._settings.lease_seconds),
                endpoint_concurrency=self._settings.endpoint_concurrency,
                limit=free,
            )
        for row in rows:
            task = asyncio.create_task(self._attempt(row), name=f"webhook {row['id']}")
            self._in_flight.add(task)
            task.add_done_callback(self._finished)
        return len(rows)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._wakeup.set()  # a slot is free, and a next version may be unblocked

    async def _seconds_until_next_due(self) -> float:
        now = self._clock()
        async with self._pool.acquire() as conn:
            next_due: dt.datetime | None = await conn.fetchval(
                "SELECT min(next_attempt_at) FROM webhook_deliveries "
                "WHERE state = 'pending' AND next_attempt_at > $1",
                now,
            )
        if next_due is None:
            return SWEEP_SECONDS
        return min(max((next_due - now).total_seconds(), 0.0), SWEEP_SECONDS)

    async def _attempt(self, delivery: dict[str, Any]) -> None:
        with (
            continued(delivery["traceparent"]),
            tracer().start_as_current_span(
                "deliver webhook",
                attributes={"clearway.event_type": delivery["event_type"] or ""},
            ),
            log_context(invoice_id=delivery["stream_id"], account_id=None),
        ):
            await self._attempt_in_trace(delivery)

    async def _attempt_in_trace(self, delivery: dict[str, Any]) -> None:
        try:
            attempted_at = self._clock()
            async with self._pool.acquire() as conn:
                signing = await signing_secrets(
                    conn, self._keyring, delivery["endpoint_id"], attempted_at
                )
            if not signing:
                result = AttemptResult(0, error="the endpoint has no signing secret")
            else:
                body = delivery["body"].encode()
                timestamp = int(attempted_at.timestamp())
                headers = {
                    "webhook-id": delivery["webhook_id"],
                    "webhook-timestamp": str(timestamp),
                    "webhook-signature": signature_header(
                        signing, delivery["webhook_id"], timestamp, body
                    ),
                }
                result = await self._sender.post(delivery["url"], headers, body)
            await self._record(delivery, attempted_at, result)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Its lease runs out and it is attempted again: at least once, never lost.
            log.exception("delivery %s failed unexpectedly", delivery["id"])

    async def _record(
        self, delivery: dict[str, Any], attempted_at: dt.datetime, result: AttemptResult
    ) -> None:
        now = self._clock()
        next_retry: dt.datetime | None = None
        if not result.succeeded and not delivery["replay"]:
            next_retry = self._settings.retry.next_attempt_at(
                delivery["attempts"] + 1, now, retry_after=result.retry_after
            )
        if result.succeeded:
            state = "delivered"
        elif next_retry is not None:
            state = "pending"
        else:
            state = "dead"
        async with self._pool.acquire() as conn, conn.transaction():
            recorded = await conn.fetchval(
                "UPDATE webhook_deliveries SET state = $3, attempts = attempts + 1, "
                "next_attempt_at = coalesce($4, next_attempt_at), "
                "delivered_at = CASE WHEN $3 = 'delivered' THEN $5 ELSE delivered_at END, "
                "lease_expires_at = NULL, lease_token = NULL, replay = false "
                "WHERE id = $1 AND lease_token = $2 RETURNING id",
                delivery["id"],
                delivery["lease_token"],
                state,
                next_retry,
                now,
            )
            if recorded is None:
                # Deleted meanwhile, or its lease ran out and another attempt owns it now.
                log.warning("delivery %s changed during its attempt; not recorded", delivery["id"])
                return
            await conn.execute(
                "INSERT INTO webhook_attempts (delivery_id, attempted_at, http_status, "
                "duration_ms, error, response_body, next_retry_at) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                delivery["id"],
                attempted_at,
                result.http_status,
                result.duration_ms,
                result.error,
                result.response_body,
                next_retry,
            )
            if result.succeeded:
                await conn.execute(
                    "UPDATE webhook_endpoints SET failing_since = NULL "
                    "WHERE id = $1 AND failing_since IS NOT NULL",
                    delivery["endpoint_id"],
                )
            else:
                await self._endpoint_failed(conn, delivery["endpoint_id"], attempted_at, result)
            if state != "pending" and delivery["stream_id"] is not None:
                await wake_dispatchers(conn)  # the invoice's next version may go now
        outcome = "retry" if state == "pending" else state
        WEBHOOK_DELIVERIES.labels(outcome).inc()
        WEBHOOK_DELIVERY_DURATION.labels(outcome).observe(result.duration_ms / 1000)
        if state == "dead":
            log.warning("delivery %s dead-lettered after its last attempt", delivery["id"])

    async def _endpoint_failed(
        self, conn: Connection, endpoint_id: str, attempted_at: dt.datetime, result: AttemptResult
    ) -> None:
        failing_since: dt.datetime = await conn.fetchval(
            "UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, $2) "
            "WHERE id = $1 RETURNING failing_since",
            endpoint_id,
            attempted_at,
        )
        if result.http_status == HTTP_GONE:
            reason = "The endpoint answered 410 Gone."
        elif should_disable(failing_since, self._clock(), self._settings.disable_after):
            reason = f"Every attempt has failed since {iso_millis(failing_since)}."
        else:
            return
        await self._disable(conn, endpoint_id, reason)

    async def _disable(self, conn: Connection, endpoint_id: str, reason: str) -> None:
        endpoint = await conn.fetchrow(
            "UPDATE webhook_endpoints SET disabled_at = $2, disabled_reason = $3, updated_at = $2 "
            "WHERE id = $1 AND disabled_at IS NULL "
            "RETURNING id, account_id, livemode, url, failing_since",
            endpoint_id,
            self._clock(),
            reason,
        )
        if endpoint is None:
            return
        WEBHOOK_DELIVERIES.labels("disabled").inc()
        log.warning("webhook endpoint %s disabled: %s", endpoint_id, reason)
        event_id = new_id("evt")
        body = endpoint_disabled_body(
            event_id=event_id,
            endpoint_id=endpoint_id,
            url=endpoint["url"],
            livemode=endpoint["livemode"],
            reason=reason,
            failing_since=iso_millis(endpoint["failing_since"])
            if endpoint["failing_since"]
            else None,
            timestamp=iso_millis(self._clock()),
        )
        others = await subscribed_endpoints(
            conn, endpoint["account_id"], ENDPOINT_DISABLED_EVENT, livemode=endpoint["livemode"]
        )
        await enqueue_deliveries(
            conn,
            [
                NewDelivery(
                    endpoint_id=other["id"],
                    event_id=event_id,
                    event_type=ENDPOINT_DISABLED_EVENT,
                    body=encode_body(body),
                )
                for other in others
                if other["id"] != endpoint_id
            ],
        )
