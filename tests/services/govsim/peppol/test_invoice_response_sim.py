"""The simulated access point takes a buyer's Peppol BIS 3 Invoice Response (UBL
ApplicationResponse) to the supplier, as it takes invoices: checked against the T111 rules and
its SBDH addressing first (422 with the rules' words), the supplier's SMP entry deciding whether
it takes the document type; and Clearway's PeppolResponder sends it once, finding a sent one
after a lost answer instead of sending it again."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import httpx
import pytest
from clearway.domain.responses import BuyerResponse
from clearway.governments.peppol.client import PeppolClient
from clearway.governments.peppol.invoice_response import (
    DOCUMENT_TYPE,
    PROCESS,
    ReferencedInvoice,
    referenced_invoice,
    render_invoice_response,
)
from clearway.governments.peppol.responding import PeppolResponder
from lxml import etree

from services.govsim.peppol.state import PeppolSimulator
from tests.services.govsim.peppol.test_peppol_sim import (
    API_KEY,
    CONTROL,
    PROCESSING_DELAY,
    RECEIVER,
    SENDER,
    error_code,
    send,
    status,
    ubl_invoice,
)
from tests.services.govsim.simtools import FakeClock

REJECT = BuyerResponse.model_validate({"decision": "reject", "reason": "Prijs klopt niet"})
ISSUED = dt.date(2026, 12, 3)
# The invoice SENDER (the supplier) sent RECEIVER (the buyer), as the buyer received it.
RECEIVED = ubl_invoice(number="INV-9")
NS = {"cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"}


@pytest.fixture
def simulator(clock: FakeClock) -> PeppolSimulator:
    return PeppolSimulator(processing_delay=PROCESSING_DELAY, api_key=API_KEY, clock=clock)


def _answered() -> ReferencedInvoice:
    return referenced_invoice(RECEIVED)


async def _send_response(
    http: httpx.AsyncClient, body: bytes, *, sender: str = RECEIVER
) -> httpx.Response:
    """From the buyer (RECEIVER of the invoice) back to the supplier (its SENDER)."""
    headers = {"X-Peppol-Document-Type": DOCUMENT_TYPE, "X-Peppol-Process": PROCESS}
    return await send(http, body, sender=sender, receiver=SENDER, headers=headers)


async def test_a_rejection_is_taken_and_delivered_to_the_supplier(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    body = render_invoice_response(_answered(), REJECT, response_id="IR-1", issued=ISSUED)

    sent = await _send_response(http, body)
    clock.advance(PROCESSING_DELAY)

    assert sent.status_code == 202, sent.text
    delivered = await status(http, sent.json()["documentId"])
    assert delivered["status"] == "delivered"
    assert delivered["documentTypeId"] == f"busdox-docid-qns::{DOCUMENT_TYPE}"
    assert delivered["processId"] == f"cenbii-procid-ubl::{PROCESS}"
    assert delivered["receiverId"] == f"iso6523-actorid-upis::{SENDER}"
    # The sandbox shows what the supplier was told: rejected, "other", in the buyer's words.
    taken = (await http.get(f"{CONTROL}/invoice-responses", params={"invoiceId": "INV-9"})).json()
    [told] = taken["invoiceResponses"]
    assert (told["documentId"], told["sender"], told["receiver"]) == (
        sent.json()["documentId"],
        RECEIVER,
        SENDER,
    )
    assert (told["responseCode"], told["reasonCodes"], told["reason"]) == (
        "RE",
        ["OTH"],
        "Prijs klopt niet",
    )


async def test_a_rejection_without_its_clarification_is_refused_by_peppol_t111_r001(
    http: httpx.AsyncClient,
) -> None:
    root = etree.fromstring(
        render_invoice_response(_answered(), REJECT, response_id="IR-2", issued=ISSUED)
    )
    status_element = root.find("cac:DocumentResponse/cac:Response/cac:Status", NS)
    assert status_element is not None
    status_element.getparent().remove(status_element)

    refused = await _send_response(http, etree.tostring(root))

    assert refused.status_code == 422
    assert error_code(refused) == "INVALID_INVOICE_RESPONSE"
    assert "[PEPPOL-T111-R001]" in refused.json()["errors"][0]["message"]


async def test_a_response_whose_sbdh_sender_is_not_its_sender_party_is_refused(
    http: httpx.AsyncClient,
) -> None:
    body = render_invoice_response(_answered(), REJECT, response_id="IR-3", issued=ISSUED)

    refused = await _send_response(http, body, sender="0208:0403000059")

    assert refused.status_code == 422
    assert "X-Peppol-Sender 0208:0403000059 is not the SenderParty" in refused.text


async def test_a_supplier_whose_smp_entry_lacks_invoice_responses_refuses_them(
    http: httpx.AsyncClient,
) -> None:
    bis_invoice = (
        "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##"
        "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1"
    )
    registered = await http.post(
        f"{CONTROL}/participants", json={"participantId": SENDER, "documentTypes": [bis_invoice]}
    )
    assert registered.status_code == 201
    body = render_invoice_response(_answered(), REJECT, response_id="IR-4", issued=ISSUED)

    refused = await _send_response(http, body)

    assert refused.status_code == 422
    assert error_code(refused) == "DOCUMENT_TYPE_NOT_SUPPORTED"


async def test_the_responder_sends_once_and_finds_it_after_a_lost_answer(
    http: httpx.AsyncClient, simulator: PeppolSimulator
) -> None:
    client = PeppolClient("http://govsim/peppol", API_KEY, http)
    responder = PeppolResponder(client, "rinv_1", RECEIVED, today=ISSUED)

    first = await responder.respond(REJECT, attempts=0)
    again = await PeppolResponder(client, "rinv_1", RECEIVED, today=ISSUED).respond(
        REJECT, attempts=1
    )

    assert len(simulator.received.all()) == 1
    assert again.network_id == first.network_id
    assert again.details["alreadySent"] is True
    assert first.details["supplier"] == SENDER


async def test_the_sandbox_smp_lists_invoice_responses_in_their_own_process(
    http: httpx.AsyncClient,
) -> None:
    participant = quote(f"iso6523-actorid-upis::{SENDER}", safe="")
    document_type = quote(f"busdox-docid-qns::{DOCUMENT_TYPE}", safe="")

    metadata = await http.get(f"/peppol/smp/{participant}/services/{document_type}")

    assert metadata.status_code == 200
    assert f">{PROCESS}</".encode() in metadata.content
