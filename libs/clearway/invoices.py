"""Reading an invoice back from the store for a pipeline stage, and recording what it made of it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from clearway.db import Connection
from clearway.domain.invoice import InvoiceRequest
from clearway.domain.lifecycle import EventType
from clearway.messaging import PoisonMessageError
from clearway.messaging.envelope import EventMessage
from clearway.store.events import NewEvent, PendingAppend, prepare_append
from clearway.store.invoices import InvoiceChanges, InvoiceRef, invoice_request, invoice_requests


class StoredInvoice(BaseModel):
    model_config = ConfigDict(frozen=True)

    ref: InvoiceRef
    company_id: str | None
    request: InvoiceRequest
    invoice_number: str


def ref_of(message: EventMessage) -> InvoiceRef:
    """The invoice's reference: an EventMessage carries each InvoiceRef field by its name."""
    return InvoiceRef.model_validate(message, from_attributes=True)


async def load_invoice(conn: Connection, message: EventMessage) -> StoredInvoice:
    row: Any = await invoice_request(conn, message.invoice_id, message.account_id)
    return _stored_invoice(message, row)


async def load_invoices(conn: Connection, messages: Sequence[EventMessage]) -> list[StoredInvoice]:
    """load_invoice for a batch, in one query: each message's invoice, in the messages' order.
    One that names no invoice of its account raises PoisonMessageError (for the batch)."""
    rows = await invoice_requests(conn, [m.invoice_id for m in messages])
    invoices = []
    for message in messages:
        row = rows.get(message.invoice_id)
        owned = row is not None and row["account_id"] == message.account_id
        invoices.append(_stored_invoice(message, row if owned else None))
    return invoices


def _stored_invoice(message: EventMessage, row: Any) -> StoredInvoice:
    if row is None:
        raise PoisonMessageError(f"no invoice {message.invoice_id} in account {message.account_id}")
    try:
        request = InvoiceRequest.model_validate(row["request"])
    except ValidationError as exc:
        raise PoisonMessageError(
            f"invoice {message.invoice_id} has an unreadable request: {exc}"
        ) from exc
    return StoredInvoice(
        ref=ref_of(message),
        company_id=row["company_id"],
        request=request,
        invoice_number=request.invoice_number or request.external_id or message.invoice_id,
    )


def prepare_outcome(
    message: EventMessage,
    event_type: EventType,
    *,
    metadata: dict[str, Any] | None = None,
    changes: InvoiceChanges | None = None,
) -> PendingAppend:
    """What a stage made of `message`, ready for append_events (a batch's); call it in the
    message's span. The event follows the message's version and names the message's event as
    its cause, so a redelivered message is recognised."""
    return prepare_append(ref_of(message), _outcome(message, event_type, metadata, changes))


def _outcome(
    message: EventMessage,
    event_type: EventType,
    metadata: dict[str, Any] | None,
    changes: InvoiceChanges | None,
) -> NewEvent:
    return NewEvent(
        type=event_type,
        expected_version=message.version,
        causation_id=message.event_id,
        metadata=metadata,
        invoice=changes or InvoiceChanges(),
    )
