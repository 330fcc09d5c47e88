"""`gov_receipts`: what a government gave back with its decision (the proof of an accepted
invoice, or the error report of a rejected one), served by GET /v1/invoices/:id/receipt.
Written only here, by the poll machine."""

from __future__ import annotations

from clearway.db import Connection


async def keep_receipt(  # noqa: PLR0913 - the receipt's parts, all named
    conn: Connection,
    invoice_id: str,
    *,
    download_id: str,
    content: bytes,
    content_type: str,
    file_name: str,
) -> None:
    """The first document kept for an invoice stays (a repeated decision keeps it)."""
    await conn.execute(
        "INSERT INTO gov_receipts (invoice_id, download_id, content, content_type, file_name) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (invoice_id) DO NOTHING",
        invoice_id,
        download_id,
        content,
        content_type,
        file_name,
    )
