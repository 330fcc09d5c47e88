"""The whole pipeline's verdict on an invoice, before anything is filed.

The pipeline refuses an invoice at two stages: the validator (the business rules on the JSON) and
the converter (the country's conformance gate on the rendered document). validate_for_filing runs
both, as the pipeline does: the rules first, and when they find no error, the very function the
converter calls (clearway.formats.convert_and_check), each gate finding mapped back to the JSON
field it came from. So "valid" means "the gate will pass it".

CPU-bound (the gates run Saxon and libxml2): callers on an event loop run it in a thread.
"""

from __future__ import annotations

import datetime as dt

from clearway.countries import code_lists
from clearway.domain.invoice import SUPPORTED_COUNTRIES, InvoiceRequest
from clearway.formats import convert_and_check, gates_for
from clearway.formats.conformance import ConformanceFinding, fatal
from clearway.formats.pointers import json_pointer_for
from clearway.validation import validate_invoice
from clearway.validation.findings import Finding, Severity, ValidationReport, error

# What the converter writes as BT-1 when the caller gives no number: the invoice id, which does
# not exist before the invoice is created. One of the same shape stands in for it.
INVOICE_ID_STAND_IN = "inv_000000000000000000000000"
RENDER_RULE = "CW-DOC-01"


def validate_for_filing(
    invoice: InvoiceRequest,
    *,
    livemode: bool,
    now: dt.datetime | None = None,
    invoice_number: str | None = None,
) -> ValidationReport:
    """The rules' findings and, when they find no error, the gate's findings on the document."""
    report = validate_invoice(invoice, livemode=livemode, now=now)
    if report.errors:
        return report  # the pipeline stops at the validator too
    number = invoice_number or invoice.invoice_number or invoice.external_id or INVOICE_ID_STAND_IN
    return ValidationReport(
        findings=(*report.findings, *gate_findings(invoice, invoice_number=number)),
        rules_checked=report.rules_checked,
    )


def warm_up() -> None:
    """Read the code lists and compile every country's gates now (a few seconds), so that the
    first validation does not pay for them."""
    for code_list in (
        code_lists.currencies,
        code_lists.countries,
        code_lists.unit_codes,
        code_lists.vatex_codes,
    ):
        code_list()
    for country in SUPPORTED_COUNTRIES:
        gates_for(country)


def gate_findings(invoice: InvoiceRequest, *, invoice_number: str) -> tuple[Finding, ...]:
    """The converter's gate on the invoice's document, as findings with JSON pointers."""
    try:
        document, findings = convert_and_check(invoice, invoice_number=invoice_number)
    except ValueError as exc:  # a writer refusing what the rules let through
        return (
            error(
                RENDER_RULE,
                "/",
                f"The {invoice.country} document cannot be written: {exc}",
                "Correct the field the message names and validate again.",
            ),
        )
    # Only failures: the gate's warnings travel with the document, as the converter keeps them.
    return tuple(_finding(document.format_name, finding) for finding in fatal(findings))


def _finding(format_name: str, finding: ConformanceFinding) -> Finding:
    pointer = json_pointer_for(finding.location)
    return Finding(
        rule=finding.rule_id,
        severity=Severity.ERROR,
        pointer=pointer,
        message=f"The {format_name} document fails {finding.rule_id} at {finding.location}: "
        f"{finding.text}",
        fix=f"Correct {pointer} so that the document meets {finding.rule_id}.",
    )
