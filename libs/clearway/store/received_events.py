"""The event streams of received invoices: started by the receiver, appended to by the buyer's
response, each event enqueued for `invoices.received`. Events are written through the event
store's one insert (store/events.py owns the table)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from clearway.db import Connection
from clearway.domain.ids import iso_millis, new_id, utcnow
from clearway.domain.lifecycle import RECEIVED_EVENT, RECEIVED_STATUS
from clearway.messaging.envelope import ReceivedInvoiceMessage
from clearway.messaging.topics import INVOICES_RECEIVED
from clearway.observability.tracing import current_ids
from clearway.store.events import StreamEvent, insert_event, stream_rows
from clearway.store.outbox import OutboxMessage, enqueue
from clearway.store.received_invoices import (
    NewReceived,
    ReceivedRef,
    advance_received,
    insert_received,
    received_row,
)


def received_message(invoice: Mapping[str, Any], event: StreamEvent) -> ReceivedInvoiceMessage:
    """The message of a received invoice's event, with what `invoice` (its row, or the columns
    the row is made of) says of the invoice."""

    def amount(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    delivered = invoice["delivered_at"]
    return ReceivedInvoiceMessage(
        event_id=event.id,
        event=event.type,
        version=event.version,
        status=event.status,
        received_invoice_id=invoice["id"],
        **{name: invoice[name] for name in _RECEIVED_MESSAGE_COLUMNS},
        net_amount=amount(invoice["net_amount"]),
        vat_amount=amount(invoice["vat_amount"]),
        gross_amount=amount(invoice["gross_amount"]),
        delivered_at=iso_millis(delivered) if delivered else None,
        created_at=iso_millis(event.created_at),
        metadata=None if event.version == 1 else event.metadata,
    )


_RECEIVED_MESSAGE_COLUMNS = (
    "account_id",
    "company_id",
    "connection_id",
    "country",
    "livemode",
    "government_id",
    "media_type",
    "supplier_vat",
    "customer_vat",
    "currency",
    "findings",
)


async def start_received_stream(
    conn: Connection, ref: ReceivedRef, received: NewReceived
) -> StreamEvent | None:
    """Record a delivered purchase invoice: its read-model row, its stream with
    `invoice.received` (version 1) and the message for `invoices.received`, in one transaction
    (a savepoint when the caller holds one). None, writing nothing, when the government's id is
    already recorded for the company: a delivery seen twice is one received invoice."""
    trace_id, span_id = current_ids()
    event = StreamEvent(
        stream_id=ref.received_id,
        version=1,
        id=new_id("evt"),
        type=RECEIVED_EVENT,
        status=RECEIVED_STATUS,
        metadata={
            "governmentId": received.government_id,
            "connectionId": ref.connection_id,
            "mediaType": received.media_type,
            "read": received.request is not None,
        },
        causation_id=None,
        trace_id=trace_id,
        span_id=span_id,
        created_at=utcnow(),
    )
    async with conn.transaction():
        if not await insert_received(
            conn, ref, received, status=RECEIVED_STATUS, at=event.created_at
        ):
            return None
        await insert_event(conn, event)
        columns = {**received.model_dump(), **ref.model_dump(), "id": ref.received_id}
        payload = received_message(columns, event).model_dump(mode="json")
        await enqueue(
            conn,
            [
                OutboxMessage(
                    topic=INVOICES_RECEIVED,
                    key=ref.received_id,
                    payload=payload,
                    traceparent=event.traceparent,
                )
            ],
        )
    return event


async def read_received_stream(conn: Connection, received_id: str) -> list[StreamEvent]:
    return [StreamEvent.model_validate(dict(r)) for r in await stream_rows(conn, received_id)]


async def append_received_event(
    conn: Connection,
    received_id: str,
    event_type: str,
    *,
    causation_id: str | None,
    metadata: dict[str, Any] | None = None,
) -> StreamEvent | None:
    """Append the next event of a received invoice's stream, move its row's version and enqueue
    its message for `invoices.received`, in one transaction (a savepoint when the caller holds
    one); the row is locked meanwhile, so writers take turns. None, writing nothing, when the
    stream already has an event of that type with that cause (a redelivery), or no row."""
    async with conn.transaction():
        row = await received_row(conn, received_id, for_update=True)
        if row is None:
            return None
        if causation_id is not None and await conn.fetchval(
            "SELECT 1 FROM events WHERE stream_id = $1 AND type = $2 AND causation_id = $3",
            received_id,
            event_type,
            causation_id,
        ):
            return None
        trace_id, span_id = current_ids()
        event = StreamEvent(
            stream_id=received_id,
            version=row["version"] + 1,
            id=new_id("evt"),
            type=event_type,
            status=row["status"],  # the response leaves the received invoice as it is
            metadata=metadata,
            causation_id=causation_id,
            trace_id=trace_id,
            span_id=span_id,
            created_at=utcnow(),
        )
        await insert_event(conn, event)
        await advance_received(conn, received_id, version=event.version, at=event.created_at)
        payload = received_message(row, event).model_dump(mode="json")
        await enqueue(
            conn,
            [
                OutboxMessage(
                    topic=INVOICES_RECEIVED,
                    key=received_id,
                    payload=payload,
                    traceparent=event.traceparent,
                )
            ],
        )
    return event
