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
from collections.abc import Mapping, Sequence
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
from clearway.observability.tracing import current_ids, current_traceparent, traceparent_of
from clearway.store.invoices import (
    InvoiceChanges,
    InvoiceRef,
    InvoiceStep,
    NewInvoice,
    advance_invoice,
    advance_invoices,
    insert_invoice,
    invoice_position,
)
from clearway.store.outbox import OutboxMessage, enqueue, enqueue_as_named
from clearway.store.rows import ManyRows


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


_EVENT_TYPES = {
    "stream_id": "text",
    "version": "int",
    "id": "text",
    "type": "text",
    "status": "text",
    "metadata": "jsonb",
    "causation_id": "text",
    "trace_id": "text",
    "span_id": "text",
    "created_at": "timestamptz",
}
_EVENT_COLUMNS = ", ".join(_EVENT_TYPES)


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
        *_event_values(event),
    )


def _event_values(event: StreamEvent) -> tuple[Any, ...]:
    """The event's columns, in _EVENT_COLUMNS' order."""
    return (
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
    event = _next_event(ref, new)
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
        raise _taken(event, existing) from None
    assert created_at is not None  # _refuse raised otherwise
    _count_decision(ref, event, created_at)
    return AppendResult(event=event, duplicate=False)


def _next_event(ref: InvoiceRef, new: NewEvent) -> StoredEvent:
    """The event `new` makes, naming the current span (the handler's), so the trace goes on
    from it."""
    trace_id, span_id = current_ids()
    return StoredEvent(
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


def _count_decision(ref: InvoiceRef, event: StoredEvent, created_at: dt.datetime) -> None:
    if event.status in FINAL_STATUSES:
        INVOICE_DECISIONS.labels(ref.country, event.status.value).inc()
        TIME_TO_DECISION.labels(ref.country, event.status.value).observe(
            (event.created_at - created_at).total_seconds()
        )


class PendingAppend(BaseModel):
    """An append made ready in its message's span (prepare_append), for append_events to
    write with the others of its batch."""

    model_config = ConfigDict(frozen=True)

    ref: InvoiceRef
    new: NewEvent
    event: StoredEvent
    outbox: tuple[OutboxMessage, ...]


def prepare_append(ref: InvoiceRef, new: NewEvent) -> PendingAppend:
    """What append_event would write for `new`: the event and its messages, all naming the
    current span, so each invoice of a batch keeps its own trace."""
    event = _next_event(ref, new)
    current = current_traceparent()
    outbox = tuple(
        m if m.traceparent else m.model_copy(update={"traceparent": current})
        for m in (*_messages_for(ref, event), *new.extra_outbox)
    )
    return PendingAppend(ref=ref, new=new, event=event, outbox=outbox)


async def append_events(conn: Connection, pending: Sequence[PendingAppend]) -> list[AppendResult]:
    """append_event for a batch, in one transaction (a savepoint when the caller holds one):
    set-based statements for the events, the read model and the outbox, the same outcome per
    append as append_event's, in the batch's order. A cause already recorded is a duplicate
    and writes nothing; a conflict or a transition the lifecycle does not allow raises
    (ConcurrencyConflictError, TransitionNotAllowedError) and writes nothing for the batch.
    Appends to one stream go in the batch's order, one statement round after the other."""
    if not pending:
        return []
    results: dict[int, AppendResult] = {}
    created: dict[int, dt.datetime] = {}
    async with conn.transaction():
        for round_ in _rounds(pending):
            written, duplicates = await _insert_events(conn, round_)
            results.update(duplicates)
            moved = await advance_invoices(
                conn,
                [
                    InvoiceStep(
                        invoice_id=p.ref.invoice_id,
                        version=p.event.version,
                        status=p.event.status,
                        allowed_from=ALLOWED_FROM[p.new.type],
                        at=p.event.created_at,
                        changes=p.new.invoice,
                    )
                    for _, p in written
                ],
            )
            for index, p in written:
                if p.ref.invoice_id not in moved:
                    await _refuse(conn, p.ref.invoice_id, p.new)
                created[index] = moved[p.ref.invoice_id]
                results[index] = AppendResult(event=p.event, duplicate=False)
        # Each row in the trace prepare_append found it in: the current span is the batch's.
        await enqueue_as_named(
            conn,
            [m for i, p in enumerate(pending) if not results[i].duplicate for m in p.outbox],
        )
    for index, at in created.items():
        _count_decision(pending[index].ref, pending[index].event, at)
    return [results[i] for i in range(len(pending))]


def _rounds(pending: Sequence[PendingAppend]) -> list[list[tuple[int, PendingAppend]]]:
    """The batch's appends, with their places, in rounds of at most one per stream: a
    stream's n-th append of the batch goes in the n-th round."""
    rounds: list[list[tuple[int, PendingAppend]]] = []
    seen: dict[str, int] = {}
    for index, p in enumerate(pending):
        n = seen.get(p.ref.invoice_id, 0)
        seen[p.ref.invoice_id] = n + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append((index, p))
    return rounds


async def _insert_events(
    conn: Connection, round_: list[tuple[int, PendingAppend]]
) -> tuple[list[tuple[int, PendingAppend]], dict[int, AppendResult]]:
    """Insert a round's events (one per stream); returns those written and, by place, the
    duplicates (the version already holds the same cause). A version held by another cause
    raises ConcurrencyConflictError."""
    many = ManyRows(_EVENT_TYPES, [_event_values(p.event) for _, p in round_])
    rows = await conn.fetch(
        f"INSERT INTO events ({many.columns}) {many.select} "
        "ON CONFLICT (stream_id, version) DO NOTHING RETURNING stream_id",
        *many.arrays,
    )
    inserted = {row["stream_id"] for row in rows}
    written = [(i, p) for i, p in round_ if p.ref.invoice_id in inserted]
    held = [(i, p) for i, p in round_ if p.ref.invoice_id not in inserted]
    if not held:
        return written, {}
    rows = await conn.fetch(
        f"SELECT {_EVENT_COLUMNS} FROM events "  # noqa: S608 - the names are ours
        "WHERE (stream_id, version) IN (SELECT * FROM unnest($1::text[], $2::int[]))",
        [p.event.stream_id for _, p in held],
        [p.event.version for _, p in held],
    )
    existing = {row["stream_id"]: _stored(row) for row in rows}
    duplicates: dict[int, AppendResult] = {}
    for index, p in held:
        there = existing.get(p.ref.invoice_id)
        if there is None or there.causation_id != p.new.causation_id:
            raise _taken(p.event, there)
        duplicates[index] = AppendResult(event=there, duplicate=True)
    return written, duplicates


def _taken(event: StoredEvent, existing: StoredEvent | None) -> ConcurrencyConflictError:
    """The conflict of `event` with what holds its version (None: gone since)."""
    return ConcurrencyConflictError(
        f"invoice {event.stream_id} already has version {event.version} "
        f"from another cause ({existing.causation_id if existing else 'unknown'})"
    )


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
