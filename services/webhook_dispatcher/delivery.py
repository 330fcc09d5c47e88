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
from collections.abc import Callable
from typing import Any

import asyncpg
from clearway.db import Connection
from clearway.domain.ids import iso_millis, new_id, utcnow
from clearway.observability.logs import log_context
from clearway.observability.metrics import WEBHOOK_DELIVERIES, WEBHOOK_DELIVERY_DURATION
from clearway.observability.tracing import continued, tracer
from clearway.security import Keyring
from clearway.store import webhook_deliveries as delivery_store
from clearway.store import webhook_endpoints as endpoint_store
from clearway.store.webhook_deliveries import (
    WAKE_CHANNEL,
    AttemptRecord,
    NewDelivery,
    claim_due,
    enqueue_deliveries,
    wake_dispatchers,
)
from clearway.store.webhook_endpoints import (
    signing_secrets,
    subscribed_endpoints,
)
from clearway.webhooks.events import ENDPOINT_DISABLED_EVENT, encode_body, endpoint_disabled_body
from clearway.webhooks.retry import should_disable
from clearway.webhooks.settings import WebhookSettings
from clearway.webhooks.signing import signature_header

from services.webhook_dispatcher.transport import AttemptResult, Sender

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
SWEEP_SECONDS = 0.5  # also picks up expired leases and deliveries another replica unblocked
HTTP_GONE = 410


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
            next_due = await delivery_store.next_due_at(conn, now)
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
            recorded = await delivery_store.record_attempt(
                conn,
                delivery["id"],
                lease_token=delivery["lease_token"],
                state=state,
                delivered_at=now,
                attempt=AttemptRecord(
                    attempted_at=attempted_at,
                    http_status=result.http_status,
                    duration_ms=result.duration_ms,
                    error=result.error,
                    response_body=result.response_body,
                    next_retry_at=next_retry,
                ),
            )
            if not recorded:
                # Deleted meanwhile, or its lease ran out and another attempt owns it now.
                log.warning("delivery %s changed during its attempt; not recorded", delivery["id"])
                return
            if result.succeeded:
                await endpoint_store.endpoint_succeeded(conn, delivery["endpoint_id"])
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
        failing_since = await endpoint_store.endpoint_failed(conn, endpoint_id, attempted_at)
        if result.http_status == HTTP_GONE:
            reason = "The endpoint answered 410 Gone."
        elif should_disable(failing_since, self._clock(), self._settings.disable_after):
            reason = f"Every attempt has failed since {iso_millis(failing_since)}."
        else:
            return
        await self._disable(conn, endpoint_id, reason)

    async def _disable(self, conn: Connection, endpoint_id: str, reason: str) -> None:
        endpoint = await endpoint_store.disable_endpoint(
            conn, endpoint_id, at=self._clock(), reason=reason
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
