"""A stage's handlers without the stack: the ServiceContext a service builds when it starts, here
over store_db (a migrated PostgreSQL no service reads) with a broker that FastStream's
TestKafkaBroker runs in memory; what the handlers publish on it; and invoices recorded the way
intake records them, moved on the way the stages before would."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from clearway.config import Settings
from clearway.db import Connection
from clearway.domain.ids import new_id
from clearway.domain.invoice import InvoiceRequest, compute_totals
from clearway.domain.lifecycle import EventType
from clearway.invoices import ref_of
from clearway.messaging import OutboxRelay, build_broker
from clearway.messaging.envelope import EventMessage
from clearway.runtime import ServiceContext
from clearway.store.events import (
    NewEvent,
    StoredEvent,
    append_event,
    event_message,
    read_stream,
    start_stream,
)
from clearway.store.invoices import InvoiceRef, NewInvoice
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage


class CountingRelay(OutboxRelay):
    """The service's outbox relay, never started (the in-memory broker gets nothing from it):
    counts how often the handlers woke it after committing."""

    def __init__(self, pool: asyncpg.Pool[Any], broker: KafkaBroker) -> None:
        super().__init__(pool, broker)
        self.wakes = 0

    def wake(self) -> None:
        self.wakes += 1
        super().wake()


def handler_context(name: str, pool: asyncpg.Pool[Any]) -> ServiceContext:
    """What `run_worker` gives a service's register_handlers: its settings (the defaults), the
    pool, a broker for TestKafkaBroker and a relay."""
    settings = Settings.model_validate(
        {"database_url": "postgresql://db/clearway", "kafka_bootstrap": "127.0.0.1:9"}
    )
    broker = build_broker(settings.kafka_bootstrap, client_id=name)
    return ServiceContext(
        name=name,
        settings=settings,
        pool=pool,
        broker=broker,
        relay=CountingRelay(pool, broker),
    )


def wakes(context: ServiceContext) -> int:
    """How often the context's handlers woke the relay."""
    assert isinstance(context.relay, CountingRelay)
    return context.relay.wakes


@dataclass(frozen=True)
class Sent:
    """A message a handler published: its key and its JSON body."""

    key: str | None
    body: dict[str, Any]


def record_published(broker: KafkaBroker, *topics: str) -> dict[str, list[Sent]]:
    """What is published on each of `topics` from now on, in order: the test subscribes to them
    on the in-memory broker (before TestKafkaBroker starts it)."""
    published: dict[str, list[Sent]] = {topic: [] for topic in topics}
    for topic in topics:
        broker.subscriber(topic, group_id="handler-test-recorder")(_recorder(published[topic]))
    return published


def _recorder(into: list[Sent]) -> Callable[[KafkaMessage], Awaitable[None]]:
    async def record(message: KafkaMessage) -> None:
        raw = message.raw_message
        record = raw[0] if isinstance(raw, tuple) else raw
        key = record.key.decode() if record.key else None
        into.append(Sent(key=key, body=json.loads(message.body)))

    return record


async def recorded_invoice(
    conn: Connection,
    account_id: str,
    body: dict[str, Any],
    *,
    company_id: str | None = None,
    livemode: bool = False,
) -> EventMessage:
    """The invoice `body` as intake records it: its stream at `invoice.created` (version 1);
    the message that announces it."""
    request = InvoiceRequest.model_validate(body)
    totals = compute_totals(list(request.lines))
    ref = InvoiceRef(
        invoice_id=new_id("inv"),
        account_id=account_id,
        country=request.country,
        livemode=livemode,
        external_id=request.externalId,
    )
    created = await start_stream(
        conn,
        ref,
        NewInvoice(
            company_id=company_id,
            supplier_vat=request.supplier.vatNumber,
            customer_vat=request.customer.vatNumber,
            net_amount=totals.net_amount,
            vat_amount=totals.vat_amount,
            gross_amount=totals.gross_amount,
            currency=request.currency,
            request=request.model_dump(mode="json"),
        ),
    )
    return event_message(ref, created)


async def moved_on(
    conn: Connection,
    message: EventMessage,
    event: EventType,
    metadata: dict[str, Any] | None = None,
) -> EventMessage:
    """The invoice of `message` moved on by `event`, caused by it: the new event's message."""
    ref = ref_of(message)
    appended = await append_event(
        conn,
        ref,
        NewEvent(
            type=event,
            expected_version=message.version,
            causation_id=message.eventId,
            metadata=metadata,
        ),
    )
    return event_message(ref, appended.event)


async def events_of(pool: asyncpg.Pool[Any], invoice_id: str) -> list[StoredEvent]:
    async with pool.acquire() as conn:
        return await read_stream(conn, invoice_id)


async def latest(pool: asyncpg.Pool[Any], message: EventMessage) -> EventMessage:
    """The message of the latest event of `message`'s invoice."""
    *_, last = await events_of(pool, message.invoiceId)
    return event_message(ref_of(message), last)


async def outbox_of(pool: asyncpg.Pool[Any], key: str) -> list[tuple[str, dict[str, Any]]]:
    """(topic, payload) of the messages waiting in the outbox with `key`, oldest first."""
    rows = await pool.fetch("SELECT topic, payload FROM outbox WHERE key = $1 ORDER BY id", key)
    return [(row["topic"], row["payload"]) for row in rows]
