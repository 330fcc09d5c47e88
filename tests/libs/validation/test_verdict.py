"""validate_for_filing: the rules, then the converter's own gate on the rendered document, so that
what POST /v1/invoices/validate calls valid is what the gate passes."""

from __future__ import annotations

import pytest
from clearway.domain.invoice import InvoiceRequest
from clearway.formats import convert_and_check
from clearway.formats.conformance import fatal
from clearway.validation import Severity, validate_invoice
from clearway.validation.verdict import INVOICE_ID_STAND_IN, validate_for_filing

from tests.libs.validation.bodies import Body, clean_body, found

COUNTRIES = ("RO", "IT", "BE", "PL", "FR", "DE")


def _verdict(body: Body) -> list[tuple[str, str]]:
    report = validate_for_filing(InvoiceRequest.model_validate(body), livemode=True)
    return [(f.rule, f.pointer) for f in report.errors]


@pytest.mark.parametrize("country", COUNTRIES)
def test_a_clean_invoice_passes_rules_and_gate(country: str) -> None:
    assert _verdict(clean_body(country)) == []


def test_what_only_the_gate_knows_is_reported_at_its_pointer() -> None:
    # FatturaPA's Denominazione holds 80 characters: no business rule says so, the schema does.
    body = clean_body("IT")
    body["customer"]["name"] = "Cliente " + "Esempio " * 10 + "S.p.A."
    request = InvoiceRequest.model_validate(body)
    assert validate_invoice(request, livemode=True).errors == ()
    report = validate_for_filing(request, livemode=True)
    [finding] = report.errors
    assert (finding.rule, finding.pointer) == ("FATTURAPA-XSD", "/customer")
    assert finding.severity is Severity.ERROR
    assert "Denominazione" in finding.message
    # The same verdict as the converter's.
    _, gate = convert_and_check(request, invoice_number=body["invoiceNumber"])
    assert [f.rule_id for f in fatal(gate)] == ["FATTURAPA-XSD"]


def test_a_rule_error_stops_before_the_gate_as_the_pipeline_does() -> None:
    body = clean_body("RO") | {"invoiceType": "debit_note"}
    request = InvoiceRequest.model_validate(body)
    assert validate_for_filing(request, livemode=True) == validate_invoice(request, livemode=True)


def test_without_a_number_the_gate_sees_an_invoice_id() -> None:
    # An invoice id is longer than FatturaPA's 20 characters: the rule says so first (CW-IT-09),
    # where the gate would have refused the converter's document.
    body = clean_body("IT")
    del body["invoiceNumber"]
    assert _verdict(body) == [("CW-IT-09", "/invoiceNumber")]
    request = InvoiceRequest.model_validate(body)
    _, gate = convert_and_check(request, invoice_number=INVOICE_ID_STAND_IN)
    assert [f.rule_id for f in fatal(gate)] == ["FATTURAPA-XSD"]
    body["invoiceNumber"] = "FT-1"
    assert _verdict(body) == []


def test_what_only_the_gate_knew_now_has_a_rule() -> None:
    body = clean_body("IT") | {"invoiceNumber": "FT-2025-000000000000000001"}
    assert ("CW-IT-09", "/invoiceNumber") in found(body)


@pytest.mark.parametrize("role", ["customer", "supplier"])
def test_a_french_party_abroad_needs_an_electronic_address(role: str) -> None:
    body = clean_body("FR")
    body[role] = {
        "vatNumber": "DE811569869",
        "name": "Kunde AG",
        "address": {"street": "Marienplatz 1", "city": "München", "postalCode": "80331",
                    "country": "DE"},
    }  # fmt: skip
    rule = {"customer": "BR-FR-12", "supplier": "BR-FR-13"}[role]
    assert (rule, f"/{role}/email") in found(body)
    body[role]["email"] = "ap@kunde.example"
    assert not {r for r, _ in found(body)} & {"BR-FR-12", "BR-FR-13"}
    if role == "customer":
        assert _verdict(body) == []
