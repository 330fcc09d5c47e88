"""Batched appends (append_events) against real PostgreSQL: the same outcome per append as
append_event — a cause recorded once however often it comes, in the batch or after it; a
conflict or a refused transition writes nothing for the whole batch; the read model and the
outbox move with the events, in the batch's order, each stream's appends one after the other."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from clearway.domain.lifecycle import EventType, Status
from clearway.store.events import (
    ConcurrencyConflictError,
    NewEvent,
    TransitionNotAllowedError,
    append_events,
    prepare_append,
    read_stream,
)
from clearway.store.invoices import InvoiceRef

from tests.libs.store.streams import new_stream, outbox_count
from tests.libs.store.test_events import rejection_of, validation_of

pytestmark = [pytest.mark.postgres]


async def _streams(conn: Any, count: int) -> list[tuple[InvoiceRef, str]]:
    return [await new_stream(conn, f"batch test {n}") for n in range(count)]


async def test_a_batch_appends_each_event_moves_each_row_and_announces_each(
    store_db: asyncpg.Pool[Any],
) -> None:
    async with store_db.acquire() as conn:
        streams = await _streams(conn, 3)
        (ref_a, created_a), (ref_b, created_b), (ref_c, created_c) = streams
        outbox_before = [await outbox_count(conn, ref) for ref, _ in streams]
        results = await append_events(
            conn,
            [
                prepare_append(ref_a, validation_of(created_a)),
                prepare_append(ref_b, rejection_of(created_b)),
                prepare_append(ref_c, validation_of(created_c)),
            ],
        )
        rows = {
            row["id"]: row
            for row in await conn.fetch(
                "SELECT id, status, version, error_message FROM invoices WHERE id = ANY($1)",
                [ref.invoice_id for ref, _ in streams],
            )
        }
        outbox_after = [await outbox_count(conn, ref) for ref, _ in streams]
        stream_b = await read_stream(conn, ref_b.invoice_id)

    assert [r.duplicate for r in results] == [False, False, False]
    assert [r.event.type for r in results] == [
        EventType.VALIDATED,
        EventType.REJECTED,
        EventType.VALIDATED,
    ]
    assert [
        (rows[ref.invoice_id]["status"], rows[ref.invoice_id]["version"]) for ref, _ in streams
    ] == [
        ("validated", 2),
        ("rejected", 2),
        ("validated", 2),
    ]
    assert rows[ref_b.invoice_id]["error_message"] == "1 validation error(s)"
    assert rows[ref_a.invoice_id]["error_message"] is None
    assert stream_b[-1] == results[1].event
    assert all(after > before for before, after in zip(outbox_before, outbox_after, strict=True))


async def test_a_cause_comes_twice_in_a_batch_and_again_later_one_event(
    store_db: asyncpg.Pool[Any],
) -> None:
    async with store_db.acquire() as conn:
        (ref, created), (other, other_created) = await _streams(conn, 2)
        first = await append_events(
            conn,
            [
                prepare_append(ref, validation_of(created)),
                prepare_append(other, validation_of(other_created)),
                prepare_append(ref, validation_of(created)),  # a redelivery within the batch
            ],
        )
        outbox_after_first = await outbox_count(conn, ref)
        again = await append_events(conn, [prepare_append(ref, validation_of(created))])
        stream = await read_stream(conn, ref.invoice_id)
        outbox_after_again = await outbox_count(conn, ref)

    assert [r.duplicate for r in first] == [False, False, True]
    assert first[2].event == first[0].event
    assert again[0].duplicate
    assert again[0].event == first[0].event
    assert [e.type for e in stream] == [EventType.CREATED, EventType.VALIDATED]
    assert outbox_after_again == outbox_after_first


async def test_a_stream_appended_twice_in_a_batch_follows_the_batch_order(
    store_db: asyncpg.Pool[Any],
) -> None:
    async with store_db.acquire() as conn:
        (ref, created), (other, other_created) = await _streams(conn, 2)
        validated = prepare_append(ref, validation_of(created))
        submitted = NewEvent(
            type=EventType.SUBMITTED, expected_version=2, causation_id=validated.event.id
        )
        results = await append_events(
            conn,
            [
                validated,
                prepare_append(other, validation_of(other_created)),
                prepare_append(ref, submitted),
            ],
        )
        stream = await read_stream(conn, ref.invoice_id)
        status, version = await conn.fetchrow(
            "SELECT status, version FROM invoices WHERE id = $1", ref.invoice_id
        )

    assert [r.duplicate for r in results] == [False, False, False]
    assert [(e.version, e.type) for e in stream] == [
        (1, EventType.CREATED),
        (2, EventType.VALIDATED),
        (3, EventType.SUBMITTED),
    ]
    assert (status, version) == (Status.SUBMITTED.value, 3)


async def test_a_conflict_in_a_batch_writes_nothing_for_the_batch(
    store_db: asyncpg.Pool[Any],
) -> None:
    async with store_db.acquire() as conn:
        (ref, created), (other, other_created) = await _streams(conn, 2)
        await append_events(conn, [prepare_append(other, validation_of(other_created))])
        outbox_before = await outbox_count(conn, ref)
        another_cause = rejection_of("evt_another_cause")
        with pytest.raises(ConcurrencyConflictError):
            await append_events(
                conn,
                [
                    prepare_append(ref, validation_of(created)),
                    prepare_append(other, another_cause),  # version 2 holds another cause
                ],
            )
        stream = await read_stream(conn, ref.invoice_id)
        outbox_after = await outbox_count(conn, ref)

    assert [e.type for e in stream] == [EventType.CREATED]
    assert outbox_after == outbox_before


async def test_a_refused_transition_in_a_batch_writes_nothing_for_the_batch(
    store_db: asyncpg.Pool[Any],
) -> None:
    async with store_db.acquire() as conn:
        (ref, created), (other, other_created) = await _streams(conn, 2)
        accepted = NewEvent(type=EventType.ACCEPTED, expected_version=1, causation_id=other_created)
        with pytest.raises(TransitionNotAllowedError):
            await append_events(
                conn,
                [prepare_append(ref, validation_of(created)), prepare_append(other, accepted)],
            )
        streams = [await read_stream(conn, r.invoice_id) for r in (ref, other)]
        statuses = await conn.fetch(
            "SELECT status FROM invoices WHERE id = ANY($1)", [ref.invoice_id, other.invoice_id]
        )

    assert [[e.type for e in stream] for stream in streams] == [[EventType.CREATED]] * 2
    assert {row["status"] for row in statuses} == {Status.CREATED.value}
