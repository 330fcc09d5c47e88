"""Belgium and Germany, end to end: a document another access point sent to a company's
participant id reaches Clearway through its access point provider (the simulator forwarding the
SBD to the receiver's network endpoint) and arrives once as the same JSON POST /v1/invoices
takes, with the business document byte for byte and the SBDH beside it; the provider's
redelivery adds nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from clearway.governments import government
from clearway.governments.peppol.receiving import SBDH_NS
from lxml import etree

from services.govsim.peppol.incoming import sample_document
from services.stack.stack import Stack
from tests.conftest import MakeAccount, data_of
from tests.services.connections_support import new_company, start_connection
from tests.services.receiver.receiving_support import new_buyer, received_list

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]

# The samples' two lines, 2 x 500.00 and 1 x 100.00, at 21 % (BE) and 19 % (DE).
TOTALS = {"BE": ("1100.00", "231.00", "1331.00"), "DE": ("1100.00", "209.00", "1309.00")}


async def connected_receiver(
    client: httpx.AsyncClient, sim: httpx.AsyncClient, country: str
) -> tuple[str, str]:
    """A company with an active receiving connection, registered at the access point for the
    document types its country receives: its id and its participant id."""
    company_id = await new_company(client, country, vatNumber=new_buyer(country).vat_number)
    connection = await start_connection(client, company_id, country)  # isReceiver by default
    assert connection["status"] == "active", connection
    credentials = connection["networkCredentials"]
    participant = f"{credentials['scheme']}:{credentials['identifier']}"
    listed = (await sim.get("/_sim/peppol/participants")).json()["participants"]
    [registered] = [p for p in listed if p["participantId"] == participant]
    assert registered["documentTypes"] == list(government(country).receivable_document_types())
    return company_id, participant


async def deliver(sim: httpx.AsyncClient, country: str, participant: str) -> tuple[bytes, Any]:
    """A sample document (BE: Peppol BIS UBL, DE: XRechnung CII) forwarded by the access point;
    the document as it stands inside the SBD, and the access point's outcome."""
    document = sample_document(country, participant, dt.datetime.now(dt.UTC).date())
    answer = await sim.post(
        "/_sim/peppol/incoming",
        json={"receiver": participant, "country": country, "document": document.decode()},
    )
    assert answer.status_code == 200, answer.text
    outcome = answer.json()
    assert (outcome["outcome"], outcome["attempts"]) == ("delivered", 1), outcome
    return document.split(b"?>", 1)[1].strip(), outcome


async def test_be_and_de_documents_forwarded_by_the_access_point_arrive_once_each(
    stack: Stack, make_account: MakeAccount
) -> None:
    _, client = await make_account()
    async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=60) as sim:
        for country in ("BE", "DE"):
            company_id, participant = await connected_receiver(client, sim, country)
            document, outcome = await deliver(sim, country, participant)

            [summary] = await received_list(client, company_id)
            received_id = summary["id"]
            assert outcome["answer"]["receivedInvoiceId"] == received_id
            received = data_of(await client.get(f"/v1/received-invoices/{received_id}"))
            assert (received["country"], received["governmentId"]) == (
                country,
                outcome["instanceIdentifier"],
            )
            amounts = (received["netAmount"], received["vatAmount"], received["grossAmount"])
            assert amounts == TOTALS[country], country
            assert received["invoice"]["customer"]["peppolId"] == participant
            assert [f for f in received["findings"] if f["severity"] == "error"] == []

            # The business document byte for byte; the SBDH as the evidence.
            original = await client.get(f"/v1/received-invoices/{received_id}/document")
            assert original.status_code == 200
            assert original.content == document
            evidence = await client.get(f"/v1/received-invoices/{received_id}/evidence")
            header = etree.fromstring(evidence.content)
            assert header.tag == f"{{{SBDH_NS}}}StandardBusinessDocumentHeader"
            receiver = f"{{{SBDH_NS}}}Receiver/{{{SBDH_NS}}}Identifier"
            assert header.findtext(receiver) == participant

            # The provider forwards it again (its acknowledgement lost): the same receipt.
            again = await sim.post(
                f"/_sim/peppol/incoming/{outcome['instanceIdentifier']}/redeliver"
            )
            assert again.json()["outcome"] == "delivered", again.text
            assert again.json()["answer"]["receivedInvoiceId"] == received_id
            listed = data_of(
                await client.get("/v1/received-invoices", params={"companyId": company_id})
            )
            assert [r["id"] for r in listed] == [received_id]
            events = data_of(await client.get(f"/v1/received-invoices/{received_id}/events"))
            assert [e["event"] for e in events] == ["invoice.received"]
