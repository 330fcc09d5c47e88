"""The public entry point: render() per country and format, gates_for(), and the two corpora.

Positive corpus: every hand-written invoice of corpus.py, rendered in every format of its country,
passes every gate of that format with zero fatal findings. Negative corpus: each case breaks one
thing (in the invoice, or in the rendered XML) and must produce the expected rule id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import facturx
import pytest
from clearway.domain.invoice import InvoiceRequest
from clearway.formats import (
    DEFAULT_FORMATS,
    FORMATS,
    Format,
    RenderedDocument,
    UnsupportedFormatError,
    check,
    gates_for,
    register,
    render,
    xml_renderer,
)
from clearway.formats.conformance import (
    ConformanceFinding,
    cen_cii_gate,
    cen_ubl_gate,
    cii_xsd_gate,
    ubl_xsd_gate,
)
from lxml import etree

from tests.libs.formats.corpus import all_cases, base_request, cases, invoice
from tests.libs.formats.support import NS, tampered

NUMBER = "INV-2026-0001"
COUNTRIES = ("RO", "BE", "DE", "FR")
FORMATS_BY_COUNTRY = {cc: [name for (c, name) in FORMATS if c == cc] for cc in COUNTRIES}


def fatal_ids(country: str, document: RenderedDocument) -> set[str]:
    return {f.rule_id for f in check(country, document) if f.flag == "fatal"}


def describe(findings: list[ConformanceFinding]) -> list[str]:
    return [f"{f.rule_id} at {f.location}: {f.text}" for f in findings if f.flag == "fatal"]


def test_each_country_has_its_formats_and_default() -> None:
    assert DEFAULT_FORMATS["RO"] == "UBL-CIUS-RO"
    assert DEFAULT_FORMATS["BE"] == "PEPPOL-BIS-3"
    assert DEFAULT_FORMATS["DE"] == "XRECHNUNG-UBL"
    assert DEFAULT_FORMATS["FR"] == "EN16931-UBL"
    assert FORMATS_BY_COUNTRY == {
        "RO": ["UBL-CIUS-RO"],
        "BE": ["PEPPOL-BIS-3"],
        "DE": ["XRECHNUNG-UBL", "XRECHNUNG-CII"],
        "FR": ["EN16931-UBL", "EN16931-CII", "FACTUR-X"],
    }


@pytest.mark.parametrize("country", COUNTRIES)
def test_render_uses_the_default_format(country: str) -> None:
    document = render(invoice(country), invoice_number=NUMBER, country=country)
    assert document.format_name == DEFAULT_FORMATS[country]
    assert document.media_type == "application/xml"
    assert document.content == document.xml
    assert document.xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")


def test_unknown_format_or_country_is_refused() -> None:
    with pytest.raises(UnsupportedFormatError, match="available: XRECHNUNG-CII, XRECHNUNG-UBL"):
        render(invoice("DE"), invoice_number=NUMBER, country="DE", format="FATTURAPA")
    with pytest.raises(UnsupportedFormatError, match="none"):
        gates_for("XX")


def test_registry_is_open_for_other_formats() -> None:
    def render_plain(invoice: InvoiceRequest, *, invoice_number: str) -> bytes:
        return f"<Plain number='{invoice_number}' country='{invoice.country}'/>".encode()

    register("XX", Format("PLAIN", "application/xml", xml_renderer(render_plain), ()))
    try:
        document = render(invoice("BE"), invoice_number="7", country="XX")
        assert document.format_name == "PLAIN"
        assert document.content == b"<Plain number='7' country='BE'/>"
        assert gates_for("XX") == []
    finally:
        del FORMATS[("XX", "PLAIN")]
        del DEFAULT_FORMATS["XX"]


def test_gates_per_format_are_compiled_once() -> None:
    assert gates_for("RO") == [ubl_xsd_gate(), cen_ubl_gate(), gates_for("RO")[2]]
    assert gates_for("FR", "EN16931-CII")[:2] == [cii_xsd_gate(), cen_cii_gate()]
    assert gates_for("FR", "FACTUR-X") == gates_for("FR", "EN16931-CII")
    for country, name in FORMATS:
        assert gates_for(country, name) == gates_for(country, name)


POSITIVE = [
    pytest.param(country, name, case, id=f"{country}-{name}-{case}")
    for country in COUNTRIES
    for name in FORMATS_BY_COUNTRY[country]
    for case, _ in all_cases(country)
]


@pytest.mark.parametrize(("country", "format_name", "case"), POSITIVE)
def test_every_corpus_invoice_passes_every_gate(country: str, format_name: str, case: str) -> None:
    request = invoice(country, None if case == "base" else case)
    document = render(request, invoice_number=NUMBER, country=country, format=format_name)
    findings = check(country, document)
    assert describe(findings) == []


def test_factur_x_is_a_pdf_with_the_cii_invoice_embedded() -> None:
    request = invoice("FR", "multiple_rates_discount_attachment")
    document = render(request, invoice_number=NUMBER, country="FR", format="FACTUR-X")
    assert document.media_type == "application/pdf"
    assert document.content.startswith(b"%PDF-")
    filename, embedded = facturx.get_xml_from_pdf(document.content, check_xsd=False)
    assert filename == "factur-x.xml"
    assert embedded == document.xml
    cii = render(request, invoice_number=NUMBER, country="FR", format="EN16931-CII")
    assert document.xml == cii.xml
    guideline = etree.fromstring(document.xml).findtext(
        "rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID",
        namespaces=NS,
    )
    assert guideline == "urn:cen.eu:en16931:2017"
    assert facturx.get_level(etree.fromstring(document.xml)) == "en16931"


# --- the negative corpus ---------------------------------------------------------------------


def without(mapping: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in mapping.items() if key not in keys}


def with_address(party: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The party with its address changed; a None value removes the field."""
    address = {k: v for k, v in (party["address"] | changes).items() if v is not None}
    return party | {"address": address}


def tamper(path: str, new_text: str | None) -> Callable[[bytes], bytes]:
    """The XML with the element at path given new text, or removed when new_text is None."""

    def change(xml: bytes) -> bytes:
        return tampered(xml, path, new_text)

    return change


def swap_first_children(path: str) -> Callable[[bytes], bytes]:
    """The XML with the first two children of the element at path in the wrong order."""

    def change(xml: bytes) -> bytes:
        root = etree.fromstring(xml)
        parent = root if path == "." else root.find(path, NS)
        assert parent is not None
        first = parent[0]
        parent.remove(first)
        parent.insert(1, first)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    return change


DE_SUPPLIER = base_request("DE")["supplier"]
DE_CUSTOMER = base_request("DE")["customer"]
BE_CUSTOMER = base_request("BE")["customer"]
BE_SUPPLIER = base_request("BE")["supplier"]
FR_SUPPLIER = base_request("FR")["supplier"]
SELLER_UBL = "cac:AccountingSupplierParty/cac:Party"
BUYER_UBL = "cac:AccountingCustomerParty/cac:Party"
SELLER_CII = (
    "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement/ram:SellerTradeParty"
)
SUMMATION_CII = (
    "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement/"
    "ram:SpecifiedTradeSettlementHeaderMonetarySummation"
)

SETTLEMENT_CII = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement"
SHIP_TO_CII = (
    "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeDelivery/ram:ShipToTradeParty"
)
SKONTO = "#SKONTO#TAGE=14#PROZENT=2.00#"  # without the line break BR-DE-18 wants after it
SKONTO_PAYMENT = base_request("DE")["paymentMeans"] | {"paymentTerms": f"Net 30\n{SKONTO}"}

XmlChange = Callable[[bytes], bytes]
# (id, country, format, changes to the corpus invoice, XML change, expected rule id)
NEGATIVE: list[tuple[str, str, str | None, dict[str, Any], XmlChange | None, str]] = [
    # XRechnung (KoSIT's official rules), both syntaxes
    ("de-ubl-no-buyer-reference", "DE", "XRECHNUNG-UBL",
     {"buyerReference": None, "customer": without(DE_CUSTOMER, "leitwegId")}, None, "BR-DE-15"),
    ("de-cii-no-buyer-reference", "DE", "XRECHNUNG-CII",
     {"buyerReference": None, "customer": without(DE_CUSTOMER, "leitwegId")}, None, "BR-DE-15"),
    ("de-ubl-no-payment-means", "DE", "XRECHNUNG-UBL", {"paymentMeans": None}, None, "BR-DE-1"),
    ("de-cii-no-payment-means", "DE", "XRECHNUNG-CII", {"paymentMeans": None}, None, "BR-DE-1"),
    ("de-ubl-no-seller-contact", "DE", "XRECHNUNG-UBL", {},
     tamper(f"{SELLER_UBL}/cac:Contact", None), "BR-DE-2"),
    ("de-cii-no-seller-contact", "DE", "XRECHNUNG-CII", {},
     tamper(f"{SELLER_CII}/ram:DefinedTradeContact", None), "BR-DE-2"),
    ("de-ubl-no-seller-city", "DE", "XRECHNUNG-UBL",
     {"supplier": with_address(DE_SUPPLIER, city=None)}, None, "BR-DE-3"),
    ("de-cii-no-seller-post-code", "DE", "XRECHNUNG-CII",
     {"supplier": with_address(DE_SUPPLIER, postalCode=None)}, None, "BR-DE-4"),
    ("de-ubl-no-contact-name", "DE", "XRECHNUNG-UBL", {},
     tamper(f"{SELLER_UBL}/cac:Contact/cbc:Name", None), "BR-DE-5"),
    ("de-cii-no-seller-phone", "DE", "XRECHNUNG-CII",
     {"supplier": without(DE_SUPPLIER, "phone")}, None, "BR-DE-6"),
    ("de-ubl-no-seller-email", "DE", "XRECHNUNG-UBL",
     {"supplier": without(DE_SUPPLIER, "email")}, None, "BR-DE-7"),
    ("de-ubl-no-buyer-post-code", "DE", "XRECHNUNG-UBL",
     {"customer": with_address(DE_CUSTOMER, postalCode=None)}, None, "BR-DE-9"),
    # BR-DE-17 (a debit note) is a warning in KoSIT's rules: test_conformance says so.
    ("de-ubl-skonto-without-line-break", "DE", "XRECHNUNG-UBL", {"paymentMeans": SKONTO_PAYMENT},
     tamper("cac:PaymentTerms/cbc:Note", SKONTO), "BR-DE-18"),
    ("de-cii-skonto-without-line-break", "DE", "XRECHNUNG-CII", {"paymentMeans": SKONTO_PAYMENT},
     tamper(f"{SETTLEMENT_CII}/ram:SpecifiedTradePaymentTerms/ram:Description", SKONTO),
     "BR-DE-18"),
    ("de-ubl-deliver-to-without-city", "DE", "XRECHNUNG-UBL", cases("DE")["intra_community"],
     tamper("cac:Delivery/cac:DeliveryLocation/cac:Address/cbc:CityName", None), "BR-DE-10"),
    ("de-cii-deliver-to-without-post-code", "DE", "XRECHNUNG-CII", cases("DE")["intra_community"],
     tamper(f"{SHIP_TO_CII}/ram:PostalTradeAddress/ram:PostcodeCode", None), "BR-DE-11"),
    ("de-ubl-buyer-without-electronic-address", "DE", "XRECHNUNG-UBL",
     {"customer": without(DE_CUSTOMER, "leitwegId", "email")}, None, "PEPPOL-EN16931-R010"),
    ("de-cii-buyer-without-electronic-address", "DE", "XRECHNUNG-CII",
     {"customer": without(DE_CUSTOMER, "leitwegId", "email")}, None, "PEPPOL-EN16931-R010"),
    ("de-ubl-not-subject-without-rate", "DE", "XRECHNUNG-UBL", cases("DE")["not_subject_to_vat"],
     tamper("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:Percent", None), "BR-DE-14"),
    # Peppol BIS 3 (official)
    ("be-no-buyer-endpoint", "BE", None,
     {"customer": BE_CUSTOMER | {"vatNumber": "NL123456789B01"}}, None, "PEPPOL-EN16931-R010"),
    ("be-no-seller-endpoint", "BE", None,
     {"supplier": without(BE_SUPPLIER, "peppolId") | {"vatNumber": "NL123456789B01"}}, None,
     "PEPPOL-EN16931-R020"),
    ("be-endpoint-removed", "BE", None, {}, tamper(f"{BUYER_UBL}/cbc:EndpointID", None),
     "PEPPOL-EN16931-R010"),
    ("be-no-buyer-or-order-reference", "BE", None,
     {"buyerReference": None, "purchaseOrderReference": None}, None, "PEPPOL-EN16931-R003"),
    ("be-enterprise-number-check-digits", "BE", None,
     {"supplier": BE_SUPPLIER | {"peppolId": "0208:0123456789"}}, None, "PEPPOL-COMMON-R043"),
    # CEN EN 16931 (official), UBL and CII
    ("ro-tampered-total", "RO", None, {},
     tamper("cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", "1.00"), "BR-CO-15"),
    ("be-tampered-line-net", "BE", None, {},
     tamper("cac:InvoiceLine/cbc:LineExtensionAmount", "999.00"), "BR-CO-10"),
    ("fr-cii-tampered-total", "FR", "EN16931-CII", {},
     tamper(f"{SUMMATION_CII}/ram:GrandTotalAmount", "1.00"), "BR-CO-15"),
    ("de-cii-tampered-total", "DE", "XRECHNUNG-CII", {},
     tamper(f"{SUMMATION_CII}/ram:GrandTotalAmount", "1.00"), "BR-CO-15"),
    ("de-exempt-without-reason", "DE", "XRECHNUNG-UBL",
     {"lines": [{"description": "Course", "unitPrice": 100, "vatRate": 0, "vatCategory": "E"}]},
     None, "BR-E-10"),
    ("fr-cii-exempt-without-reason", "FR", "EN16931-CII",
     {"lines": [{"description": "Course", "unitPrice": 100, "vatRate": 0, "vatCategory": "E"}]},
     None, "BR-E-10"),
    ("be-not-subject-mixed-with-standard", "BE", None,
     {"lines": [*cases("BE")["not_subject_to_vat"]["lines"], base_request("BE")["lines"][0]]},
     None, "BR-O-11"),
    ("de-intra-community-buyer-without-address", "DE", "XRECHNUNG-UBL",
     {"customer": without(cases("DE")["intra_community"]["customer"], "address")}
     | {"lines": cases("DE")["intra_community"]["lines"]}, None, "BR-IC-12"),
    # CIUS-RO (own schematron)
    ("ro-number-without-digit", "RO", None, {"invoiceNumber": "ABC"}, None, "BR-RO-010"),
    ("ro-debit-note", "RO", None, {"invoiceType": "debit_note"}, None, "BR-RO-020"),
    ("ro-euro-without-ron-vat", "RO", None, {"currency": "EUR"}, None, "BR-RO-030"),
    ("ro-county-not-iso", "RO", None, {},
     tamper(f"{BUYER_UBL}/cac:PostalAddress/cbc:CountrySubentity", "Cluj"), "BR-RO-111"),
    ("ro-bucharest-without-sector", "RO", None, {},
     tamper(f"{SELLER_UBL}/cac:PostalAddress/cbc:CityName", "Bucharest"), "BR-RO-100"),
    # French CTC (official), UBL and CII
    ("fr-ubl-no-siren", "FR", "EN16931-UBL",
     {"supplier": without(FR_SUPPLIER, "siret") | {"vatNumber": "BE0123456749"}}, None,
     "BR-FR-10_BT-30"),
    ("fr-cii-credit-note-without-preceding", "FR", "EN16931-CII",
     {"invoiceType": "credit_note"}, None, "BR-FR-CO-05_BT-3"),
    ("fr-ubl-rate-not-french", "FR", "EN16931-UBL",
     {"lines": [{"description": "x", "unitPrice": 10, "vatRate": 19}]}, None, "BR-FR-16_BT-152"),
    ("fr-cii-no-recovery-costs-mention", "FR", "EN16931-CII", {},
     tamper("rsm:ExchangedDocument/ram:IncludedNote[ram:SubjectCode='PMT']", None),
     "BR-FR-05_BT-22_PMT"),
    ("fr-ubl-foreign-currency", "FR", "EN16931-UBL", {"currency": "USD"}, None,
     "BR-FR-CO-12_BT-5"),
    ("fr-factur-x-guideline", "FR", "FACTUR-X", {},
     tamper("rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID",
            "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"),
     "FX-SCH-A-000556"),
    # Schemas: element order
    ("ubl-element-order", "DE", "XRECHNUNG-UBL", {}, swap_first_children("."), "UBL-XSD"),
    ("cii-element-order", "FR", "EN16931-CII", {},
     swap_first_children("rsm:ExchangedDocument"), "CII-XSD"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("country", "format_name", "changes", "xml_change", "rule_id"),
    [pytest.param(*case[1:], id=case[0]) for case in NEGATIVE],
)
def test_negative_corpus_triggers_the_expected_rule(
    country: str,
    format_name: str | None,
    changes: dict[str, Any],
    xml_change: Callable[[bytes], bytes] | None,
    rule_id: str,
) -> None:
    request = InvoiceRequest.model_validate(base_request(country) | changes)
    number = request.invoice_number or NUMBER
    document = render(request, invoice_number=number, country=country, format=format_name)
    if xml_change is not None:
        xml = xml_change(document.xml)
        document = RenderedDocument(document.format_name, document.media_type, xml, xml)
    assert rule_id in fatal_ids(country, document)


def test_the_unbroken_negative_corpus_base_passes() -> None:
    for country in COUNTRIES:
        request = InvoiceRequest.model_validate(base_request(country))
        for name in FORMATS_BY_COUNTRY[country]:
            document = render(request, invoice_number=NUMBER, country=country, format=name)
            assert fatal_ids(country, document) == set(), (country, name)
