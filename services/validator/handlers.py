"""validator: consumes `invoice.created`, runs the business rules on the JSON invoice, and emits
`invoice.validated` (with the warnings) or `invoice.rejected` (stage validation, every finding).
"""

from __future__ import annotations

from collections.abc import Sequence

from clearway.domain.lifecycle import EventType
from clearway.formats import DEFAULT_FORMATS
from clearway.invoices import StoredInvoice, load_invoices, prepare_outcome
from clearway.messaging.batches import Delivered, subscribe_event_batches
from clearway.messaging.envelope import EventMessage
from clearway.messaging.topics import INVOICE_CREATED
from clearway.runtime import ServiceContext
from clearway.store.events import PendingAppend, append_events
from clearway.store.invoices import InvoiceChanges
from clearway.validation import validate_invoice

GROUP_ID = "validator"


def _outcome(message: EventMessage, invoice: StoredInvoice) -> PendingAppend:
    """`invoice.validated` with the warnings, or `invoice.rejected` with every finding."""
    report = validate_invoice(invoice.request, livemode=message.livemode)
    findings = [f.model_dump(mode="json") for f in report.findings]
    if report.errors:
        first = report.errors[0]
        return prepare_outcome(
            message,
            EventType.REJECTED,
            metadata={"stage": "validation", "errors": findings},
            changes=InvoiceChanges(
                error_message=f"{len(report.errors)} validation error(s)",
                error_translated=f"{first.rule}: {first.message}",
                error_fix=first.fix,
            ),
        )
    return prepare_outcome(
        message,
        EventType.VALIDATED,
        metadata={
            "rulesChecked": report.rules_checked,
            "format": DEFAULT_FORMATS[message.country],
            "warnings": findings,
        },
    )


def register_handlers(context: ServiceContext) -> None:
    async def validate(batch: Sequence[Delivered[EventMessage]]) -> None:
        # The rules are pure and cheap (well under a millisecond): the batch is decided here,
        # read in one query and written in one transaction.
        async with context.pool.acquire() as conn:
            invoices = await load_invoices(conn, [d.message for d in batch])
            outcomes = []
            for delivered, invoice in zip(batch, invoices, strict=True):
                with delivered.handling():
                    outcomes.append(_outcome(delivered.message, invoice))
            await append_events(conn, outcomes)
        context.relay.wake()

    subscribe_event_batches(context.broker, INVOICE_CREATED, group_id=GROUP_ID, handle=validate)
