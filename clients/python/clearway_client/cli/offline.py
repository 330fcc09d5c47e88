"""`clearway validate --offline`: the server's own rules and conformance gate, run here, when
the server package (clearway) is installed beside the client."""

from __future__ import annotations

import sys

from pydantic import ValidationError

from clearway_client.cli.exits import EXIT_USAGE
from clearway_client.cli.server import server_has
from clearway_client.models import ValidationFinding, ValidationResult


def validate_offline(raw: bytes, *, livemode: bool) -> ValidationResult:
    if not server_has("clearway.validation"):
        print(
            "clearway validate --offline: runs the server's rules and gates, which come with "
            "the Clearway server package (`pip install -e .` in its repository); without it, "
            "leave out --offline to ask the API",
            file=sys.stderr,
        )
        sys.exit(EXIT_USAGE)
    # The same parsing and the same verdict as POST /v1/invoices/validate.
    from clearway.domain.invoice import InvoiceRequest  # noqa: PLC0415
    from clearway.domain.wire import parse_wire_json  # noqa: PLC0415
    from clearway.validation.verdict import validate_for_filing  # noqa: PLC0415

    try:
        invoice = parse_wire_json(InvoiceRequest, raw)
    except ValidationError as exc:
        details = [
            ValidationFinding(
                rule="schema",
                severity="error",
                pointer="/" + "/".join(str(part) for part in error["loc"]) if error["loc"] else "/",
                message=error["msg"],
                fix="Correct the field to match the request schema.",
            )
            for error in exc.errors()
        ]
        return ValidationResult(
            valid=False, errors=[f"{d.pointer}: {d.message}" for d in details], details=details
        )
    report = validate_for_filing(invoice, livemode=livemode)
    return ValidationResult(
        valid=not report.errors,
        errors=[f"{f.rule}: {f.message}" for f in report.errors],
        details=[ValidationFinding.model_validate(f.model_dump()) for f in report.findings],
    )
