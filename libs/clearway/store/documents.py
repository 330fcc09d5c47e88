"""The `documents` table: the legal document the converter produced for an invoice, and the
gate's warnings on it. One per invoice, written once."""

from __future__ import annotations

from typing import Any

from clearway.db import Connection


async def record_document(
    conn: Connection,
    invoice_id: str,
    *,
    format_name: str,
    content: bytes,
    warnings: list[dict[str, Any]],
) -> bool:
    """Record the invoice's document unless it has one; True when this call recorded it (the
    converter's mark that the message was handled: a redelivery finds it and stops)."""
    inserted = await conn.fetchval(
        "INSERT INTO documents (invoice_id, format, xml, warnings) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (invoice_id) DO NOTHING "
        "RETURNING invoice_id",
        invoice_id,
        format_name,
        content,
        warnings,
    )
    return inserted is not None


async def document_content(conn: Connection, invoice_id: str) -> bytes | None:
    """The document itself, as it is filed."""
    content: bytes | None = await conn.fetchval(
        "SELECT xml FROM documents WHERE invoice_id = $1", invoice_id
    )
    return content


async def owned_document(
    conn: Connection, invoice_id: str, account_id: str, *, livemode: bool
) -> Any:
    """(format, xml) of the invoice's document when the invoice is the account's and of that
    mode; else None."""
    return await conn.fetchrow(
        "SELECT d.format, d.xml FROM documents d JOIN invoices i ON i.id = d.invoice_id "
        "WHERE d.invoice_id = $1 AND i.account_id = $2 AND i.livemode = $3",
        invoice_id,
        account_id,
        livemode,
    )
