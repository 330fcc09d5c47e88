"""clients/python's streaming helper against the API-only stack's broker and intake: invoices
produced to invoices.intake are taken (one invoice per idempotency key) or refused, and the
outcome is read back from invoice.events."""

from __future__ import annotations

import secrets
from decimal import Decimal

import pytest
from clearway_client import Clearway
from clearway_client.models import InvoiceRequest
from clearway_client.streaming import InvoiceStream, intake_message

from services.stack.stack import Stack
from tests.clients.python.conftest import seed_invoice_body

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def test_the_message_is_what_intake_reads() -> None:
    body = seed_invoice_body()
    message = intake_message(
        InvoiceRequest.model_validate(body),
        api_key="sk_test_1",
        idempotency_key="k-1",
        sandbox_scenario="reject",
    )
    assert message.key == body["externalId"].encode()
    assert dict(message.headers) == {
        "authorization": b"Bearer sk_test_1",
        "idempotency-key": b"k-1",
        "X-Clearway-Sandbox-Scenario": b"reject",
    }
    assert b'"unitPrice":"5000"' in message.value  # a decimal string, never a float

    # A dict body with Decimals: written as the core writes them, digits as given.
    body["lines"][0]["unitPrice"] = Decimal("1234567890123.4567")
    message = intake_message(body, api_key="sk_test_1")
    assert b'"unitPrice":"1234567890123.4567"' in message.value
    body["lines"][0]["unitPrice"] = 1234567890123.4567
    with pytest.raises(TypeError, match="/lines/0/unitPrice: pass amounts as Decimal or str"):
        intake_message(body, api_key="sk_test_1")


async def test_produce_and_read_the_outcomes(api_stack: Stack, client: Clearway) -> None:
    good = seed_invoice_body()
    bad = seed_invoice_body(lines=[])
    async with InvoiceStream(api_stack.kafka_bootstrap, api_stack.api_key) as stream:
        key = f"stream-{secrets.token_hex(4)}"
        await stream.send(good, idempotency_key=key)
        await stream.send(good, idempotency_key=key)  # redelivered: still one invoice
        await stream.send(bad)
        outcomes: dict[str, list[str]] = {}
        async for event in stream.events(
            external_ids={good["externalId"], bad["externalId"]},
            until={"invoice.created", "invoice.error"},
            timeout=60,
        ):
            outcomes.setdefault(event.external_id or "", []).append(event.event)
    assert outcomes[good["externalId"]] == ["invoice.created"]
    assert outcomes[bad["externalId"]] == ["invoice.error"]
    assert len(list(client.invoices.list(search=good["externalId"]))) == 1
