"""Business rules on the JSON invoice: every finding at once, each with a pointer and a fix."""

from __future__ import annotations

import copy
from typing import Any

from clearway.domain.invoice import InvoiceRequest
from clearway.validation import Severity, validate_invoice


def _report(body: dict[str, Any], *, livemode: bool = False) -> Any:
    return validate_invoice(InvoiceRequest.model_validate(body), livemode=livemode)


def test_the_seed_invoice_has_no_errors(seed_invoice: dict[str, Any]) -> None:
    report = _report(seed_invoice)
    assert report.errors == ()
    assert report.rules_checked >= 9


def test_placeholder_cui_is_a_warning_in_the_sandbox_and_an_error_live(
    seed_invoice: dict[str, Any],
) -> None:
    sandbox = _report(seed_invoice)
    live = _report(seed_invoice, livemode=True)
    sandbox_cui = [f for f in sandbox.findings if f.rule == "CW-RO-04"]
    live_cui = [f for f in live.findings if f.rule == "CW-RO-04"]
    assert {f.severity for f in sandbox_cui} == {Severity.WARNING}
    assert {f.severity for f in live_cui} == {Severity.ERROR}
    assert {f.pointer for f in live_cui} == {"/supplier/vatNumber", "/customer/vatNumber"}


def test_all_findings_come_at_once(seed_invoice: dict[str, Any]) -> None:
    body = copy.deepcopy(seed_invoice)
    del body["supplier"]["address"]
    body["issueDate"] = "2025-08-01"  # 19% no longer valid from this day
    body["dueDate"] = "2025-07-01"
    body["lines"][1]["discount"] = 500
    errors = {(f.rule, f.pointer) for f in _report(body).errors}
    assert errors == {
        ("BR-08", "/supplier/address"),
        ("CW-01", "/dueDate"),
        ("CW-VAT-01", "/lines/0/vatRate"),
        ("CW-VAT-01", "/lines/1/vatRate"),
        ("BR-27", "/lines/1/unitPrice"),
    }
    assert all(f.message and f.fix for f in _report(body).errors)


def test_rates_before_and_after_2025_08_01(seed_invoice: dict[str, Any]) -> None:
    body = copy.deepcopy(seed_invoice)
    for line in body["lines"]:
        line["vatRate"] = 21
    assert [f.rule for f in _report(body).errors] == ["CW-VAT-01", "CW-VAT-01"]
    body["issueDate"], body["dueDate"] = "2025-08-01", "2025-09-01"
    assert _report(body).errors == ()
    body["lines"][0]["vatRate"] = 11
    assert _report(body).errors == ()


def test_unknown_romanian_county_points_at_state_or_province(seed_invoice: dict[str, Any]) -> None:
    body = copy.deepcopy(seed_invoice)
    body["customer"]["address"]["postalCode"] = "990000"
    body["customer"]["address"]["city"] = "Nowhere"
    findings = [f for f in _report(body).errors if f.rule == "BR-RO-110"]
    assert [f.pointer for f in findings] == ["/customer/address/stateOrProvince"]
