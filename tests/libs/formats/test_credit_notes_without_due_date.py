"""BR-CO-25 (a due date or payment terms when an amount is due) binds invoices only: the CEN
artefact states it on /ubl:Invoice, and FA(3) has no such rule. A credit note without a due date
passes the validator and every gate of every format of every country."""

from __future__ import annotations

import pytest
from clearway.domain.invoice import InvoiceRequest
from clearway.formats import FORMATS, check, render
from clearway.formats.conformance import fatal

from tests.libs.validation.bodies import Body, clean_body, found

COUNTRIES = ("RO", "IT", "BE", "PL", "FR", "DE")


def _without_due_date(country: str, invoice_type: str) -> Body:
    body = clean_body(country)
    del body["dueDate"]
    del body["paymentMeans"]["paymentTerms"]
    body["invoiceType"] = invoice_type
    if invoice_type == "credit_note":
        body["precedingInvoice"] = {"number": "INV-2025-0000", "issueDate": "2025-08-01"}
    return body


@pytest.mark.parametrize("country", COUNTRIES)
def test_a_credit_note_needs_no_due_date(country: str) -> None:
    assert ("BR-CO-25", "/dueDate") not in found(_without_due_date(country, "credit_note"))


@pytest.mark.parametrize("country", COUNTRIES)
def test_an_invoice_still_does(country: str) -> None:
    assert ("BR-CO-25", "/dueDate") in found(_without_due_date(country, "invoice"))


@pytest.mark.parametrize(
    ("country", "format_name"), sorted(key for key in FORMATS if key[0] in COUNTRIES)
)
def test_every_gate_passes_a_credit_note_without_due_date(country: str, format_name: str) -> None:
    request = InvoiceRequest.model_validate(_without_due_date(country, "credit_note"))
    document = render(request, invoice_number="CN-2025-0001", country=country, format=format_name)
    assert [f.rule_id for f in fatal(check(country, document))] == []
