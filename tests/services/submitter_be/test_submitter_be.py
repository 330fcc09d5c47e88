"""submitter-be and the poller against the simulated Peppol access point, in the running stack:
looked up in the SMP, sent with the invoice's SBDH instance identifier, delivered (the AP's
delivery record is the receipt); a negative MLS and a buyer not on Peppol rejected with the
field to change; the sandbox scenarios and a lost answer ending in one send. (Restarts mid-flight:
tests/services/test_killed_mid_flight.py.)"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from services.stack.stack import Stack
from tests.conftest import MakeAccount
from tests.services import filing_support as filing
from tests.services import network_support as network
from tests.services.submitter_ro.ro_support import event, events_of, wait_ended

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]
SEND = "POST /documents"


@pytest.fixture
async def client(make_account: MakeAccount) -> httpx.AsyncClient:
    return await filing.connected_client(make_account, "BE")


async def _buyer(stack: Stack, *, registered: bool = True) -> tuple[dict[str, Any], str]:
    """clean_body("BE") sold to a buyer of this test's own: (body, its participant id)."""
    number = network.enterprise_number()
    return await network.peppol_buyer(
        stack, "BE", f"BE{number}", f"0208:{number}", registered=registered
    )


async def test_a_send_is_delivered_and_the_delivery_record_is_the_receipt(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    body, receiver = await _buyer(stack)
    invoice_id, _ = await network.accepted(client, body)
    events = await events_of(client, invoice_id)
    assert [e["event"] for e in events] == filing.FILED_TIMELINE
    [document] = await network.peppol_documents(stack, receiver=receiver)
    submitted = event(events, "invoice.submitted")["metadata"]
    assert submitted["govEndpoint"] == "Peppol"
    assert submitted["uploadId"] == document["documentId"]
    assert submitted["instanceIdentifier"] == document["instanceIdentifier"]
    assert document["senderId"] == "iso6523-actorid-upis::0208:0123456749"  # the connection's
    assert network.calls_to(submitted["attempts"], "GET /smp/{participant}") == [200]
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
    invoice_id, _ = await network.file(client, (await _buyer(stack))[0], "reject")
    await filing.rejected_with(
        client, invoice_id, "[PEPPOL-EN16931-R003]", "buyer reference", "/buyerReference"
    )
    rejected = event(await events_of(client, invoice_id), "invoice.rejected")["metadata"]
    assert rejected["errors"][0]["rule"] == "PEPPOL-EN16931-R003"


async def test_a_buyer_not_on_peppol_is_rejected_before_anything_is_sent(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    # The sandbox SMP lists every well-formed participant: the scenario makes this one unknown.
    body, receiver = await _buyer(stack, registered=False)
    invoice_id, _ = await network.file(client, body, "receiver_unknown")
    invoice = await wait_ended(client, invoice_id, "rejected")
    assert receiver in invoice["errorMessage"]
    assert "not registered in the SMP" in invoice["errorMessage"]
    assert "not registered on the Peppol network" in invoice["errorTranslated"]
    assert "/customer/peppolId" in invoice["errorFix"]
    events = await events_of(client, invoice_id)
    assert [e["event"] for e in events][-1] == "invoice.rejected"
    assert "invoice.submitted" not in [e["event"] for e in events]
    assert await network.peppol_documents(stack, receiver=receiver) == []


@pytest.mark.parametrize(("scenario", "sends"), filing.recovery_scenarios(202, slow=True))
async def test_scenarios_recover_with_one_send(
    stack: Stack, client: httpx.AsyncClient, scenario: str, sends: list[int]
) -> None:
    body, receiver = await _buyer(stack)
    invoice_id, _ = await network.file(client, body, scenario)
    await filing.recovered(client, invoice_id, scenario, SEND, sends)
    assert len(await network.peppol_documents(stack, receiver=receiver)) == 1


async def test_a_lost_answer_is_reconciled_by_the_instance_identifier_not_sent_again(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    body, receiver = await _buyer(stack)
    submitted, _ = await network.reconciled_after_a_lost_answer(
        stack, client, body, ("peppol", "/peppol/documents"), SEND
    )
    assert network.calls_to(submitted["attempts"], "GET /documents?instanceIdentifier") == [200]
    [document] = await network.peppol_documents(stack, receiver=receiver)
    assert submitted["uploadId"] == document["documentId"]
