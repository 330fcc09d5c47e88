"""BR-CO-26 on an invoice not subject to VAT (O): BR-O-02 takes the seller's VAT identifier away,
so the seller must be identified by its legal registration. The rule and the gate agree."""

from __future__ import annotations

from typing import Any

import pytest
from clearway.domain.invoice import InvoiceRequest
from clearway.formats import convert_and_check
from clearway.formats.conformance import fatal
from clearway.validation import validate_invoice

from tests.libs.validation.bodies import clean_body

O_LINE = {"description": "Damages", "unitPrice": 300, "vatRate": 0, "vatCategory": "O"}


def _not_subject_to_vat(country: str, **supplier: Any) -> InvoiceRequest:
    body = clean_body(country) | {"lines": [O_LINE]}
    body["supplier"] |= supplier
    return InvoiceRequest.model_validate(body)


def _verdicts(request: InvoiceRequest) -> tuple[set[str], set[str]]:
    rules = {f.rule for f in validate_invoice(request, livemode=True).errors}
    _, findings = convert_and_check(request, invoice_number="INV-2025-0001")
    return rules, {f.rule_id for f in fatal(findings)}


@pytest.mark.parametrize("country", ["RO", "DE"])
def test_without_a_trade_register_number_both_refuse(country: str) -> None:
    rules, gate = _verdicts(_not_subject_to_vat(country))
    assert "BR-CO-26" in rules
    assert "BR-CO-26" in gate


@pytest.mark.parametrize(
    ("country", "supplier"),
    [
        ("RO", {"tradeRegister": "J40/1234/2020"}),
        ("DE", {"tradeRegister": "HRB 123456"}),
        ("FR", {}),  # the SIREN, from the French VAT number
        ("BE", {}),  # the enterprise number, from the Belgian VAT number
    ],
)
def test_a_legally_identified_seller_passes_both(country: str, supplier: dict[str, str]) -> None:
    rules, gate = _verdicts(_not_subject_to_vat(country, **supplier))
    assert "BR-CO-26" not in rules
    assert "BR-CO-26" not in gate
