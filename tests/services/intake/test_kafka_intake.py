"""The invoices.intake topic: same checks as REST; a poison message in the middle of good ones is
answered on invoice.events, copied to the DLQ, and does not block its partition."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any

import httpx
import pytest
from clearway.messaging.topics import INVOICE_EVENTS, INVOICES_INTAKE, dlq_topic

from services.stack.stack import Stack
from tests.services.kafka_support import Headers, produce, read_until

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]


async def test_poison_in_the_middle_of_good_messages(
    stack: Stack, api: httpx.AsyncClient, seed_invoice: dict[str, Any]
) -> None:
    run = secrets.token_hex(3)
    good = [f"k-{run}-good-{n}" for n in range(3)]
    auth = [("authorization", f"Bearer {stack.api_key}".encode())]
    messages: list[tuple[str, bytes, Headers]] = [
        (good[0], json.dumps({**seed_invoice, "externalId": good[0]}).encode(), auth),
        (f"k-{run}-notjson", b"{this is not json", auth),
        (
            f"k-{run}-badkey",
            json.dumps({**seed_invoice, "externalId": f"k-{run}-badkey"}).encode(),
            [("authorization", b"Bearer sk_test_nope")],
        ),
        (good[1], json.dumps({**seed_invoice, "externalId": good[1]}).encode(), auth),
        (
            f"k-{run}-schema",
            json.dumps({"country": "XX", "externalId": f"k-{run}-schema"}).encode(),
            auth,
        ),
        (good[2], json.dumps({**seed_invoice, "externalId": good[2]}).encode(), auth),
    ]
    # One partition for all: the good message after the poison must still be taken. The last is
    # a redelivery of a good message: its key makes it idempotent, no second invoice.
    redelivery = (good[0], messages[0][1], auth)
    await produce(stack.kafka_bootstrap, INVOICES_INTAKE, [*messages, redelivery], partition=0)

    refused = {f"k-{run}-notjson", f"k-{run}-badkey", f"k-{run}-schema"}
    answers = await read_until(stack.kafka_bootstrap, INVOICE_EVENTS, refused, "externalId")
    assert set(answers) == refused
    types = {k: v[0]["metadata"]["error"]["type"] for k, v in answers.items()}
    assert types == {
        f"k-{run}-notjson": "validation_error",
        f"k-{run}-badkey": "authentication_error",
        f"k-{run}-schema": "validation_error",
    }
    schema_params = {
        e["param"] for e in answers[f"k-{run}-schema"][0]["metadata"]["error"]["errors"]
    }
    assert {"/country", "/supplier", "/customer", "/lines"} <= schema_params

    dead = await read_until(stack.kafka_bootstrap, dlq_topic(INVOICES_INTAKE), refused, "key")
    assert set(dead) == refused
    assert all(entries[0]["reason"] for entries in dead.values())

    for external_id in good:
        deadline = time.monotonic() + 30
        while True:
            found = (await api.get("/v1/invoices", params={"search": external_id})).json()["data"]
            if found:
                break
            assert time.monotonic() < deadline, f"{external_id} was never taken"
            await asyncio.sleep(0.2)
        assert len(found) == 1, found
        assert found[0]["externalId"] == external_id

    lifecycle = await read_until(stack.kafka_bootstrap, INVOICE_EVENTS, set(good), "externalId")
    assert all(any(e["event"] == "invoice.created" for e in lifecycle[g]) for g in good)
