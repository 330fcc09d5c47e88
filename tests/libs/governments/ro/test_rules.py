"""Romania (CIUS-RO): the cases that break each rule (TRIGGERS) and
those that do not (VALID), run by test_rules_contract.py, and what else the rules do."""

from __future__ import annotations

from typing import Any

from clearway.validation import Severity

from tests.libs.validation.bodies import only, report_of
from tests.libs.validation.cases import DELETE, mutated

TRIGGERS: list[tuple[dict[str, Any], tuple[str, str]]] = [
    (
        {"/customer/address/postalCode": "990000", "/customer/address/city": "Nowhere",
         "/customer/address/stateOrProvince": DELETE},
        ("BR-RO-110", "/customer/address/stateOrProvince"),
    ),
    (
        {"/supplier/address/postalCode": DELETE, "/supplier/address/stateOrProvince": DELETE},
        ("BR-RO-100", "/supplier/address/stateOrProvince"),
    ),
    ({"/supplier/vatNumber": "18547290"}, ("CW-RO-02", "/supplier/vatNumber")),
    ({"/customer/address/street": DELETE}, ("BR-RO-080", "/customer/address/street")),
    ({"/customer/address/city": DELETE}, ("BR-RO-090", "/customer/address/city")),
    ({"/invoiceNumber": "ABC"}, ("BR-RO-010", "/invoiceNumber")),
    ({"/invoiceNumber": DELETE, "/externalId": "order-abc"}, ("BR-RO-010", "/externalId")),
    ({"/invoiceType": "debit_note"}, ("BR-RO-020", "/invoiceType")),
    ({"/currency": "EUR"}, ("BR-RO-030", "/currency")),
    ({"/lines/0/description": "x" * 101}, ("BR-RO-L100", "/lines/0/description")),
    ({"/supplier/email": "a" * 96 + "@x.ro"}, ("BR-RO-L100", "/supplier/email")),
    ({"/customer/address/city": "C" * 51}, ("BR-RO-L050", "/customer/address/city")),
    ({"/customer/address/street": "S" * 151}, ("BR-RO-L150", "/customer/address/street")),
    ({"/customer/address/postalCode": "4" * 21}, ("BR-RO-L020", "/customer/address/postalCode")),
    ({"/supplier/name": "N" * 201}, ("BR-RO-L200", "/supplier/name")),
    ({"/invoiceNumber": "1" * 201}, ("BR-RO-L200", "/invoiceNumber")),
    ({"/note": "n" * 301}, ("BR-RO-L300", "/note")),
]  # fmt: skip


VALID: list[dict[str, Any]] = [
    {"/supplier/address/city": DELETE},  # Bucharest: the city is the sector, from the postal code
    {"/invoiceNumber": DELETE},  # the invoice id is used, and it has digits
    {"/invoiceNumber": DELETE, "/externalId": "order-12345"},
    {"/lines/0/description": "x" * 100},
    {"/customer/address/city": "C" * 50},
    {"/note": "n" * 300},
    {"/invoiceType": "credit_note"},
]


def test_a_derived_county_is_reported_as_a_warning_naming_it() -> None:
    body = mutated("RO", {"/customer/address/stateOrProvince": DELETE})
    [finding] = only(body, "CW-RO-05")
    assert finding.severity is Severity.WARNING
    assert finding.pointer == "/customer/address/stateOrProvince"
    assert "RO-CJ" in finding.message
    assert "'RO-CJ'" in finding.fix


def test_a_derived_bucharest_sector_names_sector_and_county() -> None:
    body = mutated("RO", {"/supplier/address/stateOrProvince": DELETE})
    [finding] = only(body, "CW-RO-05")
    assert "SECTOR1" in finding.message
    assert "RO-B" in finding.message
    assert report_of(body).errors == ()
