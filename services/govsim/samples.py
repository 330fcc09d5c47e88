"""The sample purchase invoices the simulators deliver to a buyer on request, as the request
Clearway's own renderer takes: two parties of the country, two lines, a due date and a bank
account. Each simulator names its parties and lines and renders the request in its format."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from clearway.domain.invoice import InvoiceRequest


@dataclass(frozen=True)
class SampleParty:
    vat_number: str
    name: str
    street: str
    city: str
    postal_code: str


@dataclass(frozen=True)
class SampleLine:
    description: str
    quantity: int
    unit_price: Decimal
    vat_rate: int


def sample_request(  # noqa: PLR0913 - the parts of one sample invoice, each named
    *,
    country: str,
    supplier: SampleParty,
    customer: SampleParty,
    lines: tuple[SampleLine, ...],
    currency: str,
    issued: dt.date,
    due_in: dt.timedelta,
    payment_means: dict[str, str],
) -> InvoiceRequest:
    """The request for a sample invoice of `country`, issued on `issued` and due `due_in`
    later."""

    def party(sample: SampleParty) -> dict[str, Any]:
        address = {"street": sample.street, "city": sample.city, "postalCode": sample.postal_code}
        return {
            "vatNumber": sample.vat_number,
            "name": sample.name,
            "address": {**address, "country": country},
        }

    return InvoiceRequest.model_validate(
        {
            "country": country,
            "supplier": party(supplier),
            "customer": party(customer),
            "lines": [
                {
                    "description": line.description,
                    "quantity": line.quantity,
                    "unitPrice": line.unit_price,
                    "vatRate": line.vat_rate,
                }
                for line in lines
            ],
            "currency": currency,
            "issueDate": issued.isoformat(),
            "dueDate": (issued + due_in).isoformat(),
            "paymentMeans": payment_means,
        }
    )
