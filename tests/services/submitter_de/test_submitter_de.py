"""submitter-de and the poller in the running stack: an invoice for a public buyer (its buyer
reference a Leitweg-ID) uploaded to the simulated ZRE, any other sent over Peppol as an
XRechnung; each delivered with its receipt, rejected in German with the field to change, and
recovering from the sandbox scenarios, a lost answer and restarts with one filing."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import httpx
import pytest

from services.stack.stack import Stack
from tests.conftest import MakeAccount
from tests.libs.validation.bodies import clean_body
from tests.services.filing_support import FILED_TIMELINE, connected_client, recovered
from tests.services.network_support import (
    LEITWEG_ID,
    calls_to,
    file,
    german_vat_number,
    peppol_documents,
    queue_fault,
    register_leitweg_id,
    register_participant,
    wait_for_state,
    zre_uploads,
)
from tests.services.submitter_ro.ro_support import event, events_of, wait_final, wait_status

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]
PEPPOL_SEND = "POST /documents"
ZRE_UPLOAD = "POST /invoices"


@pytest.fixture
async def client(make_account: MakeAccount) -> httpx.AsyncClient:
    return await connected_client(make_account, "DE")


async def _b2b(stack: Stack) -> tuple[dict[str, Any], str]:
    """clean_body("DE") for a company buyer of this test's own on Peppol: (body, its id)."""
    vat_number = german_vat_number()
    participant = f"9930:{vat_number}"
    await register_participant(stack, participant)
    body = clean_body("DE")
    body["customer"] = {**body["customer"], "vatNumber": vat_number, "peppolId": participant}
    return body, participant


async def _b2g(stack: Stack) -> dict[str, Any]:
    """clean_body("DE") for a public buyer: its Leitweg-ID in the buyer reference (BT-10)."""
    await register_leitweg_id(stack)
    return {**clean_body("DE"), "buyerReference": LEITWEG_ID}


async def _filings(stack: Stack, number: str, receiver: str | None) -> list[dict[str, Any]]:
    """What the invoice's channel received: the Peppol sends to the buyer, or the uploads."""
    if receiver is not None:
        return await peppol_documents(stack, receiver=receiver)
    return await zre_uploads(stack, number)


async def test_a_public_buyers_invoice_is_uploaded_to_zre_and_delivered(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    invoice_id, number = await file(client, await _b2g(stack))
    invoice = await wait_final(client, invoice_id)
    assert invoice["status"] == "accepted", invoice
    events = await events_of(client, invoice_id)
    assert [e["event"] for e in events] == FILED_TIMELINE
    [upload] = await zre_uploads(stack, number)
    submitted = event(events, "invoice.submitted")["metadata"]
    assert submitted["govEndpoint"] == "ZRE"
    assert submitted["uploadId"] == upload["id"]
    assert submitted["clientReference"] == upload["clientReference"]
    assert upload["leitwegId"] == LEITWEG_ID
    receipt = await client.get(f"/v1/invoices/{invoice_id}/receipt")
    assert receipt.status_code == 200
    assert receipt.headers["content-type"] == "application/json"
    assert json.loads(receipt.content)["status"] == "delivered"


async def test_a_company_buyers_invoice_goes_over_peppol_and_is_delivered(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    body, receiver = await _b2b(stack)
    invoice_id, number = await file(client, body)
    invoice = await wait_final(client, invoice_id)
    assert invoice["status"] == "accepted", invoice
    [document] = await peppol_documents(stack, receiver=receiver)
    assert "xrechnung_3.0" in document["documentTypeId"]
    assert document["senderId"] == "iso6523-actorid-upis::9930:DE123456789"
    events = await events_of(client, invoice_id)
    submitted = event(events, "invoice.submitted")["metadata"]
    assert submitted["govEndpoint"] == "Peppol"
    assert submitted["uploadId"] == document["documentId"]
    assert submitted["instanceIdentifier"] == document["instanceIdentifier"]
    assert await zre_uploads(stack, number) == []
    receipt = await client.get(f"/v1/invoices/{invoice_id}/receipt")
    assert receipt.status_code == 200
    assert json.loads(receipt.content)["mls"]["responseCode"] == "AP"


async def test_zre_rejects_in_german_with_the_field_to_change(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    invoice_id, _ = await file(client, await _b2g(stack), "reject")
    invoice = await wait_final(client, invoice_id)
    assert invoice["status"] == "rejected", invoice
    assert invoice["errorMessage"] == (
        f"Die Leitweg-ID {LEITWEG_ID} ist keinem Rechnungsempfänger zugeordnet."
    )
    assert "No public buyer is registered" in invoice["errorTranslated"]
    assert "/buyerReference" in invoice["errorFix"]


async def test_a_negative_mls_over_peppol_is_rejected_in_german(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    body, _ = await _b2b(stack)
    invoice_id, _ = await file(client, body, "reject")
    invoice = await wait_final(client, invoice_id)
    assert invoice["status"] == "rejected", invoice
    assert invoice["errorMessage"].startswith('[BR-DE-15] Das Element "Buyer reference"')
    assert "buyer reference (BT-10)" in invoice["errorTranslated"]
    assert "/buyerReference" in invoice["errorFix"]


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
    invoice_id, number = await file(client, body, scenario)
    await recovered(client, invoice_id, scenario, endpoint, [ok if s == "ok" else s for s in sends])
    assert len(await _filings(stack, number, receiver)) == 1


async def test_a_lost_upload_answer_is_reconciled_by_the_client_reference(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    body = await _b2g(stack)
    await queue_fault(stack, "de", "/zre/invoices")
    invoice_id, number = await file(client, body)
    invoice = await wait_final(client, invoice_id)
    assert invoice["status"] == "accepted", invoice
    submitted = event(await events_of(client, invoice_id), "invoice.submitted")["metadata"]
    assert submitted["reconciled"] is True
    assert calls_to(submitted["attempts"], ZRE_UPLOAD) == [504]
    [upload] = await zre_uploads(stack, number)
    assert submitted["uploadId"] == upload["id"]


async def test_restarting_the_submitter_and_the_poller_mid_flight_loses_nothing(
    stack: Stack, db: asyncpg.Pool[Any], client: httpx.AsyncClient
) -> None:
    # `slow`: the platform answers the upload 1.5 s late, long enough to kill the submitter.
    invoice_id, number = await file(client, await _b2g(stack), "slow")
    await wait_for_state(db, invoice_id, "uploading")
    await stack.restart("submitter_de")  # kill -9 while the upload is in flight
    await wait_status(client, invoice_id, {"submitted", "accepted"}, timeout=120)
    await stack.restart("poller")  # kill -9 while the delivery is being followed

    invoice = await wait_final(client, invoice_id, timeout=120)
    assert invoice["status"] == "accepted", invoice
    [upload] = await zre_uploads(stack, number)
    submitted = event(await events_of(client, invoice_id), "invoice.submitted")["metadata"]
    assert submitted["uploadId"] == upload["id"]
