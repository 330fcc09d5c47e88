"""The event store: one append-only stream per invoice, with the read model in the same transaction.

Appending is optimistic: the caller names the version it expects the stream to be at. The
primary key (stream_id, version) turns two writers into a clean conflict, and the causation id
(the id of the event whose message caused this append) tells a redelivered message apart from a
real conflict, so handling a message twice never adds a second event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg
from pydantic import BaseModel, ConfigDict

from clearway.domain.ids import iso_millis, new_id, utcnow
from clearway.domain.lifecycle import FINAL_STATUSES, STATUS_OF_EVENT, EventType, Status
from clearway.messaging.envelope import EventMessage
from clearway.messaging.topics import topics_for_event
from clearway.observability.metrics import INVOICE_DECISIONS, TIME_TO_DECISION
from clearway.observability.tracing import current_ids, current_traceparent, traceparent_of

if TYPE_CHECKING:
    Connection: TypeAlias = asyncpg.Connection[Any] | asyncpg.pool.PoolConnectionProxy[Any]
else:  # asyncpg's classes are generic only in its type stubs
    Connection = Any


class ConcurrencyConflictError(Exception):
    """Another writer appended at the expected version for a different cause."""


class StoredEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    stream_id: str
    version: int
    id: str
    type: str
    status: Status
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
        """The event as GET /v1/invoices/:id/events shows it."""
        return {
            "id": self.id,
            "event": self.type,
            "status": self.status.value,
            "metadata": self.metadata,
            "createdAt": iso_millis(self.created_at),
        }


class AppendResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    event: StoredEvent
    duplicate: bool  # True: this cause was already recorded; nothing was written


class OutboxMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    topic: str
    key: str
    payload: dict[str, Any]
    traceparent: str | None = None


class InvoiceRef(BaseModel):
    """What every message about an invoice carries besides the event itself."""

    model_config = ConfigDict(frozen=True)

    invoice_id: str
    account_id: str
    country: str
    livemode: bool
    external_id: str | None = None


_EVENT_COLUMNS = (
    "stream_id, version, id, type, status, metadata, causation_id, trace_id, span_id, created_at"
)


def _stored(row: Mapping[str, Any]) -> StoredEvent:
    return StoredEvent.model_validate(dict(row))


def event_message(ref: InvoiceRef, event: StoredEvent) -> EventMessage:
    return EventMessage(
        invoiceId=ref.invoice_id,
        accountId=ref.account_id,
        externalId=ref.external_id,
        country=ref.country,
        livemode=ref.livemode,
        eventId=event.id,
        version=event.version,
        event=event.type,
        status=event.status,
        metadata=event.metadata,
        createdAt=iso_millis(event.created_at),
    )


async def enqueue(conn: Connection, messages: Sequence[OutboxMessage]) -> None:
    """Write messages to the outbox; the relay publishes them once the transaction commits.

    A message that names no span goes out as part of the current one's trace."""
    if messages:
        current = current_traceparent()
        await conn.executemany(
            "INSERT INTO outbox (topic, key, payload, traceparent) VALUES ($1, $2, $3, $4)",
            [(m.topic, m.key, m.payload, m.traceparent or current) for m in messages],
        )


def _messages_for(ref: InvoiceRef, event: StoredEvent) -> list[OutboxMessage]:
    payload = event_message(ref, event).model_dump(mode="json")
    return [
        OutboxMessage(
            topic=topic, key=ref.invoice_id, payload=payload, traceparent=event.traceparent
        )
        for topic in topics_for_event(event.type)
    ]


async def start_stream(
    conn: Connection,
    ref: InvoiceRef,
    invoice_row: Mapping[str, Any],
) -> StoredEvent:
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
    columns = {
        **invoice_row,
        "id": ref.invoice_id,
        "account_id": ref.account_id,
        "external_id": ref.external_id,
        "country": ref.country,
        "livemode": ref.livemode,
        "status": Status.CREATED.value,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    names = ", ".join(columns)
    params = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    async with conn.transaction():
        await conn.execute(
            f"INSERT INTO invoices ({names}) VALUES ({params})",  # noqa: S608 - names are ours
            *columns.values(),
        )
        await _insert_event(conn, event)
        await enqueue(conn, _messages_for(ref, event))
    return event


async def _insert_event(conn: Connection, event: StoredEvent) -> None:
    await conn.execute(
        f"INSERT INTO events ({_EVENT_COLUMNS}) "  # noqa: S608 - the names are ours
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        event.stream_id,
        event.version,
        event.id,
        event.type,
        event.status.value,
        event.metadata,
        event.causation_id,
        event.trace_id,
        event.span_id,
        event.created_at,
    )


async def append_event(  # noqa: PLR0913 - each argument is a distinct part of a transition
    conn: Connection,
    ref: InvoiceRef,
    *,
    expected_version: int,
    event_type: EventType,
    metadata: dict[str, Any] | None,
    causation_id: str,
    invoice_fields: Mapping[str, Any] | None = None,
    extra_outbox: Sequence[OutboxMessage] = (),
) -> AppendResult:
    """Append one transition at `expected_version + 1`, update the read model, enqueue messages.

    All in one transaction (a savepoint when the caller already holds one). If the same cause
    was already recorded at that version, nothing is written and `duplicate` is True. The
    event names the current span (the handler's), so the trace goes on from it.
    """
    trace_id, span_id = current_ids()
    event = StoredEvent(
        stream_id=ref.invoice_id,
        version=expected_version + 1,
        id=new_id("evt"),
        type=event_type,
        status=STATUS_OF_EVENT[event_type],
        metadata=metadata,
        causation_id=causation_id,
        trace_id=trace_id,
        span_id=span_id,
        created_at=utcnow(),
    )
    try:
        async with conn.transaction():
            await _insert_event(conn, event)
            fields = {**(invoice_fields or {}), "status": event.status.value}
            assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(fields, start=4))
            created_at = await conn.fetchval(
                f"UPDATE invoices SET version = $2, updated_at = $3, {assignments} "  # noqa: S608
                "WHERE id = $1 AND version = $2 - 1 RETURNING created_at",
                ref.invoice_id,
                event.version,
                event.created_at,
                *fields.values(),
            )
            if created_at is None:
                raise ConcurrencyConflictError(
                    f"invoice {ref.invoice_id} is not at version {expected_version}"
                )
            await enqueue(conn, [*_messages_for(ref, event), *extra_outbox])
    except asyncpg.UniqueViolationError:
        existing = await event_at(conn, ref.invoice_id, event.version)
        if existing is not None and existing.causation_id == causation_id:
            return AppendResult(event=existing, duplicate=True)
        raise ConcurrencyConflictError(
            f"invoice {ref.invoice_id} already has version {event.version} "
            f"from another cause ({existing.causation_id if existing else 'unknown'})"
        ) from None
    if event.status in FINAL_STATUSES:
        INVOICE_DECISIONS.labels(ref.country, event.status.value).inc()
        TIME_TO_DECISION.labels(ref.country, event.status.value).observe(
            (event.created_at - created_at).total_seconds()
        )
    return AppendResult(event=event, duplicate=False)


async def event_at(conn: Connection, stream_id: str, version: int) -> StoredEvent | None:
    row = await conn.fetchrow(
        f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND version = $2",  # noqa: S608
        stream_id,
        version,
    )
    return None if row is None else _stored(row)


async def read_stream(conn: Connection, stream_id: str) -> list[StoredEvent]:
    rows = await conn.fetch(
        f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY version",  # noqa: S608
        stream_id,
    )
    return [_stored(r) for r in rows]
