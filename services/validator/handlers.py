"""validator: consumes `invoice.created`, runs the business rules on the JSON invoice, and emits
`invoice.validated` (with the warnings) or `invoice.rejected` (stage validation, every finding).
"""

from __future__ import annotations

from clearway.domain.lifecycle import EventType
from clearway.formats import DEFAULT_FORMATS
from clearway.invoices import append_outcome, load_invoice
from clearway.messaging import subscribe_events
from clearway.messaging.envelope import EventMessage
from clearway.messaging.topics import INVOICE_CREATED
from clearway.runtime import ServiceContext
from clearway.store.invoices import InvoiceChanges
from clearway.validation import validate_invoice

GROUP_ID = "validator"


def register_handlers(context: ServiceContext) -> None:
    async def validate(message: EventMessage) -> None:
        async with context.pool.acquire() as conn:
            invoice = await load_invoice(conn, message)
            report = validate_invoice(invoice.request, livemode=message.livemode)
            findings = [f.model_dump(mode="json") for f in report.findings]
            if report.errors:
                first = report.errors[0]
                await append_outcome(
                    conn,
                    message,
                    EventType.REJECTED,
                    metadata={"stage": "validation", "errors": findings},
                    changes=InvoiceChanges(
                        error_message=f"{len(report.errors)} validation error(s)",
                        error_translated=f"{first.rule}: {first.message}",
                        error_fix=first.fix,
                    ),
                )
            else:
                await append_outcome(
                    conn,
                    message,
                    EventType.VALIDATED,
                    metadata={
                        "rulesChecked": report.rules_checked,
                        "format": DEFAULT_FORMATS[message.country],
                        "warnings": findings,
                    },
                )
        context.relay.wake()

    subscribe_events(context.broker, INVOICE_CREATED, group_id=GROUP_ID, handle=validate)
