"""submitter-de and the poller in the running stack: an invoice for a public buyer (its buyer
reference a Leitweg-ID) uploaded to the simulated ZRE, any other sent over Peppol as an
XRechnung; each delivered with its receipt, rejected in German with the field to change, and
recovering from the sandbox scenarios and a lost answer with one filing. (Restarts mid-flight:
tests/services/test_killed_mid_flight.py.)"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from services.stack.stack import Stack
from tests.conftest import MakeAccount
from tests.libs.validation.bodies import clean_body
from tests.services import filing_support as filing
from tests.services import network_support as network
from tests.services.submitter_ro.ro_support import event, events_of, wait_ended

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]
PEPPOL_SEND = "POST /documents"
ZRE_UPLOAD = "POST /invoices"


@pytest.fixture
async def client(make_account: MakeAccount) -> httpx.AsyncClient:
    return await filing.connected_client(make_account, "DE")


async def _b2b(stack: Stack) -> tuple[dict[str, Any], str]:
    """clean_body("DE") for a company buyer of this test's own on Peppol: (body, its id)."""
    vat_number = network.german_vat_number()
    return await network.peppol_buyer(stack, "DE", vat_number, f"9930:{vat_number}")


async def _b2g(stack: Stack) -> dict[str, Any]:
    """clean_body("DE") for a public buyer: its Leitweg-ID in the buyer reference (BT-10)."""
    await network.register_leitweg_id(stack)
    return {**clean_body("DE"), "buyerReference": network.LEITWEG_ID}


async def _filings(stack: Stack, number: str, receiver: str | None) -> list[dict[str, Any]]:
    """What the invoice's channel received: the Peppol sends to the buyer, or the uploads."""
    if receiver is not None:
        return await network.peppol_documents(stack, receiver=receiver)
    return await network.zre_uploads(stack, number)


async def test_a_public_buyers_invoice_is_uploaded_to_zre_and_delivered(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    invoice_id, number = await network.file(client, await _b2g(stack))
    await wait_ended(client, invoice_id, "accepted")
    events = await events_of(client, invoice_id)
    assert [e["event"] for e in events] == filing.FILED_TIMELINE
    [upload] = await network.zre_uploads(stack, number)
    submitted = event(events, "invoice.submitted")["metadata"]
    assert submitted["govEndpoint"] == "ZRE"
    assert submitted["uploadId"] == upload["id"]
    assert submitted["clientReference"] == upload["clientReference"]
    assert upload["leitwegId"] == network.LEITWEG_ID
    receipt = await client.get(f"/v1/invoices/{invoice_id}/receipt")
    assert receipt.status_code == 200
    assert receipt.headers["content-type"] == "application/json"
    assert json.loads(receipt.content)["status"] == "delivered"


async def test_a_company_buyers_invoice_goes_over_peppol_and_is_delivered(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    body, receiver = await _b2b(stack)
    invoice_id, number = await network.file(client, body)
    await wait_ended(client, invoice_id, "accepted")
    [document] = await network.peppol_documents(stack, receiver=receiver)
    assert "xrechnung_3.0" in document["documentTypeId"]
    assert document["senderId"] == "iso6523-actorid-upis::9930:DE123456789"
    events = await events_of(client, invoice_id)
    submitted = event(events, "invoice.submitted")["metadata"]
    assert submitted["govEndpoint"] == "Peppol"
    assert submitted["uploadId"] == document["documentId"]
    assert submitted["instanceIdentifier"] == document["instanceIdentifier"]
    assert await network.zre_uploads(stack, number) == []
    receipt = await client.get(f"/v1/invoices/{invoice_id}/receipt")
    assert receipt.status_code == 200
    assert json.loads(receipt.content)["mls"]["responseCode"] == "AP"


async def test_zre_rejects_in_german_with_the_field_to_change(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    invoice_id, _ = await network.file(client, await _b2g(stack), "reject")
    invoice = await wait_ended(client, invoice_id, "rejected")
    assert invoice["errorMessage"] == (
        f"Die Leitweg-ID {network.LEITWEG_ID} ist keinem Rechnungsempfänger zugeordnet."
    )
    assert "No public buyer is registered" in invoice["errorTranslated"]
    assert "/buyerReference" in invoice["errorFix"]


async def test_a_negative_mls_over_peppol_is_rejected_in_german(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    body, _ = await _b2b(stack)
    invoice_id, _ = await network.file(client, body, "reject")
    await filing.rejected_with(
        client,
        invoice_id,
        '[BR-DE-15] Das Element "Buyer reference"',
        "buyer reference (BT-10)",
        "/buyerReference",
    )


@pytest.mark.parametrize("route", ["zre", "peppol"])
@pytest.mark.parametrize(
    ("scenario", "sends"),
    [
        ("transient_error", [503, 503, "ok"]),
        ("rate_limited", [429, "ok"]),
        ("timeout", [504]),
        ("token_expired", [401, "ok"]),
    ],
)
async def test_scenarios_recover_with_one_filing(
    stack: Stack, client: httpx.AsyncClient, route: str, scenario: str, sends: list[Any]
) -> None:
    receiver: str | None = None
    if route == "zre":
        body, endpoint, ok = await _b2g(stack), ZRE_UPLOAD, 201
    else:
        (body, receiver), endpoint, ok = await _b2b(stack), PEPPOL_SEND, 202
    invoice_id, number = await network.file(client, body, scenario)
    await filing.recovered(
        client, invoice_id, scenario, endpoint, [ok if s == "ok" else s for s in sends]
    )
    assert len(await _filings(stack, number, receiver)) == 1


async def test_a_lost_upload_answer_is_reconciled_by_the_client_reference(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    submitted, number = await network.reconciled_after_a_lost_answer(
        stack, client, await _b2g(stack), ("de", "/zre/invoices"), ZRE_UPLOAD
    )
    [upload] = await network.zre_uploads(stack, number)
    assert submitted["uploadId"] == upload["id"]
