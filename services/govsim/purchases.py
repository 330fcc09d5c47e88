"""The sample purchase invoice a simulator delivers to a buyer on request
(`POST /_sim/<system>/purchase-invoices` without a document of the test's own): two services
from a supplier to the buyer at one VAT rate, dated today and due after the country's usual
terms. Each country's simulator renders it with Clearway's own renderer, so what arrives is what
a supplier filing through Clearway would have sent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from clearway.domain.invoice import InvoiceRequest


def sample_request(  # noqa: PLR0913 - what makes each country's sample its own
    *,
    country: str,
    supplier: Mapping[str, Any],
    customer: Mapping[str, Any],
    lines: Sequence[tuple[str, int, Decimal]],
    vat_rate: int,
    currency: str,
    issued: dt.date,
    due_days: int,
    payment_means: Mapping[str, str],
) -> InvoiceRequest:
    """The request of a sample purchase invoice: `lines` are (description, quantity, unit
    price), each at `vat_rate`."""
    return InvoiceRequest.model_validate(
        {
            "country": country,
            "supplier": supplier,
            "customer": customer,
            "lines": [
                {
                    "description": description,
                    "quantity": quantity,
                    "unitPrice": unit_price,
                    "vatRate": vat_rate,
                }
                for description, quantity, unit_price in lines
            ],
            "currency": currency,
            "issueDate": issued.isoformat(),
            "dueDate": (issued + dt.timedelta(days=due_days)).isoformat(),
            "paymentMeans": dict(payment_means),
        }
    )
