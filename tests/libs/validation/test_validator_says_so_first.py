"""Where a writer leaves something to the validator ("the validator says so first", "… decides
first", "… reports that before conversion"), the rule exists: the validator refuses the invoice
at the field's pointer, and the country's gate would refuse the document it makes."""

from __future__ import annotations

from typing import Any

import pytest
from clearway.domain.invoice import InvoiceRequest
from clearway.formats import check, render
from clearway.formats.conformance import fatal

from tests.libs.validation.bodies import found
from tests.libs.validation.cases import DELETE, mutated

CASES: list[tuple[str, str, dict[str, Any], tuple[str, str]]] = [
    # fa3._correction: a correction must name what it corrects.
    ("fa3 correction", "PL", {"/invoiceType": "credit_note"}, ("CW-PL-05", "/precedingInvoice")),
    # en16931._TYPE_CODES: 383 where a CIUS accepts fewer codes.
    ("ro 383", "RO", {"/invoiceType": "debit_note"}, ("BR-RO-020", "/invoiceType")),
    ("fr 383", "FR", {"/invoiceType": "debit_note"}, ("BR-FR-04", "/invoiceType")),
    # en16931: a 0 rate that names no category.
    ("zero rate", "FR", {"/lines/0/vatRate": 0}, ("BR-CO-04", "/lines/0/vatCategory")),
    # en16931.peppol_endpoint: a participant id that is not scheme:identifier.
    ("peppol id", "BE", {"/customer/peppolId": "0403170701"},
     ("PEPPOL-EN16931-CL008", "/customer/peppolId")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "country", "changes", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_the_validator_refuses_first(
    name: str, country: str, changes: dict[str, Any], expected: tuple[str, str]
) -> None:
    assert expected in found(mutated(country, changes)), name


@pytest.mark.parametrize("country", ["RO", "FR"])
def test_the_gate_would_refuse_a_debit_note(country: str) -> None:
    request = InvoiceRequest.model_validate(mutated(country, {"/invoiceType": "debit_note"}))
    document = render(request, invoice_number="INV-2025-0001", country=country)
    assert fatal(check(country, document)) != []


def test_ubl_cius_ro_unknown_county() -> None:
    # ubl_cius_ro.render_ubl_cius_ro: "the validator reports that before conversion".
    body = mutated(
        "RO",
        {
            "/customer/address/stateOrProvince": DELETE,
            "/customer/address/postalCode": "999999",
        },
    )
    assert ("BR-RO-110", "/customer/address/stateOrProvince") in found(body)
