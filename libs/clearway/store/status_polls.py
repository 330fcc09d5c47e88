"""`status_polls`: the poller's durable schedule, a row per filed invoice until its government
decides. The only module that writes it; the poll machine (clearway.pipeline.polling) decides
what to write.

A claimed row is leased, not deleted: its `next_poll_at` moves past the lease, so a poller that
dies mid-poll leaves it to be claimed again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from clearway.db import Connection
from clearway.store.invoices import InvoiceRef


@dataclass(frozen=True)
class Poll:
    """One claimed row, with the invoice it follows."""

    ref: InvoiceRef
    connection_id: str
    upload_id: str
    version: int  # the stream version the decision is appended after
    attempts: int  # status checks so far, this one included
    created_at: dt.datetime
    deadline_at: dt.datetime | None
    traceparent: str | None
    submitted: Mapping[str, Any]  # invoice.submitted's metadata: what the submitter told
    decided_state: str | None = None  # a decision seen whose document is still to be fetched
    decided_document: str | None = None

    @property
    def invoice_id(self) -> str:
        return self.ref.invoice_id

    @property
    def country(self) -> str:
        return self.ref.country


async def schedule(  # noqa: PLR0913 - the row's parts, all named
    conn: Connection,
    *,
    invoice_id: str,
    connection_id: str,
    upload_id: str,
    version: int,
    country: str,
    deadline_at: dt.datetime,
    next_poll_at: dt.datetime,
    traceparent: str | None,
    submitted: Mapping[str, Any],
) -> None:
    """The invoice's first poll; nothing when it is already scheduled (a redelivery)."""
    await conn.execute(
        "INSERT INTO status_polls (invoice_id, connection_id, upload_id, version, country, "
        "deadline_at, next_poll_at, traceparent, submitted) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (invoice_id) DO NOTHING",
        invoice_id,
        connection_id,
        upload_id,
        version,
        country,
        deadline_at,
        next_poll_at,
        traceparent,
        dict(submitted),
    )


async def claim_due(conn: Connection, *, limit: int, lease: dt.timedelta) -> list[Poll]:
    """Lease up to `limit` due rows, counting the check each is claimed for."""
    rows = await conn.fetch(
        "UPDATE status_polls SET next_poll_at = now() + $2::interval, attempts = attempts + 1 "
        "WHERE invoice_id IN (SELECT invoice_id FROM status_polls WHERE next_poll_at <= now() "
        "ORDER BY next_poll_at LIMIT $1 FOR UPDATE SKIP LOCKED) "
        "RETURNING status_polls.*, "
        "(SELECT row_to_json(i) FROM "
        "(SELECT account_id, country, livemode, external_id FROM invoices "
        " WHERE id = status_polls.invoice_id) i)::jsonb AS invoice",
        limit,
        lease,
    )
    return [_poll(row) for row in rows]


def _poll(row: Mapping[str, Any]) -> Poll:
    return Poll(
        ref=InvoiceRef(invoice_id=row["invoice_id"], **row["invoice"]),
        connection_id=row["connection_id"],
        upload_id=row["upload_id"],
        version=row["version"],
        attempts=row["attempts"],
        created_at=row["created_at"],
        deadline_at=row["deadline_at"],
        traceparent=row["traceparent"],
        submitted=row["submitted"],
        decided_state=row["decided_state"],
        decided_document=row["decided_document"],
    )


async def reschedule(  # noqa: PLR0913 - the row's parts, all named
    conn: Connection,
    invoice_id: str,
    *,
    at: dt.datetime,
    last_answer: str,
    decided_state: str | None,
    decided_document: str | None,
) -> None:
    """Ask again at `at`; a decision once seen is kept (None leaves it as it was)."""
    await conn.execute(
        "UPDATE status_polls SET next_poll_at = $2, last_answer = $3, "
        "decided_state = COALESCE($4, decided_state), "
        "decided_document = COALESCE($5, decided_document) WHERE invoice_id = $1",
        invoice_id,
        at,
        last_answer,
        decided_state,
        decided_document,
    )


async def finish(conn: Connection, invoice_id: str) -> None:
    """The invoice has its outcome: nothing more to ask."""
    await conn.execute("DELETE FROM status_polls WHERE invoice_id = $1", invoice_id)


async def due_now_for_connection(conn: Connection, connection_id: str) -> None:
    """The connection is active again: the invoices waiting on it are asked about at once."""
    await conn.execute(
        "UPDATE status_polls SET next_poll_at = now() WHERE connection_id = $1", connection_id
    )


async def lock_waiting_on_connection(conn: Connection, connection_id: str) -> list[Any]:
    """The polls following invoices with this connection, locked for the caller's transaction:
    invoice_id, upload_id, version and the invoice's reference columns."""
    return list(
        await conn.fetch(
            "SELECT p.invoice_id, p.upload_id, p.version, i.account_id, i.country, i.livemode, "
            "i.external_id FROM status_polls p JOIN invoices i ON i.id = p.invoice_id "
            "WHERE p.connection_id = $1 FOR UPDATE OF p",
            connection_id,
        )
    )


async def moved_to(conn: Connection, invoice_id: str, version: int) -> None:
    """Another stage appended to the stream (the connection expired): the decision is appended
    after that version."""
    await conn.execute(
        "UPDATE status_polls SET version = $2 WHERE invoice_id = $1", invoice_id, version
    )
