"""Every generated invoice is valid: the strategies other tests rely on produce what they say."""

from __future__ import annotations

from typing import Any

import pytest
from clearway.domain.invoice import InvoiceRequest
from clearway.validation import validate_invoice
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.strategies import COUNTRIES, valid_invoices


@pytest.mark.parametrize("country", COUNTRIES)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_invoices_have_no_errors(country: str, data: st.DataObject) -> None:
    body: dict[str, Any] = data.draw(valid_invoices(country))
    report = validate_invoice(InvoiceRequest.model_validate(body), livemode=True)
    assert report.errors == (), [f.model_dump() for f in report.errors]
