"""submitter-be and the poller against the simulated Peppol access point, in the running stack:
looked up in the SMP, sent with the invoice's SBDH instance identifier, delivered (the AP's
delivery record is the receipt); a negative MLS and a buyer not on Peppol rejected with the
field to change; the sandbox scenarios, a lost answer and restarts all ending in one send."""

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
    calls_to,
    enterprise_number,
    file,
    peppol_documents,
    queue_fault,
    register_participant,
    wait_for_state,
)
from tests.services.submitter_ro.ro_support import event, events_of, wait_final, wait_status

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]
SEND = "POST /documents"


@pytest.fixture
async def client(make_account: MakeAccount) -> httpx.AsyncClient:
    return await connected_client(make_account, "BE")


async def _buyer(stack: Stack, *, registered: bool = True) -> tuple[dict[str, Any], str]:
    """clean_body("BE") sold to a buyer of this test's own: (body, its participant id)."""
    number = enterprise_number()
    participant = f"0208:{number}"
    if registered:
        await register_participant(stack, participant)
    body = clean_body("BE")
    body["customer"] = {**body["customer"], "vatNumber": f"BE{number}", "peppolId": participant}
    return body, participant


async def test_a_send_is_delivered_and_the_delivery_record_is_the_receipt(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    body, receiver = await _buyer(stack)
    invoice_id, _ = await file(client, body)
    invoice = await wait_final(client, invoice_id)
    assert invoice["status"] == "accepted", invoice
    events = await events_of(client, invoice_id)
    assert [e["event"] for e in events] == FILED_TIMELINE
    [document] = await peppol_documents(stack, receiver=receiver)
    submitted = event(events, "invoice.submitted")["metadata"]
    assert submitted["govEndpoint"] == "Peppol"
    assert submitted["uploadId"] == document["documentId"]
    assert submitted["instanceIdentifier"] == document["instanceIdentifier"]
    assert document["senderId"] == "iso6523-actorid-upis::0208:0123456749"  # the connection's
    assert calls_to(submitted["attempts"], "GET /smp/{participant}") == [200]
    accepted = event(events, "invoice.accepted")["metadata"]
    assert accepted["govId"].endswith("@govsim-ap")  # the AS4 message id
    receipt = await client.get(f"/v1/invoices/{invoice_id}/receipt")
    assert receipt.status_code == 200
    assert receipt.headers["content-type"] == "application/json"
    delivery = json.loads(receipt.content)
    assert delivery["status"] == "delivered"
    assert delivery["mls"]["responseCode"] == "AP"
    assert delivery["as4MessageId"] == accepted["govId"]


async def test_a_negative_mls_is_rejected_with_the_field_to_change(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    body, _ = await _buyer(stack)
    invoice_id, _ = await file(client, body, "reject")
    invoice = await wait_final(client, invoice_id)
    assert invoice["status"] == "rejected", invoice
    assert invoice["errorMessage"].startswith("[PEPPOL-EN16931-R003]")
    assert "buyer reference" in invoice["errorTranslated"]
    assert "/buyerReference" in invoice["errorFix"]
    rejected = event(await events_of(client, invoice_id), "invoice.rejected")["metadata"]
    assert rejected["errors"][0]["rule"] == "PEPPOL-EN16931-R003"


async def test_a_buyer_not_on_peppol_is_rejected_before_anything_is_sent(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    # The sandbox SMP lists every well-formed participant: the scenario makes this one unknown.
    body, receiver = await _buyer(stack, registered=False)
    invoice_id, _ = await file(client, body, "receiver_unknown")
    invoice = await wait_final(client, invoice_id)
    assert invoice["status"] == "rejected", invoice
    assert receiver in invoice["errorMessage"]
    assert "not registered in the SMP" in invoice["errorMessage"]
    assert "not registered on the Peppol network" in invoice["errorTranslated"]
    assert "/customer/peppolId" in invoice["errorFix"]
    events = await events_of(client, invoice_id)
    assert [e["event"] for e in events][-1] == "invoice.rejected"
    assert "invoice.submitted" not in [e["event"] for e in events]
    assert await peppol_documents(stack, receiver=receiver) == []


@pytest.mark.parametrize(
    ("scenario", "sends"),
    [
        ("transient_error", [503, 503, 202]),
        ("rate_limited", [429, 202]),
        ("timeout", [504]),
        ("token_expired", [401, 202]),
        ("slow", [202]),
    ],
)
async def test_scenarios_recover_with_one_send(
    stack: Stack, client: httpx.AsyncClient, scenario: str, sends: list[int]
) -> None:
    body, receiver = await _buyer(stack)
    invoice_id, _ = await file(client, body, scenario)
    await recovered(client, invoice_id, scenario, SEND, sends)
    assert len(await peppol_documents(stack, receiver=receiver)) == 1


async def test_a_lost_answer_is_reconciled_by_the_instance_identifier_not_sent_again(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    body, receiver = await _buyer(stack)
    await queue_fault(stack, "peppol", "/peppol/documents")
    invoice_id, _ = await file(client, body)
    invoice = await wait_final(client, invoice_id)
    assert invoice["status"] == "accepted", invoice
    submitted = event(await events_of(client, invoice_id), "invoice.submitted")["metadata"]
    assert submitted["reconciled"] is True
    assert calls_to(submitted["attempts"], SEND) == [504]
    assert calls_to(submitted["attempts"], "GET /documents?instanceIdentifier") == [200]
    [document] = await peppol_documents(stack, receiver=receiver)
    assert submitted["uploadId"] == document["documentId"]


async def test_restarting_the_submitter_and_the_poller_mid_flight_loses_nothing(
    stack: Stack, db: asyncpg.Pool[Any], client: httpx.AsyncClient
) -> None:
    # `slow`: the access point answers the send 1.5 s late, long enough to kill the submitter.
    body, receiver = await _buyer(stack)
    invoice_id, _ = await file(client, body, "slow")
    await wait_for_state(db, invoice_id, "uploading")
    await stack.restart("submitter_be")  # kill -9 while the send is in flight
    await wait_status(client, invoice_id, {"submitted", "accepted"}, timeout=120)
    await stack.restart("poller")  # kill -9 while the delivery is being followed

    invoice = await wait_final(client, invoice_id, timeout=120)
    assert invoice["status"] == "accepted", invoice
    [document] = await peppol_documents(stack, receiver=receiver)
    submitted = event(await events_of(client, invoice_id), "invoice.submitted")["metadata"]
    assert submitted["uploadId"] == document["documentId"]
