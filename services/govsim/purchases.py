"""The sample purchase invoices the simulators deliver to a receiving company on request (ANAF's
SPV inbox, KSeF, the Peppol access point): one shape for every country, two lines (a service
twice, hosting once) at the country's standard VAT rate, rendered afterwards by Clearway's own
renderer for that country, so what arrives is what a supplier filing through Clearway sends."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from clearway.domain.invoice import InvoiceRequest


def sample_address(street: str, city: str, postal_code: str, country: str) -> dict[str, str]:
    return {"street": street, "city": city, "postalCode": postal_code, "country": country}


def sample_party(
    vat_number: str, name: str, address: dict[str, str], **more: str
) -> dict[str, Any]:
    """A sample's supplier or customer; `more`: its other fields (camelCase: peppolId, email)."""
    return {"vatNumber": vat_number, "name": name, **more, "address": address}


def sample_request(  # noqa: PLR0913 - the parts that differ by country
    *,
    country: str,
    supplier: Mapping[str, Any],
    customer: Mapping[str, Any],
    descriptions: tuple[str, str],
    vat_rate: int,
    currency: str,
    issued: dt.date,
    payment_days: int,
    payment_means: Mapping[str, Any],
    **more: Any,
) -> InvoiceRequest:
    """2 x 500.00 of the first description and 1 x 100.00 of the second, from `supplier` to
    `customer`, due `payment_days` after `issued`; `more`: other request fields (camelCase)."""
    service, hosting = descriptions
    return InvoiceRequest.model_validate(
        {
            "country": country,
            "supplier": supplier,
            "customer": customer,
            "lines": [
                {
                    "description": service,
                    "quantity": 2,
                    "unitPrice": Decimal("500.00"),
                    "vatRate": vat_rate,
                },
                {
                    "description": hosting,
                    "quantity": 1,
                    "unitPrice": Decimal("100.00"),
                    "vatRate": vat_rate,
                },
            ],
            "currency": currency,
            "issueDate": issued.isoformat(),
            "dueDate": (issued + dt.timedelta(days=payment_days)).isoformat(),
            "paymentMeans": payment_means,
            **more,
        }
    )


def given_or_sample(xml: str | None, sample: Callable[[], bytes]) -> bytes:
    """The purchase invoice a test control delivers: the test's own document when it gave one,
    else `sample()` (rendered only then)."""
    return xml.encode() if xml is not None else sample()
