"""The FatturaPA gate refuses what SDI refuses with 00425: an invoice number without a digit."""

from __future__ import annotations

from clearway.domain.invoice import InvoiceRequest
from clearway.formats import check, render
from clearway.formats.conformance import fatal

from tests.libs.validation.bodies import clean_body


def _gate_rules(number: str) -> list[str]:
    request = InvoiceRequest.model_validate(clean_body("IT"))
    document = render(request, invoice_number=number, country="IT")
    return [f.rule_id for f in fatal(check("IT", document))]


def test_a_number_without_a_digit_fails_the_gate() -> None:
    assert _gate_rules("FT-ABC") == ["SDI-00425"]


def test_a_number_with_a_digit_passes() -> None:
    assert _gate_rules("FT-2025/1") == []
