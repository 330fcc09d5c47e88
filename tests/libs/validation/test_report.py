"""The report: every finding complete, all findings at once, rules counted per country."""

from __future__ import annotations

import pytest
from clearway.validation import RULES

from tests.libs.validation.bodies import report_of
from tests.libs.validation.cases import DELETE, mutated
from tests.strategies import COUNTRIES


@pytest.mark.parametrize("country", COUNTRIES)
def test_the_clean_body_has_no_findings_even_live(country: str) -> None:
    assert report_of(mutated(country, {})).findings == ()


@pytest.mark.parametrize("country", COUNTRIES)
def test_rules_checked_counts_the_rules_that_apply_to_the_country(country: str) -> None:
    applicable = [rule for rule in RULES if rule.applies_to(country)]
    assert report_of(mutated(country, {})).rules_checked == len(applicable)
    assert len(applicable) < len(RULES)  # other countries' rules do not count


def test_every_finding_of_a_broken_invoice_comes_at_once_and_complete() -> None:
    body = mutated(
        "DE",
        {
            "/supplier/phone": DELETE,
            "/buyerReference": DELETE,
            "/lines/0/vatRate": 0,
            "/lines/1/vatRate": 20,
            "/customer/vatNumber": "DE811569868",
            "/dueDate": "2025-01-01",
        },
    )
    report = report_of(body)
    assert {f.rule for f in report.errors} >= {
        "BR-DE-6",
        "BR-DE-15",
        "BR-CO-04",
        "CW-VAT-01",
        "CW-DE-02",
        "CW-01",
    }
    for finding in report.findings:
        assert finding.pointer.startswith("/")
        assert finding.message
        assert finding.fix
