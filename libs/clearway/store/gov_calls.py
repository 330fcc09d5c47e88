"""The `gov_calls` table: every call made to a government for an invoice, by the filing
(`submission`) and the status (`status`) stages. The only module that writes it."""

from __future__ import annotations

from collections.abc import Sequence

from clearway.connectors import GovCall
from clearway.db import Connection


async def record_calls(
    conn: Connection, invoice_id: str, stage: str, calls: Sequence[GovCall]
) -> None:
    if calls:
        await conn.executemany(
            "INSERT INTO gov_calls (invoice_id, stage, endpoint, http_status, duration_ms, "
            "outcome) VALUES ($1, $2, $3, $4, $5, $6)",
            [
                (invoice_id, stage, c.endpoint, c.http_status, c.duration_ms, c.outcome)
                for c in calls
            ],
        )


async def attempts_of(conn: Connection, invoice_id: str, stage: str) -> list[dict[str, object]]:
    """The stage's calls, numbered, as the final event's `attempts` metadata shows them."""
    rows = await conn.fetch(
        "SELECT endpoint, http_status, duration_ms, outcome FROM gov_calls "
        "WHERE invoice_id = $1 AND stage = $2 ORDER BY id",
        invoice_id,
        stage,
    )
    return [
        GovCall(
            endpoint=r["endpoint"],
            http_status=r["http_status"],
            duration_ms=r["duration_ms"],
            outcome=r["outcome"],
        ).public(attempt)
        for attempt, r in enumerate(rows, start=1)
    ]
