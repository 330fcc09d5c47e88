"""The Peppol access point simulator (Belgium, German B2B), driven as a connector would."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest
from lxml import etree

from services.govsim.app import GovsimSettings
from services.govsim.peppol.state import PeppolSimulator
from tests.services.govsim.simtools import (
    EVERY_FAULT_STATUS,
    HOSTILE_UBL_INVOICES,
    UBL_INVOICE_NS,
    FakeClock,
    queue_every_fault,
    refused_unexpanded,
    ubl_invoice_xml,
)

API_KEY = "test-ap-key"
CONTROL = "/_sim/peppol"
PROCESSING_DELAY = 2.0
SENDER = "0208:0403000059"
RECEIVER = "0208:0123456749"
DE_RECEIVER = "9930:DE123456789"
BIS3 = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
XRECHNUNG = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
BIS3_INVOICE_TYPE = f"{UBL_INVOICE_NS}::Invoice##{BIS3}::2.1"
SMP = {"smp": "http://busdox.org/serviceMetadata/publishing/1.0/"}


def ubl_invoice(*, customization: str = BIS3, number: str = "INV-1") -> bytes:
    parties = """<cbc:BuyerReference>PO-77</cbc:BuyerReference>
  <cac:AccountingSupplierParty><cac:Party>
    <cbc:EndpointID schemeID="0208">0403000059</cbc:EndpointID>
  </cac:Party></cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty><cac:Party>
    <cbc:EndpointID schemeID="0208">0123456749</cbc:EndpointID>
  </cac:Party></cac:AccountingCustomerParty>"""
    return ubl_invoice_xml(customization=customization, number=number, rest=parties)


@pytest.fixture
def simulator(clock: FakeClock) -> PeppolSimulator:
    return PeppolSimulator(processing_delay=PROCESSING_DELAY, api_key=API_KEY, clock=clock)


@pytest.fixture
async def registered(http: httpx.AsyncClient) -> None:
    for participant in (RECEIVER, DE_RECEIVER):
        response = await http.post(f"{CONTROL}/participants", json={"participantId": participant})
        assert response.status_code == 201


async def send(
    http: httpx.AsyncClient,
    body: bytes,
    *,
    receiver: str = RECEIVER,
    sender: str = SENDER,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await http.post(
        "/peppol/documents",
        content=body,
        headers={
            "Content-Type": "application/xml",
            "X-Peppol-Sender": sender,
            "X-Peppol-Receiver": receiver,
            **(headers or {}),
        },
    )


async def status(http: httpx.AsyncClient, document_id: str) -> dict[str, Any]:
    response = await http.get(f"/peppol/documents/{document_id}")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["errors"][0]["code"]
    return code


# --- delivery --------------------------------------------------------------------------------


@pytest.mark.usefixtures("registered")
async def test_bis3_invoice_is_accepted_then_delivered_with_a_receipt(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    response = await send(http, ubl_invoice())
    assert response.status_code == 202
    document_id = response.json()["documentId"]
    assert response.json()["status"] == "accepted"
    first = await status(http, document_id)
    assert first["status"] == "accepted"
    assert first["documentTypeId"] == f"busdox-docid-qns::{BIS3_INVOICE_TYPE}"
    assert first["receiverId"] == f"iso6523-actorid-upis::{RECEIVER}"

    clock.advance(PROCESSING_DELAY)
    delivered = await status(http, document_id)
    assert delivered["status"] == "delivered"
    assert delivered["as4MessageId"].endswith("@govsim-ap")
    assert delivered["deliveredAt"]
    assert delivered["mls"] == {"responseCode": "AP"}


@pytest.mark.usefixtures("registered")
async def test_xrechnung_to_a_german_participant_with_query_parameters(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    response = await http.post(
        "/peppol/documents",
        params={"sender": f"iso6523-actorid-upis::{SENDER}", "receiver": DE_RECEIVER},
        content=ubl_invoice(customization=XRECHNUNG),
        headers={"X-Peppol-Document-Type": f"{UBL_INVOICE_NS}::Invoice##{XRECHNUNG}::2.1"},
    )
    assert response.status_code == 202, response.text
    clock.advance(PROCESSING_DELAY)
    assert (await status(http, response.json()["documentId"]))["status"] == "delivered"


@pytest.mark.usefixtures("registered")
async def test_smp_lookup_of_registered_and_unknown_participants(http: httpx.AsyncClient) -> None:
    group = await http.get(f"/peppol/smp/{quote('iso6523-actorid-upis::' + RECEIVER, safe='')}")
    assert group.status_code == 200
    root = etree.fromstring(group.content)
    assert etree.QName(root).localname == "ServiceGroup"
    references = root.findall(
        "smp:ServiceMetadataReferenceCollection/smp:ServiceMetadataReference", SMP
    )
    assert len(references) == 6  # the billing documents, and the Invoice Response
    href = references[0].get("href", "")
    metadata = await http.get(href.removeprefix("http://govsim"))
    assert metadata.status_code == 200
    assert b"peppol-transport-as4-v2_0" in metadata.content

    unknown = {"X-Clearway-Sandbox-Scenario": "receiver_unknown"}
    assert (await http.get("/peppol/smp/0208:0850000013", headers=unknown)).status_code == 404
    assert (await http.get(href.removeprefix("http://govsim"), headers=unknown)).status_code == 404


async def test_the_sandbox_smp_lists_any_well_formed_participant(http: httpx.AsyncClient) -> None:
    # Never registered: listed for every default document type, and a document reaches it.
    unregistered = "0208:0850000013"
    group = await http.get(f"/peppol/smp/{unregistered}")
    assert group.status_code == 200, group.text
    references = etree.fromstring(group.content).findall(
        "smp:ServiceMetadataReferenceCollection/smp:ServiceMetadataReference", SMP
    )
    assert len(references) == 6  # the billing documents, and the Invoice Response
    assert (await send(http, ubl_invoice(), receiver=unregistered)).status_code == 202
    # Listed, not registered: the control API shows only what was registered.
    assert (await http.get(f"{CONTROL}/participants")).json() == {"participants": []}
    await http.post(f"{CONTROL}/participants", json={"participantId": RECEIVER})
    registered = (await http.get(f"{CONTROL}/participants")).json()["participants"]
    assert [p["participantId"] for p in registered] == [RECEIVER]
    # Malformed ids (wrong check digits, no ICD) are listed by nobody.
    assert (await http.get("/peppol/smp/0208:0123456700")).status_code == 404
    assert (await http.get("/peppol/smp/DE123")).status_code == 404


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.usefixtures("registered")
@pytest.mark.parametrize(
    ("body", "receiver", "headers", "status_code", "code"),
    [
        (
            ubl_invoice(),
            "0208:0850000013",
            {"X-Clearway-Sandbox-Scenario": "receiver_unknown"},
            422,
            "RECEIVER_NOT_FOUND",
        ),
        (ubl_invoice(), "0208:0123456700", {}, 400, "INVALID_RECEIVER"),
        (ubl_invoice(), "9930:DE12", {}, 400, "INVALID_RECEIVER"),
        (
            ubl_invoice(customization="urn:cen.eu:en16931:2017"),
            RECEIVER,
            {},
            422,
            "UNSUPPORTED_CUSTOMIZATION",
        ),
        (b"<Invoice><unclosed></Invoice>", RECEIVER, {}, 422, "INVALID_XML"),
        (b'<Order xmlns="urn:x"/>', RECEIVER, {}, 422, "UNSUPPORTED_DOCUMENT"),
        (
            ubl_invoice(),
            RECEIVER,
            {"X-Peppol-Document-Type": "urn:other"},
            422,
            "DOCUMENT_TYPE_MISMATCH",
        ),
    ],
    ids=[
        "unknown-receiver",
        "bad-kbo-check-digits",
        "bad-german-vat",
        "not-bis3",
        "not-well-formed",
        "not-an-invoice",
        "document-type-mismatch",
    ],
)
async def test_refusals_answer_at_once(
    *,
    http: httpx.AsyncClient,
    body: bytes,
    receiver: str,
    headers: dict[str, str],
    status_code: int,
    code: str,
) -> None:
    response = await send(http, body, receiver=receiver, headers=headers)
    assert response.status_code == status_code
    assert error_code(response) == code


async def test_receiver_registered_for_other_document_types(http: httpx.AsyncClient) -> None:
    await http.post(
        f"{CONTROL}/participants",
        json={
            "participantId": RECEIVER,
            "documentTypes": [f"{UBL_INVOICE_NS}::Invoice##{XRECHNUNG}::2.1"],
        },
    )
    response = await send(http, ubl_invoice())
    assert error_code(response) == "DOCUMENT_TYPE_NOT_SUPPORTED"
    bad = await http.post(f"{CONTROL}/participants", json={"participantId": "0208:123"})
    assert bad.status_code == 422


async def test_api_key_is_required(http: httpx.AsyncClient) -> None:
    for authorization in ("", "Bearer wrong"):
        response = await http.post(
            "/peppol/documents", content=ubl_invoice(), headers={"Authorization": authorization}
        )
        assert response.status_code == 401
    assert (await http.get("/peppol/documents/x", headers={"Authorization": ""})).status_code == 401


@pytest.mark.usefixtures("registered")
@HOSTILE_UBL_INVOICES
async def test_hostile_xml_is_refused_without_expansion(
    http: httpx.AsyncClient, payload: bytes
) -> None:
    response = refused_unexpanded(await send(http, payload), 422, shorter_than=500)
    assert error_code(response) == "INVALID_XML"


# --- delivery failures, limits, faults -------------------------------------------------------


@pytest.mark.usefixtures("registered")
async def test_forced_delivery_failure_and_rejection(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    await http.post(
        f"{CONTROL}/next-deliveries",
        json={"status": "failed", "reason": "Receiving AP unreachable"},
    )
    await http.post(
        f"{CONTROL}/next-deliveries", json={"status": "rejected", "reason": "Unknown buyer"}
    )
    failed = (await send(http, ubl_invoice(number="F1"))).json()["documentId"]
    rejected = (await send(http, ubl_invoice(number="F2"))).json()["documentId"]
    clock.advance(PROCESSING_DELAY)
    failure = await status(http, failed)
    assert failure["status"] == "failed"
    assert failure["failureReason"] == "Receiving AP unreachable"
    assert "as4MessageId" not in failure
    rejection = await status(http, rejected)
    assert rejection["status"] == "rejected"
    assert rejection["mls"] == {"responseCode": "RE", "reason": "Unknown buyer"}


@pytest.mark.usefixtures("registered")
async def test_rate_limit_answers_429_with_retry_after(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    await http.put(f"{CONTROL}/rate-limit", json={"requests_per_minute": 1})
    assert (await send(http, ubl_invoice())).status_code == 202
    clock.advance(15)
    limited = await send(http, ubl_invoice())
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "45"
    clock.advance(45)
    assert (await send(http, ubl_invoice())).status_code == 202


@pytest.mark.usefixtures("registered")
async def test_injected_faults_and_lost_response(http: httpx.AsyncClient, clock: FakeClock) -> None:
    await queue_every_fault(http, CONTROL, retry_after_seconds=3)
    statuses = [(await send(http, ubl_invoice())).status_code for _ in range(4)]
    assert statuses == EVERY_FAULT_STATUS
    clock.advance(PROCESSING_DELAY)
    # The lost response still sent the document: the list shows it, so a client reconciles.
    listed = (await http.get("/peppol/documents", params={"receiver": RECEIVER})).json()
    assert [document["status"] for document in listed["documents"]] == ["delivered"]
    other = (await http.get("/peppol/documents", params={"receiver": DE_RECEIVER})).json()
    assert other == {"documents": []}
    assert (await http.post(f"{CONTROL}/reset")).status_code == 204
    assert (await http.get("/peppol/documents")).json() == {"documents": []}  # all forgotten
    unknown = {"X-Clearway-Sandbox-Scenario": "receiver_unknown"}
    assert (await send(http, ubl_invoice(), headers=unknown)).status_code == 422


def test_settings_read_the_environment() -> None:
    settings = GovsimSettings.from_env(
        {"GOVSIM_PEPPOL_PROCESSING_DELAY": "0", "GOVSIM_PEPPOL_API_KEY": "k"}
    )
    assert settings.peppol_processing_delay == 0
    assert settings.peppol_api_key == "k"


# --- the SBDH instance identifier and Clearway's sandbox scenarios ----------------------------


@pytest.mark.usefixtures("registered")
async def test_the_instance_identifier_is_echoed_and_finds_the_document(
    http: httpx.AsyncClient,
) -> None:
    mine = "4f1c9a1e-0b5d-5c3e-9d7a-2e6f8b0c1d2e"
    sent = await send(http, ubl_invoice(), headers={"X-Peppol-Instance-Identifier": mine})
    assert sent.status_code == 202, sent.text
    assert sent.json()["instanceIdentifier"] == mine
    other = await send(http, ubl_invoice(number="INV-2"))  # the AP assigns one itself
    assert other.json()["instanceIdentifier"] not in {"", mine}
    assert (await status(http, sent.json()["documentId"]))["instanceIdentifier"] == mine

    listed = await http.get("/peppol/documents", params={"instanceIdentifier": mine})
    assert [d["documentId"] for d in listed.json()["documents"]] == [sent.json()["documentId"]]
    none = await http.get("/peppol/documents", params={"instanceIdentifier": "nothing-sent"})
    assert none.json()["documents"] == []


@pytest.mark.usefixtures("registered")
async def test_an_overlong_instance_identifier_is_refused(http: httpx.AsyncClient) -> None:
    refused = await send(http, ubl_invoice(), headers={"X-Peppol-Instance-Identifier": "x" * 201})
    assert refused.status_code == 400
    assert error_code(refused) == "INVALID_INSTANCE_IDENTIFIER"
    assert (await http.get("/peppol/documents")).json()["documents"] == []


@pytest.mark.usefixtures("registered")
async def test_the_reject_scenario_answers_mls_re_with_the_specifications_rule(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    scenario = {"X-Clearway-Sandbox-Scenario": "reject", "X-Clearway-Invoice-Id": "inv_1"}
    bis = await send(http, ubl_invoice(), headers=scenario)
    german = await send(
        http, ubl_invoice(customization=XRECHNUNG), receiver=DE_RECEIVER, headers=scenario
    )
    clock.advance(PROCESSING_DELAY)
    bis_status = await status(http, bis.json()["documentId"])
    assert bis_status["status"] == "rejected"
    assert bis_status["mls"]["responseCode"] == "RE"
    assert bis_status["mls"]["reason"].startswith("[PEPPOL-EN16931-R003]")
    german_status = await status(http, german.json()["documentId"])
    assert german_status["mls"]["reason"].startswith("[BR-DE-15] Das Element")


@pytest.mark.usefixtures("registered")
async def test_token_expired_refuses_the_key_once_per_invoice(http: httpx.AsyncClient) -> None:
    scenario = {"X-Clearway-Sandbox-Scenario": "token_expired", "X-Clearway-Invoice-Id": "inv_2"}
    first = await send(http, ubl_invoice(), headers=scenario)
    assert first.status_code == 401
    assert (await http.get("/peppol/documents")).json()["documents"] == []
    again = await send(http, ubl_invoice(), headers=scenario)
    assert again.status_code == 202, again.text
