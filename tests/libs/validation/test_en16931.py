"""EN 16931 business rules on the JSON invoice: each triggers at its pointer, and the valid
counterpart does not."""

from __future__ import annotations

from typing import Any

import pytest

from tests.libs.validation.bodies import found, only, report_of
from tests.libs.validation.cases import (
    DELETE,
    Changes,
    Hit,
    assert_triggers_at_its_pointer,
    mutated,
)

S_LINE = {"description": "Consulting", "quantity": 1, "unitPrice": 100, "vatRate": 19}


def _zero(category: str, **extra: Any) -> dict[str, Any]:
    return {"description": "Service", "unitPrice": 100, "vatRate": 0, "vatCategory": category} | (
        extra
    )


TRIGGERS: list[tuple[str, Changes, Hit]] = [
    ("RO", {"/supplier/address": DELETE}, ("BR-08", "/supplier/address")),
    ("FR", {"/customer/address": DELETE}, ("BR-10", "/customer/address")),
    ("IT", {"/customer/address/country": "XX"}, ("BR-CL-14", "/customer/address/country")),
    ("DE", {"/lines/1/discount": 500}, ("BR-27", "/lines/1/unitPrice")),
    ("DE", {"/lines/0/vatRate": 0}, ("BR-CO-04", "/lines/0/vatCategory")),
    ("DE", {"/lines/0/vatCategory": "S", "/lines/0/vatRate": 0}, ("BR-S-05", "/lines/0/vatRate")),
    ("DE", {"/lines/0/vatCategory": "Z"}, ("BR-Z-05", "/lines/0/vatRate")),
    (
        "DE",
        {"/lines/0": _zero("E", vatRate=7, vatExemptionReason="Art. 4 UStG")},
        ("BR-E-05", "/lines/0/vatRate"),
    ),
    (
        "DE",
        {"/lines/0": _zero("AE", vatRate=19, vatExemptionReasonCode="VATEX-EU-AE")},
        ("BR-AE-05", "/lines/0/vatRate"),
    ),
    (
        "DE",
        {"/lines/0": _zero("G", vatRate=7, vatExemptionReasonCode="VATEX-EU-G")},
        ("BR-G-05", "/lines/0/vatRate"),
    ),
    ("DE", {"/lines/0": _zero("E")}, ("BR-E-10", "/lines/0/vatExemptionReason")),
    ("DE", {"/lines/0": _zero("AE")}, ("BR-AE-10", "/lines/0/vatExemptionReason")),
    ("DE", {"/lines/0": _zero("G")}, ("BR-G-10", "/lines/0/vatExemptionReason")),
    (
        "DE",
        {"/lines": [_zero("O")]},
        ("BR-O-10", "/lines/0/vatExemptionReason"),
    ),
    (
        "DE",
        {"/lines/0/vatExemptionReason": "Exempt"},
        ("BR-S-10", "/lines/0/vatExemptionReason"),
    ),
    (
        "DE",
        {"/lines/0": _zero("Z", vatExemptionReasonCode="VATEX-EU-132")},
        ("BR-Z-10", "/lines/0/vatExemptionReasonCode"),
    ),
    (
        "DE",
        {"/lines/0": _zero("E", vatExemptionReasonCode="VATEX-EU-999")},
        ("BR-CL-22", "/lines/0/vatExemptionReasonCode"),
    ),
    (
        "DE",
        {
            "/lines/0": _zero("E", vatExemptionReason="§ 4 Nr. 11 UStG"),
            "/lines/1": _zero("E", vatExemptionReason="§ 4 Nr. 14 UStG"),
        },
        ("BR-E-01", "/lines/1/vatExemptionReason"),
    ),
    (
        "DE",
        {"/lines/0": _zero("O", vatExemptionReasonCode="VATEX-EU-O")},
        ("BR-O-12", "/lines/1/vatCategory"),
    ),
    ("DE", {"/customer/vatNumber": "811569869"}, ("BR-CO-09", "/customer/vatNumber")),
    ("BE", {"/customer/vatNumber": "XX0403170701"}, ("BR-CO-09", "/customer/vatNumber")),
    ("RO", {"/dueDate": DELETE, "/paymentMeans": DELETE}, ("BR-CO-25", "/dueDate")),
    (
        "DE",
        {"/lines": [_zero("O", vatExemptionReasonCode="VATEX-EU-O")]},
        ("BR-CO-26", "/supplier/tradeRegister"),
    ),
    ("IT", {"/paymentMeans": {"bic": "BCITITMM"}}, ("BR-50", "/paymentMeans/bankAccount")),
]


@pytest.mark.parametrize(("country", "changes", "expected"), TRIGGERS)
def test_rule_triggers_at_its_pointer(country: str, changes: Changes, expected: Hit) -> None:
    assert_triggers_at_its_pointer(country, changes, expected)


VALID: list[tuple[str, Changes]] = [
    ("DE", {"/lines/0": _zero("Z")}),
    ("DE", {"/lines/0": _zero("E", vatExemptionReason="§ 4 Nr. 11 UStG")}),
    ("DE", {"/lines/0": _zero("E", vatExemptionReasonCode="vatex-eu-132")}),
    ("DE", {"/lines/0": _zero("AE", vatExemptionReason="Reverse charge")}),
    ("DE", {"/lines/0": _zero("G", vatExemptionReasonCode="VATEX-EU-G")}),
    # Not subject to VAT: no seller VAT id (BR-O-02), so its registration (BR-CO-26).
    (
        "DE",
        {
            "/lines": [_zero("O", vatExemptionReasonCode="VATEX-EU-O")],
            "/supplier/tradeRegister": "HRB 123456",
        },
    ),
    (
        "DE",
        {
            "/lines/0": _zero("E", vatExemptionReason="x"),
            "/lines/1": _zero("E", vatExemptionReason="x"),
        },
    ),
    ("RO", {"/dueDate": DELETE}),  # payment terms are enough (BR-CO-25)
    ("RO", {"/paymentMeans": {"dueDate": "2025-10-01"}, "/dueDate": DELETE}),
    ("IT", {"/customer/vatNumber": "00905811006"}),  # FatturaPA splits the prefix off anyway
    ("PL", {"/supplier/vatNumber": "5260250995"}),
]


@pytest.mark.parametrize(("country", "changes"), VALID)
def test_valid_counterparts_have_no_findings(country: str, changes: Changes) -> None:
    assert report_of(mutated(country, changes)).findings == ()


def test_zero_rate_without_category_names_the_categories() -> None:
    [finding] = only(mutated("RO", {"/lines/0/vatRate": 0}), "BR-CO-04")
    for choice in ("Z (zero rated)", "E (exempt from vat)", "AE (reverse charge)", "K (", "O ("):
        assert choice in finding.fix


def test_nothing_to_pay_needs_no_due_date() -> None:
    body = mutated(
        "FR",
        {
            "/dueDate": DELETE,
            "/paymentMeans": DELETE,
            "/lines": [_zero("E", vatExemptionReason="Article 261 CGI", unitPrice=0)],
        },
    )
    assert ("BR-CO-25", "/dueDate") not in found(body)
