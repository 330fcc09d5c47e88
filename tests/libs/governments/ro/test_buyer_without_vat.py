"""A Romanian buyer not registered for VAT (its CUI without the RO prefix) can be invoiced:
CIUS-RO carries the CUI as the buyer's legal registration identifier (BT-47), not as a VAT
identifier (BT-48), so BR-CO-09 has nothing to refuse; BR-RO-120 wants one of the two."""

from __future__ import annotations

from clearway.domain.invoice import InvoiceRequest
from clearway.formats import check, render
from clearway.formats.conformance import cius_ro_gate, fatal
from lxml import etree

from tests.libs.validation.bodies import clean_body, found

NS = {
    "ubl": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
BUYER = "/ubl:Invoice/cac:AccountingCustomerParty/cac:Party"
UNREGISTERED_CUI = "14399840"  # Client SRL's CUI, without RO: not a VAT payer


def _unregistered_buyer() -> dict[str, object]:
    body = clean_body("RO")
    body["customer"]["vatNumber"] = UNREGISTERED_CUI
    return body


def _rendered(body: dict[str, object]) -> bytes:
    request = InvoiceRequest.model_validate(body)
    return render(request, invoice_number="INV-2025-0001", country="RO").xml


def test_the_validator_accepts_a_buyer_without_vat_registration() -> None:
    findings = found(_unregistered_buyer())
    assert not {rule for rule, _ in findings} & {"BR-CO-09", "CW-RO-03", "CW-RO-04"}, findings


def test_a_foreign_prefix_is_still_checked() -> None:
    body = clean_body("RO")
    body["customer"]["vatNumber"] = "XX14399840"
    assert ("BR-CO-09", "/customer/vatNumber") in found(body)


def test_the_cui_is_the_legal_registration_identifier() -> None:
    root = etree.fromstring(_rendered(_unregistered_buyer()))
    assert root.xpath(f"{BUYER}/cac:PartyTaxScheme", namespaces=NS) == []
    assert root.xpath(f"string({BUYER}/cac:PartyLegalEntity/cbc:CompanyID)", namespaces=NS) == (
        UNREGISTERED_CUI
    )


def test_a_vat_registered_buyer_keeps_its_vat_identifier() -> None:
    root = etree.fromstring(_rendered(clean_body("RO")))
    assert root.xpath(f"string({BUYER}/cac:PartyTaxScheme/cbc:CompanyID)", namespaces=NS) == (
        "RO14399840"
    )


def test_every_ro_gate_passes_it() -> None:
    request = InvoiceRequest.model_validate(_unregistered_buyer())
    document = render(request, invoice_number="INV-2025-0001", country="RO")
    assert [f.rule_id for f in fatal(check("RO", document))] == []


def test_br_ro_120_refuses_a_buyer_with_neither_identifier() -> None:
    root = etree.fromstring(_rendered(_unregistered_buyer()))
    for company_id in root.xpath(f"{BUYER}/cac:PartyLegalEntity/cbc:CompanyID", namespaces=NS):
        company_id.getparent().remove(company_id)
    rules = [f.rule_id for f in fatal(cius_ro_gate().check(etree.tostring(root)))]
    assert rules == ["BR-RO-120"]


def test_a_buyer_without_vat_identifier_under_br_o_02_keeps_its_cui() -> None:
    # Not subject to VAT (O): BR-O-02 forbids the buyer's VAT identifier; BR-RO-120 still wants
    # the buyer identified, so its CUI travels as BT-47.
    body = clean_body("RO")
    body["supplier"]["tradeRegister"] = "J40/1234/2020"  # the seller's BT-30 (BR-CO-26)
    body["lines"] = [
        {"description": "Damages", "unitPrice": 300, "vatRate": 0, "vatCategory": "O"},
    ]
    root = etree.fromstring(_rendered(body))
    assert root.xpath(f"{BUYER}/cac:PartyTaxScheme", namespaces=NS) == []
    assert root.xpath(f"string({BUYER}/cac:PartyLegalEntity/cbc:CompanyID)", namespaces=NS) == (
        UNREGISTERED_CUI
    )
    request = InvoiceRequest.model_validate(body)
    document = render(request, invoice_number="INV-2025-0001", country="RO")
    assert [f.rule_id for f in fatal(check("RO", document))] == []
