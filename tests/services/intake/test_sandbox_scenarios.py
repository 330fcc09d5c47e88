"""X-Clearway-Sandbox-Scenario: accepted from sk_test_ keys over REST and as a Kafka header on
invoices.intake, refused when unknown or sent with a live key."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any

import httpx
import pytest
from clearway.db import connect
from clearway.messaging.topics import INVOICES_INTAKE

from services.stack.stack import Stack
from tests.conftest import api_client, error_of, new_api_key
from tests.services.kafka_support import produce
from tests.services.submitter_ro.ro_support import RoCompany, invoice_body, wait_ended

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]
HEADER = "X-Clearway-Sandbox-Scenario"


async def test_an_unknown_scenario_is_refused_naming_the_header(
    company: RoCompany, seed_invoice: dict[str, Any]
) -> None:
    refused = await company.client.post(
        "/v1/invoices", json=seed_invoice, headers={HEADER: "explode"}
    )
    assert error_of(refused, 400)["type"] == "validation_error"


async def test_a_live_key_may_not_ask_for_a_scenario(
    stack: Stack, company: RoCompany, seed_invoice: dict[str, Any]
) -> None:
    conn = await connect(stack.database.url)
    try:
        account_id = await conn.fetchval(
            "SELECT account_id FROM companies WHERE id = $1", company.company_id
        )
    finally:
        await conn.close()
    async with api_client(stack, await new_api_key(stack, account_id, "live")) as live:
        refused = await live.post("/v1/invoices", json=seed_invoice, headers={HEADER: "reject"})
    error = error_of(refused, 400)
    assert error["param"] == f"/{HEADER}"
    assert "sk_test_" in error["message"]


async def test_the_scenario_travels_as_a_kafka_header_too(
    stack: Stack, company: RoCompany, seed_invoice: dict[str, Any]
) -> None:
    body = invoice_body(seed_invoice, company)
    external_id = f"kafka-{secrets.token_hex(4)}"
    body["externalId"] = external_id
    headers = [
        ("authorization", company.client.headers["Authorization"].encode()),
        (HEADER, b"reject"),
    ]
    message = (external_id, json.dumps(body).encode(), headers)
    await produce(stack.kafka_bootstrap, INVOICES_INTAKE, [message])
    invoice_id = await _invoice_with_external_id(company.client, external_id)
    invoice = await wait_ended(company.client, invoice_id, "rejected")
    assert invoice["errorMessage"].startswith("[BR-RO-101]")


async def _invoice_with_external_id(client: httpx.AsyncClient, external_id: str) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        page = (await client.get("/v1/invoices", params={"search": external_id})).json()
        if page["data"]:
            invoice_id: str = page["data"][0]["id"]
            return invoice_id
        await asyncio.sleep(0.2)
    pytest.fail(f"no invoice {external_id} came from the topic")
