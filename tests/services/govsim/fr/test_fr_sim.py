"""The French Plateforme Agréée simulator: deposit, lifecycle statuses, rejections."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from pypdf import PdfWriter

from services.govsim.app import GovsimSettings
from services.govsim.fr.state import FrPaSimulator
from tests.services.govsim.simtools import (
    EVERY_FAULT_STATUS,
    HOSTILE_UBL_INVOICES,
    FakeClock,
    answered,
    queue_every_fault,
    refused_unexpanded,
)

API_KEY = "test-pa-key"
CONTROL = "/_sim/fr"
PROCESSING_DELAY = 2.0
SELLER_SIREN = "732829320"
BUYER_SIREN = "552100554"
UBL_INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CII_NS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"


def ubl_invoice(
    *, number: str = "F-2026-001", seller: str = SELLER_SIREN, buyer: str = BUYER_SIREN
) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="{UBL_INVOICE_NS}"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>
  <cbc:ID>{number}</cbc:ID>
  <cbc:IssueDate>2026-06-01</cbc:IssueDate>
  <cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
  <cac:AccountingSupplierParty><cac:Party><cac:PartyLegalEntity>
    <cbc:RegistrationName>Vendeur SAS</cbc:RegistrationName>
    <cbc:CompanyID schemeID="0002">{seller}</cbc:CompanyID>
  </cac:PartyLegalEntity></cac:Party></cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty><cac:Party><cac:PartyLegalEntity>
    <cbc:RegistrationName>Acheteur SA</cbc:RegistrationName>
    <cbc:CompanyID schemeID="0002">{buyer}</cbc:CompanyID>
  </cac:PartyLegalEntity></cac:Party></cac:AccountingCustomerParty>
</Invoice>
""".encode()


def cii_invoice(*, number: str = "F-2026-CII") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="{CII_NS}"
  xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
  xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
  <rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter>
    <ram:ID>urn:cen.eu:en16931:2017</ram:ID>
  </ram:GuidelineSpecifiedDocumentContextParameter></rsm:ExchangedDocumentContext>
  <rsm:ExchangedDocument>
    <ram:ID>{number}</ram:ID><ram:TypeCode>380</ram:TypeCode>
    <ram:IssueDateTime><udt:DateTimeString format="102">20260601</udt:DateTimeString>
    </ram:IssueDateTime>
  </rsm:ExchangedDocument>
  <rsm:SupplyChainTradeTransaction><ram:ApplicableHeaderTradeAgreement>
    <ram:SellerTradeParty><ram:Name>Vendeur SAS</ram:Name>
      <ram:SpecifiedLegalOrganization><ram:ID schemeID="0002">{SELLER_SIREN}</ram:ID>
      </ram:SpecifiedLegalOrganization></ram:SellerTradeParty>
    <ram:BuyerTradeParty><ram:Name>Acheteur SA</ram:Name>
      <ram:SpecifiedLegalOrganization><ram:ID schemeID="0002">{BUYER_SIREN}</ram:ID>
      </ram:SpecifiedLegalOrganization></ram:BuyerTradeParty>
  </ram:ApplicableHeaderTradeAgreement></rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>
""".encode()


def factur_x(xml: bytes | None) -> bytes:
    """A PDF carrying `xml` as factur-x.xml (PDF/A-3 conformance aside)."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    if xml is not None:
        writer.add_attachment("factur-x.xml", xml)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest.fixture
def simulator(clock: FakeClock) -> FrPaSimulator:
    return FrPaSimulator(processing_delay=PROCESSING_DELAY, api_key=API_KEY, clock=clock)


async def deposit(
    http: httpx.AsyncClient, content: bytes, content_type: str = "application/xml"
) -> httpx.Response:
    return await http.post("/pa/invoices", content=content, headers={"Content-Type": content_type})


async def deposited_id(http: httpx.AsyncClient, content: bytes) -> str:
    invoice_id: str = answered(await deposit(http, content), 201, "invoiceId")
    return invoice_id


async def history(http: httpx.AsyncClient, invoice_id: str) -> list[dict[str, Any]]:
    response = await http.get(f"/pa/invoices/{invoice_id}/statuses")
    statuses: list[dict[str, Any]] = answered(response, 200, "statuses")
    return statuses


def codes(statuses: list[dict[str, Any]]) -> list[int]:
    return [status["code"] for status in statuses]


# --- lifecycle -------------------------------------------------------------------------------


async def test_deposit_then_lifecycle_to_approved_and_cashed(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    response = await deposit(http, ubl_invoice())
    assert response.status_code == 201
    body = response.json()
    assert body["status"]["code"] == 200
    assert body["status"]["label"] == "Déposée"
    assert body["format"] == "UBL"
    invoice_id = body["invoiceId"]

    clock.advance(PROCESSING_DELAY)
    assert codes(await history(http, invoice_id)) == [200, 201]
    clock.advance(PROCESSING_DELAY)
    statuses = await history(http, invoice_id)
    assert [(status["code"], status["label"]) for status in statuses] == [
        (200, "Déposée"),
        (201, "Émise"),
        (202, "Reçue"),
        (203, "Mise à disposition"),
    ]

    for code in (204, 205, 212):
        advanced = await http.post(f"{CONTROL}/invoices/{invoice_id}/statuses", json={"code": code})
        assert advanced.status_code == 200, advanced.text
    current = (await http.get(f"/pa/invoices/{invoice_id}")).json()
    assert current["status"]["code"] == 212
    assert current["status"]["label"] == "Encaissée"
    assert codes(await history(http, invoice_id))[-3:] == [204, 205, 212]
    final = await http.post(f"{CONTROL}/invoices/{invoice_id}/statuses", json={"code": 210})
    assert final.status_code == 409


async def test_buyer_refusal_needs_and_keeps_a_reason(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    invoice_id = await deposited_id(http, ubl_invoice(number="REF-1"))
    too_early = await http.post(f"{CONTROL}/invoices/{invoice_id}/statuses", json={"code": 210})
    assert too_early.status_code == 409
    clock.advance(2 * PROCESSING_DELAY)
    no_reason = await http.post(f"{CONTROL}/invoices/{invoice_id}/statuses", json={"code": 210})
    assert no_reason.status_code == 409
    refused = await http.post(
        f"{CONTROL}/invoices/{invoice_id}/statuses",
        json={"code": 210, "reason": "Prestation non conforme"},
    )
    assert refused.status_code == 200
    last = (await history(http, invoice_id))[-1]
    assert last == last | {"code": 210, "label": "Refusée", "reason": "Prestation non conforme"}


@pytest.mark.parametrize(
    ("content", "expected_format"),
    [(cii_invoice(), "CII"), (factur_x(cii_invoice(number="FX-1")), "Factur-X")],
    ids=["cii", "factur-x"],
)
async def test_cii_and_factur_x_are_deposited(
    http: httpx.AsyncClient, clock: FakeClock, content: bytes, expected_format: str
) -> None:
    response = await deposit(http, content, "application/pdf")
    assert response.status_code == 201, response.text
    assert response.json()["format"] == expected_format
    assert response.json()["sellerSiren"] == SELLER_SIREN
    clock.advance(PROCESSING_DELAY)
    assert codes(await history(http, response.json()["invoiceId"])) == [200, 201]


# --- rejections ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "reason_fragment"),
    [
        (ubl_invoice(number=""), "BT-1"),
        (ubl_invoice(seller="732829321"), "SIREN du vendeur"),
        (ubl_invoice(buyer=""), "SIREN de l'acheteur"),
    ],
    ids=["no-number", "bad-seller-siren", "no-buyer-siren"],
)
async def test_invalid_invoice_is_rejected_213_with_a_reason(
    http: httpx.AsyncClient, clock: FakeClock, content: bytes, reason_fragment: str
) -> None:
    invoice_id = await deposited_id(http, content)
    clock.advance(PROCESSING_DELAY)
    statuses = await history(http, invoice_id)
    assert codes(statuses) == [200, 213]
    assert statuses[-1]["label"] == "Rejetée"
    assert reason_fragment in statuses[-1]["reason"]
    assert statuses[-1]["reasonCode"] == "REJ_SEMAN"


async def test_duplicate_is_rejected(http: httpx.AsyncClient, clock: FakeClock) -> None:
    await deposited_id(http, ubl_invoice(number="DUP-1"))
    second = await deposited_id(http, ubl_invoice(number="DUP-1"))
    clock.advance(PROCESSING_DELAY)
    last = (await history(http, second))[-1]
    assert (last["code"], last["reasonCode"]) == (213, "REJ_UNI")


@pytest.mark.parametrize(
    "content",
    [
        b"not an invoice",
        b'<Order xmlns="urn:x"/>',
        factur_x(None),
        factur_x(ubl_invoice()),
        b"%PDF-1.7 truncated",
    ],
    ids=["garbage", "not-ubl-or-cii", "pdf-without-xml", "pdf-with-ubl", "broken-pdf"],
)
async def test_unreadable_file_is_irrecevable_501(http: httpx.AsyncClient, content: bytes) -> None:
    response = await deposit(http, content)
    assert response.status_code == 422
    assert response.json()["status"]["code"] == 501
    assert response.json()["status"]["label"] == "Irrecevable"
    assert codes(await history(http, response.json()["invoiceId"])) == [501]


@HOSTILE_UBL_INVOICES
async def test_hostile_xml_is_irrecevable_without_expansion(
    http: httpx.AsyncClient, payload: bytes
) -> None:
    response = refused_unexpanded(await deposit(http, payload), 422, shorter_than=600)
    assert "DOCTYPE" in response.json()["status"]["reason"]


# --- controls, limits, faults ----------------------------------------------------------------


async def test_forced_rejection_control(http: httpx.AsyncClient, clock: FakeClock) -> None:
    await http.post(f"{CONTROL}/next-rejections", json={"reason": "Destinataire inconnu"})
    invoice_id = await deposited_id(http, ubl_invoice(number="FORCED"))
    clock.advance(PROCESSING_DELAY)
    last = (await history(http, invoice_id))[-1]
    assert (last["code"], last["reason"]) == (213, "Destinataire inconnu")


async def test_api_key_rate_limit_and_faults(http: httpx.AsyncClient, clock: FakeClock) -> None:
    assert (
        await http.get("/pa/invoices/x", headers={"Authorization": "Bearer no"})
    ).status_code == 401
    await http.put(f"{CONTROL}/rate-limit", json={"requests_per_minute": 1})
    assert (await deposit(http, ubl_invoice(number="L1"))).status_code == 201
    limited = await deposit(http, ubl_invoice(number="L2"))
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "60"
    clock.advance(60)
    await http.put(f"{CONTROL}/rate-limit", json={"requests_per_minute": None})

    await queue_every_fault(http, CONTROL, path_contains="/pa/invoices")
    results = [(await deposit(http, ubl_invoice(number="LOST"))).status_code for _ in range(4)]
    assert results == EVERY_FAULT_STATUS
    found = (await http.get("/pa/invoices", params={"invoiceNumber": "LOST"})).json()["invoices"]
    assert len(found) == 1  # the lost answer's deposit is there: reconcile, do not resend


async def test_reset_forgets_everything(http: httpx.AsyncClient) -> None:
    invoice_id = await deposited_id(http, ubl_invoice(number="R1"))
    assert (await http.post(f"{CONTROL}/reset")).status_code == 204
    assert (await http.get(f"/pa/invoices/{invoice_id}")).status_code == 404
    assert (await http.get(f"{CONTROL}/invoices")).json() == []


def test_settings_read_the_environment() -> None:
    settings = GovsimSettings.from_env(
        {"GOVSIM_FR_PROCESSING_DELAY": "1", "GOVSIM_FR_API_KEY": "k"}
    )
    assert settings.fr_processing_delay == 1
    assert settings.fr_api_key == "k"
