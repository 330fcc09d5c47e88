"""XRechnung 3.0 (DE), UBL and CII: what the BR-DE rules ask of the document."""

from __future__ import annotations

from clearway.governments.de.document import (
    XRECHNUNG_CUSTOMIZATION_ID,
    render_xrechnung_cii,
    render_xrechnung_ubl,
)
from clearway.governments.peppol.document import PEPPOL_BILLING_PROFILE_ID
from lxml import etree

from tests.libs.formats.corpus import base_request, cases, invoice
from tests.libs.formats.support import NS

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


PAYMENT = base_request("DE")["paymentMeans"]
UBL_TERMS = "cac:PaymentTerms/cbc:Note"
CII_TERMS = (
    "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement/"
    "ram:SpecifiedTradePaymentTerms/ram:Description"
)


def test_skonto_entries_end_with_a_line_break_in_both_syntaxes() -> None:
    # BR-DE-18: a line break after every entry; the API strips the one after the last.
    terms = "Zahlbar in 30 Tagen\n#SKONTO#TAGE=14#PROZENT=2.00#"
    payment = PAYMENT | {"paymentTerms": terms}
    assert text(ubl(paymentMeans=payment), UBL_TERMS) == terms + "\n"
    assert text(cii(paymentMeans=payment), CII_TERMS) == terms + "\n"


def test_terms_not_ending_in_a_skonto_entry_are_written_as_given() -> None:
    for terms in ("Net 30", "#SKONTO#TAGE=14#PROZENT=2.00#\nZahlbar in 30 Tagen"):
        payment = PAYMENT | {"paymentTerms": terms}
        assert text(ubl(paymentMeans=payment), UBL_TERMS) == terms
        assert text(cii(paymentMeans=payment), CII_TERMS) == terms


def test_intra_community_deliver_to_address_is_the_whole_buyer_address() -> None:
    # BR-IC-12 needs BG-15 with its country; XRechnung then needs city and post code (BR-DE-10/11).
    case = cases("DE")["intra_community"]
    address = case["customer"]["address"]
    ubl_address = ubl(**case).find("cac:Delivery/cac:DeliveryLocation/cac:Address", NS)
    assert ubl_address is not None
    assert [(etree.QName(e).localname, e.text or e[0].text) for e in ubl_address] == [
        ("StreetName", address["street"]),
        ("CityName", address["city"]),
        ("PostalZone", address["postalCode"]),
        ("Country", address["country"]),
    ]
    ship_to = (
        "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeDelivery/"
        "ram:ShipToTradeParty/ram:PostalTradeAddress"
    )
    cii_address = cii(**case).find(ship_to, NS)
    assert cii_address is not None
    assert [(etree.QName(e).localname, e.text) for e in cii_address] == [
        ("PostcodeCode", address["postalCode"]),
        ("LineOne", address["street"]),
        ("CityName", address["city"]),
        ("CountryID", address["country"]),
    ]


def test_not_subject_to_vat_breakdown_states_a_zero_rate() -> None:
    # BR-DE-14: every VAT breakdown has its rate; the O line itself still has none (BR-O-05).
    case = cases("DE")["not_subject_to_vat"]
    category = "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory"
    assert text(ubl(**case), f"{category}/cbc:ID") == "O"
    assert text(ubl(**case), f"{category}/cbc:Percent") == "0"
    assert (
        ubl(**case).find("cac:InvoiceLine/cac:Item/cac:ClassifiedTaxCategory/cbc:Percent", NS)
        is None
    )
    trade_tax = (
        "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax"
    )
    assert text(cii(**case), f"{trade_tax}/ram:CategoryCode") == "O"
    assert text(cii(**case), f"{trade_tax}/ram:RateApplicablePercent") == "0"
