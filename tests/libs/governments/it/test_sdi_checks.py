"""Italy: what SDI refuses that the validator must refuse first: an invoice number without a digit
(00425), an issue date after the day SDI receives the file (00403), a Partita IVA whose office code
(digits 8-10) issues no numbers."""

from __future__ import annotations

import datetime as dt

import pytest
from clearway.domain.invoice import InvoiceRequest
from clearway.validation import Severity, validate_invoice

from tests.libs.validation.bodies import found, only
from tests.libs.validation.cases import mutated


def _findings_on(body: dict[str, object], now: dt.datetime) -> set[tuple[str, str]]:
    report = validate_invoice(InvoiceRequest.model_validate(body), livemode=True, now=now)
    return {(f.rule, f.pointer) for f in report.findings}


@pytest.mark.parametrize(
    ("changes", "pointer"),
    [
        ({"/invoiceNumber": "FT-ABC"}, "/invoiceNumber"),
        ({"/invoiceNumber": "ACCONTO"}, "/invoiceNumber"),
    ],
)
def test_an_invoice_number_needs_a_digit(changes: dict[str, object], pointer: str) -> None:
    [finding] = only(mutated("IT", changes), "SDI-00425")
    assert finding.pointer == pointer
    assert "digit" in finding.fix


def test_the_external_id_stands_for_the_number() -> None:
    body = mutated("IT", {"/externalId": "ordine-senza-numero"})
    del body["invoiceNumber"]
    assert ("SDI-00425", "/externalId") in found(body)


def test_a_number_with_a_digit_passes() -> None:
    assert only(mutated("IT", {"/invoiceNumber": "FT/1"}), "SDI-00425") == []


def test_an_issue_date_in_the_future_is_refused() -> None:
    body = mutated("IT", {"/issueDate": "2025-09-02", "/dueDate": "2025-10-01"})
    # 2025-09-01 22:30 UTC is already 2025-09-02 in Rome (UTC+2 in summer).
    before = dt.datetime(2025, 9, 1, 21, 30, tzinfo=dt.UTC)
    after = dt.datetime(2025, 9, 1, 22, 30, tzinfo=dt.UTC)
    assert ("SDI-00403", "/issueDate") in _findings_on(body, before)
    assert ("SDI-00403", "/issueDate") not in _findings_on(body, after)


def test_today_and_the_past_pass() -> None:
    body = mutated("IT", {"/issueDate": "2025-09-01"})
    now = dt.datetime(2025, 9, 1, 8, 0, tzinfo=dt.UTC)
    assert ("SDI-00403", "/issueDate") not in _findings_on(body, now)


@pytest.mark.parametrize("livemode", [True, False])
def test_a_partita_iva_with_an_unknown_office_code(livemode: bool) -> None:
    # 0090581 + office 101 + its own Luhn digit: the check digit matches, the office does not.
    body = mutated("IT", {"/customer/vatNumber": "IT00905811014"})
    [finding] = only(body, "CW-IT-02", livemode=livemode)
    assert finding.pointer == "/customer/vatNumber"
    assert "office code" in finding.message
    assert finding.severity is (Severity.ERROR if livemode else Severity.WARNING)
