"""Business rules on the JSON invoice, before any XML exists.

Every finding names its rule, a JSON pointer to the field, an English message and a concrete
fix. All rules run; the caller gets every finding at once. Rule ids are the official ones where
a rulebook has one (EN 16931 `BR-…`, CIUS-RO `BR-RO-…`, XRechnung `BR-DE-…`, the French CTC
`BR-FR-…`, Peppol `PEPPOL-…`, SDI error codes `SDI-…`); `CW-…` are Clearway's own checks for what
an authority rejects without such a rule.

Modules: en16931 (BR-*), general (CW-* for every country), vat_ids (VAT number check digits);
each country's own rules are its Government's (clearway.governments.<cc>.rules).
"""

from __future__ import annotations

import datetime as dt
import functools

from clearway.domain.invoice import InvoiceRequest
from clearway.governments import GOVERNMENTS
from clearway.validation import en16931, general, vat_ids
from clearway.validation.findings import (
    Finding,
    Rule,
    RuleContext,
    RuleSpec,
    Severity,
    ValidationReport,
)

# Every rule, each government's own last. Built on first use (module __getattr__), not at
# import: the governments' rule modules import this package's modules.
RULES: tuple[RuleSpec, ...]


@functools.cache
def _rules() -> tuple[RuleSpec, ...]:
    return (
        *en16931.RULES,
        *general.RULES,
        *vat_ids.RULES,
        *(rule for government in GOVERNMENTS.values() for rule in government.rules()),
    )


def __getattr__(name: str) -> object:
    if name == "RULES":
        return _rules()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def validate_invoice(
    invoice: InvoiceRequest, *, livemode: bool, now: dt.datetime | None = None
) -> ValidationReport:
    """Every rule of the invoice's country; `now` (UTC, default the clock) dates the checks
    that compare with today, such as an issue date in the future."""
    context = RuleContext(livemode=livemode, now=now or dt.datetime.now(dt.UTC))
    applicable = [rule for rule in _rules() if rule.applies_to(invoice.country)]
    findings = tuple(finding for rule in applicable for finding in rule(invoice, context))
    return ValidationReport(findings=findings, rules_checked=len(applicable))


__all__ = [
    "RULES",
    "Finding",
    "Rule",
    "RuleContext",
    "RuleSpec",
    "Severity",
    "ValidationReport",
    "validate_invoice",
]
