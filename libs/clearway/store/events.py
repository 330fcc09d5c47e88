"""The event store (the `events` table): one append-only stream per invoice, with the read model
(clearway.store.invoices) and the outbox moved in the same transaction; and one per received
invoice (clearway.store.received_invoices), started by `invoice.received` and followed by the
buyer's response's events (append_received_event).

Appending is optimistic: the caller names the version it expects the stream to be at. The
primary key (stream_id, version) turns two writers into a clean conflict, and the causation id
(the id of the event whose message caused this append) tells a redelivered message apart from a
real conflict, so handling a message twice never adds a second event. An event the invoice's
lifecycle does not allow from its current status (clearway.domain.lifecycle.ALLOWED_FROM) is
refused and writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import asyncpg
from pydantic import BaseModel, ConfigDict

from clearway.db import Connection
from clearway.domain.ids import iso_millis, new_id, utcnow
from clearway.domain.lifecycle import (
    ALLOWED_FROM,
    FINAL_STATUSES,
    STATUS_OF_EVENT,
    EventType,
    Status,
)
from clearway.messaging.envelope import EventMessage
from clearway.messaging.topics import topics_for_event
from clearway.observability.metrics import INVOICE_DECISIONS, TIME_TO_DECISION
from clearway.observability.tracing import current_ids, traceparent_of
from clearway.store.invoices import (
    InvoiceChanges,
    InvoiceRef,
    NewInvoice,
    advance_invoice,
    insert_invoice,
    invoice_position,
)
from clearway.store.outbox import OutboxMessage, enqueue


class ConcurrencyConflictError(Exception):
    """Another writer appended at the expected version for a different cause."""


class TransitionNotAllowedError(Exception):
    """The invoice's lifecycle does not allow this event from the invoice's current status."""

    def __init__(self, invoice_id: str, event_type: EventType, status: Status) -> None:
        super().__init__(
            f"invoice {invoice_id} is {status.value}: {event_type.value} may not follow"
        )
        self.invoice_id = invoice_id
        self.event_type = event_type
        self.status = status


class StreamEvent(BaseModel):
    """An event of any stream: an invoice's (StoredEvent) or a received invoice's."""

    model_config = ConfigDict(frozen=True)

    stream_id: str
    version: int
    id: str
    type: str
    status: str
    metadata: dict[str, Any] | None
    causation_id: str | None
    trace_id: str | None
    span_id: str | None = None
    created_at: dt.datetime

    @property
    def traceparent(self) -> str | None:
        """The span that recorded this event, as the parent for whatever it causes."""
        return traceparent_of(self.trace_id, self.span_id)

    def public(self) -> dict[str, Any]:
        """The event as GET /v1/invoices/:id/events (and /v1/received-invoices/:id/events)
        shows it."""
        return {
            "id": self.id,
            "event": self.type,
            "status": str(self.status),
            "metadata": self.metadata,
            "createdAt": iso_millis(self.created_at),
        }


class StoredEvent(StreamEvent):
    """An event of an invoice's stream, in the invoice's lifecycle."""

    status: Status


class NewEvent(BaseModel):
    """One transition to append: what happened, what caused it, and the version it follows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: EventType
    expected_version: int
    causation_id: str  # the event whose message caused this one: a redelivery is recognised
    metadata: dict[str, Any] | None = None
    invoice: InvoiceChanges = InvoiceChanges()  # read-model columns besides the status
    extra_outbox: tuple[OutboxMessage, ...] = ()  # sent with the event's own messages


class AppendResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    event: StoredEvent
    duplicate: bool  # True: this cause was already recorded; nothing was written


_EVENT_COLUMNS = (
    "stream_id, version, id, type, status, metadata, causation_id, trace_id, span_id, created_at"
)


def _stored(row: Mapping[str, Any]) -> StoredEvent:
    return StoredEvent.model_validate(dict(row))


def event_message(ref: InvoiceRef, event: StoredEvent) -> EventMessage:
    return EventMessage(
        **ref.model_dump(),  # the message carries the reference's fields by their names
        event_id=event.id,
        version=event.version,
        event=event.type,
        status=event.status,
        metadata=event.metadata,
        created_at=iso_millis(event.created_at),
    )


def _messages_for(ref: InvoiceRef, event: StoredEvent) -> list[OutboxMessage]:
    payload = event_message(ref, event).model_dump(mode="json")
    return [
        OutboxMessage(
            topic=topic, key=ref.invoice_id, payload=payload, traceparent=event.traceparent
        )
        for topic in topics_for_event(event.type)
    ]


async def start_stream(conn: Connection, ref: InvoiceRef, invoice: NewInvoice) -> StoredEvent:
    """Create the invoice's read-model row and its stream with `invoice.created` (version 1)."""
    now = utcnow()
    trace_id, span_id = current_ids()
    event = StoredEvent(
        stream_id=ref.invoice_id,
        version=1,
        id=new_id("evt"),
        type=EventType.CREATED,
        status=Status.CREATED,
        metadata=None,
        causation_id=None,
        trace_id=trace_id,
        span_id=span_id,
        created_at=now,
    )
    async with conn.transaction():
        await insert_invoice(conn, ref, invoice, status=Status.CREATED, at=now)
        await insert_event(conn, event)
        await enqueue(conn, _messages_for(ref, event))
    return event


async def insert_event(conn: Connection, event: StreamEvent) -> None:
    """The one INSERT INTO events (received invoices' streams too: store/received_events.py)."""
    await conn.execute(
        f"INSERT INTO events ({_EVENT_COLUMNS}) "  # noqa: S608 - the names are ours
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        event.stream_id,
        event.version,
        event.id,
        event.type,
        str(event.status),
        event.metadata,
        event.causation_id,
        event.trace_id,
        event.span_id,
        event.created_at,
    )


async def append_event(conn: Connection, ref: InvoiceRef, new: NewEvent) -> AppendResult:
    """Append one transition at `expected_version + 1`, update the read model, enqueue messages.

    All in one transaction (a savepoint when the caller already holds one). If the same cause
    was already recorded at that version, nothing is written and `duplicate` is True. An event
    the lifecycle does not allow from the invoice's status raises TransitionNotAllowedError,
    writing nothing. The event names the current span (the handler's), so the trace goes on
    from it.
    """
    trace_id, span_id = current_ids()
    event = StoredEvent(
        stream_id=ref.invoice_id,
        version=new.expected_version + 1,
        id=new_id("evt"),
        type=new.type,
        status=STATUS_OF_EVENT[new.type],
        metadata=new.metadata,
        causation_id=new.causation_id,
        trace_id=trace_id,
        span_id=span_id,
        created_at=utcnow(),
    )
    try:
        async with conn.transaction():
            await insert_event(conn, event)
            created_at = await advance_invoice(
                conn,
                ref.invoice_id,
                version=event.version,
                status=event.status,
                allowed_from=ALLOWED_FROM[new.type],
                at=event.created_at,
                changes=new.invoice,
            )
            if created_at is None:
                await _refuse(conn, ref.invoice_id, new)
            await enqueue(conn, [*_messages_for(ref, event), *new.extra_outbox])
    except asyncpg.UniqueViolationError:
        existing = await event_at(conn, ref.invoice_id, event.version)
        if existing is not None and existing.causation_id == new.causation_id:
            return AppendResult(event=existing, duplicate=True)
        raise ConcurrencyConflictError(
            f"invoice {ref.invoice_id} already has version {event.version} "
            f"from another cause ({existing.causation_id if existing else 'unknown'})"
        ) from None
    assert created_at is not None  # _refuse raised otherwise
    if event.status in FINAL_STATUSES:
        INVOICE_DECISIONS.labels(ref.country, event.status.value).inc()
        TIME_TO_DECISION.labels(ref.country, event.status.value).observe(
            (event.created_at - created_at).total_seconds()
        )
    return AppendResult(event=event, duplicate=False)


async def _refuse(conn: Connection, invoice_id: str, new: NewEvent) -> None:
    """Why the read model did not move: another version (a conflict) or a status the event may
    not follow. Raising rolls the append back."""
    position = await invoice_position(conn, invoice_id)
    if position is None or position.version != new.expected_version:
        raise ConcurrencyConflictError(
            f"invoice {invoice_id} is not at version {new.expected_version}"
        )
    raise TransitionNotAllowedError(invoice_id, new.type, position.status)


async def event_at(conn: Connection, stream_id: str, version: int) -> StoredEvent | None:
    row = await conn.fetchrow(
        f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND version = $2",  # noqa: S608
        stream_id,
        version,
    )
    return None if row is None else _stored(row)


async def stream_rows(conn: Connection, stream_id: str) -> list[Any]:
    return list(
        await conn.fetch(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream_id = $1 "  # noqa: S608 - ours
            "ORDER BY version",
            stream_id,
        )
    )


async def read_stream(conn: Connection, stream_id: str) -> list[StoredEvent]:
    return [_stored(r) for r in await stream_rows(conn, stream_id)]
