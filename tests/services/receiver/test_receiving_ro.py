"""Romania, end to end: a purchase invoice ANAF makes available in a company's SPV inbox arrives
once in Clearway as the same JSON POST /v1/invoices takes, with the original XML byte for byte
and ANAF's seal beside it; the same message delivered again adds nothing."""

from __future__ import annotations

import secrets
from typing import Any

import asyncpg
import pytest
from clearway.domain.invoice import InvoiceRequest
from clearway.formats import render

from services.stack.stack import Stack
from tests.conftest import MakeAccount
from tests.services.connections_support import connect_ro, new_company
from tests.services.receiver.receiving_support import (
    arrived_once,
    deliver,
    delivered_again_adds_nothing,
    until_anaf_lists_it,
)

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]


def _purchase_invoice(seed: dict[str, Any], cif: str) -> bytes:
    """A CIUS-RO invoice to the company `cif`, from another supplier, as Clearway renders one."""
    body = {**seed, "customer": {**seed["customer"], "vatNumber": f"RO{cif}"}}
    request = InvoiceRequest.model_validate(body)
    return render(request, invoice_number="FV-RECV-1", country="RO").content


async def test_a_purchase_invoice_in_the_spv_inbox_arrives_once_as_json_with_its_bytes(
    stack: Stack, db: asyncpg.Pool[Any], make_account: MakeAccount, seed_invoice: dict[str, Any]
) -> None:
    _, client = await make_account()
    cif = str(secrets.randbelow(90_000_000) + 10_000_000)  # its own inbox in the simulator
    xml = _purchase_invoice(seed_invoice, cif)
    message = await deliver(
        stack.govsim_url, "/_sim/anaf/purchase-invoices", {"cif": cif, "xml": xml.decode()}
    )
    await until_anaf_lists_it()
    company_id = await new_company(client, "RO", vatNumber=f"RO{cif}")
    connection = await connect_ro(client, company_id)  # isReceiver by default
    assert connection["status"] == "active"

    arrived = await arrived_once(client, company_id)
    received = arrived.received
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
    # The original XML byte for byte, and ANAF's seal beside it.
    assert arrived.document.content == xml
    assert arrived.evidence.content.startswith(b"<?xml")
    assert arrived.evidence.content != xml

    await delivered_again_adds_nothing(db, client, arrived)
