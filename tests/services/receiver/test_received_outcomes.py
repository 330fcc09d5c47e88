"""A received invoice in the running stack, from the moment it is recorded as the receiving
machine records it (its row, its `invoice.received` event and its outbox message, in one
transaction): the services' outbox relays publish it on `invoices.received`, keyed by its id;
the webhook-dispatcher sends it, signed, to the account's endpoint that wants it; the API serves
it, its document byte for byte and its events. And the same from each receiving government's
simulator: a purchase invoice delivered to a company in each of the six (read from RO's, PL's and
FR's inboxes; pushed by SDI and the Peppol access point for IT, BE and DE) reaches the account's
endpoint as a signed `invoice.received` and `invoices.received` under its received-invoice id,
both saying what the API serves."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from clearway.domain.ids import new_id
from clearway.messaging.topics import INVOICES_RECEIVED
from clearway.store.received_events import start_received_stream
from clearway.store.received_invoices import ReceivedRef

from services.stack.stack import Stack
from tests.conftest import MakeAccount, data_of
from tests.libs.store.received import new_received
from tests.services.connections_support import new_company, start_connection
from tests.services.kafka_support import read_grouped
from tests.services.receiver.receiving_support import (
    DELIVERY,
    delivered_to_new_buyer,
    new_buyer,
)
from tests.services.webhook_dispatcher.webhooktools import (
    create_endpoint,
    running_receiver,
    signature_is_valid,
)

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]


async def _published(stack: Stack, received_id: str, *, timeout: float = 30) -> list[Any]:
    """The messages about this received invoice on `invoices.received` (by their key)."""

    def by_key(key: bytes | None, _: dict[str, Any]) -> str | None:
        return received_id if key == received_id.encode() else None

    found = await read_grouped(
        stack.kafka_bootstrap, INVOICES_RECEIVED, {received_id}, by_key, timeout=timeout
    )
    return found.get(received_id, [])


async def test_a_received_invoice_is_published_sent_as_a_webhook_and_served(
    stack: Stack, db: asyncpg.Pool[Any], make_account: MakeAccount
) -> None:
    account_id, client = await make_account()
    company_id = await new_company(client, "RO")
    connection = await start_connection(client, company_id, "RO")
    document = b'<?xml version="1.0"?><Invoice xmlns="urn:oasis:names:specification:ubl"/>'
    async with running_receiver() as hooks:
        url = hooks.route()
        endpoint = await create_endpoint(client, url, ["invoice.received"])
        ref = ReceivedRef(
            received_id=new_id("rinv"),
            account_id=account_id,
            company_id=company_id,
            connection_id=connection["id"],
            country="RO",
            livemode=False,
        )
        async with db.acquire() as conn:
            event = await start_received_stream(conn, ref, new_received("5001", document))
        assert event is not None
        [request] = await hooks.wait_for(url, 1)
    [message] = await _published(stack, ref.received_id)

    assert (message["event"], message["receivedInvoiceId"], message["eventId"]) == (
        "invoice.received",
        ref.received_id,
        event.id,
    )
    assert (message["accountId"], message["governmentId"]) == (account_id, "5001")
    assert signature_is_valid(request, endpoint["secret"])
    body = request.json()
    assert (body["id"], body["type"]) == (event.id, "invoice.received")
    assert (body["data"]["receivedInvoiceId"], body["data"]["companyId"]) == (
        ref.received_id,
        company_id,
    )

    listed = data_of(await client.get("/v1/received-invoices", params={"companyId": company_id}))
    assert [r["id"] for r in listed] == [ref.received_id]
    served = await client.get(f"/v1/received-invoices/{ref.received_id}/document")
    assert (served.status_code, served.content) == (200, document)
    events = data_of(await client.get(f"/v1/received-invoices/{ref.received_id}/events"))
    assert [e["id"] for e in events] == [event.id]


# What invoice.received says of the invoice, on the topic and in the webhook's data alike, and
# what the API serves.
SAID = ("companyId", "connectionId", "country", "governmentId", "supplierVat", "grossAmount")


@pytest.mark.parametrize("country", sorted(DELIVERY))
async def test_a_purchase_invoice_delivered_by_the_government_is_a_signed_webhook_and_published(
    stack: Stack, make_account: MakeAccount, country: str
) -> None:
    _, client = await make_account()
    buyer = new_buyer(country)
    async with running_receiver() as hooks:
        url = hooks.route()
        endpoint = await create_endpoint(client, url, ["invoice.received"])
        connection, delivered = await delivered_to_new_buyer(client, stack.govsim_url, buyer)
        [request] = await hooks.wait_for(url, 1, timeout=90)
    assert signature_is_valid(request, endpoint["secret"])
    body = request.json()
    data = body["data"]
    assert (body["type"], data["country"], data["governmentId"]) == (
        "invoice.received",
        country,
        delivered,
    )
    assert (data["companyId"], data["connectionId"]) == (
        connection["companyId"],
        connection["id"],
    )
    received_id = data["receivedInvoiceId"]

    [message] = await _published(stack, received_id)
    assert (message["event"], message["eventId"], message["receivedInvoiceId"]) == (
        "invoice.received",
        body["id"],
        received_id,
    )
    served = data_of(await client.get(f"/v1/received-invoices/{received_id}"))
    assert served["supplierVat"] is not None, served  # the document was read
    for said in SAID:
        assert message[said] == data[said] == served[said], said
