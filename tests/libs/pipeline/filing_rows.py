"""An invoice's rows as the submitter leaves them for the filing machine: validated, its converted
document stored, and its `submissions` row due now in a queue of the test's own."""

from __future__ import annotations

import secrets

from clearway.db import Connection
from clearway.domain.lifecycle import EventType
from clearway.store import submissions
from clearway.store.events import NewEvent, append_event
from clearway.store.invoices import InvoiceRef


async def schedule_filing(
    conn: Connection,
    ref: InvoiceRef,
    created_id: str,
    connection_id: str,
    document: bytes,
    *,
    document_format: str = "test",
) -> str:
    """The invoice (at version 1) validated, its document stored and its filing due; the queue
    (the rows' country) its row is in."""
    # the lifecycle files only what was validated
    validated = await append_event(
        conn,
        ref,
        NewEvent(type=EventType.VALIDATED, expected_version=1, causation_id=created_id),
    )
    await conn.execute(
        "INSERT INTO documents (invoice_id, format, xml) VALUES ($1, $2, $3)",
        ref.invoice_id,
        document_format,
        document,
    )
    queue = f"T{secrets.token_hex(3)}"
    assert await submissions.schedule(
        conn,
        invoice_id=ref.invoice_id,
        connection_id=connection_id,
        country=queue,
        version=validated.event.version,
        causation_id=validated.event.id,
        traceparent=None,
    )
    return queue
