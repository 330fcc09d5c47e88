"""The `documents` table: the legal document the converter produced for an invoice, and the
gate's warnings on it. One per invoice, written once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from clearway.db import Connection
from clearway.store.rows import ManyRows


class NewDocument(BaseModel):
    """A document the converter produced, for record_documents."""

    model_config = ConfigDict(frozen=True)

    invoice_id: str
    format_name: str
    content: bytes
    warnings: list[dict[str, Any]]


async def record_documents(conn: Connection, documents: Sequence[NewDocument]) -> set[str]:
    """Record each invoice's document unless it has one, in one statement; returns the ids of
    the invoices whose document this call recorded (the converter's mark that the message was
    handled: a redelivery finds the row and stops)."""
    many = ManyRows(
        {"invoice_id": "text", "format": "text", "xml": "bytea", "warnings": "jsonb"},
        [(d.invoice_id, d.format_name, d.content, d.warnings) for d in documents],
    )
    rows = await conn.fetch(
        f"INSERT INTO documents ({many.columns}) {many.select} "
        "ON CONFLICT (invoice_id) DO NOTHING RETURNING invoice_id",
        *many.arrays,
    )
    return {row["invoice_id"] for row in rows}


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
