"""Reading an invoice back from the store for a pipeline stage, and recording what it made of it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from clearway.db import Connection
from clearway.domain.invoice import InvoiceRequest
from clearway.domain.lifecycle import EventType
from clearway.messaging import PoisonMessageError
from clearway.messaging.envelope import EventMessage
from clearway.store.events import NewEvent, append_event
from clearway.store.invoices import InvoiceChanges, InvoiceRef, invoice_request


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


async def append_outcome(
    conn: Connection,
    message: EventMessage,
    event_type: EventType,
    *,
    metadata: dict[str, Any] | None = None,
    changes: InvoiceChanges | None = None,
) -> None:
    """Append what a stage made of `message`: the event follows the message's version and names
    the message's event as its cause, so a redelivered message is recognised."""
    await append_event(
        conn,
        ref_of(message),
        NewEvent(
            type=event_type,
            expected_version=message.version,
            causation_id=message.event_id,
            metadata=metadata,
            invoice=changes or InvoiceChanges(),
        ),
    )
