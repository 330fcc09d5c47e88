"""The invoice model and its totals: Decimal all the way, never float."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from clearway.domain.invoice import InvoiceRequest, Line, compute_totals, money_str
from pydantic import ValidationError


def test_seed_totals(seed_invoice: dict[str, Any]) -> None:
    invoice = InvoiceRequest.model_validate(seed_invoice)
    totals = compute_totals(list(invoice.lines))
    assert (
        money_str(totals.net_amount),
        money_str(totals.vat_amount),
        money_str(totals.gross_amount),
    ) == (
        "5200.00",
        "988.00",
        "6188.00",
    )
    assert [(b.rate, b.taxable_amount, b.tax_amount) for b in totals.breakdown] == [
        (Decimal(19), Decimal("5200.00"), Decimal("988.00"))
    ]


def test_json_numbers_become_exact_decimals() -> None:
    line = Line.model_validate_json(
        '{"description": "x", "quantity": 3, "unitPrice": 0.1, "vatRate": 19}'
    )
    assert line.unit_price == Decimal("0.1")
    assert compute_totals([line]).net_amount == Decimal("0.30")


def test_vat_is_computed_per_rate_on_rounded_line_nets() -> None:
    lines = [
        Line(
            description="a", quantity=Decimal(1), unit_price=Decimal("10.005"), vat_rate=Decimal(21)
        ),
        Line(
            description="b", quantity=Decimal(2), unit_price=Decimal("3.333"), vat_rate=Decimal(11)
        ),
        Line(
            description="c",
            quantity=Decimal(1),
            unit_price=Decimal(100),
            discount=Decimal(10),
            vat_rate=Decimal(21),
        ),
    ]
    totals = compute_totals(lines)
    # 10.01 + 90.00 at 21% = 100.01 → 21.00; 6.67 at 11% → 0.73
    assert [(b.rate, b.taxable_amount, b.tax_amount) for b in totals.breakdown] == [
        (Decimal(21), Decimal("100.01"), Decimal("21.00")),
        (Decimal(11), Decimal("6.67"), Decimal("0.73")),
    ]
    assert (totals.net_amount, totals.vat_amount, totals.gross_amount) == (
        Decimal("106.68"),
        Decimal("21.73"),
        Decimal("128.41"),
    )


@pytest.mark.parametrize("price", ["NaN", "Infinity", "1e400", "abc"])
def test_non_finite_or_huge_amounts_are_refused(price: str) -> None:
    with pytest.raises(ValidationError):
        Line.model_validate({"description": "x", "unitPrice": price, "vatRate": 19})


def test_unknown_fields_are_refused(seed_invoice: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        InvoiceRequest.model_validate({**seed_invoice, "totl": 5})
    assert caught.value.errors()[0]["loc"] == ("totl",)
