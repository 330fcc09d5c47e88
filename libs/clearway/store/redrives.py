"""The `redrives` table: the redriver's memory of when it last sent a stalled invoice's message
again, per stream version (so each version backs off on its own)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from clearway.db import Connection


async def stalled_invoices(
    conn: Connection, *, stalled_after: dt.timedelta, limit: int
) -> list[Any]:
    """Invoices not final and unchanged for `stalled_after` whose next redrive is due, oldest
    first, locked (others skip them): each with its last event, its redrive attempts so far, and
    whether it has a document and a status poll (which stage it waits in)."""
    return list(
        await conn.fetch(
            "SELECT i.id, i.account_id, i.country, i.livemode, i.external_id, i.status, "
            "i.version, e.id AS event_id, e.type, e.metadata, e.causation_id, e.trace_id, "
            "e.span_id, e.created_at, r.attempts, "
            "EXISTS (SELECT 1 FROM documents d WHERE d.invoice_id = i.id) AS has_document, "
            "EXISTS (SELECT 1 FROM status_polls p WHERE p.invoice_id = i.id) AS has_status_poll "
            "FROM invoices i "
            "JOIN events e ON e.stream_id = i.id AND e.version = i.version "
            "LEFT JOIN redrives r ON r.invoice_id = i.id AND r.version = i.version "
            "WHERE i.status IN ('created', 'validated', 'submitted') "
            "AND i.updated_at < now() - $1::interval "
            "AND (r.next_at IS NULL OR r.next_at <= now()) "
            "ORDER BY i.updated_at LIMIT $2 "
            "FOR UPDATE OF i SKIP LOCKED",
            stalled_after,
            limit,
        )
    )


async def record_redrive(
    conn: Connection, invoice_id: str, version: int, *, attempts: int, next_after: dt.timedelta
) -> None:
    """The version was sent again for the `attempts`-th time; the next may go `next_after` on."""
    await conn.execute(
        "INSERT INTO redrives (invoice_id, version, attempts, next_at) "
        "VALUES ($1, $2, $3, now() + $4::interval) "
        "ON CONFLICT (invoice_id, version) "
        "DO UPDATE SET attempts = $3, next_at = now() + $4::interval",
        invoice_id,
        version,
        attempts,
        next_after,
    )
