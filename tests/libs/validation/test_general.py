"""Clearway's own rules for every country (CW-…), the VAT rates in force and the VAT numbers."""

from __future__ import annotations

import pytest
from clearway.validation import Severity

from tests.libs.validation.bodies import found, only, report_of
from tests.libs.validation.cases import (
    DELETE,
    Changes,
    Hit,
    assert_triggers_at_its_pointer,
    mutated,
)

K_LINE = {
    "description": "Goods",
    "unitPrice": 100,
    "vatRate": 0,
    "vatCategory": "K",
    "vatExemptionReasonCode": "VATEX-EU-IC",
}

TRIGGERS: list[tuple[str, Changes, Hit]] = [
    ("PL", {"/dueDate": "2025-08-01"}, ("CW-01", "/dueDate")),
    ("PL", {"/paymentMeans/dueDate": "2025-08-31"}, ("CW-01", "/paymentMeans/dueDate")),
    ("IT", {"/lines/0/quantity": -2, "/lines/1/quantity": -1}, ("CW-02", "/lines")),
    (
        "IT",
        {"/invoiceType": "credit_note", "/lines/0/quantity": -2, "/lines/1/quantity": -1},
        ("CW-02", "/lines"),
    ),
    ("BE", {"/lines/0/discount": -5}, ("CW-03", "/lines/0/discount")),
    (
        "DE",
        {"/paymentMeans/bankAccount": "DE89370400440532013001"},
        ("CW-04", "/paymentMeans/bankAccount"),
    ),
    ("RO", {"/lines/0/vatRate": 19}, ("CW-VAT-01", "/lines/0/vatRate")),
    ("FR", {"/lines/1/vatRate": "19.6"}, ("CW-VAT-01", "/lines/1/vatRate")),
    ("DE", {"/issueDate": "2020-08-01", "/dueDate": DELETE}, ("CW-VAT-01", "/lines/0/vatRate")),
    ("IT", {"/issueDate": "2015-06-01", "/lines/0/vatRate": 5}, ("CW-VAT-01", "/lines/0/vatRate")),
    (
        "PL",
        {"/lines/0/vatCategory": "L", "/lines/0/vatRate": 7},
        ("CW-VAT-03", "/lines/0/vatCategory"),
    ),
    (
        "FR",
        {"/lines/0/vatCategory": "M", "/lines/0/vatRate": 4},
        ("BR-FR-15", "/lines/0/vatCategory"),
    ),
    (
        "DE",
        {"/lines/0": K_LINE | {"vatCategory": "AE"}},
        ("CW-VAT-04", "/lines/0/vatExemptionReasonCode"),
    ),
    (
        "BE",
        {"/lines/0": K_LINE | {"vatCategory": "AE"}},
        ("PEPPOL-EN16931-P0106", "/lines/0/vatExemptionReasonCode"),
    ),
    ("DE", {"/lines/0": K_LINE}, ("CW-VAT-05", "/customer/vatNumber")),
    (
        "DE",
        {
            "/lines/0": K_LINE,
            "/customer/vatNumber": "US123456789",
            "/customer/address/country": "US",
        },
        ("CW-VAT-05", "/customer/vatNumber"),
    ),
]


@pytest.mark.parametrize(("country", "changes", "expected"), TRIGGERS)
def test_rule_triggers_at_its_pointer(country: str, changes: Changes, expected: Hit) -> None:
    assert_triggers_at_its_pointer(country, changes, expected)


VALID: list[tuple[str, Changes]] = [
    (
        "DE",
        {
            "/issueDate": "2020-08-01",
            "/dueDate": DELETE,
            "/lines/0/vatRate": 16,
            "/lines/1/vatRate": 5,
        },
    ),
    ("DE", {"/issueDate": "2021-01-01", "/dueDate": DELETE}),
    ("RO", {"/issueDate": "2025-07-31", "/lines/0/vatRate": 19, "/lines/1/vatRate": 5}),
    ("FR", {"/lines/0/vatRate": "5.5", "/lines/1/vatRate": "2.1"}),
    ("FR", {"/lines/0/vatRate": "8.5"}),  # the overseas departments' standard rate
    ("IT", {"/lines/0/vatRate": 5, "/lines/1/vatRate": 4}),
    ("BE", {"/lines/0/vatRate": 12, "/lines/1/vatRate": 6}),
    ("PL", {"/lines/0/vatRate": 8, "/lines/1/vatRate": 5}),
    ("PL", {"/paymentMeans/bankAccount": "12 1090 1014 0000 0712 1981 2874"}),  # not an IBAN
    (
        "DE",
        {
            "/lines/0": K_LINE,
            "/customer/vatNumber": "FR83404833048",
            "/customer/address/country": "FR",
        },
    ),
    ("IT", {"/invoiceType": "credit_note", "/precedingInvoice": {"number": "INV-2025-0000"}}),
]


@pytest.mark.parametrize(("country", "changes"), VALID)
def test_valid_counterparts_have_no_findings(country: str, changes: Changes) -> None:
    assert report_of(mutated(country, changes)).findings == ()


def test_a_rate_not_in_force_names_the_rates_of_that_day() -> None:
    [finding] = only(mutated("RO", {"/lines/0/vatRate": 19}), "CW-VAT-01")
    assert "19%" in finding.message
    assert "21%, 11%" in finding.message
    assert "2025-09-01" in finding.message


def test_two_due_dates_are_a_warning() -> None:
    [finding] = only(mutated("PL", {"/paymentMeans/dueDate": "2025-10-15"}), "CW-06")
    assert finding.severity is Severity.WARNING
    assert finding.pointer == "/paymentMeans/dueDate"


@pytest.mark.parametrize(
    ("livemode", "severity"), [(True, Severity.ERROR), (False, Severity.WARNING)]
)
def test_iban_check_digits_follow_the_key_mode(livemode: bool, severity: Severity) -> None:
    body = mutated("DE", {"/paymentMeans/bankAccount": "DE89 3704 0044 0532 0130 01"})
    assert {f.severity for f in only(body, "CW-04", livemode=livemode)} == {severity}


# Per country: a malformed VAT number and the rule it breaks, then the customer's real number with
# its last digit changed and the rule that catches it.
VAT_NUMBERS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "RO": (("RO1", "CW-RO-03"), ("RO14399841", "CW-RO-04")),
    "IT": (("IT0090581100", "CW-IT-01"), ("IT00905811007", "CW-IT-02")),
    "BE": (("BE2403170701", "CW-BE-01"), ("BE0403170702", "CW-BE-02")),
    "PL": (("PL774000145", "CW-PL-01"), ("PL7740001455", "CW-PL-02")),
    "FR": (("FR8340483304", "CW-FR-01"), ("FR83404833049", "CW-FR-02")),
    "DE": (("DE81156986", "CW-DE-01"), ("DE811569868", "CW-DE-02")),
}
MALFORMED = [(country, *malformed) for country, (malformed, _) in VAT_NUMBERS.items()]


@pytest.mark.parametrize(("country", "vat_number", "rule"), MALFORMED)
def test_malformed_vat_number_is_an_error_even_in_the_sandbox(
    country: str, vat_number: str, rule: str
) -> None:
    body = mutated(country, {"/customer/vatNumber": vat_number})
    [finding] = only(body, rule, livemode=False)
    assert (finding.pointer, finding.severity) == ("/customer/vatNumber", Severity.ERROR)
    assert vat_number in finding.message


WRONG_CHECK_DIGIT = [(country, *wrong) for country, (_, wrong) in VAT_NUMBERS.items()]


@pytest.mark.parametrize(("country", "vat_number", "rule"), WRONG_CHECK_DIGIT)
@pytest.mark.parametrize(
    ("livemode", "severity"), [(True, Severity.ERROR), (False, Severity.WARNING)]
)
def test_vat_check_digit_is_an_error_live_and_a_warning_in_the_sandbox(
    country: str, vat_number: str, rule: str, livemode: bool, severity: Severity
) -> None:
    body = mutated(country, {"/customer/vatNumber": vat_number})
    [finding] = only(body, rule, livemode=livemode)
    assert (finding.pointer, finding.severity) == ("/customer/vatNumber", severity)


def test_a_foreign_party_is_checked_by_its_own_country() -> None:
    body = mutated("RO", {"/customer/vatNumber": "DE811569868", "/customer/address/country": "DE"})
    assert ("CW-DE-02", "/customer/vatNumber") in found(body)


def test_numbers_of_other_states_are_not_checked() -> None:
    body = mutated(
        "DE", {"/customer/vatNumber": "NL000099998B57", "/customer/address/country": "NL"}
    )
    assert report_of(body).findings == ()
