"""Poland: a correcting invoice (KOR: a credit or debit note) names the invoice it corrects, with
its date (FA(3) DaneFaKorygowanej); an exchange rate is a positive number FA(3) can state."""

from __future__ import annotations

import pytest
from clearway.validation import Severity

from tests.libs.validation.bodies import only, report_of
from tests.libs.validation.cases import mutated

PRECEDING = {"number": "FV/2025/08/17", "issueDate": "2025-08-20"}


@pytest.mark.parametrize("invoice_type", ["credit_note", "debit_note"])
def test_a_correction_without_the_corrected_invoice(invoice_type: str) -> None:
    [finding] = only(mutated("PL", {"/invoiceType": invoice_type}), "CW-PL-05")
    assert (finding.pointer, finding.severity) == ("/precedingInvoice", Severity.ERROR)
    assert "precedingInvoice" in finding.fix


def test_a_correction_without_the_corrected_invoices_date() -> None:
    body = mutated(
        "PL", {"/invoiceType": "credit_note", "/precedingInvoice": {"number": "FV/2025/08/17"}}
    )
    [finding] = only(body, "CW-PL-05")
    assert finding.pointer == "/precedingInvoice/issueDate"


@pytest.mark.parametrize("invoice_type", ["credit_note", "debit_note"])
def test_a_correction_that_names_the_invoice_passes(invoice_type: str) -> None:
    body = mutated("PL", {"/invoiceType": invoice_type, "/precedingInvoice": PRECEDING})
    assert report_of(body).errors == ()


@pytest.mark.parametrize("rate", ["0", "-4.25", "4.1234567"])
def test_an_exchange_rate_fa3_cannot_state(rate: str) -> None:
    body = mutated("PL", {"/currency": "EUR", "/exchangeRate": rate})
    [finding] = only(body, "CW-PL-06")
    assert finding.pointer == "/exchangeRate"
