"""The webhook-dispatcher's consumers without the stack: an `invoice.events` message, through
FastStream's in-memory broker, records one delivery per enabled endpoint of the invoice's account
that subscribed to it (real PostgreSQL, store_db), together with the stream's earlier events the
endpoint has not had, once however often it comes; none without an endpoint, none for the
intake's refusals; a `connection.events` message reaches both modes' endpoints; an
`invoices.received` message (`invoice.received`) reaches the endpoints of its mode that want it,
once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from clearway.accounts.connections import open_connection
from clearway.domain.ids import iso_millis, new_id, utcnow
from clearway.domain.lifecycle import EventType
from clearway.messaging.envelope import EventMessage, ReceivedInvoiceMessage
from clearway.messaging.topics import (
    CONNECTION_EVENTS,
    INVOICE_EVENTS,
    INVOICES_RECEIVED,
    dlq_topic,
)
from clearway.runtime import ServiceContext
from clearway.store.received_events import start_received_stream
from clearway.store.received_invoices import ReceivedRef
from clearway.store.webhook_endpoints import create_endpoint, delete_endpoint
from faststream.kafka import TestKafkaBroker

from services.webhook_dispatcher.handlers import register_handlers
from tests.libs.store.received import new_received
from tests.libs.validation.bodies import clean_body
from tests.services.handlers_support import (
    Supplier,
    deliver,
    handler_context,
    moved_on,
    new_supplier,
    record_published,
)
from tests.services.webhook_dispatcher.webhooktools import connection_expired

pytestmark = [pytest.mark.postgres]


@dataclass
class Account:
    supplier: Supplier  # its company takes RO invoices
    endpoints: list[str] = field(default_factory=list)

    @property
    def pool(self) -> asyncpg.Pool[Any]:
        return self.supplier.pool

    @property
    def account_id(self) -> str:
        return self.supplier.account_id

    async def endpoint(self, events: list[str], *, livemode: bool = False) -> str:
        endpoint_id = new_id("we")
        async with self.pool.acquire() as conn:
            await create_endpoint(
                conn,
                endpoint_id,
                account_id=self.account_id,
                livemode=livemode,
                url=f"https://hooks.example.com/{endpoint_id}",
                description=None,
                enabled_events=events,
            )
        self.endpoints.append(endpoint_id)
        return endpoint_id

    async def deliveries(self, endpoint_id: str) -> list[dict[str, Any]]:
        """(event type, stream version, body) of the endpoint's deliveries, in stream order."""
        rows = await self.pool.fetch(
            "SELECT event_id, event_type, stream_id, stream_version, body "
            "FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY stream_version, created_at",
            endpoint_id,
        )
        return [dict(row) for row in rows]


@pytest_asyncio.fixture
async def account(store_db: asyncpg.Pool[Any]) -> AsyncIterator[Account]:
    account = Account(await new_supplier(store_db, clean_body("RO"), "hooks"))
    yield account
    async with store_db.acquire() as conn:  # no other test's claim may find its deliveries
        for endpoint_id in account.endpoints:
            await delete_endpoint(conn, endpoint_id)


def _dispatcher(pool: asyncpg.Pool[Any]) -> ServiceContext:
    context = handler_context("webhook-dispatcher", pool)
    register_handlers(context)
    return context


async def _invoice(account: Account) -> EventMessage:
    return await account.supplier.invoice(clean_body("RO"))


async def test_an_invoice_event_is_recorded_for_each_subscribed_endpoint_once(
    account: Account,
) -> None:
    everything = await account.endpoint(["*"])
    validated_only = await account.endpoint([EventType.VALIDATED.value])
    decisions_only = await account.endpoint([EventType.ACCEPTED.value])
    live = await account.endpoint(["*"], livemode=True)  # the invoice is a sandbox one
    created = await _invoice(account)
    later = await account.endpoint(["*"])  # hears of what happens from now on only
    async with account.pool.acquire() as conn:
        validated = await moved_on(conn, created, EventType.VALIDATED)
    context = _dispatcher(account.pool)
    # Only invoice.validated reaches the consumer (invoice.created is late, say): the
    # stream's earlier event is recorded with it, so order is kept. Then both, redelivered.
    await deliver(context, INVOICE_EVENTS, validated, created, validated)

    recorded = await account.deliveries(everything)
    assert [(d["event_type"], d["stream_version"]) for d in recorded] == [
        (EventType.CREATED, 1),
        (EventType.VALIDATED, 2),
    ]
    assert [d["event_id"] for d in recorded] == [created.event_id, validated.event_id]
    assert {d["stream_id"] for d in recorded} == {created.invoice_id}
    body = json.loads(recorded[1]["body"])
    assert (body["id"], body["type"], body["livemode"]) == (
        validated.event_id,
        EventType.VALIDATED,
        False,
    )
    assert (body["data"]["invoiceId"], body["data"]["status"], body["data"]["version"]) == (
        created.invoice_id,
        "validated",
        2,
    )
    assert [d["event_id"] for d in await account.deliveries(validated_only)] == [validated.event_id]
    assert await account.deliveries(decisions_only) == []
    assert await account.deliveries(live) == []
    assert [d["event_id"] for d in await account.deliveries(later)] == [validated.event_id]


async def test_no_endpoint_no_delivery_and_an_intake_refusal_is_no_ones(
    account: Account, store_db: asyncpg.Pool[Any]
) -> None:
    created = await _invoice(account)
    context = _dispatcher(store_db)
    dead = record_published(context.broker, dlq_topic(INVOICE_EVENTS))[dlq_topic(INVOICE_EVENTS)]
    refusal = {
        "invoiceId": None,
        "externalId": "k-notjson",
        "eventId": new_id("evt"),
        "event": "invoice.error",
        "status": "error",
        "metadata": {"stage": "intake"},
        "createdAt": iso_millis(utcnow()),
    }
    await deliver(context, INVOICE_EVENTS, created)
    async with TestKafkaBroker(context.broker) as broker:
        await broker.publish(refusal, INVOICE_EVENTS, key=b"k-notjson")

    count = await store_db.fetchval(
        "SELECT count(*) FROM webhook_deliveries WHERE stream_id = $1", created.invoice_id
    )
    assert count == 0
    assert dead == []  # taken and passed over, not a poison message


async def test_a_connection_event_reaches_the_endpoints_of_both_modes_that_want_it(
    account: Account,
) -> None:
    sandbox = await account.endpoint(["connection.expired"])
    live = await account.endpoint(["*"], livemode=True)
    other = await account.endpoint(["connection.active"])
    expired = connection_expired(account.account_id)
    refreshed = expired.model_copy(
        update={"eventId": new_id("evt"), "event": "connection.refreshed"}
    )
    await deliver(_dispatcher(account.pool), CONNECTION_EVENTS, expired, expired, refreshed)

    for endpoint_id in (sandbox, live):
        [delivery] = await account.deliveries(endpoint_id)
        assert (delivery["event_id"], delivery["event_type"]) == (expired.event_id, expired.event)
        assert delivery["stream_id"] is None  # no invoice's order to keep
        body = json.loads(delivery["body"])
        assert (body["id"], body["type"]) == (expired.event_id, "connection.expired")
        assert body["data"]["connectionId"] == "conn_test"
        assert body["data"]["status"] == "expired"
        assert body["data"]["lastErrorMessage"] == "ANAF refused the refresh token."
    # connection.refreshed is internal: no endpoint may subscribe to it.
    assert await account.deliveries(other) == []


async def _received_invoice(account: Account) -> ReceivedInvoiceMessage:
    """A purchase invoice received for the account's company: the message its outbox holds."""
    supplier = account.supplier
    async with account.pool.acquire() as conn:
        connection, _ = await open_connection(
            conn, supplier.account_id, supplier.company_id, supplier.country
        )
        ref = ReceivedRef(
            received_id=new_id("rinv"),
            account_id=supplier.account_id,
            company_id=supplier.company_id,
            connection_id=connection["id"],
            country=supplier.country,
            livemode=False,
        )
        assert await start_received_stream(conn, ref, new_received("ANAF-77")) is not None
        payload = await conn.fetchval(
            "SELECT payload FROM outbox WHERE key = $1 AND topic = $2",
            ref.received_id,
            INVOICES_RECEIVED,
        )
    return ReceivedInvoiceMessage.model_validate(payload)


async def test_a_received_invoice_reaches_the_endpoints_that_want_it_once(
    account: Account,
) -> None:
    everything = await account.endpoint(["*"])
    received_only = await account.endpoint(["invoice.received"])
    decisions_only = await account.endpoint([EventType.ACCEPTED.value])
    live = await account.endpoint(["*"], livemode=True)  # the connection is a sandbox one
    message = await _received_invoice(account)
    context = _dispatcher(account.pool)
    await deliver(context, INVOICES_RECEIVED, message, message)  # and redelivered

    for endpoint in (everything, received_only):
        [recorded] = await account.deliveries(endpoint)
        assert (recorded["event_id"], recorded["event_type"]) == (
            message.event_id,
            "invoice.received",
        )
        assert (recorded["stream_id"], recorded["stream_version"]) == (
            message.received_invoice_id,
            1,
        )
        body = json.loads(recorded["body"])
        assert (body["type"], body["data"]["receivedInvoiceId"]) == (
            "invoice.received",
            message.received_invoice_id,
        )
        assert body["data"]["governmentId"] == "ANAF-77"
    assert await account.deliveries(decisions_only) == []
    assert await account.deliveries(live) == []
