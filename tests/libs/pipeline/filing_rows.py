"""An invoice's rows as the submitter leaves them for the filing machine: validated, its converted
document stored, and its `submissions` row due now in a queue of the test's own."""

from __future__ import annotations

import secrets

from clearway.db import Connection
from clearway.domain.connections import NetworkCredentials
from clearway.domain.ids import new_id
from clearway.domain.lifecycle import EventType
from clearway.store import submissions
from clearway.store.events import NewEvent, append_event
from clearway.store.invoices import InvoiceRef


async def connected_company(
    conn: Connection,
    account_id: str,
    country: str,
    *,
    legal_name: str = "Test SRL",
    vat_number: str = "RO1",
    network: NetworkCredentials | None = None,
) -> str:
    """A company of the account with an active connection (its network identifier, if any);
    the connection's id."""
    company_id, connection_id = new_id("cmp"), new_id("conn")
    await conn.execute(
        "INSERT INTO companies (id, account_id, legal_name, vat_number, country) "
        "VALUES ($1, $2, $3, $4, $5)",
        company_id,
        account_id,
        legal_name,
        vat_number,
        country,
    )
    await conn.execute(
        "INSERT INTO connections (id, account_id, company_id, country, status, "
        "network_scheme, network_identifier) VALUES ($1, $2, $3, $4, 'active', $5, $6)",
        connection_id,
        account_id,
        company_id,
        country,
        network.scheme if network else None,
        network.identifier if network else None,
    )
    return connection_id


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
