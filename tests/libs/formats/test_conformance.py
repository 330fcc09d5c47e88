import re
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from clearway.formats import conformance, render
from clearway.formats.conformance import (
    XRECHNUNG_CII_STYLESHEET,
    XRECHNUNG_UBL_STYLESHEET,
    ConformanceFinding,
    ConformanceGate,
    ConformanceGateError,
    ParsedDocument,
    UnreadableDocumentError,
    cen_cii_gate,
    cen_ubl_gate,
    cii_xsd_gate,
    cius_ro_gate,
    compile_schematron,
    fatal,
    fr_ctc_cii_gate,
    fr_ctc_ubl_gate,
    peppol_bis_gate,
    ubl_xsd_gate,
    xrechnung_cen_cii_gate,
    xrechnung_cen_ubl_gate,
    xrechnung_cii_gate,
    xrechnung_rules,
    xrechnung_ubl_gate,
)
from clearway.governments.ro.document import render_ubl_cius_ro
from lxml import etree
from saxonche import PySaxonApiError

from tests.libs.formats.corpus import invoice
from tests.libs.formats.support import (
    MUNICH_CUSTOMER,
    NS,
    SUPPLIER_REGISTER_AND_CONTACT,
    rule_ids,
    seed_invoice,
    tampered,
)


@pytest.fixture(scope="module")
def gate() -> ConformanceGate:
    return cen_ubl_gate()


@pytest.fixture(scope="module")
def seed_xml() -> bytes:
    return render_ubl_cius_ro(seed_invoice(), invoice_number="INV-2025-0001")


GATES = [
    cen_ubl_gate,
    peppol_bis_gate,
    cen_cii_gate,
    fr_ctc_cii_gate,
    fr_ctc_ubl_gate,
    xrechnung_ubl_gate,
    xrechnung_cii_gate,
    xrechnung_cen_cii_gate,
    xrechnung_cen_ubl_gate,
    cius_ro_gate,
    ubl_xsd_gate,
    cii_xsd_gate,
]


@pytest.mark.parametrize("accessor", GATES, ids=lambda accessor: accessor.__name__)
def test_gate_is_compiled_once_per_process(accessor: Any) -> None:
    assert accessor() is accessor()


@pytest.mark.parametrize("accessor", GATES, ids=lambda accessor: accessor.__name__)
def test_every_gate_refuses_a_dtd(accessor: Any) -> None:
    xxe = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'
    with pytest.raises(UnreadableDocumentError, match="DTD"):
        accessor().check(xxe)


def test_seed_invoice_passes_the_cen_rules(gate: ConformanceGate, seed_xml: bytes) -> None:
    assert fatal(gate.check(seed_xml)) == []


def test_seed_invoice_totals_in_the_checked_xml(seed_xml: bytes) -> None:
    root = etree.fromstring(seed_xml)
    assert (
        root.findtext("cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount", namespaces=NS) == "5200.00"
    )
    assert root.findtext("cac:TaxTotal/cbc:TaxAmount", namespaces=NS) == "988.00"
    assert (
        root.findtext("cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", namespaces=NS) == "6188.00"
    )


def test_tampered_total_fails_br_co_15(gate: ConformanceGate, seed_xml: bytes) -> None:
    broken = tampered(seed_xml, "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", "6000.00")
    failures = fatal(gate.check(broken))
    assert "BR-CO-15" in rule_ids(failures)
    br_co_15 = next(f for f in failures if f.rule_id == "BR-CO-15")
    assert br_co_15.flag == "fatal"
    assert br_co_15.location == "/ubl:Invoice[1]"
    assert br_co_15.text.startswith("[BR-CO-15]-Invoice total amount with VAT (BT-112)")


def test_missing_currency_fails_br_05(gate: ConformanceGate, seed_xml: bytes) -> None:
    broken = tampered(seed_xml, "cbc:DocumentCurrencyCode", None)
    assert "BR-05" in rule_ids(fatal(gate.check(broken)))


def test_line_total_mismatch_fails_br_co_10(gate: ConformanceGate, seed_xml: bytes) -> None:
    broken = tampered(seed_xml, "cac:InvoiceLine/cbc:LineExtensionAmount", "4999.00")
    assert "BR-CO-10" in rule_ids(fatal(gate.check(broken)))


def test_credit_note_passes_the_cen_rules(gate: ConformanceGate) -> None:
    xml = render_ubl_cius_ro(seed_invoice(invoiceType="credit_note"), invoice_number="CN-1")
    assert xml.splitlines()[1].startswith(b"<CreditNote ")
    assert fatal(gate.check(xml)) == []


def test_debit_note_passes_the_cen_rules(gate: ConformanceGate) -> None:
    # 383 is valid EN 16931; ANAF's BR-RO-020 is stricter (see ubl_cius_ro._DEBIT_NOTE).
    xml = render_ubl_cius_ro(seed_invoice(invoiceType="debit_note"), invoice_number="DN-1")
    assert fatal(gate.check(xml)) == []


def test_rich_invoice_passes_the_cen_rules(gate: ConformanceGate) -> None:
    supplier = seed_invoice().supplier.model_dump() | SUPPLIER_REGISTER_AND_CONTACT
    customer = MUNICH_CUSTOMER
    lines = [
        {"description": "Consulting", "quantity": Decimal("7.5"), "unitPrice": 120, "vatRate": 19},
        {
            "description": "Licences",
            "quantity": 3,
            "unitPrice": Decimal("99.99"),
            "discount": Decimal("10.005"),
            "vatRate": 9,
            "unitCode": "H87",
            "itemCode": "LIC-01",
        },
        {"description": "Export freight", "unitPrice": Decimal("0.0125"), "vatRate": 0},
    ]
    invoice = seed_invoice(supplier=supplier, customer=customer, lines=lines)
    assert fatal(gate.check(render_ubl_cius_ro(invoice, invoice_number="INV-7"))) == []


def test_fatal_keeps_only_fatal_findings() -> None:
    warning = ConformanceFinding(rule_id="BR-X", flag="warning", location="/", text="w")
    error = ConformanceFinding(rule_id="BR-Y", flag="fatal", location="/", text="f")
    assert fatal([warning, error, warning]) == [error]


def test_document_with_a_dtd_is_refused_before_saxon_sees_it(gate: ConformanceGate) -> None:
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE Invoice [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">'
        b"<cbc:ID xmlns:cbc='urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2'"
        b">&x;</cbc:ID></Invoice>"
    )
    with pytest.raises(UnreadableDocumentError, match="DTD"):
        gate.check(xxe)


def test_malformed_document_is_refused(gate: ConformanceGate) -> None:
    with pytest.raises(UnreadableDocumentError, match="not well-formed"):
        gate.check(b"<Invoice>")


def test_non_utf8_document_is_read_in_its_declared_encoding(
    gate: ConformanceGate, seed_xml: bytes
) -> None:
    root = etree.fromstring(seed_xml)
    street = root.find("cac:AccountingSupplierParty/cac:Party/cac:PostalAddress/cbc:StreetName", NS)
    assert street is not None
    street.text = "Strada Mărășești 42"
    latin2 = etree.tostring(root, xml_declaration=True, encoding="ISO-8859-2")
    assert isinstance(latin2, bytes)
    assert b"ISO-8859-2" in latin2
    assert fatal(gate.check(latin2)) == []


def test_a_document_parsed_once_gets_the_findings_its_bytes_get(seed_xml: bytes) -> None:
    # formats.check hands every gate one ParsedDocument (one lxml tree, one Saxon node).
    broken = tampered(seed_xml, "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", "6000.00")
    document = ParsedDocument(broken)
    gates = [ubl_xsd_gate(), cen_ubl_gate(), cius_ro_gate()]
    once = [finding for gate in gates for finding in gate.check(document)]
    assert once == [finding for gate in gates for finding in gate.check(broken)]
    assert "BR-CO-15" in rule_ids(fatal(once))


def test_concurrent_checks_agree(gate: ConformanceGate, seed_xml: bytes) -> None:
    broken = tampered(seed_xml, "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", "6000.00")
    documents = [seed_xml, broken] * 10
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(gate.check, documents))
    assert all(fatal(result) == [] for result in results[::2])
    assert all("BR-CO-15" in rule_ids(fatal(result)) for result in results[1::2])


def test_a_stylesheet_cannot_read_files() -> None:
    reader = ConformanceGate(
        '<xsl:stylesheet version="2.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
        '<xsl:template match="/"><r><xsl:value-of select="unparsed-text(\'file:///etc/hostname\')"/>'
        "</r></xsl:template></xsl:stylesheet>"
    )
    with pytest.raises(PySaxonApiError, match="prohibited"):
        reader.check(b"<a/>")


def test_code_lists_read_with_document_are_handed_to_the_stylesheet() -> None:
    # Factur-X's stylesheet looks values up in its code list file with document(): the guideline
    # id must be found there (no FX-SCH-A-000556), and an unknown one must not be.
    xml = render(invoice("FR"), invoice_number="F-1", country="FR", format="EN16931-CII").xml
    assert "FX-SCH-A-000556" not in rule_ids(cen_cii_gate().check(xml))
    guideline = (
        "{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100}ID"
    )
    root = etree.fromstring(xml)
    element = next(e for e in root.iter(guideline) if e.text == "urn:cen.eu:en16931:2017")
    element.text = "urn:example:unknown"
    failures = fatal(cen_cii_gate().check(etree.tostring(root)))
    (finding,) = [f for f in failures if f.rule_id == "FX-SCH-A-000556"]
    assert finding.location == (
        "/rsm:CrossIndustryInvoice[1]/rsm:ExchangedDocumentContext[1]"
        "/ram:GuidelineSpecifiedDocumentContextParameter[1]/ram:ID[1]"
    )


SCHEMATRON = """<schema xmlns="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt">
  <ns prefix="ubl" uri="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>
  <ns prefix="cbc" uri="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"/>
  <pattern>
    <rule context="/ubl:Invoice">
      <assert id="T-1" flag="fatal" test="cbc:Missing">[T-1] Missing is missing.</assert>
      <assert id="T-2" flag="warning" test="cbc:Absent">[T-2] Absent is absent.</assert>
      <report id="T-3" test="cbc:ID">[T-3] Reported.</report>
      <assert id="T-4" test="cbc:ID">[T-4] Never fails.</assert>
    </rule>
  </pattern>
</schema>"""


def test_own_schematron_is_compiled_to_an_svrl_stylesheet(seed_xml: bytes) -> None:
    gate = ConformanceGate(compile_schematron(SCHEMATRON))
    findings = gate.check(seed_xml)
    assert [(f.rule_id, f.flag, f.location, f.text) for f in findings] == [
        ("T-1", "fatal", "/ubl:Invoice", "[T-1] Missing is missing."),
        ("T-2", "warning", "/ubl:Invoice", "[T-2] Absent is absent."),
        ("T-3", "fatal", "/ubl:Invoice", "[T-3] Reported."),
    ]


def test_own_schematron_walks_the_document_once_per_pattern() -> None:
    # The skeleton's idle default-mode walk in each svrl:active-pattern is dropped.
    stylesheet = etree.fromstring(compile_schematron(SCHEMATRON).encode())
    patterns = list(stylesheet.iter("{http://purl.oclc.org/dsdl/svrl}active-pattern"))
    assert patterns
    walks = "{http://www.w3.org/1999/XSL/Transform}apply-templates"
    assert all(pattern.find(walks) is None for pattern in patterns)
    moded = [walk for walk in stylesheet.iter(walks) if walk.get("select") == "/"]
    assert len(moded) == len(patterns)  # each pattern's own walk stays


def test_xrechnung_rules_report_with_readable_locations() -> None:
    request = invoice("DE", buyerReference=None)
    xml = render(request, invoice_number="1", country="DE", format="XRECHNUNG-UBL").xml
    root = etree.fromstring(xml)
    for element in root.findall("cbc:BuyerReference", NS):
        root.remove(element)
    contact = root.find("cac:AccountingSupplierParty/cac:Party/cac:Contact/cbc:Name", NS)
    assert contact is not None
    contact.getparent().remove(contact)  # type: ignore[union-attr]
    findings = {f.rule_id: f for f in xrechnung_ubl_gate().check(etree.tostring(root))}
    assert findings["BR-DE-15"].location == "/ubl:Invoice[1]"
    assert findings["BR-DE-5"].location == (
        "/ubl:Invoice[1]/cac:AccountingSupplierParty[1]/cac:Party[1]/cac:Contact[1]"
    )
    # KoSIT's own rule texts, in German.
    assert findings["BR-DE-5"].text.startswith('[BR-DE-5] Das Element "Seller contact point"')


def test_xrechnung_identifier_is_a_warning_on_another_specification() -> None:
    xml = render(invoice("FR"), invoice_number="1", country="FR").xml
    findings = {f.rule_id: f.flag for f in xrechnung_ubl_gate().check(xml)}
    assert findings["BR-DE-21"] == "warning"


def test_xsd_gates_take_both_ubl_roots_and_cii() -> None:
    for case in (None, "credit_note"):
        for country, name, gate in (
            ("DE", "XRECHNUNG-UBL", ubl_xsd_gate()),
            ("DE", "XRECHNUNG-CII", cii_xsd_gate()),
        ):
            xml = render(invoice(country, case), invoice_number="1", country=country, format=name)
            assert gate.check(xml.xml) == []
    broken = tampered(
        render_ubl_cius_ro(seed_invoice(), invoice_number="1"), "cbc:IssueDate", "15.01.2025"
    )
    (finding,) = ubl_xsd_gate().check(broken)
    assert finding.rule_id == "UBL-XSD"
    assert finding.location == "/Invoice/IssueDate"
    assert "15.01.2025" in finding.text


@pytest.mark.parametrize(
    ("stylesheet", "syntax"),
    [(XRECHNUNG_UBL_STYLESHEET, "UBL"), (XRECHNUNG_CII_STYLESHEET, "CII")],
)
def test_xrechnung_gates_run_kosits_whole_rule_set(
    stylesheet: tuple[str, ...], syntax: str
) -> None:
    text = xrechnung_rules(stylesheet)
    assert f"XRechnung 3.0.2 compatible - {syntax}" in text
    rule_ids = set(re.findall(r'<svrl:failed-assert[^>]* id="([^"]+)"', text))
    # What the hand-written subset had, and what it lacked (BR-DE-10/11/14/18, the extension
    # rules, the Peppol rules KoSIT merges in).
    assert {f"BR-DE-{n}" for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 17, 21)} <= rule_ids
    assert {"BR-DE-10", "BR-DE-11", "BR-DE-14", "BR-DE-18", "BR-DEX-01"} <= rule_ids
    assert {"PEPPOL-EN16931-R010", "PEPPOL-EN16931-R020", "PEPPOL-EN16931-R120"} <= rule_ids


def test_xrechnung_rules_of_another_version_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = xrechnung_rules(XRECHNUNG_UBL_STYLESHEET)
    other = shipped.replace("XRechnung 3.0.2 compatible", "XRechnung 4.0.0 compatible")
    monkeypatch.setattr(conformance, "_shipped_text", lambda *_: other)
    refused = re.escape("not KoSIT's XRechnung 3.0.x rule set")
    with pytest.raises(ConformanceGateError, match=refused):
        xrechnung_rules(XRECHNUNG_UBL_STYLESHEET)


@pytest.mark.parametrize("format_name", ["XRECHNUNG-UBL", "XRECHNUNG-CII"])
def test_xrechnung_debit_note_is_only_a_warning(format_name: str) -> None:
    # BR-DE-17 is a warning in KoSIT's rules, as in the validator (which warns the caller).
    request = invoice("DE", invoiceType="debit_note")
    document = render(request, invoice_number="1", country="DE", format=format_name)
    gate = xrechnung_ubl_gate() if format_name == "XRECHNUNG-UBL" else xrechnung_cii_gate()
    findings = {f.rule_id: f.flag for f in gate.check(document.xml)}
    assert findings["BR-DE-17"] == "warning"
    assert fatal(gate.check(document.xml)) == []


def test_xrechnung_cii_is_checked_with_kosits_cen_rules_which_pin_no_guideline() -> None:
    # The Factur-X profile stylesheet refuses XRechnung's BT-24 (FX-SCH-A-000556); the CEN
    # artefact of KoSIT's configuration does not, and still finds a broken total.
    xml = render(invoice("DE"), invoice_number="1", country="DE", format="XRECHNUNG-CII").xml
    assert "FX-SCH-A-000556" in rule_ids(fatal(cen_cii_gate().check(xml)))
    assert xrechnung_cen_cii_gate().check(xml) == []
    root = etree.fromstring(xml)
    grand_total = next(e for e in root.iter() if etree.QName(e).localname == "GrandTotalAmount")
    grand_total.text = "1.00"
    assert "BR-CO-15" in rule_ids(fatal(xrechnung_cen_cii_gate().check(etree.tostring(root))))
