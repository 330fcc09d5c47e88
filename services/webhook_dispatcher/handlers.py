"""webhook-dispatcher: consumes `invoice.events`, `invoices.received` and `connection.events`;
records, for each event,
one delivery per enabled endpoint of the account that subscribed to its type (PostgreSQL: the
durable schedule); then sends the due deliveries, signed, and records every attempt (see
`delivery`).

Per-invoice order: a delivery carries its invoice's stream version, and none is sent while an
earlier version for the same endpoint is still pending. So that an event can never overtake an
earlier one that has not reached this consumer yet (an outbox re-publish, say), the deliveries
of an invoice event are recorded together with those of every earlier event of the stream,
read from the event store (already recorded ones are left alone).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from clearway.accounts.connection_secrets import default_keyring
from clearway.db import Connection
from clearway.domain.wire import WireModel
from clearway.invoices import ref_of
from clearway.messaging import PoisonMessageError, subscribe_messages
from clearway.messaging.batches import Delivered, subscribe_message_batches
from clearway.messaging.envelope import (
    ConnectionEventMessage,
    EventMessage,
    ReceivedInvoiceMessage,
)
from clearway.messaging.topics import CONNECTION_EVENTS, INVOICE_EVENTS, INVOICES_RECEIVED
from clearway.runtime import ServiceContext
from clearway.store.events import event_message, read_stream
from clearway.store.invoices import invoice_metadata
from clearway.store.webhook_deliveries import NewDelivery, enqueue_deliveries
from clearway.store.webhook_endpoints import enabled_endpoints
from clearway.webhooks.events import (
    SUBSCRIBABLE_EVENTS,
    connection_event_body,
    encode_body,
    invoice_event_body,
    received_invoice_body,
    subscribes_to,
)
from clearway.webhooks.settings import WebhookSettings
from pydantic import ConfigDict, ValidationError

from services.webhook_dispatcher.delivery import DeliveryLoop
from services.webhook_dispatcher.transport import Sender, guarded_client

GROUP_ID = "webhook-dispatcher"
log = logging.getLogger(__name__)


class InvoiceStreamEntry(WireModel):
    """A message of `invoice.events`: a lifecycle event (EventMessage), or the intake's answer to
    a streamed invoice it refused, which names no account and has no invoice to speak of."""

    model_config = ConfigDict(frozen=True, extra="allow")

    account_id: str | None = None
    invoice_id: str | None = None


def _lifecycle_event(entry: InvoiceStreamEntry) -> EventMessage | None:
    """The lifecycle event the entry is; None for an intake refusal (no invoice was created,
    no account to tell)."""
    if entry.account_id is None or entry.invoice_id is None:
        return None
    try:
        return EventMessage.model_validate(entry.model_dump())
    except ValidationError as exc:
        raise PoisonMessageError(f"not a lifecycle event: {exc}") from None


def register_handlers(context: ServiceContext) -> None:
    async def record_invoice_events(batch: Sequence[Delivered[InvoiceStreamEntry]]) -> None:
        # The busiest topic (every lifecycle event): one transaction for the batch, each
        # account's endpoints read once.
        endpoints = _EndpointsOf()
        async with context.pool.acquire() as conn, conn.transaction():
            for delivered in batch:
                with delivered.handling():
                    event = _lifecycle_event(delivered.message)
                    if event is not None:
                        await _record_invoice_event(conn, event, endpoints)

    async def record_received_invoice(event: ReceivedInvoiceMessage) -> None:
        async with context.pool.acquire() as conn, conn.transaction():
            await _record_received_invoice(conn, event)

    async def record_connection_event(event: ConnectionEventMessage) -> None:
        if event.event not in SUBSCRIBABLE_EVENTS:
            return
        async with context.pool.acquire() as conn, conn.transaction():
            await _record_connection_event(conn, event)

    subscribe_message_batches(
        context.broker,
        INVOICE_EVENTS,
        group_id=GROUP_ID,
        model=InvoiceStreamEntry,
        handle=record_invoice_events,
    )
    subscribe_messages(
        context.broker,
        INVOICES_RECEIVED,
        group_id=GROUP_ID,
        model=ReceivedInvoiceMessage,
        handle=record_received_invoice,
    )
    subscribe_messages(
        context.broker,
        CONNECTION_EVENTS,
        group_id=GROUP_ID,
        model=ConnectionEventMessage,
        handle=record_connection_event,
    )


async def deliver_due(context: ServiceContext) -> None:
    """The background loop: send what is due, as long as the service runs."""
    settings = WebhookSettings.from_config(context.settings.webhooks)
    client = guarded_client(settings.address_policy, max_connections=settings.max_in_flight)
    sender = Sender(client, timeout_seconds=settings.timeout_seconds)
    try:
        await DeliveryLoop(context.pool, settings, default_keyring(), sender).run()
    finally:
        await client.aclose()


class _EndpointsOf:
    """Each account's enabled endpoints of a mode, read once for a batch."""

    def __init__(self) -> None:
        self._read: dict[tuple[str, bool], list[Any]] = {}

    async def __call__(self, conn: Connection, account_id: str, *, livemode: bool) -> list[Any]:
        key = (account_id, livemode)
        if key not in self._read:
            self._read[key] = await enabled_endpoints(conn, account_id, livemode=livemode)
        return self._read[key]


async def _record_invoice_event(
    conn: Connection, event: EventMessage, endpoints_of: _EndpointsOf
) -> None:
    endpoints = await endpoints_of(conn, event.account_id, livemode=event.livemode)
    if not endpoints:
        return
    metadata = await invoice_metadata(conn, event.invoice_id) or {}
    ref = ref_of(event)
    history = [
        (event_message(ref, stored), stored.created_at)
        for stored in await read_stream(conn, event.invoice_id)
        if stored.version <= event.version
    ]
    if not any(message.event_id == event.event_id for message, _ in history):
        history.append((event, dt.datetime.fromisoformat(event.created_at)))
    deliveries = [
        delivery
        for message, created_at in history
        for delivery in _to_subscribers(
            endpoints,
            event_id=message.event_id,
            event_type=message.event,
            body=encode_body(invoice_event_body(message, metadata)),
            stream=(message.invoice_id, message.version),
            happened_at=created_at,
        )
    ]
    await enqueue_deliveries(conn, deliveries)


async def _record_received_invoice(conn: Connection, event: ReceivedInvoiceMessage) -> None:
    # A received invoice's stream has the one event: nothing earlier to record before it.
    endpoints = await enabled_endpoints(conn, event.account_id, livemode=event.livemode)
    created_at = dt.datetime.fromisoformat(event.created_at)
    body = encode_body(received_invoice_body(event))
    await enqueue_deliveries(
        conn,
        _to_subscribers(
            endpoints,
            event_id=event.event_id,
            event_type=event.event,
            body=body,
            stream=(event.received_invoice_id, event.version),
            happened_at=created_at,
        ),
    )


async def _record_connection_event(conn: Connection, event: ConnectionEventMessage) -> None:
    # A connection serves the account's company in both modes: endpoints of both hear of it.
    endpoints = await enabled_endpoints(conn, event.account_id, livemode=None)
    body = connection_event_body(
        event_id=event.event_id,
        event_type=event.event,
        timestamp=event.created_at,
        connection={
            "connectionId": event.connection_id,
            "companyId": event.company_id,
            "countryCode": event.country_code,
            "status": event.status,
            "tokenExpiresAt": event.token_expires_at,
            "lastErrorMessage": event.last_error_message,
        },
    )
    await enqueue_deliveries(
        conn,
        _to_subscribers(
            endpoints, event_id=event.event_id, event_type=event.event, body=encode_body(body)
        ),
    )


def _to_subscribers(  # noqa: PLR0913 - the event's parts, each named
    endpoints: list[Any],
    *,
    event_id: str,
    event_type: str,
    body: str,
    stream: tuple[str, int] | None = None,
    happened_at: dt.datetime | None = None,
) -> list[NewDelivery]:
    """The event's delivery to each endpoint that subscribes to it; given when the event
    happened, only to those created by then (an endpoint hears of the events that happen
    after it was created). `stream`: the stream id and version the event has there."""
    stream_id, stream_version = stream or (None, None)
    return [
        NewDelivery(
            endpoint_id=endpoint["id"],
            event_id=event_id,
            event_type=event_type,
            body=body,
            stream_id=stream_id,
            stream_version=stream_version,
        )
        for endpoint in endpoints
        if subscribes_to(endpoint["enabled_events"], event_type)
        and (happened_at is None or happened_at >= endpoint["created_at"])
    ]
