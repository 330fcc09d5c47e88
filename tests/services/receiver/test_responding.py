"""The buyer's response end to end, through each network's own mechanism: a purchase invoice
arrives in Clearway; the buyer accepts or rejects it through the API; the receiver sends the
decision back and the government (or network) has it, a rejection with its reason:

- FR: the PA's lifecycle status 210 Refusée on the flow;
- IT: the Notifica di Esito Committente (EC02 with its Descrizione, EC01) SDI took for the
  delivered file (an invoice to a public administration, FPA12: SDI takes no esito on a B2B one);
- BE, DE: the Invoice Response (T111; RE with its reason to a Belgian UBL invoice, AP to a
  German XRechnung CII) that the access point took, checked against the T111 rules, from the
  buyer's participant id to the supplier's;
- RO: the RASP message ANAF took from the buyer's CUI on the invoice's upload index, saying the
  decision and the reason.

The received invoice's response is `sent` with the network's receipt, and its timeline has
each step once."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import httpx
import pytest

from services.govsim.it.purchases import sample_purchase_invoice
from services.stack.stack import Stack
from tests.conftest import MakeAccount, data_of
from tests.services.receiver.receiving_support import (
    Buyer,
    delivered_to_new_buyer,
    new_buyer,
    received_list,
)

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]

PA_KEY = "clearway-sandbox-pa"  # the simulator's and the stack's default
PUSHED_PEPPOL = ("BE", "DE")
IPA_OFFICE = "UFQ2K7"  # a public administration's office code (6 characters): FPA12
REASONS = {
    "FR": "Prix unitaire différent du bon de commande",
    "IT": "Importo non conforme al contratto",
    "BE": "Prijs klopt niet met de bestelbon",
    "RO": "Cantitatea livrata difera de comanda",
}
RO_REJECTED = "Factura respinsa / Invoice rejected. Motiv / Reason: "


async def _until(check: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.5)


def _own_document(buyer: Buyer) -> dict[str, Any]:
    """IT: the sample to a public administration's office, the only kind SDI takes an esito
    on; the other countries' samples as they are."""
    if buyer.country != "IT":
        return {}
    today = dt.datetime.now(dt.UTC).date()
    xml = sample_purchase_invoice(buyer_vat=buyer.vat_number, code=IPA_OFFICE, issued=today)
    return {"xml": xml.decode()}


async def _what_the_network_has(
    sim: httpx.AsyncClient, buyer: Buyer, government_id: str
) -> list[tuple[Any, ...]]:
    """What the network says the buyer answered about the invoice: the codes and the reason."""
    if buyer.country == "FR":
        flow = await sim.get(
            f"/pa/flows/{government_id}",
            params={"docType": "Metadata"},
            headers={"Authorization": f"Bearer {PA_KEY}"},
        )
        return [(s["code"], s.get("reason")) for s in flow.json()["lifecycle"]]
    if buyer.country == "IT":
        file = (await sim.get(f"/_sim/it/delivered-files/{government_id}")).json()
        return [(file["formato"], file["esito"], file["descrizione"])]
    if buyer.country == "RO":
        taken = (await sim.get("/_sim/anaf/buyer-messages")).json()
        return [(m["message"],) for m in taken if m["cif"] == buyer.number]
    taken = (await sim.get("/_sim/peppol/invoice-responses")).json()["invoiceResponses"]
    return [
        (r["responseCode"], r["reasonCodes"], r["reason"], r["status"] != "failed")
        for r in taken
        if r["sender"].lower() == buyer.addressed_as.lower()
    ]


# Each network's answer, in what the buyer decided: rejected with the country's reason, or
# accepted (SDI's EC01; Peppol's AP, here for a German XRechnung CII: the response is made from
# the CII invoice's parties).
CASES = [
    ("FR", "reject"),
    ("IT", "reject"),
    ("IT", "accept"),
    ("BE", "reject"),
    ("DE", "accept"),
    ("RO", "reject"),
]


def _as_the_network_has_it(country: str, decision: str) -> list[tuple[Any, ...]]:
    """What the network has once the buyer decided."""
    reason = REASONS.get(country)
    return {
        # Made available, received, refused with the reason.
        ("FR", "reject"): [(202, None), (203, None), (210, reason)],
        ("IT", "reject"): [("FPA12", "EC02", reason)],
        ("IT", "accept"): [("FPA12", "EC01", None)],
        # "other": the buyer's words follow.
        ("BE", "reject"): [("RE", ["OTH"], reason, True)],
        ("DE", "accept"): [("AP", [], None, True)],
        ("RO", "reject"): [(f"{RO_REJECTED}{reason}",)],
    }[(country, decision)]


async def _buyer_messages(stack: Stack) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=30) as sim:
        taken: list[dict[str, Any]] = (await sim.get("/_sim/anaf/buyer-messages")).json()
    return taken


@pytest.mark.parametrize(("country", "decision"), CASES)
async def test_the_buyers_decision_goes_back_through_the_network(
    stack: Stack, make_account: MakeAccount, country: str, decision: str
) -> None:
    _, client = await make_account()
    buyer = new_buyer(country)
    connection, government_id = await delivered_to_new_buyer(
        client, stack.govsim_url, buyer, **_own_document(buyer)
    )
    [invoice] = await received_list(client, connection["companyId"])
    assert invoice["governmentId"] == government_id
    path = f"/v1/received-invoices/{invoice['id']}"
    said = {"decision": decision, **({"reason": REASONS[country]} if decision == "reject" else {})}
    asked = await client.post(f"{path}/response", json=said)
    assert data_of(asked, 202)["response"]["status"] == "requested"

    async def ended() -> dict[str, Any] | None:
        response: dict[str, Any] = data_of(await client.get(path))["response"]
        return None if response["status"] == "requested" else response

    response = await _until(ended)
    async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=30) as sim:
        network_has = await _what_the_network_has(sim, buyer, government_id)
    events = data_of(await client.get(f"{path}/events"))

    assert response["status"] == "sent", response
    if country == "RO":  # the RASP message's own upload index, on the invoice's
        taken = [m for m in (await _buyer_messages(stack)) if m["cif"] == buyer.number]
        assert response["receipt"]["networkId"] == str(taken[0]["index_incarcare"])
        assert response["receipt"]["invoiceIndex"] == str(taken[0]["invoice_index"])
    elif country not in PUSHED_PEPPOL:  # Peppol's receipt is the access point's document id
        assert response["receipt"]["networkId"] == government_id
    if country == "FR":
        assert response["receipt"]["statusCode"] == 210
    assert network_has == _as_the_network_has_it(country, decision)
    assert [e["event"] for e in events] == [
        "invoice.received",
        "invoice.response_requested",
        "invoice.response_sent",
    ]
