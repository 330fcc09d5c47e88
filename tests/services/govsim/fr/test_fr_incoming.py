"""The simulated PA's receiving side: a purchase invoice routed to a buyer SIREN (the sandbox
control), listed by the Flow Service's search as an incoming flow, downloaded as delivered with
the invoice's lifecycle, within the platform's limits and in its error bodies."""

from __future__ import annotations

import base64
import io
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from services.govsim.fr.state import FrPaSimulator
from tests.services.govsim.fr.test_fr_sim import (
    API_KEY,
    BUYER_SIREN,
    CII_NS,
    SELLER_SIREN,
    cii_invoice,
    ubl_invoice,
)
from tests.services.govsim.simtools import FakeClock

CONTROL = "/_sim/fr/incoming-invoices"
INCOMING = {"flowDirection": ["In"], "flowType": ["SupplierInvoice"], "siren": BUYER_SIREN}


@pytest.fixture
def simulator(clock: FakeClock) -> FrPaSimulator:
    return FrPaSimulator(processing_delay=0, api_key=API_KEY, clock=clock)


async def deliver(http: httpx.AsyncClient, **request: Any) -> dict[str, Any]:
    response = await http.post(CONTROL, json={"buyerSiren": BUYER_SIREN, **request})
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def search(http: httpx.AsyncClient, **query: Any) -> httpx.Response:
    where = query.pop("where", INCOMING)
    return await http.post("/pa/flows/search", json={"where": where, **query})


def given(document: bytes) -> str:
    return base64.b64encode(document).decode()


async def test_a_routed_invoice_is_an_incoming_flow_of_its_buyer_only(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    delivered = await deliver(http, document=given(ubl_invoice()))

    found = await search(http)

    assert found.status_code == 200
    body = found.json()
    stamp = "2026-06-01T10:00:00+00:00"
    assert body["results"] == [
        {
            "flowId": delivered["flowId"],
            "submittedAt": stamp,
            "updatedAt": stamp,
            "flowType": "SupplierInvoice",
            "processingRule": "B2B",
            "flowDirection": "In",
            "flowSyntax": "UBL",
            "acknowledgement": {"status": "Ok"},
            "siren": BUYER_SIREN,
        }
    ]
    assert (body["limit"], body["offset"]) == (25, 0)
    assert delivered["invoiceNumber"] == "F-2026-001"
    # Not the seller's, not outgoing, not after its own date.
    for where in (
        {**INCOMING, "siren": SELLER_SIREN},
        {**INCOMING, "flowDirection": ["Out"]},
        {**INCOMING, "updatedAfter": stamp},
    ):
        assert (await search(http, where=where)).json()["results"] == []
    clock.advance(1)
    earlier = {**INCOMING, "updatedAfter": "2026-06-01T09:59:59.999Z"}
    assert len((await search(http, where=earlier)).json()["results"]) == 1


async def test_the_original_comes_back_byte_for_byte_with_its_lifecycle(
    http: httpx.AsyncClient,
) -> None:
    document = cii_invoice()
    flow_id = (await deliver(http, document=given(document)))["flowId"]

    original = await http.get(f"/pa/flows/{flow_id}", params={"docType": "Original"})
    metadata = await http.get(f"/pa/flows/{flow_id}")

    assert original.status_code == 200
    assert original.content == document
    assert original.headers["content-type"] == "application/xml"
    assert metadata.json()["flowSyntax"] == "CII"
    assert metadata.json()["lifecycle"] == [
        {"code": 202, "label": "Reçue", "date": "2026-06-01T10:00:00+00:00"},
        {"code": 203, "label": "Mise à disposition", "date": "2026-06-01T10:00:00+00:00"},
    ]


async def test_the_sample_is_a_factur_x_rendered_for_the_buyer(http: httpx.AsyncClient) -> None:
    delivered = await deliver(http)

    original = await http.get(f"/pa/flows/{delivered['flowId']}", params={"docType": "Original"})

    assert delivered["flowSyntax"] == "Factur-X"
    assert original.headers["content-type"] == "application/pdf"
    xml = PdfReader(io.BytesIO(original.content)).attachments["factur-x.xml"][0]
    assert CII_NS.encode() in xml
    assert f'schemeID="0002">{BUYER_SIREN}<'.encode() in xml
    assert delivered["invoiceNumber"].startswith("FA-")


async def test_the_search_pages_oldest_first_by_offset(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    ids = []
    for number in range(5):
        delivered = await deliver(http, document=given(ubl_invoice(number=f"F-{number}")))
        ids.append(delivered["flowId"])
        clock.advance(1)

    pages = [(await search(http, limit=2, offset=offset)).json()["results"] for offset in (0, 2, 4)]

    assert [[flow["flowId"] for flow in page] for page in pages] == [ids[:2], ids[2:4], ids[4:]]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"limit": 101}, "limit : entier de 1 à 100"),
        ({"offset": -1}, "offset : entier positif ou nul"),
        ({"where": {}}, "where : au moins un critère est obligatoire"),
        ({"where": {"updatedAfter": "hier"}}, "updatedAfter : date-heure ISO 8601 avec fuseau"),
    ],
    ids=["limit", "offset", "no-criteria", "date"],
)
async def test_a_bad_search_is_refused_in_the_platforms_words(
    http: httpx.AsyncClient, query: dict[str, Any], message: str
) -> None:
    refused = await search(http, **query)

    assert refused.status_code == 400
    assert refused.json()["error"] == "bad_request"
    assert refused.json()["message"].startswith(message)


async def test_a_file_the_platforms_would_not_route_or_for_another_buyer_is_not_delivered(
    http: httpx.AsyncClient,
) -> None:
    for document, error in (
        (b"<Invoice", "XML illisible"),
        (ubl_invoice(buyer="123456789"), "REJ_SEMAN: SIREN de l'acheteur"),
        (ubl_invoice(buyer=SELLER_SIREN), f"SIREN {SELLER_SIREN}, pas {BUYER_SIREN}"),
    ):
        refused = await http.post(
            CONTROL, json={"buyerSiren": BUYER_SIREN, "document": given(document)}
        )
        assert refused.status_code == 422
        assert error in refused.json()["errors"][0]
    assert (await search(http)).json()["results"] == []


async def test_unknown_flows_and_documents_and_the_rate_limit(
    http: httpx.AsyncClient, simulator: FrPaSimulator
) -> None:
    flow_id = (await deliver(http))["flowId"]
    assert (await http.get("/pa/flows/nope")).json() == {
        "error": "not_found",
        "message": "Flux nope inconnu",
    }
    converted = await http.get(f"/pa/flows/{flow_id}", params={"docType": "Converted"})
    assert converted.status_code == 404
    await http.put("/_sim/fr/rate-limit", json={"requests_per_minute": 1})

    assert (await search(http)).status_code == 200
    throttled = await search(http)

    assert throttled.status_code == 429
    assert throttled.json()["error"] == "too_many_requests"
    assert int(throttled.headers["retry-after"]) > 0
    assert simulator.incoming.get(flow_id) is not None


async def test_the_buyers_statuses_join_the_lifecycle_in_order_and_210_needs_a_reason(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    flow_id = (await deliver(http))["flowId"]
    lifecycle = f"/pa/flows/{flow_id}/lifecycle"
    clock.advance(60)

    taken = await http.post(lifecycle, json={"code": 204})
    no_reason = await http.post(lifecycle, json={"code": 210})
    refused = await http.post(
        lifecycle, json={"code": 210, "reason": "Prix erroné", "reasonCode": "PRIX"}
    )
    after_final = await http.post(lifecycle, json={"code": 205})

    assert taken.status_code == 201
    assert taken.json() == {
        "flowId": flow_id,
        "status": {"code": 204, "label": "Prise en charge", "date": "2026-06-01T10:01:00+00:00"},
    }
    assert no_reason.status_code == 409
    assert no_reason.json() == {"error": "conflict", "message": "210 Refusée : motif obligatoire"}
    assert refused.status_code == 201
    assert after_final.json()["message"] == "205 ne peut pas suivre 210 Refusée"
    metadata = (await http.get(f"/pa/flows/{flow_id}")).json()
    assert [status["code"] for status in metadata["lifecycle"]] == [202, 203, 204, 210]
    assert metadata["lifecycle"][-1]["reason"] == "Prix erroné"
    assert metadata["lifecycle"][-1]["reasonCode"] == "PRIX"
    assert (await http.post(lifecycle, json={"code": 212})).status_code == 409  # not the buyer's
    assert (await http.post(lifecycle, json={"code": "x"})).status_code == 400
    assert (await http.post("/pa/flows/nope/lifecycle", json={"code": 204})).status_code == 404


async def test_an_invoice_deposited_and_routed_reaches_its_buyers_flows_and_a_rejected_one_not(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    document = ubl_invoice(number="F-ROUTED")
    deposited = await http.post(
        "/pa/invoices", content=document, headers={"Content-Type": "application/xml"}
    )
    assert deposited.status_code == 201
    clock.advance(5)
    duplicate = await http.post(
        "/pa/invoices", content=document, headers={"Content-Type": "application/xml"}
    )
    assert duplicate.status_code == 201  # taken, then 213 Rejetée as a duplicate
    clock.advance(5)

    (flow,) = (await search(http)).json()["results"]

    assert flow["flowSyntax"] == "UBL"
    assert flow["updatedAt"] == "2026-06-01T10:00:05+00:00"  # seen routed then
    original = await http.get(f"/pa/flows/{flow['flowId']}", params={"docType": "Original"})
    assert original.content == document
    status = (await http.get(f"/pa/invoices/{duplicate.json()['invoiceId']}")).json()["status"]
    assert status["code"] == 213
