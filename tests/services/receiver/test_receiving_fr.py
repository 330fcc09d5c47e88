"""France, end to end: a purchase invoice another platform routes to a company through the
Plateforme Agréée arrives once in Clearway as the same JSON POST /v1/invoices takes, with the
Factur-X PDF byte for byte and the flow's metadata and lifecycle beside it; the same flow
delivered again adds nothing."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import httpx
import pytest

from services.govsim.fr.incoming import SAMPLE_SELLER_SIREN
from services.stack.stack import Stack
from tests.conftest import MakeAccount
from tests.services.connections_support import new_company, start_connection
from tests.services.receiver.receiving_support import (
    Buyer,
    arrived_once,
    deliver,
    delivered_again_adds_nothing,
    new_buyer,
)

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]
SANDBOX_PA_KEY = "clearway-sandbox-pa"  # the simulated PA's sandbox key (services/govsim/app.py)


async def test_a_purchase_invoice_routed_by_the_pa_arrives_once_as_json_with_its_bytes(
    stack: Stack, db: asyncpg.Pool[Any], make_account: MakeAccount
) -> None:
    _, client = await make_account()
    siren = new_buyer("FR").number  # its own incoming flows at the simulated PA
    flow = await deliver(stack.govsim_url, "/_sim/fr/incoming-invoices", {"buyerSiren": siren})
    company_id = await new_company(client, "FR", vatNumber=Buyer("FR", siren).vat_number)
    connection = await start_connection(client, company_id, "FR")  # isReceiver by default
    assert connection["status"] == "active"

    arrived = await arrived_once(client, company_id)
    received = arrived.received
    assert (received["country"], received["governmentId"]) == ("FR", flow["flowId"])
    assert (received["supplierVat"], received["customerVat"]) == (
        Buyer("FR", SAMPLE_SELLER_SIREN).vat_number,
        Buyer("FR", siren).vat_number,
    )
    # The sample, as the Factur-X states it.
    assert (received["netAmount"], received["vatAmount"], received["grossAmount"]) == (
        "980.00",
        "196.00",
        "1176.00",
    )
    assert received["invoice"]["invoiceNumber"] == flow["invoiceNumber"]
    # The PDF byte for byte, as the PA gives it; the flow's metadata and lifecycle beside it.
    async with httpx.AsyncClient(
        base_url=stack.govsim_url, headers={"Authorization": f"Bearer {SANDBOX_PA_KEY}"}
    ) as pa:
        original = await pa.get(f"/pa/flows/{flow['flowId']}", params={"docType": "Original"})
    assert original.status_code == 200, original.text
    assert arrived.document.content == original.content
    assert arrived.document.headers["content-type"] == "application/pdf"
    metadata = json.loads(arrived.evidence.content)
    assert metadata["flowId"] == flow["flowId"]
    assert [status["code"] for status in metadata["lifecycle"]] == [202, 203]

    await delivered_again_adds_nothing(db, client, arrived)
