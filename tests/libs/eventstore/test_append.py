"""The event store against real PostgreSQL: append with expected version, idempotent redelivery,
clean conflicts, and the read model moving in the same transaction."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from clearway.domain.lifecycle import EventType
from clearway.eventstore import (
    AppendResult,
    ConcurrencyConflictError,
    InvoiceRef,
    append_event,
    read_stream,
)

from tests.libs.eventstore.streams import new_stream

pytestmark = [pytest.mark.postgres]


async def _outbox_count(conn: Any, invoice_id: str) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM outbox WHERE key = $1", invoice_id)
    return count


async def _append(
    conn: Any,
    ref: InvoiceRef,
    expected_version: int,
    event_type: EventType,
    causation_id: str,
    *,
    metadata: dict[str, Any] | None = None,
) -> AppendResult:
    return await append_event(
        conn,
        ref,
        expected_version=expected_version,
        event_type=event_type,
        metadata=metadata,
        causation_id=causation_id,
    )


async def test_the_same_cause_appended_twice_adds_one_event(store_db: asyncpg.Pool[Any]) -> None:
    async with store_db.acquire() as conn:
        ref, created_id = await new_stream(conn, "event store test")
        outbox_before = await _outbox_count(conn, ref.invoice_id)
        first = await _append(
            conn, ref, 1, EventType.VALIDATED, created_id, metadata={"rulesChecked": 1}
        )
        outbox_after_first = await _outbox_count(conn, ref.invoice_id)
        second = await _append(
            conn, ref, 1, EventType.VALIDATED, created_id, metadata={"rulesChecked": 1}
        )
        stream = await read_stream(conn, ref.invoice_id)
        outbox_after_second = await _outbox_count(conn, ref.invoice_id)
        status, version = await conn.fetchrow(
            "SELECT status, version FROM invoices WHERE id = $1", ref.invoice_id
        )
    assert not first.duplicate
    assert second.duplicate
    assert second.event.id == first.event.id
    assert [e.version for e in stream] == [1, 2]
    assert (status, version) == ("validated", 2)
    # The redelivery enqueued nothing either: the outbox grew only with the first append.
    assert outbox_after_first > outbox_before
    assert outbox_after_second == outbox_after_first


async def test_another_cause_at_the_same_version_is_a_conflict_that_writes_nothing(
    store_db: asyncpg.Pool[Any],
) -> None:
    async with store_db.acquire() as conn:
        ref, created_id = await new_stream(conn, "event store test")
        await _append(conn, ref, 1, EventType.VALIDATED, created_id)
        with pytest.raises(ConcurrencyConflictError):
            await _append(conn, ref, 1, EventType.REJECTED, "evt_someone_else")
        stream = await read_stream(conn, ref.invoice_id)
        status = await conn.fetchval("SELECT status FROM invoices WHERE id = $1", ref.invoice_id)
    assert [(e.version, e.type) for e in stream] == [
        (1, "invoice.created"),
        (2, "invoice.validated"),
    ]
    assert status == "validated"


async def test_a_stale_expected_version_is_a_conflict(store_db: asyncpg.Pool[Any]) -> None:
    async with store_db.acquire() as conn:
        ref, created_id = await new_stream(conn, "event store test")
        validated = await _append(conn, ref, 1, EventType.VALIDATED, created_id)
        await _append(conn, ref, 2, EventType.SUBMITTED, validated.event.id)
        with pytest.raises(ConcurrencyConflictError):
            await _append(conn, ref, 1, EventType.ERROR, "evt_late_writer")
        assert [e.version for e in await read_stream(conn, ref.invoice_id)] == [1, 2, 3]
