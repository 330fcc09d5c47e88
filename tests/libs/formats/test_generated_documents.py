"""Property: every generated valid invoice, in every format of its country, passes every gate.

200 invoices per country (tests/strategies.py: credit notes, several rates, Z, E, AE, K,
discounts, attachments, public buyers), each rendered in each of the country's formats.
"""

from __future__ import annotations

from typing import Any

import pytest
from clearway.domain.invoice import InvoiceRequest
from clearway.formats import FORMATS, check, render
from hypothesis import HealthCheck, given, settings

from tests.strategies import valid_invoices


def assert_every_format_passes(country: str, body: dict[str, Any]) -> None:
    request = InvoiceRequest.model_validate(body)
    number = request.invoice_number or request.external_id or "INV-1"
    for format_country, name in FORMATS:
        if format_country != country:
            continue
        document = render(request, invoice_number=number, country=country, format=name)
        failures = [
            f"{f.rule_id} at {f.location}: {f.text}"
            for f in check(country, document)
            if f.flag == "fatal"
        ]
        assert failures == [], name


@pytest.mark.parametrize("country", ["BE", "DE", "FR", "RO", "IT", "PL"])
def test_generated_invoices_pass_the_gates(country: str) -> None:
    @settings(
        max_examples=200,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(body=valid_invoices(country))
    def passes(body: dict[str, Any]) -> None:
        assert_every_format_passes(country, body)

    passes()
