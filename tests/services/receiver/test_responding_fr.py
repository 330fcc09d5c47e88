"""France, end to end: a purchase invoice the PA routes to a company arrives in Clearway; the
buyer rejects it through the API, and the receiver sends the rejection back through the PA as
the lifecycle status 210 Refusée with the reason: the PA's flow shows it, the received invoice's
response is `sent` with the PA's receipt, and its timeline has each step once."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from services.stack.stack import Stack
from tests.conftest import MakeAccount, data_of
from tests.services.connections_support import new_company, start_connection
from tests.services.receiver.receiving_support import new_buyer

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]

PA_KEY = "clearway-sandbox-pa"  # the simulator's and the stack's default


async def _until(check: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.5)


async def test_a_rejection_goes_back_through_the_pa_as_210_with_its_reason(
    stack: Stack, make_account: MakeAccount
) -> None:
    buyer = new_buyer("FR")  # its own buyer at the PA (a SIREN with its Luhn key)
    siren = buyer.number
    async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=30) as sim:
        routed = await sim.post("/_sim/fr/incoming-invoices", json={"buyerSiren": siren})
        assert routed.status_code == 201, routed.text
        flow_id = routed.json()["flowId"]
        _, client = await make_account()
        company_id = await new_company(
            client, "FR", vatNumber=buyer.vat_number, legalName="Acheteur SA"
        )
        await start_connection(client, company_id, "FR")

        async def received() -> list[Any]:
            listing = await client.get("/v1/received-invoices", params={"companyId": company_id})
            return list(data_of(listing))

        (invoice,) = await _until(received)
        assert invoice["governmentId"] == flow_id
        path = f"/v1/received-invoices/{invoice['id']}"
        reason = "Prix unitaire différent du bon de commande"
        asked = await client.post(f"{path}/response", json={"decision": "reject", "reason": reason})
        assert data_of(asked, 202)["response"]["status"] == "requested"

        async def ended() -> dict[str, Any] | None:
            response: dict[str, Any] = data_of(await client.get(path))["response"]
            return None if response["status"] == "requested" else response

        response = await _until(ended)
        flow = await sim.get(
            f"/pa/flows/{flow_id}",
            params={"docType": "Metadata"},
            headers={"Authorization": f"Bearer {PA_KEY}"},
        )
        events = data_of(await client.get(f"{path}/events"))

    assert response["status"] == "sent", response
    assert response["receipt"]["networkId"] == flow_id
    assert response["receipt"]["statusCode"] == 210
    lifecycle = flow.json()["lifecycle"]
    assert [(s["code"], s.get("reason")) for s in lifecycle] == [
        (202, None),
        (203, None),
        (210, reason),
    ]
    assert [e["event"] for e in events] == [
        "invoice.received",
        "invoice.response_requested",
        "invoice.response_sent",
    ]
