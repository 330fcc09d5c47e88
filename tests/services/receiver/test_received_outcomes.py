"""A received invoice in the running stack, from the moment it is recorded as the receiving
machine records it (its row, its `invoice.received` event and its outbox message, in one
transaction): the services' outbox relays publish it on `invoices.received`, keyed by its id;
the webhook-dispatcher sends it, signed, to the account's endpoint that wants it; the API serves
it, its document byte for byte and its events. Each government's own inbox feeding the machine
is tested with its simulator."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import pytest
from clearway.domain.ids import new_id
from clearway.messaging.topics import INVOICES_RECEIVED
from clearway.store.events import start_received_stream
from clearway.store.received_invoices import ReceivedRef

from services.stack.stack import Stack
from tests.conftest import MakeAccount, data_of
from tests.libs.store.received import new_received
from tests.services.connections_support import new_company, start_connection
from tests.services.kafka_support import read_from_start
from tests.services.webhook_dispatcher.webhooktools import (
    create_endpoint,
    running_receiver,
    signature_is_valid,
)

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]


async def _published(stack: Stack, received_id: str, *, timeout: float = 30) -> list[Any]:
    """The records about this received invoice on `invoices.received`."""
    return await read_from_start(
        stack.kafka_bootstrap,
        INVOICES_RECEIVED,
        keep=lambda record: record.key == received_id.encode(),
        enough=bool,
        timeout=timeout,
    )


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
    [record] = await _published(stack, ref.received_id)

    message = json.loads(record.value)
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
