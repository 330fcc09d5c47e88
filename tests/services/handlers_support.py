"""A stage's handlers without the stack: the ServiceContext a service builds when it starts, here
over store_db (a migrated PostgreSQL no service reads) with a broker that FastStream's
TestKafkaBroker runs in memory; what the handlers publish on it; and invoices recorded by
intake's own code, moved on the way the stages before would."""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from clearway.accounts import create_account, create_api_key, create_company, owner_of_api_key
from clearway.accounts.connections import open_connection
from clearway.config import Settings
from clearway.db import Connection
from clearway.domain.company import CompanyRequest
from clearway.domain.lifecycle import EventType
from clearway.invoices import ref_of
from clearway.messaging import OutboxRelay, build_broker
from clearway.messaging.envelope import EventMessage
from clearway.runtime import ServiceContext
from clearway.store.events import NewEvent, StoredEvent, append_event, event_message, read_stream
from clearway.store.invoices import InvoiceRef
from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import BaseModel

from services.intake.invoices import accept_invoice

# Each country's document format, as the validator announces it and the converter writes it.
DEFAULT_FORMAT = {
    "RO": "UBL-CIUS-RO",
    "BE": "PEPPOL-BIS-3",
    "DE": "XRECHNUNG-UBL",
    "FR": "EN16931-UBL",
    "IT": "FATTURAPA",
    "PL": "FA3",
}


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


async def deliver(context: ServiceContext, topic: str, *messages: BaseModel) -> None:
    """`messages` on `topic`, in turn, to the handlers registered on the context's broker, keyed
    as the pipeline keys them (by invoice or received invoice; a connection event by
    connection)."""
    async with TestKafkaBroker(context.broker) as broker:
        for message in messages:
            fields = message.model_dump(mode="json")
            key = (
                fields.get("invoiceId") or fields.get("receivedInvoiceId") or fields["connectionId"]
            )
            await broker.publish(fields, topic, key=key.encode())


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


@dataclass(frozen=True)
class Supplier:
    """A new account's company (an invoice body's supplier), with the connection intake asks
    for before it takes an invoice (pending, in each mode used): invoices are recorded for it
    by intake's own code (services.intake.invoices.accept_invoice), as POST /v1/invoices and
    `invoices.intake` record them."""

    pool: asyncpg.Pool[Any]
    account_id: str
    company_id: str
    country: str

    async def invoice(self, body: dict[str, Any], *, livemode: bool = False) -> EventMessage:
        """`body` taken: the invoice at `invoice.created` (version 1), the message announcing it."""
        async with self.pool.acquire() as conn:
            await open_connection(
                conn, self.account_id, self.company_id, self.country, livemode=livemode
            )
            key = await create_api_key(conn, self.account_id, "live" if livemode else "test")
            owner = await owner_of_api_key(conn, key)
        assert owner is not None
        taken = await accept_invoice(self.pool, owner, json.dumps(body).encode(), None)
        invoice_id = json.loads(taken.body)["data"]["id"]
        ref = InvoiceRef(
            invoice_id=invoice_id,
            account_id=self.account_id,
            country=self.country,
            livemode=livemode,
            external_id=body.get("externalId"),
        )
        [created] = await events_of(self.pool, invoice_id)
        return event_message(ref, created)


async def new_invoice(pool: asyncpg.Pool[Any], body: dict[str, Any], label: str) -> EventMessage:
    """`body` taken for a new account whose company is its supplier: its `invoice.created`."""
    return await (await new_supplier(pool, body, label)).invoice(body)


async def new_supplier(pool: asyncpg.Pool[Any], body: dict[str, Any], label: str) -> Supplier:
    """A new account (named after the test) whose company is `body`'s supplier."""
    supplier, country = body["supplier"], body["country"]
    async with pool.acquire() as conn:
        account_id = await create_account(conn, f"{label} {secrets.token_hex(3)}")
        company_id = await create_company(
            conn,
            account_id,
            CompanyRequest(
                legal_name=supplier["name"], vat_number=supplier["vatNumber"], country=country
            ),
        )
    return Supplier(pool, account_id, company_id, country)


async def moved_on(conn: Connection, message: EventMessage, event: EventType) -> EventMessage:
    """The invoice of `message` moved on by `event`, caused by it: the new event's message."""
    ref = ref_of(message)
    appended = await append_event(
        conn,
        ref,
        NewEvent(
            type=event,
            expected_version=message.version,
            causation_id=message.event_id,
        ),
    )
    return event_message(ref, appended.event)


async def events_of(pool: asyncpg.Pool[Any], invoice_id: str) -> list[StoredEvent]:
    async with pool.acquire() as conn:
        return await read_stream(conn, invoice_id)


async def latest(pool: asyncpg.Pool[Any], message: EventMessage) -> EventMessage:
    """The message of the latest event of `message`'s invoice."""
    *_, last = await events_of(pool, message.invoice_id)
    return event_message(ref_of(message), last)


async def outbox_of(pool: asyncpg.Pool[Any], key: str) -> list[tuple[str, dict[str, Any]]]:
    """(topic, payload) of the messages waiting in the outbox with `key`, oldest first."""
    rows = await pool.fetch("SELECT topic, payload FROM outbox WHERE key = $1 ORDER BY id", key)
    return [(row["topic"], row["payload"]) for row in rows]
