"""The German B2G receipt platform simulator (ZRE/OZG-RE): XRechnung with a Leitweg-ID."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.govsim.app import GovsimSettings
from services.govsim.de.leitweg import leitweg_check_digits, leitweg_id_problem
from services.govsim.de.state import ZreSimulator
from tests.services.govsim.simtools import (
    EVERY_FAULT_STATUS,
    HOSTILE_UBL_INVOICES,
    FakeClock,
    queue_every_fault,
    refused_unexpanded,
    ubl_invoice_xml,
)

API_KEY = "test-zre-key"
CONTROL = "/_sim/de"
PROCESSING_DELAY = 2.0
LEITWEG_ID = "991-33333TEST-33"
XRECHNUNG = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
CII_NS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"


def ubl_xrechnung(
    *, buyer_reference: str = LEITWEG_ID, customization: str = XRECHNUNG, number: str = "R-1"
) -> bytes:
    reference = (
        f"<cbc:BuyerReference>{buyer_reference}</cbc:BuyerReference>" if buyer_reference else ""
    )
    return ubl_invoice_xml(customization=customization, number=number, rest=reference)


def cii_xrechnung(*, buyer_reference: str = LEITWEG_ID) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="{CII_NS}"
  xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
  xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
  <rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter>
    <ram:ID>{XRECHNUNG}</ram:ID>
  </ram:GuidelineSpecifiedDocumentContextParameter></rsm:ExchangedDocumentContext>
  <rsm:ExchangedDocument><ram:ID>R-CII-1</ram:ID><ram:TypeCode>380</ram:TypeCode>
    <ram:IssueDateTime><udt:DateTimeString format="102">20260601</udt:DateTimeString>
    </ram:IssueDateTime></rsm:ExchangedDocument>
  <rsm:SupplyChainTradeTransaction><ram:ApplicableHeaderTradeAgreement>
    <ram:BuyerReference>{buyer_reference}</ram:BuyerReference>
  </ram:ApplicableHeaderTradeAgreement></rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>
""".encode()


@pytest.fixture
def simulator(clock: FakeClock) -> ZreSimulator:
    return ZreSimulator(processing_delay=PROCESSING_DELAY, api_key=API_KEY, clock=clock)


@pytest.fixture
async def http(http: httpx.AsyncClient) -> httpx.AsyncClient:
    """The shared client, with the test Leitweg-ID registered."""
    registered = await http.post(f"{CONTROL}/leitweg-ids", json={"leitwegId": LEITWEG_ID})
    assert registered.status_code == 201
    return http


async def upload(
    http: httpx.AsyncClient, content: bytes, scenario: str | None = None
) -> httpx.Response:
    headers = {"Content-Type": "application/xml"}
    if scenario:
        headers["X-Clearway-Sandbox-Scenario"] = scenario
    return await http.post("/zre/invoices", content=content, headers=headers)


async def decided(
    http: httpx.AsyncClient, clock: FakeClock, content: bytes, scenario: str | None = None
) -> dict[str, Any]:
    response = await upload(http, content, scenario)
    assert response.status_code == 201, response.text
    clock.advance(PROCESSING_DELAY)
    status = await http.get(f"/zre/invoices/{response.json()['id']}")
    assert status.status_code == 200
    body: dict[str, Any] = status.json()
    return body


# --- the Leitweg-ID ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("leitweg_id", "valid"),
    [
        ("991-33333TEST-33", True),
        ("04011000-1234512345-06", True),
        ("991-33333test-33", True),
        ("04011000-1234512345-07", False),
        ("991-33333TEST", False),
        ("9-33333TEST-33", False),
        ("991-33333_TEST-33", False),
    ],
)
def test_leitweg_id_format_and_iso_7064_check_digits(leitweg_id: str, valid: bool) -> None:
    assert (leitweg_id_problem(leitweg_id) is None) is valid


def test_check_digits_of_a_coarse_address_alone() -> None:
    coarse = "99112345678"
    assert leitweg_id_problem(f"{coarse}-{leitweg_check_digits(coarse, '')}") is None


# --- delivery ----------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [ubl_xrechnung(), cii_xrechnung()], ids=["ubl", "cii"])
async def test_xrechnung_with_a_registered_leitweg_id_is_delivered(
    http: httpx.AsyncClient, clock: FakeClock, content: bytes
) -> None:
    response = await upload(http, content)
    assert response.status_code == 201
    assert response.json()["status"] == "received"
    assert response.json()["leitwegId"] == LEITWEG_ID
    clock.advance(PROCESSING_DELAY)
    status = (await http.get(f"/zre/invoices/{response.json()['id']}")).json()
    assert status["status"] == "delivered"
    assert status["deliveredAt"]


async def test_any_well_formed_leitweg_id_is_a_recipient_in_the_sandbox(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    # Never registered, valid check digits: delivered; the same with `receiver_unknown`: not.
    unregistered = "04011000-1234512345-06"
    assert leitweg_id_problem(unregistered) is None
    delivered = await decided(http, clock, ubl_xrechnung(buyer_reference=unregistered))
    assert delivered["status"] == "delivered", delivered
    unknown = await decided(
        http, clock, ubl_xrechnung(buyer_reference=unregistered), "receiver_unknown"
    )
    assert unknown["status"] == "rejected", unknown
    assert unknown["rejectionReasons"] == [
        f"Die Leitweg-ID {unregistered} ist keinem Rechnungsempfänger zugeordnet."
    ]


# --- rejections --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "scenario", "fragment"),
    [
        (ubl_xrechnung(buyer_reference=""), None, "fehlt"),
        (ubl_xrechnung(buyer_reference="991-33333TEST-34"), None, "Prüfziffer"),
        (ubl_xrechnung(buyer_reference="PO-4711"), None, "Format"),
        (
            ubl_xrechnung(buyer_reference="04011000-1234512345-06"),
            "receiver_unknown",
            "keinem Rechnungsempfänger",
        ),
        (
            ubl_xrechnung(
                customization="urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
            ),
            None,
            "keine XRechnung 3.0",
        ),
    ],
    ids=["no-leitweg-id", "bad-check-digits", "not-a-leitweg-id", "unregistered", "not-xrechnung"],
)
async def test_each_failing_check_rejects_with_its_reason(
    http: httpx.AsyncClient,
    clock: FakeClock,
    content: bytes,
    scenario: str | None,
    fragment: str,
) -> None:
    status = await decided(http, clock, content, scenario)
    assert status["status"] == "rejected"
    assert any(fragment in reason for reason in status["rejectionReasons"]), status


@pytest.mark.parametrize(
    "content", [b"kein XML", b'<Order xmlns="urn:x"/>'], ids=["not-xml", "not-an-invoice"]
)
async def test_unreadable_upload_is_refused_at_once(
    http: httpx.AsyncClient, content: bytes
) -> None:
    response = await upload(http, content)
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"]


@HOSTILE_UBL_INVOICES
async def test_hostile_xml_is_refused_without_expansion(
    http: httpx.AsyncClient, payload: bytes
) -> None:
    response = refused_unexpanded(await upload(http, payload), 400, shorter_than=300)
    assert "DOCTYPE" in response.text


# --- controls, limits, faults ------------------------------------------------------------------


async def test_register_refuses_malformed_leitweg_ids(http: httpx.AsyncClient) -> None:
    refused = await http.post(f"{CONTROL}/leitweg-ids", json={"leitwegId": "991-1-00"})
    assert refused.status_code == 422


async def test_forced_rejection(http: httpx.AsyncClient, clock: FakeClock) -> None:
    await http.post(f"{CONTROL}/next-rejections", json={"reason": "Empfänger nicht erreichbar"})
    status = await decided(http, clock, ubl_xrechnung(number="F-1"))
    assert status["rejectionReasons"] == ["Empfänger nicht erreichbar"]
    assert (await decided(http, clock, ubl_xrechnung(number="F-2")))["status"] == "delivered"


async def test_api_key_rate_limit_faults_and_reconciliation(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    unauthenticated = await http.post(
        "/zre/invoices", content=ubl_xrechnung(), headers={"Authorization": "Bearer nope"}
    )
    assert unauthenticated.status_code == 401

    await http.put(f"{CONTROL}/rate-limit", json={"requests_per_minute": 2})
    assert (await upload(http, ubl_xrechnung(number="L1"))).status_code == 201
    assert (await upload(http, ubl_xrechnung(number="L2"))).status_code == 201
    clock.advance(30)
    limited = await upload(http, ubl_xrechnung(number="L3"))
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "30"
    clock.advance(30)
    await http.put(f"{CONTROL}/rate-limit", json={"requests_per_minute": None})

    await queue_every_fault(http, CONTROL)
    results = [(await upload(http, ubl_xrechnung(number="LOST"))).status_code for _ in range(4)]
    assert results == EVERY_FAULT_STATUS
    found = (await http.get("/zre/invoices", params={"invoiceNumber": "LOST"})).json()["invoices"]
    assert len(found) == 1
    assert (await http.post(f"{CONTROL}/reset")).status_code == 204
    assert (await http.get("/zre/invoices")).json() == {"invoices": []}


def test_settings_read_the_environment() -> None:
    settings = GovsimSettings.from_env(
        {"GOVSIM_DE_PROCESSING_DELAY": "3", "GOVSIM_DE_API_KEY": "k"}
    )
    assert settings.de_processing_delay == 3
    assert settings.de_api_key == "k"


# --- the client reference and Clearway's sandbox scenarios ------------------------------------


async def test_the_client_reference_is_stored_and_finds_the_upload(
    http: httpx.AsyncClient,
) -> None:
    sent = await http.post(
        "/zre/invoices",
        content=ubl_xrechnung(),
        headers={"Content-Type": "application/xml", "X-Client-Reference": "clearway:inv_1"},
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["clientReference"] == "clearway:inv_1"
    await upload(http, ubl_xrechnung(number="R-2"))  # another, without a reference
    found = await http.get("/zre/invoices", params={"clientReference": "clearway:inv_1"})
    assert [u["id"] for u in found.json()["invoices"]] == [sent.json()["id"]]
    none = await http.get("/zre/invoices", params={"clientReference": "clearway:inv_9"})
    assert none.json()["invoices"] == []


async def test_the_reject_scenario_and_token_expired(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    expired = {"X-Clearway-Sandbox-Scenario": "token_expired", "X-Clearway-Invoice-Id": "inv_3"}
    refused = await http.post("/zre/invoices", content=ubl_xrechnung(), headers=expired)
    assert refused.status_code == 401
    assert (await http.get("/zre/invoices")).json()["invoices"] == []
    assert (
        await http.post("/zre/invoices", content=ubl_xrechnung(), headers=expired)
    ).status_code == 201

    reject = {"X-Clearway-Sandbox-Scenario": "reject", "X-Clearway-Invoice-Id": "inv_4"}
    sent = await http.post("/zre/invoices", content=ubl_xrechnung(), headers=reject)
    clock.advance(PROCESSING_DELAY)
    decided_upload = (await http.get(f"/zre/invoices/{sent.json()['id']}")).json()
    assert decided_upload["status"] == "rejected"
    assert decided_upload["rejectionReasons"] == [
        f"Die Leitweg-ID {LEITWEG_ID} ist keinem Rechnungsempfänger zugeordnet."
    ]
