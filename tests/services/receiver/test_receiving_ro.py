"""Romania, end to end: a purchase invoice ANAF makes available in a company's SPV inbox arrives
once in Clearway as the same JSON POST /v1/invoices takes, with the original XML byte for byte
and ANAF's seal beside it; looking at the inbox again adds nothing."""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import asyncpg
import httpx
import pytest
from clearway.domain.invoice import InvoiceRequest
from clearway.formats import render

from services.stack.stack import Stack
from tests.conftest import MakeAccount, data_of
from tests.services.connections_support import connect_ro, new_company
from tests.services.receiver.support import received_by

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]


def _purchase_invoice(seed: dict[str, Any], cif: str) -> bytes:
    """A CIUS-RO invoice to the company `cif`, from another supplier, as Clearway renders one."""
    body = {**seed, "customer": {**seed["customer"], "vatNumber": f"RO{cif}"}}
    request = InvoiceRequest.model_validate(body)
    return render(request, invoice_number="FV-RECV-1", country="RO").content


async def _deliver(stack: Stack, cif: str, xml: bytes) -> dict[str, Any]:
    """The simulator's sandbox control: the invoice into `cif`'s SPV inbox."""
    async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=30) as sim:
        answer = await sim.post(
            "/_sim/anaf/purchase-invoices", json={"cif": cif, "xml": xml.decode()}
        )
    assert answer.status_code == 201, answer.text
    message: dict[str, Any] = answer.json()
    return message


async def test_a_purchase_invoice_in_the_spv_inbox_arrives_once_as_json_with_its_bytes(
    stack: Stack, db: asyncpg.Pool[Any], make_account: MakeAccount, seed_invoice: dict[str, Any]
) -> None:
    _, client = await make_account()
    cif = str(secrets.randbelow(90_000_000) + 10_000_000)  # its own inbox in the simulator
    xml = _purchase_invoice(seed_invoice, cif)
    message = await _deliver(stack, cif, xml)
    company_id = await new_company(client, "RO", vatNumber=f"RO{cif}")
    connection = await connect_ro(client, company_id)  # isReceiver by default
    assert connection["status"] == "active"

    [summary] = await received_by(client, company_id)
    received = data_of(await client.get(f"/v1/received-invoices/{summary['id']}"))
    assert (received["country"], received["governmentId"]) == ("RO", message["id"])
    assert (received["supplierVat"], received["customerVat"]) == ("RO12345678", f"RO{cif}")
    # The seed's amounts, as the document states them.
    assert (received["netAmount"], received["vatAmount"], received["grossAmount"]) == (
        "5200.00",
        "988.00",
        "6188.00",
    )
    invoice = received["invoice"]
    assert invoice["customer"]["vatNumber"] == f"RO{cif}"
    assert [line["description"] for line in invoice["lines"]] == [
        line["description"] for line in seed_invoice["lines"]
    ]
    assert [f for f in received["findings"] if f["severity"] == "error"] == []

    # The original XML byte for byte, and ANAF's seal beside it.
    document = await client.get(f"/v1/received-invoices/{summary['id']}/document")
    assert document.status_code == 200
    assert document.content == xml
    evidence = await client.get(f"/v1/received-invoices/{summary['id']}/evidence")
    assert evidence.status_code == 200
    assert evidence.content.startswith(b"<?xml")
    assert evidence.content != xml

    # Another look at the inbox (made due at once) finds the same message: nothing is added.
    async with db.acquire() as conn:
        await conn.execute(
            "UPDATE inbox_cursors SET next_fetch_at = now() WHERE connection_id = $1",
            connection["id"],
        )
    looked = False
    deadline = time.monotonic() + 30
    while not looked and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        async with db.acquire() as conn:
            looked = await conn.fetchval(
                "SELECT next_fetch_at > now() AND lease_until IS NULL AND last_error IS NULL "
                "FROM inbox_cursors WHERE connection_id = $1",
                connection["id"],
            )
    assert looked, "the receiver did not look at the inbox again"
    again = data_of(await client.get("/v1/received-invoices", params={"companyId": company_id}))
    assert [r["id"] for r in again] == [summary["id"]]
    events = data_of(await client.get(f"/v1/received-invoices/{summary['id']}/events"))
    assert [e["event"] for e in events] == ["invoice.received"]
