"""XRechnung 3.0 (DE), UBL and CII: what the BR-DE rules ask of the document."""

from __future__ import annotations

from clearway.formats.peppol_bis import PEPPOL_BILLING_PROFILE_ID
from clearway.formats.xrechnung import (
    XRECHNUNG_CUSTOMIZATION_ID,
    render_xrechnung_cii,
    render_xrechnung_ubl,
)
from lxml import etree

from tests.libs.formats.corpus import base_request, invoice

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}
AGREEMENT = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement"
CUSTOMER = base_request("DE")["customer"]


def ubl(**changes: object) -> etree._Element:
    return etree.fromstring(render_xrechnung_ubl(invoice("DE", **changes), invoice_number="1"))


def cii(**changes: object) -> etree._Element:
    return etree.fromstring(render_xrechnung_cii(invoice("DE", **changes), invoice_number="1"))


def text(root: etree._Element, path: str) -> str | None:
    return root.findtext(path, namespaces=NS)


def test_identifiers_in_both_syntaxes() -> None:
    assert XRECHNUNG_CUSTOMIZATION_ID.endswith("#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0")
    assert text(ubl(), "cbc:CustomizationID") == XRECHNUNG_CUSTOMIZATION_ID
    assert text(ubl(), "cbc:ProfileID") == PEPPOL_BILLING_PROFILE_ID
    context = "rsm:ExchangedDocumentContext"
    guideline = f"{context}/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID"
    process = f"{context}/ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID"
    assert text(cii(), guideline) == XRECHNUNG_CUSTOMIZATION_ID
    assert text(cii(), process) == PEPPOL_BILLING_PROFILE_ID


def test_buyer_reference_falls_back_to_the_leitweg_id() -> None:
    assert text(ubl(), "cbc:BuyerReference") == "BUYER-REF-7"
    assert text(ubl(buyerReference=None), "cbc:BuyerReference") == "04011000-1234512345-06"
    assert text(cii(buyerReference=None), f"{AGREEMENT}/ram:BuyerReference") == (
        "04011000-1234512345-06"
    )


def test_seller_contact_point_is_the_seller_name() -> None:
    contact = ubl().find("cac:AccountingSupplierParty/cac:Party/cac:Contact", NS)
    assert contact is not None
    assert [(etree.QName(e).localname, e.text) for e in contact] == [
        ("Name", "Muster Software GmbH"),
        ("Telephone", "+49 30 1234567"),
        ("ElectronicMail", "rechnung@muster.de"),
    ]
    cii_contact = f"{AGREEMENT}/ram:SellerTradeParty/ram:DefinedTradeContact/ram:PersonName"
    assert text(cii(), cii_contact) == "Muster Software GmbH"


def test_electronic_addresses() -> None:
    def endpoint(root: etree._Element, role: str) -> tuple[str | None, str | None]:
        element = root.find(f"cac:{role}/cac:Party/cbc:EndpointID", NS)
        assert element is not None
        return element.get("schemeID"), element.text

    # The seller has no peppolId: its e-mail. The buyer has a Leitweg-ID: scheme 0204.
    assert endpoint(ubl(), "AccountingSupplierParty") == ("EM", "rechnung@muster.de")
    assert endpoint(ubl(), "AccountingCustomerParty") == ("0204", "04011000-1234512345-06")
    without_leitweg = {k: v for k, v in CUSTOMER.items() if k != "leitwegId"}
    assert endpoint(ubl(customer=without_leitweg), "AccountingCustomerParty") == (
        "EM",
        "eingangsrechnung@stadtwerke.example",
    )
    with_peppol = CUSTOMER | {"peppolId": "0204:991-33333TEST-33"}
    assert endpoint(ubl(customer=with_peppol), "AccountingCustomerParty") == (
        "0204",
        "991-33333TEST-33",
    )
    uri = f"{AGREEMENT}/ram:BuyerTradeParty/ram:URIUniversalCommunication/ram:URIID"
    element = cii().find(uri, NS)
    assert element is not None
    assert (element.get("schemeID"), element.text) == ("0204", "04011000-1234512345-06")
