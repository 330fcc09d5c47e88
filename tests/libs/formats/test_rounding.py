"""EN 16931 rounding, on the well-known traps: each line net is rounded to 2 decimals (BT-131),
VAT is computed per category from that category's taxable amount (BT-116 x rate, then rounded),
and the totals are sums of rounded figures, so BR-CO-10, BR-CO-15, BR-S-08 and BR-E-08 hold."""

from __future__ import annotations

from decimal import Decimal

import pytest
from clearway.domain.invoice import InvoiceRequest, compute_totals
from clearway.formats import check, render

from tests.libs.validation.bodies import clean_body

TRAPS = {
    # Thirds: a line net of 0.333... rounds each line, not the sum.
    "thirds": [("0.333", "3"), ("0.333", "3"), ("0.333", "3")],
    # Half-cent lines: 0.005 rounds half away from zero, line by line.
    "half cents": [("0.005", "1"), ("0.015", "1"), ("1.125", "1")],
    # Many small lines whose VAT, summed line by line, would differ from VAT on the sum.
    "many small lines": [("0.07", "1")] * 15,
}


@pytest.mark.parametrize("trap", sorted(TRAPS))
@pytest.mark.parametrize("country", ["RO", "BE", "DE", "FR"])
def test_rounding_traps_pass_the_official_rules(country: str, trap: str) -> None:
    body = clean_body(country)
    template = body["lines"][0]
    body["lines"] = [
        {**template, "unitPrice": price, "quantity": quantity, "discount": None}
        for price, quantity in TRAPS[trap]
    ]
    invoice = InvoiceRequest.model_validate(body)
    document = render(invoice, invoice_number="ROUND-1", country=country)
    fatal = [f"{f.rule_id}: {f.text}" for f in check(country, document) if f.flag == "fatal"]
    assert fatal == []


def test_vat_is_computed_on_the_category_total_not_summed_per_line() -> None:
    body = clean_body("DE")
    body["lines"] = [{**body["lines"][0], "unitPrice": "0.07", "quantity": "1"} for _ in range(15)]
    totals = compute_totals(list(InvoiceRequest.model_validate(body).lines))
    # 15 x 0.07 = 1.05 at 19% = 0.1995 -> 0.20; per line it would be 15 x 0.01 = 0.15.
    assert totals.net_amount == Decimal("1.05")
    assert totals.vat_amount == Decimal("0.20")
