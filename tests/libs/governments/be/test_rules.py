"""Belgium (Peppol BIS 3): the cases that break each rule (TRIGGERS) and
those that do not (VALID), run by test_rules_contract.py, and what else the rules do."""

from __future__ import annotations

from typing import Any

from clearway.validation import Severity

from tests.libs.validation.bodies import found, only
from tests.libs.validation.cases import DELETE, mutated

TRIGGERS: list[tuple[dict[str, Any], tuple[str, str]]] = [
    ({"/customer/peppolId": DELETE}, ("PEPPOL-EN16931-R010", "/customer/peppolId")),
    ({"/supplier/peppolId": DELETE}, ("PEPPOL-EN16931-R020", "/supplier/peppolId")),
    ({"/customer/peppolId": "0403170701"}, ("PEPPOL-EN16931-CL008", "/customer/peppolId")),
    ({"/customer/peppolId": "1234:0403170701"}, ("PEPPOL-EN16931-CL008", "/customer/peppolId")),
    ({"/customer/peppolId": "0208:BE0403170701"}, ("PEPPOL-COMMON-R043", "/customer/peppolId")),
    ({"/customer/peppolId": "0208:0403170702"}, ("PEPPOL-COMMON-R043", "/customer/peppolId")),
    ({"/customer/peppolId": "0208:0417497106"}, ("CW-BE-03", "/customer/peppolId")),
    ({"/buyerReference": DELETE}, ("PEPPOL-EN16931-R003", "/buyerReference")),
    # ISO 4217 as CEN lists it, not as Peppol does: the Peppol gate would refuse it.
    ({"/currency": "VES"}, ("PEPPOL-EN16931-CL007", "/currency")),
]


VALID: list[dict[str, Any]] = [
    {"/buyerReference": DELETE, "/purchaseOrderReference": "PO-7"},
    {"/customer/peppolId": "9925:BE0403170701"},
    {
        "/customer/vatNumber": "DE811569869",
        "/customer/address/country": "DE",
        "/customer/peppolId": "9930:DE811569869",
    },
]


def test_missing_peppol_id_is_derived_from_a_belgian_vat_number_with_a_warning() -> None:
    [finding] = only(mutated("BE", {"/customer/peppolId": DELETE}), "PEPPOL-EN16931-R010")
    assert finding.severity is Severity.WARNING
    assert "0208:0403170701" in finding.message


def test_missing_peppol_id_without_a_belgian_vat_number_is_an_error() -> None:
    body = mutated("BE", {"/customer/peppolId": DELETE, "/customer/vatNumber": "NL123456789B01"})
    [finding] = only(body, "PEPPOL-EN16931-R010")
    assert finding.severity is Severity.ERROR
    assert "participant id" in finding.fix


def test_enterprise_number_check_digits_follow_the_key_mode() -> None:
    body = mutated("BE", {"/customer/peppolId": "0208:0403170702"})
    assert [f.severity for f in only(body, "PEPPOL-COMMON-R043", livemode=False)] == [
        Severity.WARNING
    ]
    assert [f.severity for f in only(body, "PEPPOL-COMMON-R043")] == [Severity.ERROR]


def test_a_malformed_peppol_id_is_checked_wherever_it_is_given() -> None:
    body = mutated("DE", {"/customer/peppolId": "not-an-id"})
    assert ("PEPPOL-EN16931-CL008", "/customer/peppolId") in found(body)
